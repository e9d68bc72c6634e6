package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite/storetest"
)

func openTest(t *testing.T, db storetest.DB) *Store {
	t.Helper()
	s, err := Open(db.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	return s
}

// purchase applies a completed checkout as the webhook worker does.
func purchase(t *testing.T, s *Store, session, customer, email string) (int64, error) {
	t.Helper()
	ctx := context.Background()
	id := "evt_" + session
	if _, err := s.SaveEvent(ctx, paywall.Event{ID: id, Type: "checkout.session.completed",
		Created: s.Now(), Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	return s.ApplyEvent(ctx, id, paywall.Change{Purchase: &paywall.Purchase{
		SessionID: session, CustomerID: customer, Email: email, Paid: true}})
}

func mustPurchase(t *testing.T, s *Store, session, customer, email string) int64 {
	t.Helper()
	m, err := purchase(t, s, session, customer, email)
	if err != nil || m == 0 {
		t.Fatalf("purchase %s: member %d, %v", session, m, err)
	}
	return m
}

func TestPurchaseIdentity(t *testing.T) { storetest.Each(t, testPurchaseIdentity) }

func testPurchaseIdentity(t *testing.T, db storetest.DB) {
	ctx := context.Background()
	s := openTest(t, db)
	first := mustPurchase(t, s, "cs_1", "cus_A", "reader@example.test")

	// The same Stripe customer, now with another email (changed in the
	// portal): the same member, whose sign-in address stays; the new
	// address is kept as the customer's contact.
	if m := mustPurchase(t, s, "cs_2", "cus_A", "new@example.test"); m != first {
		t.Errorf("same customer: member %d, want %d", m, first)
	}
	if m, _ := s.Member(ctx, first); m.Email != "reader@example.test" {
		t.Errorf("sign-in email changed to %q by a customer's email", m.Email)
	}
	var contact string
	s.db.QueryRow(`SELECT email FROM customers WHERE id = 'cus_A'`).Scan(&contact)
	if contact != "new@example.test" {
		t.Errorf("contact address %q, want new@example.test", contact)
	}
	if _, err := s.MemberByEmail(ctx, "new@example.test"); paywall.KindOf(err) != paywall.NotFound {
		t.Errorf("a member was made for the contact address: %v", err)
	}

	// Another Stripe customer with the member's email, in other case: the
	// same member, now with two customers.
	if m := mustPurchase(t, s, "cs_3", "cus_B", "Reader@Example.TEST"); m != first {
		t.Errorf("same email: member %d, want %d", m, first)
	}
	customers, err := s.CustomerIDs(ctx, first)
	if err != nil || len(customers) != 2 {
		t.Errorf("customers %v, %v; want cus_A and cus_B", customers, err)
	}

	// A new email and customer: a new member.
	if m := mustPurchase(t, s, "cs_4", "cus_C", "other@example.test"); m == first {
		t.Errorf("a new buyer joined member %d", first)
	}

	// No email and an unknown customer: nobody to link, and nothing made.
	if _, err := purchase(t, s, "cs_5", "cus_D", ""); paywall.KindOf(err) != paywall.Invalid {
		t.Errorf("purchase without email: %v, want invalid", err)
	}

	// One setup mail per member, however often they buy.
	mails, err := s.Mails(ctx, false, 10)
	if err != nil {
		t.Fatal(err)
	}
	perMember := map[int64]int{}
	for _, m := range mails {
		perMember[m.MemberID]++
	}
	if len(mails) != 2 || perMember[first] != 1 {
		t.Errorf("outbox %+v, want one setup mail for each of two members", mails)
	}
}

func TestOutboxStates(t *testing.T) { storetest.Each(t, testOutboxStates) }

func testOutboxStates(t *testing.T, db storetest.DB) {
	ctx := context.Background()
	s := openTest(t, db)
	mustPurchase(t, s, "cs_1", "cus_A", "reader@example.test")
	due, err := s.DueMails(ctx, 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("due: %v, %v", due, err)
	}
	id := due[0].ID
	if err := s.DeferMail(ctx, id, "refused", s.Now(), true); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueMails(ctx, 10); len(due) != 0 {
		t.Errorf("a failed mail is due: %+v", due)
	}
	if failed, _ := s.Mails(ctx, true, 10); len(failed) != 1 || failed[0].LastError != "refused" {
		t.Errorf("failed mails: %+v", failed)
	}
	if err := s.RetryMail(ctx, id); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueMails(ctx, 10); len(due) != 1 || due[0].Attempts != 0 {
		t.Errorf("after retry, due: %+v", due)
	}
	if err := s.MailSent(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryMail(ctx, id); paywall.KindOf(err) != paywall.NotFound {
		t.Errorf("retry of a sent mail: %v, want not found", err)
	}
	if err := s.RetryMail(ctx, 999); paywall.KindOf(err) != paywall.NotFound {
		t.Errorf("retry of no mail: %v, want not found", err)
	}
}

func TestSubscriptionChangeReportsMember(t *testing.T) {
	storetest.Each(t, testSubscriptionChangeReportsMember)
}

func testSubscriptionChangeReportsMember(t *testing.T, db storetest.DB) {
	ctx := context.Background()
	s := openTest(t, db)
	member := mustPurchase(t, s, "cs_1", "cus_A", "reader@example.test")
	if _, err := s.SaveEvent(ctx, paywall.Event{ID: "evt_sub", Type: "customer.subscription.updated",
		Created: s.Now(), Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ApplyEvent(ctx, "evt_sub", paywall.Change{Subscription: &paywall.Subscription{
		ID: "sub_1", CustomerID: "cus_A", Status: paywall.Active, PlanID: "basic", Version: 1}})
	if err != nil || got != member {
		t.Errorf("subscription change reports member %d, %v; want %d, so caches forget it",
			got, err, member)
	}
}

func TestCustomerContact(t *testing.T) { storetest.Each(t, testCustomerContact) }

// testCustomerContact: customer.updated with a new email (changed in the
// Customer Portal) changes the customer's contact address and never the
// member's sign-in address.
func testCustomerContact(t *testing.T, db storetest.DB) {
	ctx := context.Background()
	s := openTest(t, db)
	member := mustPurchase(t, s, "cs_1", "cus_A", "reader@example.test")
	if _, err := s.SaveEvent(ctx, paywall.Event{ID: "evt_cu", Type: "customer.updated",
		Created: s.Now(), Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyEvent(ctx, "evt_cu", paywall.Change{Customer: &paywall.CustomerContact{
		ID: "cus_A", Email: "portal@example.test"}}); err != nil {
		t.Fatal(err)
	}
	if m, err := s.Member(ctx, member); err != nil || m.Email != "reader@example.test" {
		t.Errorf("member after customer.updated: %+v, %v; want the sign-in address kept", m, err)
	}
	var contact string
	if err := s.db.QueryRowContext(ctx, `SELECT email FROM customers WHERE id = ?`, "cus_A").
		Scan(&contact); err != nil || contact != "portal@example.test" {
		t.Errorf("customer contact %q, %v; want portal@example.test", contact, err)
	}
}
