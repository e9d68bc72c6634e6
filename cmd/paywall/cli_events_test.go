package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/billing"
	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
	"github.com/paywall/paywall/sqlite"
)

// TestEventsCLI drives `paywall events` against a running app: send a test
// event, list it, show it, replay it, and refuse what makes no sense.
func TestEventsCLI(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "paywall.db")
	app := startApp(t, map[string]string{"PAYWALL_DATABASE_URL": "sqlite:" + dbPath})
	t.Setenv("PAYWALL_DATABASE_URL", "sqlite:"+dbPath)
	t.Setenv("PAYWALL_ADDR", app.addr)
	t.Setenv("PAYWALL_LOG_FORMAT", "json")
	paywall := func(args ...string) (string, error) {
		var out, errw bytes.Buffer
		err := run(context.Background(), args, &out, &errw)
		return out.String(), err
	}

	out, err := paywall("events", "send", "checkout.session.completed", "--email", "cli@example.test",
		"--plan", "pro")
	if err != nil {
		t.Fatalf("events send: %v", err)
	}
	id := regexp.MustCompile(`evt_test_[0-9a-f]+`).FindString(out)
	if id == "" || !strings.Contains(out, ": 200") {
		t.Fatalf("events send printed %q, want the event ID and 200", out)
	}
	app.waitForMail(t, "cli@example.test")
	for _, args := range [][]string{
		{"events", "send", "invoice.payment_failed", "--email", "cli@example.test"},
		{"events", "send", "customer.subscription.deleted", "--email", "cli@example.test"},
	} {
		if _, err := paywall(args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	eventually(t, "three mails", func() bool { return len(app.logs.records("mail sent")) == 3 })
	subjects := ""
	for _, rec := range app.logs.records("mail sent") {
		subject, text := rec["subject"].(string), rec["text"].(string)
		subjects += subject + "\n"
		if !strings.Contains(subject, "password") && !strings.Contains(text, publicOrigin+"/account\n") {
			t.Errorf("mail %q does not link to the dashboard:\n%s", subject, text)
		}
	}
	for _, want := range []string{"Set your password", "did not go through", "has ended"} {
		if !strings.Contains(subjects, want) {
			t.Errorf("no mail with %q in its subject; subjects:\n%s", want, subjects)
		}
	}

	eventually(t, "event processed", func() bool {
		out, _ := paywall("events", "list")
		return regexp.MustCompile(id + `\s+checkout.session.completed\s+processed\s+1`).MatchString(out)
	})
	if out, _ := paywall("events", "list", "--failed"); strings.Count(out, "\n") != 1 {
		t.Errorf("events list --failed lists events:\n%s", out)
	}
	if out, err := paywall("events", "show", id); err != nil || !strings.Contains(out, `"cli@example.test"`) {
		t.Errorf("events show: %v\n%s", err, out)
	}
	if out, err := paywall("events", "replay", id); err != nil || !strings.Contains(out, "queued again") {
		t.Errorf("events replay: %v\n%s", err, out)
	}
	eventually(t, "replayed event processed", func() bool {
		out, _ := paywall("events", "show", id)
		return strings.Contains(out, "state:       processed")
	})
	if n := len(app.logs.records("mail sent")); n != 3 {
		t.Errorf("%d mails after the replay, want still 3", n)
	}
	if out, err := paywall("events", "retry-failed"); err != nil || out != "0 failed events queued again\n" {
		t.Errorf("events retry-failed: %v %q", err, out)
	}

	for _, bad := range [][]string{
		{"events"}, {"events", "bogus"}, {"events", "show"}, {"events", "list", "extra"},
		{"events", "send"}, {"events", "send", "no.such.type"}, {"events", "send", "invoice.paid", "--plan", "gold"},
	} {
		if _, err := paywall(bad...); !errors.Is(err, errUsage) {
			t.Errorf("%v: error %v, want bad usage", bad, err)
		}
	}
	if _, err := paywall("events", "show", "evt_missing"); err == nil || errors.Is(err, errUsage) {
		t.Errorf("events show evt_missing: %v, want a not-found error", err)
	}
}

// TestEventsCLIFailed drives `paywall events` over an event that really
// failed: the worker, allowed one attempt, could not decode it. The CLI
// lists it as failed with its error, shows the error, queues it again with
// retry-failed and with replay, and each time the worker takes it up again.
func TestEventsCLIFailed(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "paywall.db")
	t.Setenv("PAYWALL_DATABASE_URL", "sqlite:"+dbPath)
	cli := func(args ...string) string {
		t.Helper()
		var out, errw bytes.Buffer
		if err := run(ctx, args, &out, &errw); err != nil {
			t.Fatalf("paywall %s: %v\n%s", strings.Join(args, " "), err, errw.String())
		}
		return out.String()
	}
	store, err := sqlite.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(map[string]string{}, site.Plans)
	if err != nil {
		t.Fatal(err)
	}
	worker := billing.NewWorker(store, cfg.Catalog, slog.New(slog.NewTextHandler(io.Discard, nil)))
	worker.MaxAttempts = 1
	// attempt lets the worker try what is due and returns how many it tried.
	attempt := func() int {
		t.Helper()
		n, err := worker.ProcessDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A validly stored event whose subscription has a number for an ID.
	const id = "evt_cli_broken"
	payload := hookEvent(id, "customer.subscription.updated", map[string]any{"id": 42}, nil)
	if _, err := store.SaveEvent(ctx, paywall.Event{ID: id, Type: "customer.subscription.updated",
		Created: time.Now(), Payload: payload}); err != nil {
		t.Fatal(err)
	}
	if n := attempt(); n != 1 {
		t.Fatalf("worker tried %d events, want 1", n)
	}

	failedRow := regexp.MustCompile(`(?m)^` + id +
		`\s+customer\.subscription\.updated\s+failed\s+1\s+\S+\s+decode subscription`)
	wantFailed := func(when string) {
		t.Helper()
		if out := cli("events", "list", "--failed"); strings.Count(out, "\n") != 2 ||
			!failedRow.MatchString(out) {
			t.Errorf("%s: events list --failed:\n%s\nwant the header and %s failed once in decoding",
				when, out, id)
		}
		out := cli("events", "show", id)
		for _, want := range []string{"state:       failed\n", "attempts:    1\n",
			"last_error:  decode subscription"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: events show lacks %q:\n%s", when, want, out)
			}
		}
	}
	wantFailed("after the first attempt")
	if n := attempt(); n != 0 {
		t.Errorf("a failed event was tried again (%d) before anyone asked", n)
	}

	if out := cli("events", "retry-failed"); out != "1 failed events queued again\n" {
		t.Errorf("events retry-failed printed %q, want 1 queued again", out)
	}
	if out := cli("events", "list", "--failed"); strings.Count(out, "\n") != 1 {
		t.Errorf("events list --failed after retry-failed lists events:\n%s", out)
	}
	if out := cli("events", "show", id); !strings.Contains(out, "state:       pending\n") ||
		!strings.Contains(out, "attempts:    0\n") {
		t.Errorf("events show after retry-failed, want pending with 0 attempts:\n%s", out)
	}
	if n := attempt(); n != 1 {
		t.Fatalf("worker tried %d events after retry-failed, want the failed one again", n)
	}
	wantFailed("after retry-failed and a second attempt")

	replayed := "event " + id + " queued again; the running server applies it\n"
	if out := cli("events", "replay", id); out != replayed {
		t.Errorf("events replay printed %q", out)
	}
	if out := cli("events", "retry-failed"); out != "0 failed events queued again\n" {
		t.Errorf("events retry-failed after the replay printed %q, want 0", out)
	}
	if n := attempt(); n != 1 {
		t.Fatalf("worker tried %d events after the replay, want the failed one again", n)
	}
	wantFailed("after replay and a third attempt")
}
