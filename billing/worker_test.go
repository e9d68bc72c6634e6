package billing_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/billing"
)

// fakeInbox is an in-memory billing.Inbox with its own clock.
type fakeInbox struct {
	mu     sync.Mutex
	now    time.Time
	events []*stored
	// member is what ApplyEvent returns; applyErr, when set, fails it.
	member   int64
	applyErr error
	applied  []applied
	deferred []deferral
}

type stored struct {
	paywall.Event
	next time.Time
}

type applied struct {
	id     string
	change paywall.Change
}

type deferral struct {
	id     string
	delay  time.Duration
	failed bool
}

func (f *fakeInbox) add(e paywall.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, &stored{Event: e, next: f.now})
}

func (f *fakeInbox) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *fakeInbox) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeInbox) find(id string) *stored {
	for _, e := range f.events {
		if e.ID == id {
			return e
		}
	}
	return nil
}

func (f *fakeInbox) DueEvents(_ context.Context, limit int) ([]paywall.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []paywall.Event
	for _, e := range f.events {
		if e.ProcessedAt.IsZero() && !e.Failed && !e.next.After(f.now) && len(out) < limit {
			out = append(out, e.Event)
		}
	}
	return out, nil
}

func (f *fakeInbox) ApplyEvent(_ context.Context, id string, c paywall.Change) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applyErr != nil {
		return 0, f.applyErr
	}
	f.find(id).ProcessedAt = f.now
	f.applied = append(f.applied, applied{id, c})
	return f.member, nil
}

func (f *fakeInbox) DeferEvent(_ context.Context, id, msg string, next time.Time, failed bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.find(id)
	e.Attempts++
	e.LastError, e.next, e.Failed = msg, next, failed
	f.deferred = append(f.deferred, deferral{id, next.Sub(f.now), failed})
	return nil
}

func newWorker(inbox *fakeInbox) *billing.Worker {
	w := billing.NewWorker(inbox, catalog, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.Now = inbox.clock
	return w
}

const checkoutEvent = `{"id":"evt_cs","object":"event","type":"checkout.session.completed",
	"created":1750000000,"data":{"object":{"id":"cs_1","mode":"subscription","customer":"cus_1",
	"subscription":"sub_1","payment_status":"paid","customer_details":{"email":"ann@example.com"}}}}`

func TestWorkerApplies(t *testing.T) {
	inbox := &fakeInbox{now: time.Unix(created, 0), member: 42}
	inbox.add(paywall.Event{ID: "evt_cs", Type: "checkout.session.completed",
		Created: time.Unix(created, 0), Payload: []byte(checkoutEvent)})
	w := newWorker(inbox)
	var members []int64
	w.Applied = func(m int64) { members = append(members, m) }

	n, err := w.ProcessDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("ProcessDue: got %d, want 1", n)
	}
	want := []applied{{"evt_cs", paywall.Change{Purchase: &paywall.Purchase{SessionID: "cs_1",
		CustomerID: "cus_1", SubscriptionID: "sub_1", Email: "ann@example.com", Paid: true}}}}
	if !reflect.DeepEqual(inbox.applied, want) {
		t.Errorf("applied: got %+v, want %+v", inbox.applied, want)
	}
	if !reflect.DeepEqual(members, []int64{42}) {
		t.Errorf("Applied called with %v, want [42]", members)
	}
	if len(inbox.deferred) != 0 {
		t.Errorf("deferred: got %+v, want none", inbox.deferred)
	}

	if n, err := w.ProcessDue(context.Background()); n != 0 || err != nil {
		t.Errorf("second ProcessDue: got %d, %v, want 0, nil", n, err)
	}
}

func TestWorkerIgnoredEvent(t *testing.T) {
	inbox := &fakeInbox{now: time.Unix(created, 0)} // ApplyEvent touches no member
	inbox.add(paywall.Event{ID: "evt_c", Type: "customer.created",
		Payload: []byte(`{"id":"evt_c","type":"customer.created","data":{"object":{"id":"cus_1"}}}`)})
	w := newWorker(inbox)
	called := false
	w.Applied = func(int64) { called = true }

	if _, err := w.ProcessDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(inbox.applied) != 1 || !inbox.applied[0].change.Empty() {
		t.Errorf("applied: got %+v, want one empty change", inbox.applied)
	}
	if called {
		t.Errorf("Applied was called for an event that touched no member")
	}
}

func TestWorkerDefersUndecodable(t *testing.T) {
	inbox := &fakeInbox{now: time.Unix(created, 0)}
	inbox.add(paywall.Event{ID: "evt_bad", Type: "invoice.paid", Payload: []byte("not json")})
	w := newWorker(inbox)
	w.MaxAttempts = 4

	for range 6 {
		if _, err := w.ProcessDue(context.Background()); err != nil {
			t.Fatal(err)
		}
		inbox.advance(time.Hour) // past any retry time
	}

	want := []deferral{
		{"evt_bad", 2 * time.Second, false},
		{"evt_bad", 4 * time.Second, false},
		{"evt_bad", 8 * time.Second, false},
		{"evt_bad", 16 * time.Second, true},
	}
	if !reflect.DeepEqual(inbox.deferred, want) {
		t.Errorf("deferred: got %+v, want %+v", inbox.deferred, want)
	}
	if len(inbox.applied) != 0 {
		t.Errorf("applied: got %+v, want none", inbox.applied)
	}
	if e := inbox.find("evt_bad"); e.LastError == "" || !e.Failed {
		t.Errorf("event: got LastError %q, Failed %v, want a message and true", e.LastError, e.Failed)
	}
}

func TestWorkerDefersUntilDue(t *testing.T) {
	inbox := &fakeInbox{now: time.Unix(created, 0)}
	inbox.add(paywall.Event{ID: "evt_bad", Type: "invoice.paid", Payload: []byte(`{"data":{}}`)})
	w := newWorker(inbox)

	for range 3 {
		if _, err := w.ProcessDue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(inbox.deferred) != 1 {
		t.Errorf("before the retry time: got %d attempts, want 1", len(inbox.deferred))
	}
	inbox.advance(2 * time.Second)
	if _, err := w.ProcessDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(inbox.deferred) != 2 {
		t.Errorf("at the retry time: got %d attempts, want 2", len(inbox.deferred))
	}
}

func TestWorkerDefersWhenApplyFails(t *testing.T) {
	inbox := &fakeInbox{now: time.Unix(created, 0), member: 42,
		applyErr: paywall.Errorf(paywall.Invalid, "checkout has no email")}
	inbox.add(paywall.Event{ID: "evt_cs", Type: "checkout.session.completed",
		Created: time.Unix(created, 0), Payload: []byte(checkoutEvent)})
	w := newWorker(inbox)
	called := false
	w.Applied = func(int64) { called = true }

	if _, err := w.ProcessDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []deferral{{"evt_cs", 2 * time.Second, false}}
	if !reflect.DeepEqual(inbox.deferred, want) {
		t.Errorf("deferred: got %+v, want %+v", inbox.deferred, want)
	}
	if e := inbox.find("evt_cs"); e.LastError != "checkout has no email" {
		t.Errorf("LastError: got %q, want %q", e.LastError, "checkout has no email")
	}
	if called {
		t.Errorf("Applied was called for an event that was not applied")
	}
}

// brokenInbox fails to list events, as a store that is down does.
type brokenInbox struct{ fakeInbox }

var errDown = errors.New("database is down")

func (*brokenInbox) DueEvents(context.Context, int) ([]paywall.Event, error) { return nil, errDown }

func TestWorkerStoreDown(t *testing.T) {
	w := billing.NewWorker(&brokenInbox{}, catalog, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if _, err := w.ProcessDue(context.Background()); !errors.Is(err, errDown) {
		t.Errorf("got %v, want %v", err, errDown)
	}
}

func TestWorkerRun(t *testing.T) {
	inbox := &fakeInbox{now: time.Unix(created, 0), member: 7}
	inbox.add(paywall.Event{ID: "evt_cs", Type: "checkout.session.completed",
		Created: time.Unix(created, 0), Payload: []byte(checkoutEvent)})
	w := newWorker(inbox)
	appliedTo := make(chan int64, 2)
	w.Applied = func(m int64) { appliedTo <- m }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	wait := func() int64 {
		t.Helper()
		select {
		case m := <-appliedTo:
			return m
		case <-time.After(10 * time.Second):
			t.Fatal("the worker applied nothing")
			return 0
		}
	}
	if m := wait(); m != 7 {
		t.Errorf("first event: got member %d, want 7", m)
	}

	// An event stored while the worker runs is picked up. Poke makes that
	// immediate; without it the next tick would, so this does not tell the
	// two apart (that would take a timing assertion).
	inbox.add(paywall.Event{ID: "evt_cs2", Type: "checkout.session.completed",
		Created: time.Unix(created, 0), Payload: []byte(checkoutEvent)})
	w.Poke()
	if m := wait(); m != 7 {
		t.Errorf("second event: got member %d, want 7", m)
	}
}
