package paywall

import (
	"fmt"
	"slices"
)

// Interval is how often a price is charged.
type Interval string

// Billing intervals, in Stripe's words.
const (
	Month Interval = "month"
	Year  Interval = "year"
)

// Price is one way to pay for a plan.
type Price struct {
	Interval  Interval `json:"interval"`
	LookupKey string   `json:"lookup_key"`
	Amount    int64    `json:"amount"` // smallest currency unit
	Currency  string   `json:"currency"`
}

// Plan is what a member buys; rules name plans by ID.
type Plan struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Prices      []Price `json:"prices"`
	// Includes names plans this plan also covers, so that a higher plan can
	// open every post of a lower one without editing the posts. It is
	// transitive: elite including pro, and pro including basic, covers basic.
	Includes []string `json:"includes,omitempty"`
	// TrialDays is the free trial a new subscription starts with; 0 for none.
	TrialDays int64 `json:"trial_days,omitempty"`
	// PromotionCodes lets buyers enter a Stripe promotion code at checkout.
	PromotionCodes bool `json:"-"`
}

// Price returns the plan's price for interval i.
func (p Plan) Price(i Interval) (Price, bool) {
	for _, pr := range p.Prices {
		if pr.Interval == i {
			return pr, true
		}
	}
	return Price{}, false
}

// Catalog is the set of plans on sale.
type Catalog struct {
	Plans []Plan
	// Portal is the Customer Portal's configuration; nil leaves Stripe's as it is.
	Portal *Portal
}

// Plan returns the plan with the given ID.
func (c Catalog) Plan(id string) (Plan, bool) {
	for _, p := range c.Plans {
		if p.ID == id {
			return p, true
		}
	}
	return Plan{}, false
}

// Covers reports whether a member on plan may read what names target: the
// same plan, or one it includes, directly or through other plans.
func (c Catalog) Covers(plan, target string) bool {
	seen := map[string]bool{}
	var walk func(id string) bool
	walk = func(id string) bool {
		if id == target {
			return true
		}
		if seen[id] {
			return false
		}
		seen[id] = true
		p, _ := c.Plan(id)
		return slices.ContainsFunc(p.Includes, walk)
	}
	return plan != "" && walk(plan)
}

// Unlocking returns every plan that covers at least one of plans, in
// catalog order: the plans a reader may hold to open a page listing plans.
func (c Catalog) Unlocking(plans []string) []string {
	var out []string
	for _, p := range c.Plans {
		if slices.ContainsFunc(plans, func(t string) bool { return c.Covers(p.ID, t) }) {
			out = append(out, p.ID)
		}
	}
	return out
}

// PlanByLookupKey returns the plan one of whose prices has lookup key k.
func (c Catalog) PlanByLookupKey(k string) (Plan, bool) {
	if k == "" {
		return Plan{}, false
	}
	for _, p := range c.Plans {
		for _, pr := range p.Prices {
			if pr.LookupKey == k {
				return p, true
			}
		}
	}
	return Plan{}, false
}

// Validate reports the first inconsistency in the catalog, naming the plan.
func (c Catalog) Validate() error {
	if len(c.Plans) == 0 {
		return fmt.Errorf("no plans defined")
	}
	seenPlan := map[string]bool{}
	seenKey := map[string]bool{}
	for _, p := range c.Plans {
		if p.ID == "" {
			return fmt.Errorf("a plan has no id")
		}
		if seenPlan[p.ID] {
			return fmt.Errorf("plan %q is defined twice", p.ID)
		}
		seenPlan[p.ID] = true
		if len(p.Prices) == 0 {
			return fmt.Errorf("plan %q has no prices", p.ID)
		}
		if p.TrialDays < 0 || p.TrialDays > 730 {
			// Stripe's own bounds for trial_period_days.
			return fmt.Errorf("plan %q: trial_days must be between 0 and 730", p.ID)
		}
		for _, pr := range p.Prices {
			if err := pr.validate(p.ID, seenKey); err != nil {
				return err
			}
		}
	}
	if c.Portal != nil {
		if err := c.Portal.Validate(c); err != nil {
			return err
		}
	}
	return c.validateIncludes()
}

// validateIncludes checks that every included plan exists and that no plan
// includes itself, directly or through others.
func (c Catalog) validateIncludes() error {
	for _, p := range c.Plans {
		for _, inc := range p.Includes {
			if _, ok := c.Plan(inc); !ok {
				return fmt.Errorf("plan %q includes the unknown plan %q", p.ID, inc)
			}
			if c.Covers(inc, p.ID) {
				return fmt.Errorf("plan %q includes %q, which includes %q again", p.ID, inc, p.ID)
			}
		}
	}
	return nil
}

func (pr Price) validate(plan string, seenKey map[string]bool) error {
	if !slices.Contains([]Interval{Month, Year}, pr.Interval) {
		return fmt.Errorf("plan %q: interval %q is not month or year", plan, pr.Interval)
	}
	if pr.LookupKey == "" {
		return fmt.Errorf("plan %q: the %s price has no lookup_key", plan, pr.Interval)
	}
	if seenKey[pr.LookupKey] {
		return fmt.Errorf("plan %q: lookup_key %q is used twice", plan, pr.LookupKey)
	}
	seenKey[pr.LookupKey] = true
	if pr.Amount <= 0 {
		return fmt.Errorf("plan %q: the %s price needs a positive amount", plan, pr.Interval)
	}
	if len(pr.Currency) != 3 {
		return fmt.Errorf("plan %q: currency %q is not a three-letter code", plan, pr.Currency)
	}
	return nil
}
