package web

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/paywall/paywall"
)

// TestFailStatus: errors map to statuses in one table, and a peer that
// cannot be reached (the database down) is a 503, never a 500.
func TestFailStatus(t *testing.T) {
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	down := fmt.Errorf("get session: %w", &net.OpError{Op: "dial", Net: "tcp",
		Err: syscall.ECONNREFUSED})
	for _, tt := range []struct {
		name string
		err  error
		want int
	}{
		{"invalid", paywall.Errorf(paywall.Invalid, "bad"), http.StatusBadRequest},
		{"not found", paywall.Errorf(paywall.NotFound, "none"), http.StatusNotFound},
		{"database down", down, http.StatusServiceUnavailable},
		{"internal", errors.New("boom"), http.StatusInternalServerError},
	} {
		w := httptest.NewRecorder()
		s.fail(w, httptest.NewRequest("POST", "/login", nil), tt.err)
		if w.Code != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, w.Code, tt.want)
		}
	}
}
