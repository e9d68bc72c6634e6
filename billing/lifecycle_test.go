package billing_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/billing"
	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
	"github.com/paywall/paywall/sqlite"
)

var (
	orders = flag.Int("orders", 200, "random delivery orders per lifecycle sequence")
	seed   = flag.Uint64("seed", 0, "seed of the random orders (0: from the clock)")
)

const (
	day        = 24 * time.Hour
	testSecret = "whsec_lifecycle_test"
)

// t0 is when every recorded sequence starts.
var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// delivery is one Stripe event of a sequence, before it is signed.
type delivery struct {
	id, typ string
	at      time.Duration // after t0; the event's created time
	kind    string        // the fixture its object comes from
	obj     map[string]any
}

// builder makes the events of one run of a sequence from stripe-mock's
// fixture objects. Every ID carries k, so runs share a database and never
// touch one another's state.
type builder struct {
	f fixtures
	k string
	n int
	d []delivery
}

func (b *builder) add(typ string, at time.Duration, kind string, obj map[string]any) {
	b.n++
	b.d = append(b.d, delivery{id: fmt.Sprintf("evt_%s_%02d", b.k, b.n), typ: typ, at: at,
		kind: kind, obj: obj})
}

func (b *builder) email() string { return "reader-" + b.k + "@example.test" }
func (b *builder) cus() string   { return "cus_" + b.k }
func (b *builder) sub() string   { return "sub_" + b.k }
func (b *builder) ch() string    { return "ch_" + b.k }

func (b *builder) checkout(typ string, at time.Duration, paymentStatus string) {
	b.add(typ, at, "checkout_session", b.f.object("checkout_session", map[string]any{
		"id": "cs_" + b.k, "mode": "subscription", "status": "complete",
		"payment_status": paymentStatus, "customer": b.cus(), "subscription": b.sub(),
		"customer_email": nil, "customer_details": map[string]any{"email": b.email()},
	}))
}

// subscription adds a subscription event; period is the current period's
// index (0 is the first month).
func (b *builder) subscription(typ string, at time.Duration, status, lookupKey string, period int,
	changes map[string]any) {
	obj := b.f.object("subscription", map[string]any{
		"id": b.sub(), "customer": b.cus(), "status": status, "cancel_at": nil,
		"cancel_at_period_end": false, "canceled_at": nil, "ended_at": nil,
		"pause_collection": nil, "metadata": map[string]any{},
	})
	item := obj["items"].(map[string]any)["data"].([]any)[0].(map[string]any)
	item["price"].(map[string]any)["lookup_key"] = lookupKey
	item["current_period_start"] = t0.Add(time.Duration(period) * 30 * day).Unix()
	item["current_period_end"] = t0.Add(time.Duration(period+1) * 30 * day).Unix()
	for k, v := range changes {
		obj[k] = v
	}
	b.add(typ, at, "subscription", obj)
}

func (b *builder) invoice(typ string, at time.Duration, n int, status string) {
	b.add(typ, at, "invoice", b.f.object("invoice", map[string]any{
		"id": fmt.Sprintf("in_%s_%d", b.k, n), "customer": b.cus(), "status": status,
		"number": fmt.Sprintf("%s-%04d", strings.ToUpper(b.k), n), "amount_paid": 900,
		"parent": map[string]any{"type": "subscription_details",
			"subscription_details": map[string]any{"subscription": b.sub()}},
	}))
}

func (b *builder) charge(typ string, at time.Duration, refunded bool) {
	amountRefunded := 0
	if refunded {
		amountRefunded = 900
	}
	b.add(typ, at, "charge", b.f.object("charge", map[string]any{
		"id": b.ch(), "customer": b.cus(), "amount": 900, "refunded": refunded,
		"amount_refunded": amountRefunded, "invoice": nil,
	}))
}

func (b *builder) dispute(typ string, at time.Duration, status string) {
	b.add(typ, at, "dispute", b.f.object("dispute", map[string]any{
		"id": "dp_" + b.k, "charge": b.ch(), "status": status,
	}))
}

// sequence is a recorded lifecycle: its events, when to look, and what a
// reader must then have.
type sequence struct {
	name   string
	events func(b *builder)
	check  time.Duration // after t0
	// processed is the store's clock, after t0, while the events are
	// applied: 0 for in time, later for a backlog.
	processed time.Duration
	wantPlan  string   // "" for no access
	wantMail  []string // kinds, sorted
	refund    bool     // access ends when refunds revoke
}

var sequences = []sequence{
	{name: "new checkout", check: day, wantPlan: "elite", wantMail: []string{"setup"},
		events: func(b *builder) {
			b.subscription("customer.subscription.created", 0, "active", "elite_month", 0, nil)
			b.invoice("invoice.paid", time.Second, 1, "paid")
			b.checkout("checkout.session.completed", 2*time.Second, "paid")
		}},
	{name: "trial to active", check: 15 * day, wantPlan: "pro", wantMail: []string{"setup"},
		events: func(b *builder) {
			b.subscription("customer.subscription.created", 0, "trialing", "pro_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.subscription("customer.subscription.updated", 14*day, "active", "pro_month", 0, nil)
			b.invoice("invoice.paid", 14*day+time.Second, 1, "paid")
		}},
	// A trial_will_end applied while the trial lasts mails, unless a newer
	// state that ends the trial or cancels it by its end was applied first:
	// an outcome of the delivery order. So a sequence applied in time ends
	// before any such state, and one with such a state is applied after the
	// trial's end, when no order mails.
	{name: "trial ending", check: 28 * day, wantPlan: "pro",
		wantMail: []string{"setup", "trial_ending"},
		events: func(b *builder) {
			trial := map[string]any{"trial_end": t0.Add(30 * day).Unix()}
			b.subscription("customer.subscription.created", 0, "trialing", "pro_month", 0, trial)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.subscription(trialWillEnd, 27*day, "trialing", "pro_month", 0, trial)
			// The same news again under another event: still one mail.
			b.subscription(trialWillEnd, 27*day+time.Second, "trialing", "pro_month", 0, trial)
		}},
	{name: "trial ending, then active, applied after the trial", check: 31 * day,
		processed: 31 * day, wantPlan: "pro", wantMail: []string{"setup"},
		events: func(b *builder) {
			trial := map[string]any{"trial_end": t0.Add(30 * day).Unix()}
			b.subscription("customer.subscription.created", 0, "trialing", "pro_month", 0, trial)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.subscription(trialWillEnd, 27*day, "trialing", "pro_month", 0, trial)
			b.subscription("customer.subscription.updated", 30*day, "active", "pro_month", 1, trial)
			b.invoice("invoice.paid", 30*day+time.Second, 1, "paid")
		}},
	{name: "trial ending, then cancelled, applied after the trial", check: 31 * day,
		processed: 31 * day, wantPlan: "", wantMail: []string{"setup", "subscription_ended"},
		events: func(b *builder) {
			end := t0.Add(30 * day).Unix()
			b.subscription("customer.subscription.created", 0, "trialing", "pro_month", 0,
				map[string]any{"trial_end": end})
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.subscription(trialWillEnd, 27*day, "trialing", "pro_month", 0,
				map[string]any{"trial_end": end})
			b.subscription("customer.subscription.deleted", 28*day, "canceled", "pro_month", 0,
				map[string]any{"trial_end": end, "ended_at": t0.Add(28 * day).Unix()})
		}},
	{name: "trial extended", check: 42 * day, wantPlan: "pro",
		wantMail: []string{"setup", "trial_ending", "trial_ending"},
		events: func(b *builder) {
			first := map[string]any{"trial_end": t0.Add(30 * day).Unix()}
			second := map[string]any{"trial_end": t0.Add(44 * day).Unix()}
			b.subscription("customer.subscription.created", 0, "trialing", "pro_month", 0, first)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.subscription(trialWillEnd, 27*day, "trialing", "pro_month", 0, first)
			b.subscription("customer.subscription.updated", 28*day, "trialing", "pro_month", 0, second)
			b.subscription(trialWillEnd, 41*day, "trialing", "pro_month", 0, second)
		}},
	{name: "trial set to cancel after its end", check: 28 * day, wantPlan: "pro",
		wantMail: []string{"setup", "trial_ending"},
		events: func(b *builder) {
			// Paid from the trial's end until the cancellation: the mail is owed.
			end := t0.Add(30 * day).Unix()
			later := map[string]any{"trial_end": end, "cancel_at": t0.Add(45 * day).Unix()}
			b.subscription("customer.subscription.created", 0, "trialing", "pro_month", 0,
				map[string]any{"trial_end": end})
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.subscription("customer.subscription.updated", 5*day, "trialing", "pro_month", 0, later)
			b.subscription(trialWillEnd, 27*day, "trialing", "pro_month", 0, later)
		}},
	{name: "cancelled during the trial", check: 31 * day, wantPlan: "",
		wantMail: []string{"setup", "subscription_ended"},
		events: func(b *builder) {
			end := t0.Add(30 * day).Unix()
			cancelled := map[string]any{"trial_end": end, "cancel_at_period_end": true, "cancel_at": end}
			b.subscription("customer.subscription.created", 0, "trialing", "elite_month", 0,
				map[string]any{"trial_end": end})
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.subscription("customer.subscription.updated", 5*day, "trialing", "elite_month", 0, cancelled)
			// Stripe still sends trial_will_end; the member will not be charged.
			b.subscription(trialWillEnd, 27*day, "trialing", "elite_month", 0, cancelled)
			b.subscription("customer.subscription.deleted", 30*day, "canceled", "elite_month", 0,
				map[string]any{"trial_end": end, "cancel_at_period_end": true, "cancel_at": end,
					"ended_at": end})
		}},
	{name: "renewal", check: 45 * day, wantPlan: "basic", wantMail: []string{"setup"},
		events: func(b *builder) {
			b.subscription("customer.subscription.created", 0, "active", "basic_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.invoice("invoice.paid", 2*time.Second, 1, "paid")
			b.invoice("invoice.paid", 30*day, 2, "paid")
			b.subscription("customer.subscription.updated", 30*day+time.Second, "active",
				"basic_month", 1, nil)
		}},
	{name: "payment failed, past_due, recovered", check: 40 * day, wantPlan: "pro",
		wantMail: []string{"payment_action_required", "payment_failed", "setup"},
		events: func(b *builder) {
			b.subscription("customer.subscription.created", 0, "active", "pro_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.invoice("invoice.paid", 2*time.Second, 1, "paid")
			b.invoice("invoice.payment_failed", 30*day, 2, "open")
			b.subscription("customer.subscription.updated", 30*day+time.Second, "past_due",
				"pro_month", 1, nil)
			// The retry needs the bank's confirmation, which the member gives.
			b.invoice("invoice.payment_action_required", 31*day, 2, "open")
			b.invoice("invoice.paid", 32*day, 2, "paid")
			b.subscription("customer.subscription.updated", 32*day+time.Second, "active",
				"pro_month", 1, nil)
		}},
	{name: "payment failed, past_due, unpaid", check: 38 * day, wantPlan: "",
		wantMail: []string{"payment_failed", "payment_failed", "setup"},
		events: func(b *builder) {
			b.subscription("customer.subscription.created", 0, "active", "basic_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.invoice("invoice.paid", 2*time.Second, 1, "paid")
			b.invoice("invoice.payment_failed", 30*day, 2, "open")
			b.subscription("customer.subscription.updated", 30*day+time.Second, "past_due",
				"basic_month", 1, nil)
			b.invoice("invoice.payment_failed", 33*day, 2, "open")
			b.subscription("customer.subscription.updated", 37*day, "unpaid", "basic_month", 1, nil)
		}},
	{name: "upgrade then downgrade", check: 31 * day, wantPlan: "basic", wantMail: []string{"setup"},
		events: func(b *builder) {
			b.subscription("customer.subscription.created", 0, "active", "basic_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.invoice("invoice.paid", 2*time.Second, 1, "paid")
			b.subscription("customer.subscription.updated", 5*day, "active", "elite_month", 0, nil)
			b.invoice("invoice.paid", 5*day+time.Second, 2, "paid")
			b.subscription("customer.subscription.updated", 30*day, "active", "basic_month", 1, nil)
		}},
	{name: "cancel at period end, deleted", check: 31 * day, wantPlan: "",
		wantMail: []string{"setup", "subscription_ended"},
		events: func(b *builder) {
			end := t0.Add(30 * day).Unix()
			b.subscription("customer.subscription.created", 0, "active", "elite_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.invoice("invoice.paid", 2*time.Second, 1, "paid")
			b.subscription("customer.subscription.updated", 10*day, "active", "elite_month", 0,
				map[string]any{"cancel_at_period_end": true, "cancel_at": end})
			b.subscription("customer.subscription.deleted", 30*day, "canceled", "elite_month", 0,
				map[string]any{"cancel_at_period_end": true, "cancel_at": end, "ended_at": end})
		}},
	{name: "pause and resume", check: 41 * day, wantPlan: "pro", wantMail: []string{"setup"},
		events: func(b *builder) {
			b.subscription("customer.subscription.created", 0, "active", "pro_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.invoice("invoice.paid", 2*time.Second, 1, "paid")
			b.subscription("customer.subscription.updated", 5*day, "active", "pro_month", 0,
				map[string]any{"pause_collection": map[string]any{"behavior": "void", "resumes_at": nil}})
			b.subscription("customer.subscription.updated", 40*day, "active", "pro_month", 1, nil)
		}},
	{name: "paused through a renewal", check: 31 * day, wantPlan: "", wantMail: []string{"setup"},
		events: func(b *builder) {
			paused := map[string]any{"pause_collection": map[string]any{"behavior": "void"}}
			b.subscription("customer.subscription.created", 0, "active", "pro_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.invoice("invoice.paid", 2*time.Second, 1, "paid")
			b.subscription("customer.subscription.updated", 5*day, "active", "pro_month", 0, paused)
			// Stripe moves the period on; the voided invoice paid nothing.
			b.subscription("customer.subscription.updated", 30*day, "active", "pro_month", 1, paused)
			b.invoice("invoice.voided", 30*day+time.Second, 2, "void")
		}},
	{name: "full refund", check: 4 * day, wantPlan: "basic", wantMail: []string{"setup"}, refund: true,
		events: func(b *builder) {
			b.subscription("customer.subscription.created", 0, "active", "basic_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.invoice("invoice.paid", 2*time.Second, 1, "paid")
			b.charge("charge.succeeded", 2*time.Second, false)
			b.charge("charge.refunded", 3*day, true)
		}},
	{name: "dispute lost", check: 21 * day, wantPlan: "", wantMail: []string{"setup"},
		events: func(b *builder) {
			b.subscription("customer.subscription.created", 0, "active", "pro_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.charge("charge.succeeded", 2*time.Second, false)
			b.dispute("charge.dispute.created", 10*day, "needs_response")
			b.dispute("charge.dispute.updated", 11*day, "under_review")
			b.dispute("charge.dispute.closed", 20*day, "lost")
		}},
	{name: "dispute won", check: 21 * day, wantPlan: "pro", wantMail: []string{"setup"},
		events: func(b *builder) {
			b.subscription("customer.subscription.created", 0, "active", "pro_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.charge("charge.succeeded", 2*time.Second, false)
			b.dispute("charge.dispute.created", 10*day, "needs_response")
			b.dispute("charge.dispute.closed", 20*day, "won")
		}},
	{name: "delayed payment succeeds", check: 3 * day, wantPlan: "elite", wantMail: []string{"setup"},
		events: func(b *builder) {
			b.subscription("customer.subscription.created", 0, "active", "elite_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "unpaid")
			b.checkout("checkout.session.async_payment_succeeded", 2*day, "paid")
		}},
	{name: "delayed payment fails", check: 3 * day, wantPlan: "",
		wantMail: []string{"async_payment_failed"},
		events: func(b *builder) {
			b.subscription("customer.subscription.created", 0, "incomplete", "elite_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "unpaid")
			b.checkout("checkout.session.async_payment_failed", 2*day, "unpaid")
			b.subscription("customer.subscription.updated", 2*day+time.Second, "incomplete_expired",
				"elite_month", 0, nil)
		}},
	{name: "customer deleted", check: 11 * day, wantPlan: "", wantMail: []string{"setup"},
		events: func(b *builder) {
			b.subscription("customer.subscription.created", 0, "active", "basic_month", 0, nil)
			b.checkout("checkout.session.completed", time.Second, "paid")
			b.add("customer.deleted", 10*day, "customer", b.f.object("customer",
				map[string]any{"id": b.cus()}))
		}},
}

// snapshot is everything a member's state consists of, with the run's key
// replaced by K so that runs compare.
type snapshot struct {
	Access       paywall.Access // at the check time, default policy
	AccessRevoke paywall.Access // the same with refunds revoking
	Subs         []paywall.Subscription
	Invoices     []string
	Mail         []string
	Unprocessed  int
}

// lab is one database and worker that runs of a sequence share.
type lab struct {
	store  *sqlite.Store
	db     *sql.DB
	worker *billing.Worker
	verify billing.Verifier
}

func newLab(t *testing.T) *lab {
	t.Helper()
	path := filepath.Join(t.TempDir(), "paywall.db")
	store, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cat := lifecycleCatalog(t)
	// The store's clock is t0: the recorded trials end after it.
	store.Now = func() time.Time { return t0 }
	w := billing.NewWorker(store, cat, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return &lab{store: store, db: db, worker: w, verify: billing.Verifier{Secrets: []string{testSecret}}}
}

func lifecycleCatalog(t *testing.T) paywall.Catalog {
	t.Helper()
	cfg, err := config.Parse(map[string]string{}, site.Plans)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Catalog
}

// payload wraps d's object in an event envelope of shape sh.
func (d delivery) payload(sh shape) []byte {
	b, _ := json.Marshal(d.obj)
	var obj map[string]any
	json.Unmarshal(b, &obj)
	sh.convert(d.kind, obj)
	out, err := json.Marshal(map[string]any{
		"id": d.id, "object": "event", "api_version": sh.apiVersion,
		"created": t0.Add(d.at).Unix(), "type": d.typ, "livemode": false, "pending_webhooks": 1,
		"request": map[string]any{"id": nil, "idempotency_key": nil},
		"data":    map[string]any{"object": obj},
	})
	if err != nil {
		panic(err)
	}
	return out
}

// deliver receives each payload as the endpoint does (verify, store) and
// lets the worker apply what is due after each delivery.
func (l *lab) deliver(t *testing.T, payloads [][]byte) {
	t.Helper()
	ctx := context.Background()
	for _, p := range payloads {
		e, err := l.verify.Verify(p, billing.Sign(p, testSecret, time.Now()), time.Now())
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if _, err := l.store.SaveEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		if _, err := l.worker.ProcessDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// run is one random delivery order of a sequence.
type run struct {
	shape    shape
	b        *builder
	order    []int
	payloads [][]byte
}

// receiveLockstep delivers the runs side by side: the n-th payload of every
// run, then the worker applies what is due, then the n+1-th. Runs share no
// object, so each run sees exactly its own order, and the worker's work is
// shared among them.
func (l *lab) receiveLockstep(t *testing.T, runs []run) {
	t.Helper()
	ctx := context.Background()
	for n := 0; ; n++ {
		sent := false
		for _, r := range runs {
			if n < len(r.payloads) {
				l.store1(t, r.payloads[n])
				sent = true
			}
		}
		if !sent {
			return
		}
		if _, err := l.worker.ProcessDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// store1 stores a payload as the endpoint does once it verified the
// signature; the hostile-delivery tests cover verification.
func (l *lab) store1(t *testing.T, p []byte) {
	t.Helper()
	{
		var env struct {
			ID         string `json:"id"`
			Type       string `json:"type"`
			APIVersion string `json:"api_version"`
			Created    int64  `json:"created"`
		}
		if err := json.Unmarshal(p, &env); err != nil {
			t.Fatal(err)
		}
		e := paywall.Event{ID: env.ID, Type: env.Type, APIVersion: env.APIVersion,
			Created: time.Unix(env.Created, 0), Payload: p, ReceivedAt: time.Now()}
		if _, err := l.store.SaveEvent(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func (l *lab) snapshot(t *testing.T, b *builder, at time.Time) snapshot {
	t.Helper()
	ctx := context.Background()
	var s snapshot
	m, err := l.store.MemberByEmail(ctx, b.email())
	if err != nil {
		t.Fatalf("member %s: %v", b.email(), err)
	}
	if s.Subs, err = l.store.Subscriptions(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	s.Access = paywall.DefaultPolicy.Access(s.Subs, at)
	s.AccessRevoke = paywall.Policy{PastDueGrace: paywall.PastDueGrace,
		Refund: paywall.RefundRevoke}.Access(s.Subs, at)
	invoices, err := l.store.Invoices(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range invoices {
		s.Invoices = append(s.Invoices, fmt.Sprintf("%s %s %d", in.ID, in.Status, in.Amount))
	}
	slices.Sort(s.Invoices)
	s.Mail = l.strings(t, `SELECT kind FROM outbox WHERE member_id = ? ORDER BY kind`, m.ID)
	err = l.db.QueryRow(`SELECT count(*) FROM events WHERE id LIKE ? AND processed_at IS NULL`,
		"evt_"+b.k+"_%").Scan(&s.Unprocessed)
	if err != nil {
		t.Fatal(err)
	}
	// Replace the run's key so that runs compare.
	raw, _ := json.Marshal(s)
	var out snapshot
	json.Unmarshal([]byte(strings.ReplaceAll(string(raw), b.k, "K")), &out)
	return out
}

func (l *lab) strings(t *testing.T, query string, args ...any) []string {
	t.Helper()
	rows, err := l.db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestLifecycleAnyOrder delivers each recorded lifecycle sequence in
// order, then in many random orders with random duplicates, in the current
// and the older API shape, and requires every run to end in the state of
// in-order delivery, which must itself be the expected one.
func TestLifecycleAnyOrder(t *testing.T) {
	f := loadFixtures(t)
	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	n := *orders
	if raceOrders > 0 && n > raceOrders {
		n = raceOrders
	}
	t.Logf("seed %d (rerun with -seed %d), %d random orders per sequence", s, s, n)
	for i, seq := range sequences {
		t.Run(seq.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			processed := t0.Add(seq.processed)
			l.store.Now = func() time.Time { return processed }
			rng := rand.New(rand.NewPCG(s, uint64(i)))
			want := map[string]snapshot{}
			for _, sh := range []shape{current, older} {
				b := &builder{f: f, k: fmt.Sprintf("s%di%s", i, strings.ReplaceAll(sh.name, "-", ""))}
				seq.events(b)
				ordered := slices.Clone(b.d)
				slices.SortStableFunc(ordered, func(x, y delivery) int { return int(x.at - y.at) })
				l.deliver(t, payloads(ordered, sh))
				got := l.snapshot(t, b, t0.Add(seq.check))
				checkExpected(t, seq, sh, got)
				want[sh.name] = got
			}
			if diff := cmp.Diff(want[current.name], want[older.name]); diff != "" {
				t.Errorf("the older API shape ends elsewhere than the current (-current +older):\n%s", diff)
			}
			// Runs differ only in their key: build each shape's payloads once
			// and substitute the key, which keeps hundreds of runs fast.
			const key = "KEYKEY"
			tb := &builder{f: f, k: key}
			seq.events(tb)
			template := map[string][][]byte{}
			for _, sh := range []shape{current, older} {
				template[sh.name] = payloads(tb.d, sh)
			}
			runs := make([]run, n)
			for r := range runs {
				sh := []shape{current, older}[r%2]
				k := fmt.Sprintf("s%dr%d", i, r)
				runs[r] = run{shape: sh, b: &builder{f: f, k: k}, order: shuffled(rng, len(tb.d))}
				for _, j := range runs[r].order {
					runs[r].payloads = append(runs[r].payloads,
						[]byte(strings.ReplaceAll(string(template[sh.name][j]), key, k)))
				}
			}
			l.receiveLockstep(t, runs)
			for r, rn := range runs {
				got := l.snapshot(t, rn.b, t0.Add(seq.check))
				if diff := cmp.Diff(want[rn.shape.name], got); diff != "" {
					t.Fatalf("run %d (%s shape), order %v: state differs from in-order delivery "+
						"(-in order +this order):\n%s", r, rn.shape.name, ids(tb.d, rn.order), diff)
				}
			}
		})
	}
}

func checkExpected(t *testing.T, seq sequence, sh shape, got snapshot) {
	t.Helper()
	if got.Access.PlanID != seq.wantPlan {
		t.Errorf("%s shape, in order: access to %q (status %s), want %q", sh.name,
			got.Access.PlanID, got.Access.Status, seq.wantPlan)
	}
	if wantRevoke := got.Access.PlanID; seq.refund && got.AccessRevoke.PlanID != "" ||
		!seq.refund && got.AccessRevoke.PlanID != wantRevoke {
		t.Errorf("%s shape, in order: with refunds revoking, access to %q", sh.name,
			got.AccessRevoke.PlanID)
	}
	if !slices.Equal(got.Mail, seq.wantMail) {
		t.Errorf("%s shape, in order: mail %v, want %v", sh.name, got.Mail, seq.wantMail)
	}
	if got.Unprocessed != 0 {
		t.Errorf("%s shape, in order: %d events not processed", sh.name, got.Unprocessed)
	}
}

// shuffled returns the indexes of n deliveries, each at least once and some
// up to three times more, in random order, as Stripe may deliver them.
func shuffled(rng *rand.Rand, n int) []int {
	var out []int
	for i := range n {
		out = append(out, i)
		for extra := 0; extra < 3 && rng.IntN(3) == 0; extra++ {
			out = append(out, i)
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func payloads(d []delivery, sh shape) [][]byte {
	out := make([][]byte, len(d))
	for i, x := range d {
		out[i] = x.payload(sh)
	}
	return out
}

func ids(d []delivery, order []int) []string {
	out := make([]string, len(order))
	for i, j := range order {
		out[i] = d[j].typ + "@" + d[j].at.String()
	}
	return out
}
