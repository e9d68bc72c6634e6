package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paywall/paywall/billing"
	"github.com/paywall/paywall/config"
)

// newStripe returns the Stripe client of cfg over hc, or over a default
// client when hc is nil.
func newStripe(cfg config.Config, hc *http.Client) *billing.Stripe {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return billing.NewStripe(cfg.StripeSecretKey, cfg.StripeAPIBase, cfg.BaseURL, hc)
}

// stripeCommand runs `paywall stripe sync-plans | setup-webhook | reconcile`.
func stripeCommand(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: stripe needs sync-plans, setup-webhook or reconcile", errUsage)
	}
	sub, args := args[0], args[1:]
	run, ok := map[string]func(context.Context, *cli, []string) error{
		"sync-plans":    syncPlans,
		"setup-webhook": setupWebhook,
		"reconcile":     reconcile,
	}[sub]
	if !ok {
		return fmt.Errorf("%w: unknown command stripe %q", errUsage, sub)
	}
	if c.cfg.Simulated() {
		return fmt.Errorf("STRIPE_SECRET_KEY: required for paywall stripe %s", sub)
	}
	return run(ctx, c, args)
}

// parseFlags parses args for `paywall stripe name`; bad flags are bad usage.
func parseFlags(c *cli, name string, args []string, define func(*flag.FlagSet)) error {
	fs := flag.NewFlagSet("paywall stripe "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	define(fs)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: stripe %s: %v", errUsage, name, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: stripe %s: unexpected argument %q", errUsage, name, fs.Arg(0))
	}
	return nil
}

func syncPlans(ctx context.Context, c *cli, args []string) error {
	var dryRun bool
	if err := parseFlags(c, "sync-plans", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "print the changes without making them")
	}); err != nil {
		return err
	}
	steps, err := newStripe(c.cfg, c.stripeHTTP).SyncPlans(ctx, c.cfg.Catalog)
	if err != nil {
		return err
	}
	if len(steps) == 0 {
		fmt.Fprintf(c.stdout, "Stripe matches %s: no change.\n", plansName(c.cfg))
		return nil
	}
	for _, s := range steps {
		if dryRun {
			fmt.Fprintln(c.stdout, "would", s)
			continue
		}
		if err := s.Run(ctx); err != nil {
			return err
		}
		fmt.Fprintln(c.stdout, "done:", s)
	}
	if dryRun {
		fmt.Fprintf(c.stdout, "%d changes planned; nothing changed (dry run).\n", len(steps))
	} else {
		fmt.Fprintf(c.stdout, "%d changes made.\n", len(steps))
	}
	return nil
}

func plansName(cfg config.Config) string {
	if cfg.PlansFile == "" {
		return "the example plans"
	}
	return cfg.PlansFile
}

func setupWebhook(ctx context.Context, c *cli, args []string) error {
	var endpoint string
	if err := parseFlags(c, "setup-webhook", args, func(fs *flag.FlagSet) {
		fs.StringVar(&endpoint, "url", "", "the public URL of /webhooks/stripe")
	}); err != nil {
		return err
	}
	if endpoint == "" {
		return fmt.Errorf("%w: stripe setup-webhook needs --url URL, for example "+
			"--url %s/webhooks/stripe", errUsage, c.cfg.BaseURL)
	}
	we, err := newStripe(c.cfg, c.stripeHTTP).SetupWebhook(ctx, endpoint)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "created webhook endpoint %s for %s\n", we.ID, we.URL)
	fmt.Fprintf(c.stdout, "api version %s, %d events: %s\n", we.APIVersion, len(we.Events),
		strings.Join(we.Events, ", "))
	if we.Secret == "" {
		fmt.Fprintln(c.stdout, "Stripe returned no signing secret: reveal it on the endpoint's "+
			"page in the dashboard and set STRIPE_WEBHOOK_SECRET to it.")
		return nil
	}
	fmt.Fprintf(c.stdout, "signing secret (Stripe shows it only now): %s\n", we.Secret)
	fmt.Fprintf(c.stdout, "set it where paywall serve reads its environment (or .env):\n"+
		"  STRIPE_WEBHOOK_SECRET=%s\n", we.Secret)
	return nil
}

func reconcile(ctx context.Context, c *cli, args []string) error {
	var dryRun bool
	if err := parseFlags(c, "reconcile", args, func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "print the differences without repairing them")
	}); err != nil {
		return err
	}
	store, err := openMigrated(ctx, c.cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	st := newStripe(c.cfg, c.stripeHTTP)
	rec, err := st.Reconcile(ctx, store, c.cfg.Catalog, time.Now(), dryRun)
	if err != nil {
		return err
	}
	printReconciliation(c.stdout, rec, dryRun)
	return nil
}

func printReconciliation(w io.Writer, rec billing.Reconciliation, dryRun bool) {
	fmt.Fprintf(w, "Stripe lists %d customers and %d subscriptions; %d differences.\n",
		rec.Customers, rec.Subscriptions, len(rec.Differences))
	if len(rec.Differences) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SUBSCRIPTION\tCUSTOMER\tFIELD\tLOCAL\tSTRIPE\tREPAIR")
		for _, d := range rec.Differences {
			repair := "report only"
			if d.Repairable {
				repair = "from Stripe"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Subscription, d.Customer, d.Field,
				d.Local, d.Stripe, repair)
		}
		tw.Flush()
	}
	switch {
	case dryRun:
		fmt.Fprintln(w, "Nothing changed (dry run).")
	default:
		fmt.Fprintf(w, "Repaired %d subscriptions from Stripe's records.\n", rec.Repaired)
	}
}

// reconcileEvery runs reconcile with repairs every interval until ctx ends,
// as PAYWALL_RECONCILE_EVERY asks.
func (a *App) reconcileEvery(ctx context.Context, every time.Duration) {
	log := a.log.With("component", "reconcile")
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rec, err := a.stripe.Reconcile(ctx, a.store, a.cfg.Catalog, time.Now(), false)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("reconcile", "error", err)
			}
			continue
		}
		for _, d := range rec.Differences {
			log.Warn("reconcile difference", "subscription_id", d.Subscription,
				"customer_id", d.Customer, "field", d.Field, "local", d.Local, "stripe", d.Stripe)
		}
		log.Info("reconciled", "subscriptions", rec.Subscriptions,
			"differences", len(rec.Differences), "repaired", rec.Repaired)
	}
}
