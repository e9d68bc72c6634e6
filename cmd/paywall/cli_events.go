package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/billing"
	"github.com/paywall/paywall/sqlite"
)

const eventsUsage = "paywall events list [--failed] | show ID | replay ID | retry-failed | " +
	"send TYPE [--to URL] [--email E --plan P]"

// events inspects and repairs the webhook inbox, and sends test events.
func events(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: events needs a subcommand: %s", errUsage, eventsUsage)
	}
	sub, args := args[0], args[1:]
	if sub == "send" {
		return eventsSend(ctx, c, args)
	}
	store, err := openMigrated(ctx, c.cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "list":
		return eventsList(ctx, c, store, args)
	case "show":
		return withID(args, "show", func(id string) error { return eventsShow(ctx, c, store, id) })
	case "replay":
		return withID(args, "replay", func(id string) error {
			if err := store.ReplayEvent(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "event %s queued again; the running server applies it\n", id)
			return nil
		})
	case "retry-failed":
		if len(args) > 0 {
			return fmt.Errorf("%w: events retry-failed takes no arguments", errUsage)
		}
		n, err := store.RetryFailed(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%d failed events queued again\n", n)
		return nil
	}
	return fmt.Errorf("%w: unknown events subcommand %q: %s", errUsage, sub, eventsUsage)
}

func withID(args []string, name string, fn func(id string) error) error {
	if len(args) != 1 || args[0] == "" {
		return fmt.Errorf("%w: events %s needs one event ID", errUsage, name)
	}
	return fn(args[0])
}

func eventsList(ctx context.Context, c *cli, store *sqlite.Store, args []string) error {
	fs := flag.NewFlagSet("events list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	failed := fs.Bool("failed", false, "only failed events")
	limit := fs.Int("limit", 100, "how many events")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: events list [--failed] [--limit N]", errUsage)
	}
	list, err := store.Events(ctx, sqlite.EventFilter{FailedOnly: *failed, Limit: *limit})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tSTATE\tATTEMPTS\tRECEIVED\tLAST ERROR")
	for _, e := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", e.ID, e.Type, eventState(e), e.Attempts,
			e.ReceivedAt.UTC().Format(time.RFC3339), oneLine(e.LastError, 80))
	}
	return tw.Flush()
}

func eventState(e paywall.Event) string {
	switch {
	case !e.ProcessedAt.IsZero():
		return "processed"
	case e.Failed:
		return "failed"
	}
	return "pending"
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

func eventsShow(ctx context.Context, c *cli, store *sqlite.Store, id string) error {
	e, err := store.Event(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "id:          %s\ntype:        %s\napi_version: %s\nlivemode:    %t\n",
		e.ID, e.Type, e.APIVersion, e.Livemode)
	fmt.Fprintf(c.stdout, "created:     %s\nreceived:    %s\nstate:       %s\nattempts:    %d\n",
		e.Created.UTC().Format(time.RFC3339), e.ReceivedAt.UTC().Format(time.RFC3339),
		eventState(e), e.Attempts)
	if !e.ProcessedAt.IsZero() {
		fmt.Fprintf(c.stdout, "processed:   %s\n", e.ProcessedAt.UTC().Format(time.RFC3339))
	}
	if e.LastError != "" {
		fmt.Fprintf(c.stdout, "last_error:  %s\n", e.LastError)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, e.Payload, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(e.Payload)
	}
	fmt.Fprintf(c.stdout, "payload:\n%s\n", pretty.String())
	return nil
}

// eventsSend posts one signed, Stripe-shaped test event, like `stripe
// trigger`. Events for one email name the same customer and subscription,
// so a series of sends walks one member through the lifecycle.
func eventsSend(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("%w: events send TYPE [--to URL] [--email E --plan P]; types: %s",
			errUsage, strings.Join(billing.TestEventTypes(), ", "))
	}
	typ := args[0]
	fs := flag.NewFlagSet("events send", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	to := fs.String("to", localWebhookURL(c.cfg.Addr), "webhook URL")
	email := fs.String("email", "test@example.test", "buyer email")
	planID := fs.String("plan", "", "plan ID")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: events send TYPE [--to URL] [--email E --plan P]", errUsage)
	}
	p, err := testPurchase(c, *email, *planID)
	if err != nil {
		return err
	}
	payload, err := billing.TestEvent(typ, p)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	secret, err := sendSecret(ctx, c)
	if err != nil {
		return err
	}
	return postTestEvent(ctx, c, *to, typ, payload, secret)
}

func localWebhookURL(addr string) string {
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/webhooks/stripe"
}

func testPurchase(c *cli, email, planID string) (billing.SimulatedPurchase, error) {
	cat := c.cfg.Catalog
	if planID == "" && len(cat.Plans) > 0 {
		planID = cat.Plans[0].ID
	}
	plan, ok := cat.Plan(planID)
	if !ok {
		return billing.SimulatedPurchase{}, fmt.Errorf("%w: --plan %q is not in the plans file",
			errUsage, planID)
	}
	price, ok := plan.Price(paywall.Month)
	if !ok {
		price = plan.Prices[0]
	}
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return billing.SimulatedPurchase{CheckoutID: "cs_test_" + hex.EncodeToString(sum[:8]),
		Email: email, Plan: plan, Price: price, At: time.Now()}, nil
}

// sendSecret is the first configured webhook secret or, in simulated mode,
// the one the server generated and stored.
func sendSecret(ctx context.Context, c *cli) (string, error) {
	if len(c.cfg.WebhookSecrets) > 0 {
		return c.cfg.WebhookSecrets[0], nil
	}
	store, err := openMigrated(ctx, c.cfg)
	if err != nil {
		return "", err
	}
	defer store.Close()
	return store.Setting(ctx, "simulated_webhook_secret", billing.NewSecret())
}

func postTestEvent(ctx context.Context, c *cli, to, typ string, payload []byte, secret string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, to, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("%w: --to %q: %w", errUsage, to, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", billing.Sign(payload, secret, time.Now()))
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("send %s: %w", typ, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	var id struct {
		ID string `json:"id"`
	}
	json.Unmarshal(payload, &id)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("send %s %s: %s answered %d: %s", typ, id.ID, to, resp.StatusCode,
			strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(c.stdout, "sent %s %s to %s: %d\n", typ, id.ID, to, resp.StatusCode)
	return nil
}
