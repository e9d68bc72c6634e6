package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/paywall/paywall"
)

func (s *Server) plans(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.Catalog.Plans)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	rd, err := s.reader(r)
	if err != nil {
		return err
	}
	if !rd.SignedIn {
		return paywall.Errorf(paywall.Unauthorized, "Not signed in.")
	}
	var until *time.Time
	if !rd.Access.Until.IsZero() {
		until = &rd.Access.Until
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"email": rd.Member.Email, "plan": rd.Access.PlanID, "status": rd.Access.Status,
		"access_until": until,
	})
	return nil
}

// authCheck is the target of Caddy's forward_auth: it decides for the
// forwarded method and URI with the same guard as the built-in server.
func (s *Server) authCheck(w http.ResponseWriter, r *http.Request) error {
	u, err := url.ParseRequestURI(r.Header.Get("X-Forwarded-Uri"))
	if err != nil {
		return paywall.Errorf(paywall.Invalid, "X-Forwarded-Uri is missing or not a path.")
	}
	t := s.Site.Resolve(u.Path)
	w.Header().Set("Cache-Control", "private, no-store")
	// Every method gets the same decision: only identity, never the method a
	// client claims, may open a gated file.
	if t.Rule == nil {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	rd, err := s.reader(r)
	if err != nil {
		return err
	}
	switch paywall.Decide(t.Rule, rd.SignedIn, rd.Access) {
	case paywall.Allow:
		w.WriteHeader(http.StatusOK)
	case paywall.SignIn:
		w.WriteHeader(http.StatusUnauthorized)
	default:
		w.WriteHeader(http.StatusForbidden)
	}
	return nil
}
