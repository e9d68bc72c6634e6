package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/billing"
	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
	"github.com/paywall/paywall/sqlite"
	"github.com/paywall/paywall/sqlite/storetest"
)

// replicaEvents makes four logical events for each of buyers: a checkout
// (a setup mail), a subscription created on basic and upgraded to elite,
// then either its end (a mail) or a failed payment (a mail).
func replicaEvents(buyers int) (payloads [][]byte, ids []string) {
	t0 := time.Now().Add(-time.Hour).Unix()
	sub := func(cs, status, key string) map[string]any {
		return map[string]any{"id": "sub_" + cs, "object": "subscription", "customer": "cus_" + cs,
			"status": status, "items": map[string]any{"data": []any{map[string]any{
				"price":              map[string]any{"id": "price_" + key, "lookup_key": key},
				"current_period_end": time.Now().AddDate(0, 1, 0).Unix()}}}}
	}
	add := func(id, typ string, created int64, obj map[string]any) {
		payloads = append(payloads, hookEvent(id, typ, obj, func(e map[string]any) {
			e["created"] = created
		}))
		ids = append(ids, id)
	}
	for i := range buyers {
		cs := fmt.Sprintf("cs_rep_%03d", i)
		at := t0 + int64(i)*10
		add("evt_rep_checkout_"+cs, "checkout.session.completed", at,
			checkoutObject(cs, fmt.Sprintf("rep-%03d@example.test", i)))
		add("evt_rep_created_"+cs, "customer.subscription.created", at+1, sub(cs, "active", "basic_month"))
		add("evt_rep_upgraded_"+cs, "customer.subscription.updated", at+2, sub(cs, "active", "elite_month"))
		if i%2 == 0 {
			add("evt_rep_deleted_"+cs, "customer.subscription.deleted", at+3,
				sub(cs, "canceled", "elite_month"))
		} else {
			add("evt_rep_failed_"+cs, "invoice.payment_failed", at+3, map[string]any{
				"id": "in_" + cs, "object": "invoice", "customer": "cus_" + cs,
				"status": "open", "created": at + 3})
		}
	}
	return payloads, ids
}

// TestReplicasSurviveSIGKILL runs two paywall processes on one PostgreSQL
// database and posts 1,000 events, shuffled and one in ten twice, to both
// in turn. One is killed with SIGKILL midway and restarted; what it had
// not acknowledged is posted again. Every event must be applied exactly
// once, every mail sent once (but for the one a killed process may have
// been sending), and the final state must be what in-order delivery to a
// single process gives.
func TestReplicasSurviveSIGKILL(t *testing.T) {
	url := storetest.PostgresURL(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	env := func(port string) []string {
		return []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
			"PAYWALL_ADDR=127.0.0.1:" + port,
			"PAYWALL_DATABASE_URL=" + url,
			"PAYWALL_BASE_URL=" + publicOrigin,
			"STRIPE_WEBHOOK_SECRET=" + testSecret,
			"PAYWALL_LOG_FORMAT=json",
			"PAYWALL_CLAIM_LEASE=2s", // what the killed one claimed comes back soon
		}
	}
	const buyers = 250
	payloads, ids := replicaEvents(buyers)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	var order []int
	for i := range payloads {
		order = append(order, i)
		if rng.IntN(10) == 0 {
			order = append(order, i) // a duplicate, to either replica
		}
	}
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var toA, toB []int
	for n, i := range order {
		if n%2 == 0 {
			toA = append(toA, i)
		} else {
			toB = append(toB, i)
		}
	}

	portA := freePort(t)
	a := startChild(t, bin, dir, env(portA), "a1.log")
	b := startChild(t, bin, dir, env(freePort(t)), "b.log")
	var wg sync.WaitGroup
	var ackedB map[int]bool
	wg.Go(func() { ackedB = b.deliver(payloads, toB, nil) })
	var once sync.Once
	ackedA := a.deliver(payloads, toA, func(n int) {
		if n >= len(toA)/3 {
			once.Do(func() { a.cmd.Process.Signal(os.Kill) })
		}
	})
	a.cmd.Wait()
	wg.Wait()
	if len(ackedA) == 0 || len(ackedA) == len(payloads) {
		t.Fatalf("A acknowledged %d events before the kill; want the kill in the middle", len(ackedA))
	}
	t.Logf("before SIGKILL A acknowledged %d distinct events in %d deliveries; B %d in %d",
		len(ackedA), len(toA), len(ackedB), len(toB))

	// Stripe retries what was not acknowledged, to whichever replica.
	a2 := startChild(t, bin, dir, env(portA), "a2.log")
	var retry []int
	for i := range payloads {
		if !ackedA[i] && !ackedB[i] {
			retry = append(retry, i)
		}
	}
	var again [2][]int
	for n, i := range retry {
		again[n%2] = append(again[n%2], i)
	}
	acked := map[int]bool{}
	for i := range ackedA {
		acked[i] = true
	}
	for i := range ackedB {
		acked[i] = true
	}
	for n, c := range []*childServer{a2, b} {
		for i := range c.deliver(payloads, again[n], nil) {
			acked[i] = true
		}
	}
	if len(acked) != len(payloads) {
		t.Fatalf("%d of %d acknowledged after the restart", len(acked), len(payloads))
	}

	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eventually(t, "every event processed and every mail sent", func() bool {
		return countRows(t, db, `SELECT count(*) FROM events WHERE processed_at IS NULL`) == 0 &&
			countRows(t, db, `SELECT count(*) FROM outbox WHERE sent_at IS NULL`) == 0
	})
	checks := []struct {
		query string
		want  int
	}{
		{`SELECT count(*) FROM events`, len(payloads)},
		// attempts counts committed applications: 1 is exactly once.
		{`SELECT count(*) FROM events WHERE attempts = 1 AND failed = 0`, len(payloads)},
		{`SELECT count(*) FROM members`, buyers},
		{`SELECT count(*) FROM outbox`, 2 * buyers},
	}
	for _, c := range checks {
		if got := countRows(t, db, c.query); got != c.want {
			t.Errorf("%s: %d, want %d", c.query, got, c.want)
		}
	}

	want := inOrderState(t, payloads, ids)
	if diff := cmp.Diff(want, dbState(t, db)); diff != "" {
		t.Errorf("final state differs from in-order delivery (-in order +replicas):\n%s", diff)
	}
	checkMailsOnce(t, 2*buyers, filepath.Join(dir, "a1.log"),
		filepath.Join(dir, "a2.log"), filepath.Join(dir, "b.log"))
}

// inOrderState applies the events one by one, in order, with one worker on
// a SQLite file: the state that any delivery must end in.
func inOrderState(t *testing.T, payloads [][]byte, ids []string) []string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "in-order.db")
	store, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(map[string]string{}, site.Plans)
	if err != nil {
		t.Fatal(err)
	}
	w := billing.NewWorker(store, cfg.Catalog, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for i, p := range payloads {
		var e struct {
			Type    string `json:"type"`
			Created int64  `json:"created"`
		}
		if err := json.Unmarshal(p, &e); err != nil {
			t.Fatal(err)
		}
		_, err := store.SaveEvent(ctx, paywall.Event{ID: ids[i], Type: e.Type,
			Created: time.Unix(e.Created, 0), Payload: p})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.ProcessDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return dbState(t, openTestDB(t, path))
}

// dbState lists what a member would see: their subscriptions' status and
// plan, and the mail queued for them, by email (member IDs differ with the
// order members were created in).
func dbState(t *testing.T, db *sql.DB) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT m.email || ' ' || s.id || ' ' || s.status || ' ' || s.plan_id
		 FROM subscriptions s JOIN customers c ON c.id = s.customer_id
		 JOIN members m ON m.id = c.member_id ORDER BY 1`,
		`SELECT m.email || ' mail ' || o.kind FROM outbox o JOIN members m ON m.id = o.member_id
		 ORDER BY 1`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		rows.Close()
	}
	return out
}

// checkMailsOnce counts the mails the processes' log mailers sent. Each is
// sent once, except that a process killed between the provider's
// acceptance and recording it (a "mail sent" without its "mail
// delivered") may leave that mail to be sent again: at least once, never
// lost, and never more than the sends in flight at the kill.
func checkMailsOnce(t *testing.T, want int, logs ...string) {
	t.Helper()
	sends := map[string]int{}
	inFlight := 0
	for _, name := range logs {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sent, delivered := 0, 0
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			switch rec["msg"] {
			case "mail sent":
				sent++
				sends[fmt.Sprint(rec["to"], " ", rec["subject"])]++
			case "mail delivered":
				delivered++
			}
		}
		f.Close()
		inFlight += sent - delivered
	}
	twice := 0
	for _, n := range sends {
		twice += n - 1
	}
	if len(sends) != want {
		t.Errorf("%d distinct mails sent, want %d", len(sends), want)
	}
	// A mail in flight at the kill was sent again unless its sent_at was
	// committed just before the kill took the log line that follows.
	if twice > inFlight {
		t.Errorf("%d mails sent more than once, want at most %d (in flight at the kill)",
			twice, inFlight)
	}
	t.Logf("%d mails sent, %d in flight at the kill, %d sent again", len(sends), inFlight, twice)
}
