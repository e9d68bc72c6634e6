package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/paywall/paywall"
)

// handlerFunc is a handler that may fail; adapt turns its error into an answer.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// statusOf maps each error kind to the status a client sees.
var statusOf = map[paywall.ErrorKind]int{
	paywall.Internal:     http.StatusInternalServerError,
	paywall.Invalid:      http.StatusBadRequest,
	paywall.Unauthorized: http.StatusUnauthorized,
	paywall.Forbidden:    http.StatusForbidden,
	paywall.NotFound:     http.StatusNotFound,
	paywall.Conflict:     http.StatusConflict,
	paywall.Unavailable:  http.StatusServiceUnavailable,
	paywall.Upstream:     http.StatusBadGateway,
}

// adapt runs h and answers its error: the user sees a short message and the
// request ID, never internal error text; the log gets the whole error once.
func (s *Server) adapt(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	kind := paywall.KindOf(err)
	msg := paywall.MessageOf(err)
	// A database (or any peer) that cannot be reached is an outage to wait
	// out, not a fault of the request: 503, so clients and Caddy retry.
	var netErr *net.OpError
	if kind == paywall.Internal && errors.As(err, &netErr) {
		kind, msg = paywall.Unavailable, "This service is unavailable right now; please try again in a minute."
	}
	status := statusOf[kind]
	if kind == paywall.Internal || msg == "" {
		msg = http.StatusText(status)
	}
	log := withStripeRequest(s.Log.With("request_id", requestIDOf(r.Context()), "method", r.Method,
		"path", r.URL.Path), err)
	switch {
	case errors.Is(err, context.Canceled):
		log.Info("request canceled")
		return
	case status >= 500:
		log.Error("request failed", "status", status, "error", err)
	default:
		log.Info("request refused", "status", status, "error", err)
	}
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"error": msg, "request_id": requestIDOf(r.Context())})
		return
	}
	s.render(w, r, status, "message", page{Title: http.StatusText(status), Message: msg})
}

// stripeRequest is an error Stripe answered (billing's), which carries the
// ID of Stripe's request.
type stripeRequest interface{ StripeRequestID() string }

// withStripeRequest adds to log the ID of the Stripe request err reports, if
// any, so that an operator can find Stripe's side of a failure.
func withStripeRequest(log *slog.Logger, err error) *slog.Logger {
	var sr stripeRequest
	if errors.As(err, &sr) && sr.StripeRequestID() != "" {
		return log.With("stripe_request_id", sr.StripeRequestID())
	}
	return log
}

// wantsJSON reports whether the client speaks JSON rather than HTML.
func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") ||
		strings.Contains(r.Header.Get("Accept"), "application/json") ||
		(strings.HasPrefix(r.URL.Path, "/api/") && !isForm(r))
}

func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") ||
		strings.HasPrefix(ct, "multipart/form-data")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	// Encoded first: a value that cannot be encoded is a 500, not a 200
	// with half a body.
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"The answer could not be encoded."}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

type ctxKey int

const requestIDKey ctxKey = 0

func requestIDOf(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// requestID gives every request an ID, shown to users beside any error and
// logged with it, so a report can be matched to its log line.
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 8)
		rand.Read(b)
		id := hex.EncodeToString(b)
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// recoverPanics turns a panic in a handler into a logged 500 instead of a
// dropped connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.Error("handler panicked", "request_id", requestIDOf(r.Context()),
					"path", r.URL.Path, "panic", v)
				http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
