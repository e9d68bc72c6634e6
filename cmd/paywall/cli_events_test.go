package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
