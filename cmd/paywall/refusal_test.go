package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// stripeRefusal is a 400 as Stripe words one, with its request ID.
const (
	refusalRequestID = "req_e2eRefused42"
	refusalMessage   = "Invalid email address: reader@example.test"
	refusalBody      = `{"error": {"code": "email_invalid",
  "doc_url": "https://stripe.com/docs/error-codes/email-invalid", "message": "` + refusalMessage + `", "param": "customer_email",
  "request_log_url": "https://dashboard.stripe.com/test/logs/` + refusalRequestID + `",
  "type": "invalid_request_error"}}`
)

// refuseCheckout answers every Checkout Session creation with Stripe's
// refusal. stripe-mock refuses only what breaks Stripe's OpenAPI spec (an
// unknown parameter, a bad enum), which stripe-go's typed parameters cannot
// send, so no plan can provoke a real one.
func refuseCheckout(call stripeCall, resp *http.Response) error {
	if call.method != http.MethodPost || call.path != "/v1/checkout/sessions" {
		return nil
	}
	resp.Body.Close()
	resp.StatusCode, resp.Status = http.StatusBadRequest, "400 Bad Request"
	resp.Header.Set("Request-Id", refusalRequestID)
	setBody(resp, []byte(refusalBody))
	return nil
}

// TestCheckoutStripeRefuses: a 4xx from Stripe answers 502 with a generic
// message, in JSON or HTML as the client asked, tells the buyer nothing
// Stripe said, and is logged once with Stripe's request ID beside ours.
func TestCheckoutStripeRefuses(t *testing.T) {
	api := startStripeMock(t)
	app := startBillingApp(t, api, nil)
	app.rec.answer(refuseCheckout)
	c := app.client(t)
	before := app.rowCounts(t)

	r := postJSON(t, c, "/api/checkout", map[string]string{"plan": "basic", "email": buyer})
	wantStatus(t, "JSON checkout refused", r, http.StatusBadGateway)
	var got map[string]string
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("502 body %s: %v", r.body, err)
	}
	if !strings.HasPrefix(got["error"], "Payments could not be started.") || got["request_id"] == "" {
		t.Errorf("502 body %s, want the generic message and our request ID", r.body)
	}
	wantNoStripeText(t, "JSON 502", r)
	wantRefusalLogged(t, app, got["request_id"])

	f := do(t, c, "POST", "/api/checkout", url.Values{"plan": {"pro"}, "email": {buyer}})
	wantStatus(t, "form checkout refused", f, http.StatusBadGateway)
	if !strings.Contains(f.body, "Payments could not be started.") ||
		!strings.Contains(f.header.Get("Content-Type"), "text/html") {
		t.Errorf("form 502 is not the HTML page with the generic message:\n%.600s", f.body)
	}
	wantNoStripeText(t, "HTML 502", f)
	wantRefusalLogged(t, app, f.header.Get("X-Request-Id"))

	if n := len(app.rec.find("POST", "/v1/checkout/sessions")); n != 2 {
		t.Errorf("%d session creations, want one per checkout: a refusal is not retried", n)
	}
	if after := app.rowCounts(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("rows after refused checkouts %v, before %v", after, before)
	}
}

// wantNoStripeText fails if r shows the buyer anything of Stripe's answer.
func wantNoStripeText(t *testing.T, what string, r response) {
	t.Helper()
	for _, leak := range []string{refusalMessage, refusalRequestID, "email_invalid",
		"invalid_request_error", "customer_email", "stripe.com", "400"} {
		if strings.Contains(r.body, leak) {
			t.Errorf("%s shows the buyer %q:\n%.600s", what, leak, r.body)
		}
	}
}

// wantRefusalLogged fails unless the request requestID was logged once as
// failed with 502 and Stripe's request ID.
func wantRefusalLogged(t *testing.T, app *billingApp, requestID string) {
	t.Helper()
	var mine []map[string]any
	for _, rec := range app.logs.records("request failed") {
		if rec["request_id"] == requestID {
			mine = append(mine, rec)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("%d log records of request %s failing, want one", len(mine), requestID)
	}
	rec := mine[0]
	if rec["status"] != 502.0 || rec["stripe_request_id"] != refusalRequestID {
		t.Errorf("log record %v, want status 502 and stripe_request_id %s", rec, refusalRequestID)
	}
	if e, _ := rec["error"].(string); !strings.Contains(e, refusalMessage) {
		t.Errorf("logged error %q, want Stripe's message for the operator", e)
	}
}
