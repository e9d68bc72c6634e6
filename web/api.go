package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paywall/paywall"
)

// priceIDs is implemented by a Checkout that can name the price behind
// each lookup key: Stripe's own price IDs, or the simulated ones.
type priceIDs interface {
	PriceID(ctx context.Context, lookupKey string) (string, error)
}

// planJSON and priceJSON are a plan as /api/plans shows it.
type planJSON struct {
	paywall.Plan
	Prices []priceJSON `json:"prices"`
}

type priceJSON struct {
	// ID is the Stripe price, null when it cannot be looked up now (Stripe
	// unreachable, or no active price carries the lookup key).
	ID *string `json:"id"`
	paywall.Price
}

// plans lists the catalog with each price's ID. A price whose ID cannot be
// found still lists, with a null ID: the pricing page needs only the
// lookup key, and Stripe's trouble is logged, not shown.
func (s *Server) plans(w http.ResponseWriter, r *http.Request) error {
	ids, _ := s.Checkout.(priceIDs)
	// Stripe down slows the list by one lookup at most, not one per price:
	// after it is found unavailable the rest go unasked. A key without a
	// price costs its own lookup, at most every half minute (see
	// billing's price cache).
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	out := make([]planJSON, 0, len(s.Catalog.Plans))
	for _, p := range s.Catalog.Plans {
		pj := planJSON{Plan: p, Prices: make([]priceJSON, 0, len(p.Prices))}
		for _, pr := range p.Prices {
			j := priceJSON{Price: pr}
			if ids != nil {
				id, err := ids.PriceID(ctx, pr.LookupKey)
				if err == nil {
					j.ID = &id
				} else {
					s.Log.Warn("price not found for /api/plans", "lookup_key", pr.LookupKey, "error", err)
					if paywall.KindOf(err) == paywall.Unavailable {
						ids = nil // Stripe is down: every other lookup would wait too
					}
				}
			}
			pj.Prices = append(pj.Prices, j)
		}
		out = append(out, pj)
	}
	writeJSON(w, http.StatusOK, out)
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
	status := string(rd.Access.Status)
	if rd.Access.Comped {
		status = "comped" // access given by a grant, not a subscription
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"email": rd.Member.Email, "plan": rd.Access.PlanID, "status": status,
		"access_until": until,
	})
	return nil
}

// authCheck is the target of Caddy's forward_auth: it decides for the
// forwarded method and URI with the same guard, and the same canonical
// path, as the built-in server, so both answer every spelling alike. Who
// the reader is comes only from the session cookie Caddy passes on; no
// forwarded header changes it.
func (s *Server) authCheck(w http.ResponseWriter, r *http.Request) error {
	p, ok := forwardedPath(r.Header.Get("X-Forwarded-Uri"))
	if !ok {
		return paywall.Errorf(paywall.Invalid, "X-Forwarded-Uri is missing or not a path.")
	}
	h := w.Header()
	h.Set("Cache-Control", "private, no-store")
	h.Add("Vary", "Cookie")
	switch r.Header.Get("X-Forwarded-Method") {
	case "", http.MethodGet, http.MethodHead:
	default:
		h.Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return nil
	}
	t := s.Site.Resolve(p)
	switch {
	case t.Redirect != "":
		h.Set("Location", t.Redirect)
		w.WriteHeader(http.StatusMovedPermanently)
		return nil
	case t.File == "":
		// Nothing servable, the manifest included: Caddy must not serve it either.
		w.WriteHeader(http.StatusNotFound)
		return nil
	case t.Rule == nil:
		w.WriteHeader(http.StatusOK)
		return nil
	}
	rd, err := s.reader(r)
	if err != nil {
		return err
	}
	switch paywall.Decide(t.Rule, rd.SignedIn, rd.Access) {
	case paywall.Allow:
		s.metrics.decisions.WithLabelValues("allow").Inc()
		// Caddy copies this into the file request, so that the gated file it
		// serves is marked private, as paywall marks the files it serves.
		h.Set(GatedHeader, "true")
		w.WriteHeader(http.StatusOK)
	case paywall.SignIn:
		s.metrics.decisions.WithLabelValues("sign_in").Inc()
		w.WriteHeader(http.StatusUnauthorized)
	default:
		s.metrics.decisions.WithLabelValues("upgrade").Inc()
		w.WriteHeader(http.StatusForbidden)
	}
	return nil
}

// GatedHeader marks an allowed /auth/check answer for a gated file.
const GatedHeader = "X-Paywall-Gated"

// forwardedPath decodes the path of a forwarded request URI as net/http
// decodes a request's own. It is parsed by hand: url.ParseRequestURI would
// read "//host/path" as a host and a different path than Caddy serves. A
// raw "#" stays in the path, as net/http (and so Caddy) keeps it there:
// "/#/../posts/x/" names /posts/x/ to the file server behind.
func forwardedPath(raw string) (string, bool) {
	raw, _, _ = strings.Cut(raw, "?")
	if !strings.HasPrefix(raw, "/") {
		return "", false
	}
	p, err := url.PathUnescape(raw)
	return p, err == nil
}
