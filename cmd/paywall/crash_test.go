package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// childServer is the paywall binary running as a child process.
type childServer struct {
	cmd  *exec.Cmd
	addr string
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "paywall")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func startChild(t *testing.T, bin, dir string, env []string, logName string) *childServer {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	cmd := exec.Command(bin, "serve")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &childServer{cmd: cmd}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PAYWALL_ADDR="); ok {
			s.addr = v
		}
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	eventually(t, "server on "+s.addr, func() bool {
		resp, err := http.Get("http://" + s.addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return s
}

// deliver posts payloads with a few connections at once and returns the
// indexes the server acknowledged with 200. It stops at the first failure
// of each connection, as a killed server fails them all; stop, when
// non-nil, is called after each acknowledgement.
func (s *childServer) deliver(payloads [][]byte, indexes []int, stop func(acked int)) map[int]bool {
	var mu sync.Mutex
	acked := map[int]bool{}
	next := make(chan int)
	go func() {
		defer close(next)
		for _, i := range indexes {
			next <- i
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for i := range next {
				p := payloads[i]
				req, _ := http.NewRequest("POST", "http://"+s.addr+"/webhooks/stripe", bytes.NewReader(p))
				req.Header.Set("Stripe-Signature", hookSign(p, testSecret, 0))
				resp, err := client.Do(req)
				if err != nil {
					continue // unacknowledged: Stripe would send it again
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					continue
				}
				mu.Lock()
				acked[i] = true
				n := len(acked)
				mu.Unlock()
				if stop != nil {
					stop(n)
				}
			}
		})
	}
	wg.Wait()
	return acked
}

// TestWebhookSurvivesSIGKILL runs the server as a child process, posts 500
// events, kills it with SIGKILL in the middle, restarts it on the same
// database, posts what was not acknowledged again (as Stripe would), and
// checks that every acknowledged event was applied exactly once.
func TestWebhookSurvivesSIGKILL(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "paywall.db")
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"PAYWALL_ADDR=127.0.0.1:" + freePort(t),
		"PAYWALL_DATABASE_URL=sqlite:" + dbPath,
		"PAYWALL_BASE_URL=" + publicOrigin,
		"STRIPE_WEBHOOK_SECRET=" + testSecret,
		"PAYWALL_LOG_FORMAT=json",
	}
	const buyers = 250
	var payloads [][]byte
	for i := range buyers {
		cs := fmt.Sprintf("cs_kill_%03d", i)
		payloads = append(payloads,
			hookEvent("evt_kill_checkout_"+cs, "checkout.session.completed",
				checkoutObject(cs, fmt.Sprintf("kill-%03d@example.test", i)), nil),
			hookEvent("evt_kill_sub_"+cs, "customer.subscription.created", map[string]any{
				"id": "sub_" + cs, "object": "subscription", "customer": "cus_" + cs,
				"status": "active", "items": map[string]any{"data": []any{map[string]any{
					"price":              map[string]any{"id": "price_elite", "lookup_key": "elite_month"},
					"current_period_end": time.Now().AddDate(0, 1, 0).Unix()}}},
			}, nil))
	}
	all := make([]int, len(payloads))
	for i := range all {
		all[i] = i
	}

	first := startChild(t, bin, dir, env, "first.log")
	var once sync.Once
	acked := first.deliver(payloads, all, func(n int) {
		if n >= len(payloads)/2 {
			once.Do(func() { first.cmd.Process.Signal(os.Kill) })
		}
	})
	first.cmd.Wait()
	if len(acked) == 0 || len(acked) == len(payloads) {
		t.Fatalf("%d of %d acknowledged before the kill; want the kill in the middle",
			len(acked), len(payloads))
	}
	db := openTestDB(t, dbPath)
	t.Logf("%d of %d events acknowledged before SIGKILL, %d stored, %d of them not yet applied",
		len(acked), len(payloads), countRows(t, db, `SELECT count(*) FROM events`),
		countRows(t, db, `SELECT count(*) FROM events WHERE processed_at IS NULL`))

	second := startChild(t, bin, dir, env, "second.log")
	var retry []int
	for i := range payloads {
		if !acked[i] || i%25 == 0 { // the unacknowledged, and some duplicates
			retry = append(retry, i)
		}
	}
	for i := range second.deliver(payloads, retry, nil) {
		acked[i] = true
	}
	if len(acked) != len(payloads) {
		t.Fatalf("%d of %d acknowledged after the restart", len(acked), len(payloads))
	}

	eventually(t, "every event processed", func() bool {
		return countRows(t, db, `SELECT count(*) FROM events WHERE processed_at IS NULL`) == 0
	})
	checks := []struct {
		query string
		want  int
	}{
		{`SELECT count(*) FROM events`, len(payloads)},
		// attempts counts the committed applications of an event: a kill
		// during one rolls it back whole, so 1 means applied exactly once.
		{`SELECT count(*) FROM events WHERE attempts = 1 AND failed = 0`, len(payloads)},
		{`SELECT count(*) FROM members WHERE email LIKE 'kill-%'`, buyers},
		{`SELECT count(*) FROM customers`, buyers},
		{`SELECT count(*) FROM checkouts`, buyers},
		{`SELECT count(*) FROM subscriptions WHERE status = 'active' AND plan_id = 'elite'`, buyers},
		{`SELECT count(*) FROM outbox WHERE kind = 'setup'`, buyers},
		{`SELECT count(DISTINCT member_id) FROM outbox WHERE kind = 'setup'`, buyers},
	}
	for _, c := range checks {
		if got := countRows(t, db, c.query); got != c.want {
			t.Errorf("%s: %d, want %d", c.query, got, c.want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list := exec.CommandContext(ctx, bin, "events", "list", "--failed")
	list.Dir, list.Env = dir, env
	out, err := list.CombinedOutput()
	if err != nil {
		t.Fatalf("events list --failed: %v\n%s", err, out)
	}
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 {
		t.Errorf("events list --failed lists failed events:\n%s", out)
	}
}
