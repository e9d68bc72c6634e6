package billing_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/billing"
)

// TestRefetch checks that, with refetching on, a subscription event is
// applied as Stripe reports the subscription now (stripe-mock answers with
// its fixture, whatever the event said) and a dispute finds its customer
// through the charge read back from Stripe.
func TestRefetch(t *testing.T) {
	api := runStripeMock(t)
	f := loadFixtures(t)
	l := newLab(t)
	base, _ := url.Parse("http://paywall.test")
	rec := &recordingRefetcher{next: billing.NewStripe("sk_test_refetch", api, base,
		&http.Client{Timeout: 10 * time.Second})}
	l.worker.Refetch = rec

	b := &builder{f: f, k: "refetch"}
	// The event says active with our customer; stripe-mock's subscription
	// sub_refetch belongs to the fixture's customer and has ended.
	b.subscription("customer.subscription.updated", 0, "active", "elite_month", 0, nil)
	b.dispute("charge.dispute.created", time.Second, "needs_response")
	l.receiveLockstep(t, []run{{shape: current, b: b, payloads: payloads(b.d, current)}})

	wantCustomer := f["subscription"]["customer"].(string)
	subs := l.strings(t, `SELECT customer_id || ' ' || status FROM subscriptions WHERE id = ?`, b.sub())
	if want := wantCustomer + " " + f["subscription"]["status"].(string); len(subs) != 1 || subs[0] != want {
		t.Errorf("stored subscription %v, want %q from Stripe, not the event's", subs, want)
	}
	// stripe-mock's charge fixture names no customer, so there is nothing
	// to link; what matters is that the charge was read back.
	if len(rec.charges) != 1 || rec.charges[0] != b.ch() {
		t.Errorf("charges read back %v, want [%s]", rec.charges, b.ch())
	}
	if n := l.strings(t, `SELECT id FROM events WHERE processed_at IS NULL`); len(n) != 0 {
		t.Errorf("events not applied: %v", n)
	}
	holds := l.strings(t, `SELECT reason || ' ' || charge_id || ' ' || active FROM holds`)
	if want := paywall.HoldDispute + " " + b.ch() + " 1"; len(holds) != 1 || holds[0] != want {
		t.Errorf("holds %v, want [%s]", holds, want)
	}
}

// recordingRefetcher passes reads on to Stripe and notes the charges read.
type recordingRefetcher struct {
	next    billing.Refetcher
	charges []string
}

func (r *recordingRefetcher) SubscriptionJSON(ctx context.Context, id string) ([]byte, error) {
	return r.next.SubscriptionJSON(ctx, id)
}

func (r *recordingRefetcher) ChargeJSON(ctx context.Context, id string) ([]byte, error) {
	r.charges = append(r.charges, id)
	return r.next.ChargeJSON(ctx, id)
}

// unreachable is a Stripe that never answers.
type unreachable struct{}

func (unreachable) SubscriptionJSON(context.Context, string) ([]byte, error) {
	return nil, errors.New("dial tcp: connection refused")
}

func (unreachable) ChargeJSON(context.Context, string) ([]byte, error) {
	return nil, errors.New("dial tcp: connection refused")
}

// TestRefetchUnreachable checks that an event waits for Stripe while it
// may, and is applied from its own copy on its last attempt rather than
// set aside as failed.
func TestRefetchUnreachable(t *testing.T) {
	l := newLab(t)
	l.worker.Refetch, l.worker.MaxAttempts = unreachable{}, 2
	b := &builder{f: loadFixtures(t), k: "unreachable"}
	b.subscription("customer.subscription.created", 0, "active", "elite_month", 0, nil)
	l.receiveLockstep(t, []run{{shape: current, b: b, payloads: payloads(b.d, current)}})
	if got := l.strings(t, `SELECT id FROM subscriptions`); len(got) != 0 {
		t.Fatalf("applied at once without Stripe: %v", got)
	}
	later := time.Now().Add(time.Hour)
	l.store.Now = func() time.Time { return later }
	if _, err := l.worker.ProcessDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := l.strings(t, `SELECT status || ' ' || plan_id FROM subscriptions WHERE id = ?`, b.sub())
	if len(got) != 1 || got[0] != "active elite" {
		t.Errorf("subscription %v after the last attempt, want the event's active elite", got)
	}
}
