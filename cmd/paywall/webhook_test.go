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

// webhookRequest is one webhook request.
type webhookRequest struct {
	method, path string
	body         []byte
	header       string // Stripe-Signature; "" sends none
}

func (a *testApp) postHook(t *testing.T, h webhookRequest) response {
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
func hookEvent(id, typ string, object map[string]any, change func(map[string]any)) []byte {
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

func hookSign(payload []byte, secret string, age time.Duration) string {
	return billing.Sign(payload, secret, time.Now().Add(-age))
}

func checkoutObject(id, email string) map[string]any {
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
	valid := hookEvent("evt_hostile_valid", "checkout.session.completed",
		checkoutObject("cs_hostile", "hostile@example.test"), nil)
	reencoded := func() []byte {
		var v any
		json.Unmarshal(valid, &v)
		b, _ := json.MarshalIndent(v, "", "  ")
		return b
	}()
	withNewline := append(bytes.Clone(valid), '\n')
	unknown := hookEvent("evt_hostile_unknown", "issuing_card.created", map[string]any{"id": "ic_1"}, nil)
	live := hookEvent("evt_hostile_live", "checkout.session.completed",
		checkoutObject("cs_live", "live@example.test"), func(e map[string]any) { e["livemode"] = true })
	older := hookEvent("evt_hostile_older", "customer.subscription.updated",
		map[string]any{"id": "sub_older", "customer": "cus_older", "status": "active",
			"current_period_end": time.Now().Add(24 * time.Hour).Unix()},
		func(e map[string]any) { e["api_version"] = "2024-06-20" })
	newer := hookEvent("evt_hostile_newer", "invoice.paid", map[string]any{"id": "in_newer"},
		func(e map[string]any) { e["api_version"] = "2027-03-25.dahlia" })
	notEvent := hookEvent("cus_1", "", nil, func(e map[string]any) { e["object"] = "customer" })
	thin := hookEvent("evt_thin", "v1.billing.meter.error_report_triggered", nil,
		func(e map[string]any) { e["object"] = "v2.core.event" })
	noID := hookEvent("", "checkout.session.completed", map[string]any{}, nil)
	nulID := hookEvent("evt_\x00nul", "invoice.paid", map[string]any{"id": "in_nul"}, nil)
	longID := hookEvent("evt_"+strings.Repeat("x", 5000), "invoice.paid", map[string]any{"id": "in_long"}, nil)
	noObject := hookEvent("evt_hostile_noobject", "customer.subscription.updated", nil,
		func(e map[string]any) { delete(e, "data") })
	big := bytes.Repeat([]byte("x"), 2<<20)
	justOver := append([]byte(`{"id":"evt_big","object":"event","pad":"`),
		bytes.Repeat([]byte("x"), 1<<20)...)
	ts := time.Now().Unix()
	good := fmt.Sprintf("%x", webhookMAC(valid, newSecret, ts))

	cases := []struct {
		name string
		hook webhookRequest
		want int
	}{
		{"valid", signed(valid, newSecret, 0), 200},
		{"same event again", signed(valid, newSecret, 0), 200},
		{"trailing slash", signed(valid, newSecret, 0).to("/webhooks/stripe/"), 200},
		{"legacy path", signed(valid, newSecret, 0).to("/api/stripe-webhook"), 200},
		{"legacy path, trailing slash", signed(valid, newSecret, 0).to("/api/stripe-webhook/"), 200},
		{"double slash", signed(valid, newSecret, 0).to("/webhooks/stripe//"), 200},
		{"dot segment", signed(valid, newSecret, 0).to("/webhooks/./stripe"), 200},
		{"missing header", webhookRequest{body: valid}, 400},
		{"wrong secret", signed(valid, "whsec_someone_else", 0), 400},
		{"body re-encoded", mismatched(reencoded, valid, newSecret, 0), 400},
		{"trailing newline added", mismatched(withNewline, valid, newSecret, 0), 400},
		{"timestamp 301 s old", signed(valid, newSecret, 301*time.Second), 400},
		{"timestamp 240 s old", signed(valid, newSecret, 240*time.Second), 200},
		{"several v1, one right", webhookRequest{body: valid,
			header: fmt.Sprintf("t=%d,v1=%064x,v1=%s,v0=%064x", ts, 1, good, 2)}, 200},
		{"several v1, none right", webhookRequest{body: valid,
			header: fmt.Sprintf("t=%d,v1=%064x,v1=%064x", ts, 1, 2)}, 400},
		{"only a v0 signature", webhookRequest{body: valid,
			header: fmt.Sprintf("t=%d,v0=%s", ts, good)}, 400},
		{"signature for another body", mismatched(valid, unknown, newSecret, 0), 400},
		{"garbage header", webhookRequest{body: valid, header: "t=yesterday,v1=zz"}, 400},
		{"rotated secret (old one)", signed(valid, oldSecret, 0), 200},
		{"2 MB body", signed(big, newSecret, 0), 413},
		{"1 MiB and a bit", signed(justOver, newSecret, 0), 413},
		{"empty body", signed(nil, newSecret, 0), 400},
		{"not JSON", signed([]byte("hello"), newSecret, 0), 400},
		{"JSON array", signed([]byte("[1,2]"), newSecret, 0), 400},
		{"not an event object", signed(notEvent, newSecret, 0), 400},
		{"NUL in the event id", signed(nulID, newSecret, 0), 400},
		{"5,000-character event id", signed(longID, newSecret, 0), 400},
		{"thin event notification", signed(thin, newSecret, 0), 400},
		{"event without id", signed(noID, newSecret, 0), 400},
		{"event without data", signed(noObject, newSecret, 0), 200},
		{"unknown type", signed(unknown, newSecret, 0), 200},
		{"livemode mismatch", signed(live, newSecret, 0), 200},
		{"older API version", signed(older, newSecret, 0), 200},
		{"newer API version", signed(newer, newSecret, 0), 200},
		{"GET", webhookRequest{method: "GET"}, 405},
		{"GET with trailing slash", webhookRequest{method: "GET"}.to("/webhooks/stripe/"), 405},
		{"PUT", signed(valid, newSecret, 0).as("PUT"), 405},
		{"HEAD", webhookRequest{method: "HEAD"}, 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := app.postHook(t, c.hook)
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
	eventually(t, "api version warnings", func() bool {
		return len(app.logs.records("event api version differs")) == 2
	})
	for _, rec := range app.logs.records("webhook refused") {
		if strings.Contains(fmt.Sprint(rec), "hostile@example.test") {
			t.Errorf("a refused webhook's body reached the log: %v", rec)
		}
	}
}

// signed is a POST of body signed with secret, age ago.
func signed(body []byte, secret string, age time.Duration) webhookRequest {
	return webhookRequest{body: body, header: hookSign(body, secret, age)}
}

// to sends r to path instead.
func (r webhookRequest) to(path string) webhookRequest {
	r.path = path
	return r
}

// as sends r with method instead.
func (r webhookRequest) as(method string) webhookRequest {
	r.method = method
	return r
}

// mismatched is a POST of body with the signature of other.
func mismatched(body, other []byte, secret string, age time.Duration) webhookRequest {
	return webhookRequest{body: body, header: hookSign(other, secret, age)}
}

// webhookMAC is Stripe's v1 signature: HMAC-SHA256 of "t.payload".
func webhookMAC(payload []byte, secret string, ts int64) []byte {
	return webhook.ComputeSignature(time.Unix(ts, 0), payload, secret)
}

func eventually(t *testing.T, what string, ok func() bool) {
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
	payload := hookEvent("evt_twenty", "checkout.session.completed",
		checkoutObject("cs_twenty", "twenty@example.test"), nil)
	header := hookSign(payload, testSecret, 0)

	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	start := make(chan struct{})
	for range 20 {
		wg.Go(func() {
			<-start
			statuses <- app.postHook(t, webhookRequest{body: payload, header: header}).status
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
	db := openTestDB(t, dbPath)
	if n := countRows(t, db, `SELECT count(*) FROM members WHERE email = 'twenty@example.test'`); n != 1 {
		t.Errorf("%d members, want 1", n)
	}
	if n := countRows(t, db, `SELECT count(*) FROM outbox`); n != 1 {
		t.Errorf("%d mails in the outbox, want 1", n)
	}
}

func openTestDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countRows(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
