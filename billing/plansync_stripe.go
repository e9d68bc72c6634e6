package billing

import (
	"context"

	"github.com/stripe/stripe-go/v84"

	"github.com/paywall/paywall"
)

// stripeCatalog is catalogAPI over stripe-go.
type stripeCatalog struct{ c *stripe.Client }

func (s stripeCatalog) price(ctx context.Context, key string) (*catalogPrice, error) {
	params := &stripe.PriceListParams{LookupKeys: []*string{stripe.String(key)}}
	params.Limit = stripe.Int64(1)
	for p, err := range s.c.V1Prices.List(ctx, params) {
		if err != nil {
			return nil, stripeError("find price "+key, err)
		}
		cp := &catalogPrice{ID: p.ID, Currency: string(p.Currency), LookupKey: p.LookupKey,
			Amount: p.UnitAmount, Active: p.Active}
		if p.Product != nil {
			cp.Product = p.Product.ID
		}
		if p.Recurring != nil {
			cp.Interval = paywall.Interval(p.Recurring.Interval)
		}
		return cp, nil
	}
	return nil, nil
}

func (s stripeCatalog) product(ctx context.Context, id string) (*catalogProduct, error) {
	p, err := s.c.V1Products.Retrieve(ctx, id, nil)
	if isMissing(err) {
		return nil, nil
	}
	if err != nil {
		return nil, stripeError("get product "+id, err)
	}
	return &catalogProduct{ID: p.ID, Name: p.Name, Description: p.Description, Active: p.Active}, nil
}

func (s stripeCatalog) createProduct(ctx context.Context, p catalogProduct, plan string) error {
	params := &stripe.ProductCreateParams{ID: stripe.String(p.ID), Name: stripe.String(p.Name),
		Metadata: map[string]string{"plan": plan}}
	if p.Description != "" {
		params.Description = stripe.String(p.Description)
	}
	_, err := s.c.V1Products.Create(ctx, params)
	return stripeError("create product", err)
}

func (s stripeCatalog) updateProduct(ctx context.Context, p catalogProduct) error {
	_, err := s.c.V1Products.Update(ctx, p.ID, &stripe.ProductUpdateParams{
		Name: stripe.String(p.Name), Description: stripe.String(p.Description),
		Active: stripe.Bool(true),
	})
	return stripeError("update product", err)
}

func (s stripeCatalog) createPrice(ctx context.Context, p catalogPrice, plan string) (string, error) {
	pr, err := s.c.V1Prices.Create(ctx, &stripe.PriceCreateParams{
		Product:           stripe.String(p.Product),
		UnitAmount:        stripe.Int64(p.Amount),
		Currency:          stripe.String(p.Currency),
		Recurring:         &stripe.PriceCreateRecurringParams{Interval: stripe.String(string(p.Interval))},
		LookupKey:         stripe.String(p.LookupKey),
		TransferLookupKey: stripe.Bool(true),
		Metadata:          map[string]string{"plan": plan},
	})
	if err != nil {
		return "", stripeError("create price", err)
	}
	return pr.ID, nil
}

func (s stripeCatalog) setPriceActive(ctx context.Context, id string, active bool) error {
	_, err := s.c.V1Prices.Update(ctx, id, &stripe.PriceUpdateParams{Active: stripe.Bool(active)})
	return stripeError("update price "+id, err)
}

func (s stripeCatalog) portal(ctx context.Context) (*portalState, string, error) {
	params := &stripe.BillingPortalConfigurationListParams{IsDefault: stripe.Bool(true)}
	params.Limit = stripe.Int64(1)
	for c, err := range s.c.V1BillingPortalConfigurations.List(ctx, params) {
		if err != nil {
			return nil, "", stripeError("get portal configuration", err)
		}
		return portalOf(c.Features), c.ID, nil
	}
	return nil, "", nil
}

func portalOf(f *stripe.BillingPortalConfigurationFeatures) *portalState {
	p := &portalState{Cancel: paywall.CancelOff}
	if f == nil {
		return p
	}
	if su := f.SubscriptionUpdate; su != nil && su.Enabled {
		for _, pr := range su.Products {
			p.Switch = append(p.Switch, portalProduct{Product: pr.Product, Prices: pr.Prices})
		}
	}
	if sc := f.SubscriptionCancel; sc != nil && sc.Enabled {
		p.Cancel = string(sc.Mode)
	}
	p.PaymentMethodUpdate = f.PaymentMethodUpdate != nil && f.PaymentMethodUpdate.Enabled
	p.InvoiceHistory = f.InvoiceHistory != nil && f.InvoiceHistory.Enabled
	sortPortal(p)
	return p
}

func (s stripeCatalog) setPortal(ctx context.Context, id string, p portalState) error {
	if id == "" {
		_, err := s.c.V1BillingPortalConfigurations.Create(ctx,
			&stripe.BillingPortalConfigurationCreateParams{Features: createFeatures(p)})
		return stripeError("create portal configuration", err)
	}
	_, err := s.c.V1BillingPortalConfigurations.Update(ctx, id,
		&stripe.BillingPortalConfigurationUpdateParams{Features: updateFeatures(p)})
	return stripeError("update portal configuration", err)
}

func updateFeatures(p portalState) *stripe.BillingPortalConfigurationUpdateFeaturesParams {
	f := &stripe.BillingPortalConfigurationUpdateFeaturesParams{
		InvoiceHistory: &stripe.BillingPortalConfigurationUpdateFeaturesInvoiceHistoryParams{
			Enabled: stripe.Bool(p.InvoiceHistory)},
		PaymentMethodUpdate: &stripe.BillingPortalConfigurationUpdateFeaturesPaymentMethodUpdateParams{
			Enabled: stripe.Bool(p.PaymentMethodUpdate)},
		SubscriptionCancel: &stripe.BillingPortalConfigurationUpdateFeaturesSubscriptionCancelParams{
			Enabled: stripe.Bool(p.Cancel != paywall.CancelOff)},
		SubscriptionUpdate: &stripe.BillingPortalConfigurationUpdateFeaturesSubscriptionUpdateParams{
			Enabled: stripe.Bool(len(p.Switch) > 0)},
	}
	if p.Cancel != paywall.CancelOff {
		f.SubscriptionCancel.Mode = stripe.String(p.Cancel)
	}
	if len(p.Switch) > 0 {
		su := f.SubscriptionUpdate
		su.DefaultAllowedUpdates = []*string{stripe.String("price")}
		su.ProrationBehavior = stripe.String("create_prorations")
		for _, sp := range p.Switch {
			su.Products = append(su.Products,
				&stripe.BillingPortalConfigurationUpdateFeaturesSubscriptionUpdateProductParams{
					Product: stripe.String(sp.Product), Prices: stripe.StringSlice(sp.Prices)})
		}
	}
	return f
}

func createFeatures(p portalState) *stripe.BillingPortalConfigurationCreateFeaturesParams {
	f := &stripe.BillingPortalConfigurationCreateFeaturesParams{
		InvoiceHistory: &stripe.BillingPortalConfigurationCreateFeaturesInvoiceHistoryParams{
			Enabled: stripe.Bool(p.InvoiceHistory)},
		PaymentMethodUpdate: &stripe.BillingPortalConfigurationCreateFeaturesPaymentMethodUpdateParams{
			Enabled: stripe.Bool(p.PaymentMethodUpdate)},
		SubscriptionCancel: &stripe.BillingPortalConfigurationCreateFeaturesSubscriptionCancelParams{
			Enabled: stripe.Bool(p.Cancel != paywall.CancelOff)},
		SubscriptionUpdate: &stripe.BillingPortalConfigurationCreateFeaturesSubscriptionUpdateParams{
			Enabled: stripe.Bool(len(p.Switch) > 0)},
	}
	if p.Cancel != paywall.CancelOff {
		f.SubscriptionCancel.Mode = stripe.String(p.Cancel)
	}
	if len(p.Switch) > 0 {
		su := f.SubscriptionUpdate
		su.DefaultAllowedUpdates = []*string{stripe.String("price")}
		su.ProrationBehavior = stripe.String("create_prorations")
		for _, sp := range p.Switch {
			su.Products = append(su.Products,
				&stripe.BillingPortalConfigurationCreateFeaturesSubscriptionUpdateProductParams{
					Product: stripe.String(sp.Product), Prices: stripe.StringSlice(sp.Prices)})
		}
	}
	return f
}
