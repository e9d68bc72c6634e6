package sqlite

import (
	"context"
	"fmt"

	"github.com/paywall/paywall"
)

// noticeOwed reports whether the mail n is still owed now. Every notice is,
// except a trial notice that would tell the member they are charged on a
// day that has passed or that will not come: a trial_will_end applied late
// (a backlog, a retry, a replay) decided on its own copy of the
// subscription, which newer information may have overtaken. sub is the
// subscription that came with the notice, nil when it was recorded earlier
// and waited for its member; what is stored is then at least as new.
func (s *Store) noticeOwed(ctx context.Context, tx *txn, n paywall.Notice,
	sub *paywall.Subscription) (bool, error) {
	if n.Kind != paywall.MailTrialEnding {
		return true, nil
	}
	id, end, ok := paywall.ParseTrialCause(n.Cause)
	if !ok {
		return true, nil
	}
	if !end.After(s.Now()) {
		return false, nil
	}
	var version int64
	if sub != nil && sub.ID == id {
		version = sub.Version
	}
	stored, err := scanSubscription(tx.QueryRowContext(ctx, subscriptionSelect+` WHERE id = ?`, id))
	switch {
	case isNoRows(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("get subscription for trial notice: %w", err)
	case stored.Version <= version:
		return true, nil
	}
	return stored.Status == paywall.Trialing && !stored.CancelsBy(end), nil
}
