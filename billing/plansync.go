package billing

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/paywall/paywall"
)

// SyncStep is one change that makes Stripe's products, prices or portal
// configuration match paywall.toml.
type SyncStep struct {
	Action string // create product, update product, create price, replace price, …
	Target string // the plan or lookup key concerned
	Detail string
	run    func(ctx context.Context) error
}

func (s SyncStep) String() string {
	return fmt.Sprintf("%s %s: %s", s.Action, s.Target, s.Detail)
}

// Run makes the change in Stripe.
func (s SyncStep) Run(ctx context.Context) error {
	if err := s.run(ctx); err != nil {
		return fmt.Errorf("%s %s: %w", s.Action, s.Target, err)
	}
	return nil
}

// The Stripe objects sync-plans compares, reduced to what paywall.toml says.
type (
	catalogProduct struct {
		ID, Name, Description string
		Active                bool
	}
	catalogPrice struct {
		ID, Product, Currency string
		LookupKey             string
		Amount                int64
		Interval              paywall.Interval
		Active                bool
	}
	portalProduct struct {
		Product string
		Prices  []string
	}
	portalState struct {
		Switch              []portalProduct // sorted by product; empty means no plan changes
		Cancel              string
		PaymentMethodUpdate bool
		InvoiceHistory      bool
	}
)

// catalogAPI is the part of Stripe sync-plans reads and writes.
type catalogAPI interface {
	// price returns the price holding lookup key key, active or not, or nil.
	price(ctx context.Context, key string) (*catalogPrice, error)
	product(ctx context.Context, id string) (*catalogProduct, error) // nil when none
	createProduct(ctx context.Context, p catalogProduct, plan string) error
	updateProduct(ctx context.Context, p catalogProduct) error
	// createPrice creates p and moves its lookup key to it.
	createPrice(ctx context.Context, p catalogPrice, plan string) (string, error)
	setPriceActive(ctx context.Context, id string, active bool) error
	// portal returns the default portal configuration and its ID, or nil.
	portal(ctx context.Context) (*portalState, string, error)
	// setPortal updates the configuration id, or creates one when id is "".
	setPortal(ctx context.Context, id string, p portalState) error
}

// SyncPlans compares Stripe with cat and returns the steps that make Stripe
// match it, in the order they must run. A plan's product is the one its
// prices belong to, or paywall_<plan id> for a plan without any. Prices are
// immutable in Stripe, so a changed amount, currency or interval makes a new
// price, moves the lookup key to it and archives the old one. An empty list
// means Stripe matches already.
func (s *Stripe) SyncPlans(ctx context.Context, cat paywall.Catalog) ([]SyncStep, error) {
	return planSync(ctx, stripeCatalog{s.client}, cat)
}

func planSync(ctx context.Context, api catalogAPI, cat paywall.Catalog) ([]SyncStep, error) {
	var steps []SyncStep
	products := map[string]string{} // plan → product
	pricesChanged := map[string]bool{}
	for _, plan := range cat.Plans {
		current := map[string]*catalogPrice{}
		for _, pr := range plan.Prices {
			p, err := api.price(ctx, pr.LookupKey)
			if err != nil {
				return nil, err
			}
			current[pr.LookupKey] = p
		}
		product := productOf(plan, current)
		products[plan.ID] = product
		ps, err := productSteps(ctx, api, plan, product)
		if err != nil {
			return nil, err
		}
		steps = append(steps, ps...)
		for _, pr := range plan.Prices {
			if step, ok := priceStep(api, plan, pr, product, current[pr.LookupKey]); ok {
				steps = append(steps, step)
				pricesChanged[plan.ID] = true
			}
		}
	}
	if cat.Portal == nil {
		return steps, nil
	}
	ps, err := portalStep(ctx, api, cat, products, pricesChanged)
	if err != nil {
		return nil, err
	}
	return append(steps, ps...), nil
}

func productOf(plan paywall.Plan, current map[string]*catalogPrice) string {
	for _, pr := range plan.Prices {
		if p := current[pr.LookupKey]; p != nil && p.Product != "" {
			return p.Product
		}
	}
	return "paywall_" + plan.ID
}

func productSteps(ctx context.Context, api catalogAPI, plan paywall.Plan, id string) ([]SyncStep, error) {
	want := catalogProduct{ID: id, Name: plan.Name, Description: plan.Description, Active: true}
	have, err := api.product(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case have == nil:
		return []SyncStep{{Action: "create product", Target: plan.ID,
			Detail: fmt.Sprintf("%s %q", id, plan.Name),
			run:    func(ctx context.Context) error { return api.createProduct(ctx, want, plan.ID) }}}, nil
	case *have != want:
		return []SyncStep{{Action: "update product", Target: plan.ID,
			Detail: productDiff(*have, want),
			run:    func(ctx context.Context) error { return api.updateProduct(ctx, want) }}}, nil
	}
	return nil, nil
}

func productDiff(have, want catalogProduct) string {
	var d []string
	if have.Name != want.Name {
		d = append(d, fmt.Sprintf("name %q → %q", have.Name, want.Name))
	}
	if have.Description != want.Description {
		d = append(d, fmt.Sprintf("description %q → %q", have.Description, want.Description))
	}
	if !have.Active {
		d = append(d, "archived → active")
	}
	return want.ID + " " + strings.Join(d, ", ")
}

// priceStep returns the step that makes the price holding pr's lookup key
// match pr, if one is needed.
func priceStep(api catalogAPI, plan paywall.Plan, pr paywall.Price, product string, have *catalogPrice) (SyncStep, bool) {
	want := catalogPrice{Product: product, Currency: pr.Currency, LookupKey: pr.LookupKey,
		Amount: pr.Amount, Interval: pr.Interval, Active: true}
	shown := fmt.Sprintf("%s %s/%s on %s", amount(pr.Amount), pr.Currency, pr.Interval, product)
	switch {
	case have == nil:
		return SyncStep{Action: "create price", Target: pr.LookupKey, Detail: shown,
			run: func(ctx context.Context) error {
				_, err := api.createPrice(ctx, want, plan.ID)
				return err
			}}, true
	case !samePrice(*have, want):
		old := *have
		return SyncStep{Action: "replace price", Target: pr.LookupKey,
			Detail: fmt.Sprintf("%s %s %s/%s → new price %s, lookup key moved, %s archived",
				old.ID, amount(old.Amount), old.Currency, old.Interval, shown, old.ID),
			run: func(ctx context.Context) error {
				if _, err := api.createPrice(ctx, want, plan.ID); err != nil {
					return err
				}
				return api.setPriceActive(ctx, old.ID, false)
			}}, true
	case !have.Active:
		id := have.ID
		return SyncStep{Action: "activate price", Target: pr.LookupKey, Detail: id + " " + shown,
			run: func(ctx context.Context) error { return api.setPriceActive(ctx, id, true) }}, true
	}
	return SyncStep{}, false
}

func samePrice(a, b catalogPrice) bool {
	return a.Product == b.Product && strings.EqualFold(a.Currency, b.Currency) &&
		a.Amount == b.Amount && a.Interval == b.Interval
}

func amount(v int64) string { return fmt.Sprintf("%d.%02d", v/100, v%100) }

// portalStep compares the default portal configuration with cat.Portal.
// The switchable prices are looked up again when the step runs, since the
// price steps before it may have created them.
func portalStep(ctx context.Context, api catalogAPI, cat paywall.Catalog, products map[string]string, pricesChanged map[string]bool) ([]SyncStep, error) {
	have, id, err := api.portal(ctx)
	if err != nil {
		return nil, err
	}
	want, err := wantPortal(ctx, api, cat, products)
	if err != nil {
		return nil, err
	}
	stale := false
	for _, p := range cat.Portal.SwitchPlans {
		stale = stale || pricesChanged[p]
	}
	if have != nil && !stale && portalEqual(*have, want) {
		return nil, nil
	}
	action, target := "update portal", "configuration "+id
	if have == nil {
		action, target = "create portal", "configuration"
	}
	return []SyncStep{{Action: action, Target: target, Detail: want.String(),
		run: func(ctx context.Context) error {
			want, err := wantPortal(ctx, api, cat, products)
			if err != nil {
				return err
			}
			return api.setPortal(ctx, id, want)
		}}}, nil
}

func wantPortal(ctx context.Context, api catalogAPI, cat paywall.Catalog, products map[string]string) (portalState, error) {
	p := cat.Portal
	want := portalState{Cancel: p.Cancel, PaymentMethodUpdate: p.PaymentMethodUpdate,
		InvoiceHistory: p.InvoiceHistory}
	byProduct := map[string][]string{}
	for _, id := range p.SwitchPlans {
		plan, _ := cat.Plan(id)
		for _, pr := range plan.Prices {
			have, err := api.price(ctx, pr.LookupKey)
			if err != nil {
				return want, err
			}
			if have != nil && !slices.Contains(byProduct[products[id]], have.ID) {
				byProduct[products[id]] = append(byProduct[products[id]], have.ID)
			}
		}
	}
	for product, prices := range byProduct {
		slices.Sort(prices)
		want.Switch = append(want.Switch, portalProduct{Product: product, Prices: prices})
	}
	sortPortal(&want)
	return want, nil
}

func sortPortal(p *portalState) {
	for i := range p.Switch {
		slices.Sort(p.Switch[i].Prices)
	}
	slices.SortFunc(p.Switch, func(a, b portalProduct) int { return strings.Compare(a.Product, b.Product) })
}

func portalEqual(a, b portalState) bool {
	return a.Cancel == b.Cancel && a.PaymentMethodUpdate == b.PaymentMethodUpdate &&
		a.InvoiceHistory == b.InvoiceHistory &&
		slices.EqualFunc(a.Switch, b.Switch, func(x, y portalProduct) bool {
			return x.Product == y.Product && slices.Equal(x.Prices, y.Prices)
		})
}

func (p portalState) String() string {
	var sw []string
	for _, s := range p.Switch {
		sw = append(sw, s.Product+"("+strings.Join(s.Prices, ",")+")")
	}
	switching := "off"
	if len(sw) > 0 {
		switching = strings.Join(sw, " ")
	}
	return fmt.Sprintf("switch plans %s; cancel %s; payment method update %t; invoice history %t",
		switching, p.Cancel, p.PaymentMethodUpdate, p.InvoiceHistory)
}
