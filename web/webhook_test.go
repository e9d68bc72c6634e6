package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/paywall/paywall"
)

// failingStore is a Store whose database is down.
type failingStore struct{ Store }

func (failingStore) SaveEvent(context.Context, paywall.Event) (bool, error) {
	return false, errors.New("database is locked")
}

// acceptAll is a Verifier that takes every body as a valid event.
type acceptAll struct{}

func (acceptAll) Verify(payload []byte, _ string, now time.Time) (paywall.Event, error) {
	return paywall.Event{ID: "evt_1", Type: "invoice.paid", Payload: payload, ReceivedAt: now}, nil
}

// TestWebhookStoreDown checks that an event that cannot be stored is
// answered 503, so that Stripe delivers it again, and is not acknowledged.
func TestWebhookStoreDown(t *testing.T) {
	received := 0
	s := &Server{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), BaseURL: &url.URL{Scheme: "http", Host: "x"},
		Store: failingStore{}, Verifier: acceptAll{}, Received: func() { received++ },
		Now: time.Now, Metrics: prometheus.NewRegistry(),
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/webhooks/stripe", strings.NewReader(`{}`)))
	if rec.Code != http.StatusServiceUnavailable || received != 0 {
		t.Errorf("status %d, worker woken %d times; want 503 and no wake-up", rec.Code, received)
	}
	if strings.Contains(rec.Body.String(), "locked") {
		t.Errorf("the answer shows the internal error: %s", rec.Body.String())
	}
}
