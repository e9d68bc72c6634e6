package sqlite_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite/storetest"
)

func TestPurchaseCreatesMember(t *testing.T) { storetest.Each(t, testPurchaseCreatesMember) }

func testPurchaseCreatesMember(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()

	member := apply(t, s, "evt_1", purchase("cs_1", "cus_1", " ann@example.com "))

	got, err := s.Member(ctx, member)
	if err != nil {
		t.Fatal(err)
	}
	want := paywall.Member{ID: member, Email: "ann@example.com", CreatedAt: start}
	if got != want {
		t.Errorf("Member: got %+v, want %+v", got, want)
	}
	mails := dueMails(t, s)
	if len(mails) != 1 || mails[0].MemberID != member || mails[0].To != "ann@example.com" ||
		mails[0].Kind != paywall.MailSetup {
		t.Errorf("outbox: got %+v, want one setup mail to ann@example.com", mails)
	}
	if ids, err := s.CustomerIDs(ctx, member); err != nil || !reflect.DeepEqual(ids, []string{"cus_1"}) {
		t.Errorf("CustomerIDs: got %v, %v, want [cus_1]", ids, err)
	}
}

func TestSecondPurchaseSameEmail(t *testing.T) { storetest.Each(t, testSecondPurchaseSameEmail) }

func testSecondPurchaseSameEmail(t *testing.T, db storetest.DB) {
	tests := []struct {
		name  string
		email string
	}{
		{"same spelling", "ann@example.com"},
		{"other case", "Ann@Example.COM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t, db)
			ctx := context.Background()

			first := apply(t, s, "evt_1", purchase("cs_1", "cus_1", "ann@example.com"))
			second := apply(t, s, "evt_2", purchase("cs_2", "cus_2", tt.email))

			if second != first {
				t.Errorf("second purchase: got member %d, want %d", second, first)
			}
			if mails := dueMails(t, s); len(mails) != 1 {
				t.Errorf("outbox: got %+v, want one setup mail", mails)
			}
			ids, err := s.CustomerIDs(ctx, first)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != 2 {
				t.Errorf("CustomerIDs: got %v, want cus_1 and cus_2", ids)
			}
		})
	}
}

func TestPurchaseKnownCustomer(t *testing.T) { storetest.Each(t, testPurchaseKnownCustomer) }

func testPurchaseKnownCustomer(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)

	first := apply(t, s, "evt_1", purchase("cs_1", "cus_1", "ann@example.com"))
	// A later checkout of the same Stripe customer without an email still
	// belongs to the customer's member.
	second := apply(t, s, "evt_2", purchase("cs_2", "cus_1", ""))
	if second != first {
		t.Errorf("got member %d, want %d", second, first)
	}
}

func TestPurchaseWithoutEmail(t *testing.T) { storetest.Each(t, testPurchaseWithoutEmail) }

func testPurchaseWithoutEmail(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()
	if _, err := s.SaveEvent(ctx, paywall.Event{ID: "evt_1", Type: "test", Created: start,
		Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}

	_, err := s.ApplyEvent(ctx, "evt_1", purchase("cs_1", "cus_new", ""))
	wantKind(t, "purchase without email", err, paywall.Invalid)
	if due := dueEvents(t, s); len(due) != 1 {
		t.Errorf("DueEvents: got %+v, want the event still pending", due)
	}
}

func TestMemberNotFound(t *testing.T) { storetest.Each(t, testMemberNotFound) }

func testMemberNotFound(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()

	_, err := s.MemberByEmail(ctx, "nobody@example.com")
	wantKind(t, "MemberByEmail", err, paywall.NotFound)
	_, err = s.Member(ctx, 99)
	wantKind(t, "Member", err, paywall.NotFound)
	_, _, err = s.PasswordHash(ctx, "nobody@example.com")
	wantKind(t, "PasswordHash", err, paywall.NotFound)
}

func TestCheckoutEmail(t *testing.T) { storetest.Each(t, testCheckoutEmail) }

func testCheckoutEmail(t *testing.T, db storetest.DB) {
	s, _ := newStore(t, db)
	ctx := context.Background()

	unpaid := purchase("cs_1", "cus_1", "ann@example.com")
	unpaid.Purchase.Paid = false
	apply(t, s, "evt_1", unpaid)

	tests := []struct {
		name      string
		session   string
		wantEmail string
		wantPaid  bool
		wantFound bool
	}{
		{"processing", "cs_1", "ann@example.com", false, true},
		{"unknown", "cs_missing", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email, paid, found, err := s.CheckoutEmail(ctx, tt.session)
			if err != nil {
				t.Fatal(err)
			}
			if email != tt.wantEmail || paid != tt.wantPaid || found != tt.wantFound {
				t.Errorf("got %q, %v, %v, want %q, %v, %v", email, paid, found,
					tt.wantEmail, tt.wantPaid, tt.wantFound)
			}
		})
	}

	// The delayed payment succeeds; a stale unpaid redelivery under another
	// event ID does not undo it.
	apply(t, s, "evt_2", purchase("cs_1", "cus_1", "ann@example.com"))
	apply(t, s, "evt_3", unpaid)
	if _, paid, _, err := s.CheckoutEmail(ctx, "cs_1"); err != nil || !paid {
		t.Errorf("after payment: got paid %v, %v, want true", paid, err)
	}
}
