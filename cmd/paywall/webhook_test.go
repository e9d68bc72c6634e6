package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v84"
	"github.com/stripe/stripe-go/v84/webhook"

	"github.com/paywall/paywall/billing"
)

const (
	newSecret = "whsec_rotated_in"
	oldSecret = "whsec_rotated_out"
)

// hook is one webhook request.
type hook struct {
	method, path string
	body         []byte
	header       string // Stripe-Signature; "" sends none
}

func (a *testApp) post(t *testing.T, h hook) response {
	t.Helper()
	if h.method == "" {
		h.method = http.MethodPost
	}
	if h.path == "" {
		h.path = "/webhooks/stripe"
	}
	req, err := http.NewRequest(h.method, publicOrigin+h.path, bytes.NewReader(h.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if h.header != "" {
		req.Header.Set("Stripe-Signature", h.header)
	}
	resp, err := a.client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location")}
}

// event returns an event payload; change may edit the envelope.
func event(id, typ string, object map[string]any, change func(map[string]any)) []byte {
	env := map[string]any{
		"id": id, "object": "event", "api_version": stripe.APIVersion,
		"created": time.Now().Unix(), "type": typ, "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": object},
	}
	if change != nil {
		change(env)
	}
	b, err := json.Marshal(env)
	if err != nil {
		panic(err)
	}
	return b
}

func sign(payload []byte, secret string, age time.Duration) string {
	return billing.Sign(payload, secret, time.Now().Add(-age))
}

func sessionObject(id, email string) map[string]any {
	return map[string]any{"id": id, "object": "checkout.session", "mode": "subscription",
		"payment_status": "paid", "customer": "cus_" + id, "subscription": "sub_" + id,
		"customer_details": map[string]any{"email": email}}
}

// TestWebhookHostileDeliveries sends the odd and hostile requests a public
// webhook endpoint meets and checks each answer: 200 only for what Stripe
// signed (or what must not be retried), 4xx for the rest, never a 500 and
// never a redirect.
func TestWebhookHostileDeliveries(t *testing.T) {
	app := startApp(t, map[string]string{
		"STRIPE_SECRET_KEY":       testKey,
		"STRIPE_WEBHOOK_SECRET":   newSecret + "," + oldSecret,
		"STRIPE_API_BASE":         "http://127.0.0.1:9", // no Stripe call is made here
		"PAYWALL_WEBHOOK_REFETCH": "false",
	})
	valid := event("evt_hostile_valid", "checkout.session.completed",
		sessionObject("cs_hostile", "hostile@example.test"), nil)
	reencoded := func() []byte {
		var v any
		json.Unmarshal(valid, &v)
		b, _ := json.MarshalIndent(v, "", "  ")
		return b
	}()
	withNewline := append(bytes.Clone(valid), '\n')
	unknown := event("evt_hostile_unknown", "issuing_card.created", map[string]any{"id": "ic_1"}, nil)
	live := event("evt_hostile_live", "checkout.session.completed",
		sessionObject("cs_live", "live@example.test"), func(e map[string]any) { e["livemode"] = true })
	older := event("evt_hostile_older", "customer.subscription.updated",
		map[string]any{"id": "sub_older", "customer": "cus_older", "status": "active",
			"current_period_end": time.Now().Add(24 * time.Hour).Unix()},
		func(e map[string]any) { e["api_version"] = "2024-06-20" })
	newer := event("evt_hostile_newer", "invoice.paid", map[string]any{"id": "in_newer"},
		func(e map[string]any) { e["api_version"] = "2027-03-25.dahlia" })
	notEvent := event("cus_1", "", nil, func(e map[string]any) { e["object"] = "customer" })
	thin := event("evt_thin", "v1.billing.meter.error_report_triggered", nil,
		func(e map[string]any) { e["object"] = "v2.core.event" })
	noID := event("", "checkout.session.completed", map[string]any{}, nil)
	noObject := event("evt_hostile_noobject", "customer.subscription.updated", nil,
		func(e map[string]any) { delete(e, "data") })
	big := bytes.Repeat([]byte("x"), 2<<20)
	justOver := append([]byte(`{"id":"evt_big","object":"event","pad":"`),
		bytes.Repeat([]byte("x"), 1<<20)...)
	ts := time.Now().Unix()
	good := fmt.Sprintf("%x", webhookMAC(valid, newSecret, ts))

	cases := []struct {
		name string
		hook hook
		want int
	}{
		{"valid", hook{body: valid, header: sign(valid, newSecret, 0)}, 200},
		{"same event again", hook{body: valid, header: sign(valid, newSecret, 0)}, 200},
		{"trailing slash", hook{path: "/webhooks/stripe/", body: valid, header: sign(valid, newSecret, 0)}, 200},
		{"legacy path", hook{path: "/api/stripe-webhook", body: valid, header: sign(valid, newSecret, 0)}, 200},
		{"legacy path, trailing slash", hook{path: "/api/stripe-webhook/", body: valid, header: sign(valid, newSecret, 0)}, 200},
		{"missing header", hook{body: valid}, 400},
		{"wrong secret", hook{body: valid, header: sign(valid, "whsec_someone_else", 0)}, 400},
		{"body re-encoded", hook{body: reencoded, header: sign(valid, newSecret, 0)}, 400},
		{"trailing newline added", hook{body: withNewline, header: sign(valid, newSecret, 0)}, 400},
		{"timestamp 301 s old", hook{body: valid, header: sign(valid, newSecret, 301*time.Second)}, 400},
		{"timestamp 290 s old", hook{body: valid, header: sign(valid, newSecret, 290*time.Second)}, 200},
		{"several v1, one right", hook{body: valid,
			header: fmt.Sprintf("t=%d,v1=%064x,v1=%s,v0=%064x", ts, 1, good, 2)}, 200},
		{"several v1, none right", hook{body: valid,
			header: fmt.Sprintf("t=%d,v1=%064x,v1=%064x", ts, 1, 2)}, 400},
		{"only a v0 signature", hook{body: valid, header: fmt.Sprintf("t=%d,v0=%s", ts, good)}, 400},
		{"signature for another body", hook{body: valid, header: sign(unknown, newSecret, 0)}, 400},
		{"garbage header", hook{body: valid, header: "t=yesterday,v1=zz"}, 400},
		{"rotated secret (old one)", hook{body: valid, header: sign(valid, oldSecret, 0)}, 200},
		{"2 MB body", hook{body: big, header: sign(big, newSecret, 0)}, 413},
		{"1 MiB and a bit", hook{body: justOver, header: sign(justOver, newSecret, 0)}, 413},
		{"empty body", hook{body: nil, header: sign(nil, newSecret, 0)}, 400},
		{"not JSON", hook{body: []byte("hello"), header: sign([]byte("hello"), newSecret, 0)}, 400},
		{"JSON array", hook{body: []byte("[1,2]"), header: sign([]byte("[1,2]"), newSecret, 0)}, 400},
		{"not an event object", hook{body: notEvent, header: sign(notEvent, newSecret, 0)}, 400},
		{"thin event notification", hook{body: thin, header: sign(thin, newSecret, 0)}, 400},
		{"event without id", hook{body: noID, header: sign(noID, newSecret, 0)}, 400},
		{"event without data", hook{body: noObject, header: sign(noObject, newSecret, 0)}, 200},
		{"unknown type", hook{body: unknown, header: sign(unknown, newSecret, 0)}, 200},
		{"livemode mismatch", hook{body: live, header: sign(live, newSecret, 0)}, 200},
		{"older API version", hook{body: older, header: sign(older, newSecret, 0)}, 200},
		{"newer API version", hook{body: newer, header: sign(newer, newSecret, 0)}, 200},
		{"GET", hook{method: "GET"}, 405},
		{"GET with trailing slash", hook{method: "GET", path: "/webhooks/stripe/"}, 405},
		{"PUT", hook{method: "PUT", body: valid, header: sign(valid, newSecret, 0)}, 405},
		{"HEAD", hook{method: "HEAD"}, 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := app.post(t, c.hook)
			if got.status != c.want {
				t.Errorf("status %d, want %d; body %.200s", got.status, c.want, got.body)
			}
			if got.status >= 500 || got.location != "" {
				t.Errorf("status %d location %q: never a 5xx or a redirect", got.status, got.location)
			}
		})
	}

	ignored := 0
	for _, rec := range app.logs.records("event ignored") {
		if rec["event_id"] == "evt_hostile_live" && rec["livemode"] == true {
			ignored++
		}
	}
	if ignored != 1 {
		t.Errorf("livemode mismatch logged %d times, want once", ignored)
	}
	if n := len(app.logs.records("event received")); n != 5 {
		t.Errorf("%d events stored, want 5 (valid, event without data, unknown type, "+
			"older, newer version; the livemode one is not stored)", n)
	}
	waitFor(t, "api version warnings", func() bool {
		return len(app.logs.records("event api version differs")) == 2
	})
	for _, rec := range app.logs.records("webhook refused") {
		if strings.Contains(fmt.Sprint(rec), "hostile@example.test") {
			t.Errorf("a refused webhook's body reached the log: %v", rec)
		}
	}
}

// webhookMAC is Stripe's v1 signature: HMAC-SHA256 of "t.payload".
func webhookMAC(payload []byte, secret string, ts int64) []byte {
	return webhook.ComputeSignature(time.Unix(ts, 0), payload, secret)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		if ok() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestWebhookConcurrentDuplicates posts one checkout event 20 times at once,
// as Stripe's retries and a proxy's may overlap: one member, one mail.
func TestWebhookConcurrentDuplicates(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "paywall.db")
	app := startApp(t, map[string]string{
		"STRIPE_WEBHOOK_SECRET": testSecret,
		"PAYWALL_DATABASE_URL":  "sqlite:" + dbPath,
	})
	payload := event("evt_twenty", "checkout.session.completed",
		sessionObject("cs_twenty", "twenty@example.test"), nil)
	header := sign(payload, testSecret, 0)

	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	start := make(chan struct{})
	for range 20 {
		wg.Go(func() {
			<-start
			statuses <- app.post(t, hook{body: payload, header: header}).status
		})
	}
	close(start)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusOK {
			t.Errorf("a delivery answered %d, want 200", s)
		}
	}
	app.waitForMail(t, "twenty@example.test")
	time.Sleep(300 * time.Millisecond) // room for a second mail, were there one

	if n := len(app.logs.records("event received")); n != 1 {
		t.Errorf("%d deliveries stored as new, want 1", n)
	}
	if n := len(app.logs.records("event duplicate")); n != 19 {
		t.Errorf("%d deliveries seen as duplicates, want 19", n)
	}
	if n := len(app.logs.records("mail sent")); n != 1 {
		t.Errorf("%d mails sent, want 1", n)
	}
	db := openDB(t, dbPath)
	if n := count(t, db, `SELECT count(*) FROM members WHERE email = 'twenty@example.test'`); n != 1 {
		t.Errorf("%d members, want 1", n)
	}
	if n := count(t, db, `SELECT count(*) FROM outbox`); n != 1 {
		t.Errorf("%d mails in the outbox, want 1", n)
	}
}

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
