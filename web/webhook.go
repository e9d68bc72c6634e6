package web

import (
	"errors"
	"io"
	"net/http"

	"github.com/paywall/paywall"
)

// webhook stores a verified Stripe event and acknowledges it. Processing
// happens afterwards, in the worker: Stripe only needs to know the event is
// safe, and a slow or failing effect must not make it retry or time out.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use POST"})
		return nil
	}
	payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		s.metrics.webhooks.WithLabelValues("too_large").Inc()
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body over 1 MiB"})
		return nil
	case err != nil:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "could not read body"})
		return nil
	}
	e, err := s.Verifier.Verify(payload, r.Header.Get("Stripe-Signature"), s.Now())
	switch {
	case errors.Is(err, paywall.ErrOtherMode):
		// Answering anything but 200 would make Stripe retry it for days.
		s.metrics.webhooks.WithLabelValues("other_mode").Inc()
		s.Log.Warn("event ignored", "event_id", e.ID, "event_type", e.Type,
			"livemode", e.Livemode, "reason", "livemode differs from the Stripe key's mode")
		writeJSON(w, http.StatusOK, map[string]any{"received": true, "ignored": "livemode"})
		return nil
	case err != nil:
		s.metrics.webhooks.WithLabelValues("bad_signature").Inc()
		s.Log.Warn("webhook refused", "request_id", requestIDOf(r.Context()), "error", err)
		msg := "invalid signature"
		if !errors.Is(err, paywall.ErrBadSignature) {
			msg = "not a Stripe event"
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
		return nil
	}
	inserted, err := s.Store.SaveEvent(r.Context(), e)
	if err != nil {
		// 503 makes Stripe retry later: nothing is lost while the store is down.
		s.metrics.webhooks.WithLabelValues("unavailable").Inc()
		s.Log.Error("store webhook event", "event_id", e.ID, "event_type", e.Type, "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "try again later"})
		return nil
	}
	if inserted {
		s.metrics.webhooks.WithLabelValues("stored").Inc()
		s.Log.Info("event received", "event_id", e.ID, "event_type", e.Type)
		s.Received()
	} else {
		s.metrics.webhooks.WithLabelValues("duplicate").Inc()
		s.Log.Info("event duplicate", "event_id", e.ID, "event_type", e.Type)
	}
	writeJSON(w, http.StatusOK, map[string]bool{"received": true})
	return nil
}
