package mail

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/paywall/paywall"
)

// leaseStore hands out its mails once, as a claim would, and records sends.
type leaseStore struct {
	due  []paywall.Outgoing
	sent []int64
}

func (s *leaseStore) DueMails(_ context.Context, limit int) ([]paywall.Outgoing, error) {
	n := min(limit, len(s.due))
	out := s.due[:n]
	s.due = s.due[n:]
	return out, nil
}

func (s *leaseStore) MailSent(_ context.Context, id int64) error {
	s.sent = append(s.sent, id)
	return nil
}

func (s *leaseStore) DeferMail(context.Context, int64, string, time.Time, bool) error { return nil }

// slowMailer takes step of the fake clock for every mail.
type slowMailer struct {
	now  *time.Time
	step time.Duration
}

func (m slowMailer) Send(context.Context, Message) error {
	*m.now = m.now.Add(m.step)
	return nil
}

// TestOutboxStopsBeforeLeaseEnds: mail claimed under a lease is not sent
// once half the lease has gone, so that no other replica, claiming it again
// after the lease, sends it while this one still does.
func TestOutboxStopsBeforeLeaseEnds(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	store := &leaseStore{}
	for id := range int64(5) {
		store.due = append(store.due, paywall.Outgoing{ID: id + 1, MemberID: 1,
			To: "a@example.test", Kind: paywall.MailPaymentFailed})
	}
	o := NewOutbox(store, nil, slowMailer{now: &now, step: 20 * time.Second}, "example.test",
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	o.Now = func() time.Time { return now }
	o.Lease = time.Minute
	if err := o.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 20 s, 40 s: the third would start past 30 s, half the lease.
	if len(store.sent) != 2 {
		t.Errorf("sent %v under a one-minute lease at 20 s a mail, want the first two", store.sent)
	}

	// Without a lease (SQLite: one process), everything claimed is sent.
	store.due, store.sent = store.due[:0], nil
	for id := range int64(5) {
		store.due = append(store.due, paywall.Outgoing{ID: id + 1, MemberID: 1,
			To: "a@example.test", Kind: paywall.MailPaymentFailed})
	}
	o.Lease = 0
	if err := o.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(store.sent) != 5 {
		t.Errorf("without a lease: sent %v, want all five", store.sent)
	}
}
