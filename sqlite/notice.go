package sqlite

import (
	"context"

	"github.com/paywall/paywall"
)

// endOwed reports whether notice n still owes member its mail. The end of a
// subscription owes none while the member reads on through another
// subscription or a lasting grant, as the subscription_ended mail says
// their access has ended. Its notice is settled all the same, so that it
// never comes due later beside the mail the last subscription's end owes.
func (s *Store) endOwed(ctx context.Context, tx *txn, member int64, n paywall.Notice) (bool, error) {
	ended, ok := paywall.EndedSubscription(n.Cause)
	if n.Kind != paywall.MailSubscriptionEnded || !ok {
		return true, nil
	}
	others, err := querySubscriptions(ctx, tx, subscriptionSelect+`
		JOIN customers c ON c.id = s.customer_id WHERE c.member_id = ? AND s.id != ?`,
		member, ended)
	if err != nil {
		return false, err
	}
	grants, err := queryGrants(ctx, tx, grantSelect+` WHERE member_id = ? AND `+grantLasting,
		member, s.now())
	if err != nil {
		return false, err
	}
	return !s.Policy.AccessWith(others, grants, s.Now()).Granted(), nil
}
