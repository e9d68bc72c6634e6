package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSendGridFailureListedAndRetried runs the app with the SendGrid mailer
// against a stand-in for SendGrid's v3 API that refuses the first mail with
// 400: the mail ends as failed, `mail list --failed` shows it, and `mail
// retry ID` sends it once the API accepts.
func TestSendGridFailureListedAndRetried(t *testing.T) {
	var mu sync.Mutex
	var statuses []int
	refuse := true
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		defer mu.Unlock()
		status := http.StatusAccepted
		if refuse {
			status = http.StatusBadRequest
			refuse = false
		}
		statuses = append(statuses, status)
		w.WriteHeader(status)
		io.WriteString(w, `{"errors":[{"message":"The from address does not match a verified Sender Identity."}]}`)
	}))
	defer api.Close()
	answered := func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), statuses...)
	}

	db := filepath.Join(t.TempDir(), "paywall.db")
	vars := map[string]string{"PAYWALL_DATABASE_URL": "sqlite:" + db, "PAYWALL_MAIL": "sendgrid",
		"SENDGRID_API_KEY": "SG.test", "SENDGRID_API_BASE": api.URL}
	app := startApp(t, vars)
	c := app.client(t)
	r := do(t, c, "POST", "/api/checkout", map[string][]string{"plan": {"basic"}, "email": {buyer}})
	wantStatus(t, "checkout", r, http.StatusSeeOther)
	wantStatus(t, "complete", do(t, c, "POST", r.location, map[string][]string{"email": {buyer}}),
		http.StatusSeeOther)
	waitFor(t, "the failed attempt", func() bool { return len(app.logs.records("mail failed")) == 1 })

	for k, v := range vars {
		t.Setenv(k, v)
	}
	out := runMailCLI(t, "mail", "list", "--failed")
	row := regexp.MustCompile(`(?m)^(\d+)\s+setup\s+` + regexp.QuoteMeta(buyer) + `\s+failed .*400`).
		FindStringSubmatch(out)
	if row == nil {
		t.Fatalf("mail list --failed does not show the failed setup mail:\n%s", out)
	}
	runMailCLI(t, "mail", "retry", row[1])
	if out := runMailCLI(t, "mail", "list", "--failed"); strings.Contains(out, buyer) {
		t.Errorf("retried mail still listed as failed:\n%s", out)
	}
	waitFor(t, "the retried mail", func() bool { return len(answered()) == 2 })
	if got := answered(); got[0] != 400 || got[1] != 202 {
		t.Errorf("SendGrid answered %v, want 400 then 202", got)
	}
	if out := runMailCLI(t, "mail", "list"); !regexp.MustCompile(`setup\s+` + regexp.QuoteMeta(buyer) +
		`\s+sent `).MatchString(out) {
		t.Errorf("mail list does not show the mail sent:\n%s", out)
	}
	if _, err := runCLIErr(t, "mail", "retry", "nine"); err == nil || !strings.Contains(err.Error(), "not a mail ID") {
		t.Errorf("mail retry nine: %v", err)
	}
}

func runMailCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runCLIErr(t, args...)
	if err != nil {
		t.Fatalf("paywall %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func runCLIErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	return stdout.String(), err
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
