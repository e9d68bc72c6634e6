package paywall

import (
	"fmt"
	"slices"
)

// Portal is how Stripe's Customer Portal should behave, as paywall.toml
// says; `paywall stripe sync-plans` applies it to the default portal
// configuration.
type Portal struct {
	// SwitchPlans are the plans a member may move between in the portal;
	// empty means no plan changes there.
	SwitchPlans []string
	// Cancel is "at_period_end", "immediately" or "off".
	Cancel string
	// PaymentMethodUpdate and InvoiceHistory turn those portal pages on.
	PaymentMethodUpdate bool
	InvoiceHistory      bool
}

// Portal cancellation modes.
const (
	CancelAtPeriodEnd = "at_period_end"
	CancelImmediately = "immediately"
	CancelOff         = "off"
)

// Validate reports the first setting that cat cannot honour.
func (p Portal) Validate(cat Catalog) error {
	if !slices.Contains([]string{CancelAtPeriodEnd, CancelImmediately, CancelOff}, p.Cancel) {
		return fmt.Errorf("portal: cancel %q is not at_period_end, immediately or off", p.Cancel)
	}
	for _, id := range p.SwitchPlans {
		if _, ok := cat.Plan(id); !ok {
			return fmt.Errorf("portal: switch_plans names unknown plan %q", id)
		}
	}
	if len(p.SwitchPlans) == 1 {
		return fmt.Errorf("portal: switch_plans needs at least two plans to switch between")
	}
	return nil
}
