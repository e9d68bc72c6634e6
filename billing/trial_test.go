package billing_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/billing"
)

const trialWillEnd = "customer.subscription.trial_will_end"

// TestDecodeTrialWillEnd decodes trial_will_end events built from
// stripe-mock's subscription, in the current and the older API shape: the
// subscription's state is applied as for any subscription event, and a
// trial that goes on into a paid subscription owes one mail per trial end.
func TestDecodeTrialWillEnd(t *testing.T) {
	f := loadFixtures(t)
	trialEnd := t0.Add(14 * day)
	tests := []struct {
		name    string
		status  string
		changes map[string]any
		// wantEnd is the trial end the notice names; zero for no notice.
		wantEnd time.Time
	}{
		{name: "trialing", status: "trialing",
			changes: map[string]any{"trial_end": trialEnd.Unix()}, wantEnd: trialEnd},
		{name: "trialing, no trial_end: the first period's end", status: "trialing",
			changes: map[string]any{"trial_end": nil}, wantEnd: t0.Add(30 * day)},
		{name: "set to cancel at period end", status: "trialing",
			changes: map[string]any{"trial_end": trialEnd.Unix(), "cancel_at_period_end": true}},
		{name: "set to cancel at the trial's end", status: "trialing",
			changes: map[string]any{"trial_end": trialEnd.Unix(), "cancel_at": trialEnd.Unix()}},
		{name: "set to cancel before the trial's end", status: "trialing",
			changes: map[string]any{"trial_end": trialEnd.Unix(),
				"cancel_at": trialEnd.Add(-day).Unix()}},
		// Charged from the trial's end until the cancellation: the mail is owed.
		{name: "set to cancel after the trial's end", status: "trialing",
			changes: map[string]any{"trial_end": trialEnd.Unix(),
				"cancel_at": trialEnd.Add(7 * day).Unix()},
			wantEnd: trialEnd},
		{name: "trial already over", status: "active",
			changes: map[string]any{"trial_end": trialEnd.Unix()}},
		{name: "canceled", status: "canceled",
			changes: map[string]any{"trial_end": trialEnd.Unix()}},
	}
	for _, tt := range tests {
		for _, sh := range []shape{current, older} {
			t.Run(tt.name+"/"+sh.name, func(t *testing.T) {
				b := &builder{f: f, k: "trial"}
				b.subscription(trialWillEnd, 11*day, tt.status, "pro_month", 0, tt.changes)
				got := decodeDelivery(t, b.d[0], sh)
				if got.Subscription == nil || got.Subscription.ID != b.sub() ||
					got.Subscription.Status != paywall.Status(tt.status) ||
					got.Subscription.PlanID != "pro" {
					t.Fatalf("subscription %+v, want %s %s on pro", got.Subscription, b.sub(), tt.status)
				}
				var want *paywall.Notice
				if !tt.wantEnd.IsZero() {
					want = &paywall.Notice{Kind: paywall.MailTrialEnding, CustomerID: b.cus(),
						Cause: paywall.TrialCause(b.sub(), tt.wantEnd)}
				}
				if !equalNotice(got.Notice, want) {
					t.Errorf("notice %+v, want %+v", got.Notice, want)
				}
			})
		}
	}
}

// TestTrialCause checks what makes two trial notices one mail: the
// subscription and the trial end, not the event that carried them.
func TestTrialCause(t *testing.T) {
	f := loadFixtures(t)
	cause := func(id string, end time.Time) string {
		t.Helper()
		b := &builder{f: f, k: "cause"}
		b.subscription(trialWillEnd, 0, "trialing", "pro_month", 0,
			map[string]any{"trial_end": end.Unix()})
		b.d[0].id = id
		c := decodeDelivery(t, b.d[0], current)
		if c.Notice == nil {
			t.Fatalf("no notice for %s", id)
		}
		if got, ok := paywall.TrialEnd(c.Notice.Cause); !ok || !got.Equal(end) {
			t.Errorf("cause %q carries %v, %v; want %v", c.Notice.Cause, got, ok, end)
		}
		return c.Notice.Cause
	}
	end := t0.Add(14 * day)
	first := cause("evt_a", end)
	if again := cause("evt_b", end); again != first {
		t.Errorf("a second event for the same trial end has cause %q, want %q", again, first)
	}
	if moved := cause("evt_c", end.Add(7*day)); moved == first {
		t.Errorf("a new trial end has the old cause %q", moved)
	}
}

func decodeDelivery(t *testing.T, d delivery, sh shape) paywall.Change {
	t.Helper()
	e := paywall.Event{ID: d.id, Type: d.typ, Created: t0.Add(d.at)}
	c, err := billing.Decode(e, dataObject(t, d.payload(sh)), catalog)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return c
}

func equalNotice(a, b *paywall.Notice) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}

// TestRefetchTrialNotice checks that, with refetching on, the trial mail
// follows the subscription as Stripe reports it now: stripe-mock's
// subscription is active, so a trial_will_end event that said trialing
// owes nothing any more. Without refetching, the same event owes the mail.
func TestRefetchTrialNotice(t *testing.T) {
	api := runStripeMock(t)
	f := loadFixtures(t)
	base, _ := url.Parse("http://paywall.test")
	for _, refetch := range []bool{false, true} {
		l := newLab(t)
		if refetch {
			l.worker.Refetch = billing.NewStripe("sk_test_refetch", api, base,
				&http.Client{Timeout: 10 * time.Second})
		}
		b := &builder{f: f, k: "refetchtrial"}
		b.subscription(trialWillEnd, 0, "trialing", "pro_month", 0,
			map[string]any{"trial_end": t0.Add(14 * day).Unix()})
		l.receiveLockstep(t, []run{{shape: current, b: b, payloads: payloads(b.d, current)}})
		if n := l.strings(t, `SELECT id FROM events WHERE processed_at IS NULL`); len(n) != 0 {
			t.Fatalf("refetch %v: events not applied: %v", refetch, n)
		}
		want := 1
		if refetch {
			want = 0
		}
		got := l.strings(t, `SELECT cause FROM notices WHERE kind = ?`, paywall.MailTrialEnding)
		if len(got) != want {
			t.Errorf("refetch %v: trial notices %v, want %d", refetch, got, want)
		}
	}
}

// TestTrialTestEvent: `paywall events send customer.subscription.trial_will_end`
// sends a trialing subscription whose trial is its first period, which owes
// the trial mail for that period's end.
func TestTrialTestEvent(t *testing.T) {
	at := time.Unix(created, 0)
	pro, _ := catalog.Plan("pro")
	price, _ := pro.Price(paywall.Month)
	p := billing.SimulatedPurchase{CheckoutID: "cs_sim_trial", Email: "ann@example.com",
		Plan: pro, Price: price, At: at}
	payload, err := billing.TestEvent(trialWillEnd, p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := billing.Decode(paywall.Event{ID: "evt_x", Type: trialWillEnd, Created: at},
		dataObject(t, payload), catalog)
	if err != nil {
		t.Fatal(err)
	}
	end := at.AddDate(0, 1, 0)
	want := &paywall.Notice{Kind: paywall.MailTrialEnding, CustomerID: "cus_sim_trial",
		Cause: paywall.TrialCause("sub_sim_trial", end)}
	if c.Subscription == nil || c.Subscription.Status != paywall.Trialing || !equalNotice(c.Notice, want) {
		t.Errorf("change %s notice %+v, want trialing and %+v", show(c), c.Notice, want)
	}
}
