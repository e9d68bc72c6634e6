package sqlite_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite"
	"github.com/paywall/paywall/sqlite/storetest"
)

// TestSubscriptionEndedWhileAccessLasts checks that a member whose
// subscription ends is mailed that their access has ended only when it
// has: not while another subscription, of any of their customers, or a
// lasting grant still gives access, and once when the last one ends,
// however often its end is delivered.
func TestSubscriptionEndedWhileAccessLasts(t *testing.T) {
	storetest.Each(t, testSubscriptionEndedWhileAccessLasts)
}

func testSubscriptionEndedWhileAccessLasts(t *testing.T, db storetest.DB) {
	live := func(id, customer string) paywall.Subscription {
		return paywall.Subscription{ID: id, CustomerID: customer, Status: paywall.Active,
			PlanID: "pro", PeriodEnd: start.Add(30 * 24 * time.Hour), Version: start.Unix()}
	}
	tests := []struct {
		name  string
		subs  []paywall.Subscription
		grant *paywall.Grant
		later time.Duration // how long after start the subscriptions end
		ends  []string      // the subscriptions that end, in order
		want  [][]string    // after each end, the causes of subscription_ended mails
	}{
		{name: "two subscriptions, one customer",
			subs: []paywall.Subscription{live("sub_first", "cus_ann"), live("sub_second", "cus_ann")},
			ends: []string{"sub_second", "sub_first"},
			want: [][]string{nil, {paywall.EndedCause("sub_first")}}},
		{name: "two subscriptions, two customers",
			subs: []paywall.Subscription{live("sub_first", "cus_ann"), live("sub_other", "cus_ann2")},
			ends: []string{"sub_first", "sub_other"},
			want: [][]string{nil, {paywall.EndedCause("sub_other")}}},
		{name: "the other subscription already ended",
			subs: []paywall.Subscription{live("sub_first", "cus_ann"), live("sub_second", "cus_ann")},
			ends: []string{"sub_first", "sub_second"},
			want: [][]string{nil, {paywall.EndedCause("sub_second")}}},
		{name: "a grant without end",
			subs:  []paywall.Subscription{live("sub_first", "cus_ann")},
			grant: &paywall.Grant{PlanID: "elite"},
			ends:  []string{"sub_first"},
			want:  [][]string{nil}},
		{name: "a grant that has ended",
			subs:  []paywall.Subscription{live("sub_first", "cus_ann")},
			grant: &paywall.Grant{PlanID: "elite", Until: start.Add(time.Hour)},
			later: 2 * time.Hour,
			ends:  []string{"sub_first"},
			want:  [][]string{{paywall.EndedCause("sub_first")}}},
		{name: "one subscription",
			subs: []paywall.Subscription{live("sub_first", "cus_ann")},
			ends: []string{"sub_first"},
			want: [][]string{{paywall.EndedCause("sub_first")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newStore(t, db)
			ann := apply(t, s, "evt_buy", purchase("cs_ann", "cus_ann", "ann@example.test"))
			apply(t, s, "evt_buy2", purchase("cs_ann2", "cus_ann2", "ann@example.test"))
			for _, sub := range tt.subs {
				apply(t, s, "evt_live_"+sub.ID, subChange(sub))
			}
			if tt.grant != nil {
				if _, err := s.Grant(context.Background(), "ann@example.test", *tt.grant); err != nil {
					t.Fatal(err)
				}
			}
			clk.advance(tt.later)

			for i, id := range tt.ends {
				sub := tt.subs[slices.IndexFunc(tt.subs,
					func(s paywall.Subscription) bool { return s.ID == id })]
				sub.Status, sub.Version = paywall.Canceled, clk.now().Unix()
				end := paywall.Change{Subscription: &sub, Notice: &paywall.Notice{
					Kind: paywall.MailSubscriptionEnded, CustomerID: sub.CustomerID,
					Cause: paywall.EndedCause(sub.ID)}}
				// Stripe may deliver the end twice, and reconcile may
				// bring the same news in an event of its own.
				for _, evt := range []string{"evt_end_" + id, "evt_end_" + id, "evt_again_" + id} {
					apply(t, s, evt, end)
				}
				if got := endedMails(t, s, ann); !slices.Equal(got, tt.want[i]) {
					t.Errorf("after %s ended: subscription_ended mails %q, want %q",
						id, got, tt.want[i])
				}
			}
		})
	}
}

// endedMails returns the causes of member's subscription_ended mails.
func endedMails(t *testing.T, s *sqlite.Store, member int64) []string {
	t.Helper()
	var causes []string
	for _, m := range dueMails(t, s) {
		if m.Kind == paywall.MailSubscriptionEnded && m.MemberID == member {
			causes = append(causes, m.Cause)
		}
	}
	return causes
}
