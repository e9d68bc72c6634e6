package web

import (
	"html/template"
	"net/http"
	"path"
	"strings"

	"github.com/paywall/paywall"
)

// site serves the static site, every path decided by the guard first.
func (s *Server) site(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", s.allowed(r))
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return nil
	}
	t := s.Site.Resolve(r.URL.Path)
	switch {
	case t.Redirect != "":
		http.Redirect(w, r, t.Redirect, http.StatusMovedPermanently)
		return nil
	case t.File == "":
		return s.notFound(w, r)
	}
	if t.Rule == nil {
		return s.Site.Serve(w, r, t)
	}
	rd, err := s.reader(r)
	if err != nil {
		return err
	}
	switch d := paywall.Decide(t.Rule, rd.SignedIn, rd.Access); d {
	case paywall.Allow:
		s.metrics.decisions.WithLabelValues("allow").Inc()
		return s.Site.Serve(w, r, t)
	default:
		s.deny(w, r, t.Rule, d, rd)
		return nil
	}
}

// deny answers a reader without the plan: 401 or 403 with the teaser only.
func (s *Server) deny(w http.ResponseWriter, r *http.Request, rule *paywall.Rule, d paywall.Decision, rd reader) {
	status, label := http.StatusUnauthorized, "sign_in"
	if d == paywall.Upgrade {
		status, label = http.StatusForbidden, "upgrade"
	}
	s.metrics.decisions.WithLabelValues(label).Inc()
	var names []string
	for _, p := range rule.Unlocking() {
		names = append(names, s.planName(p))
	}
	h := w.Header()
	h.Set("Cache-Control", "private, no-store")
	h.Add("Vary", "Cookie")
	next := rule.Path
	if strings.ContainsAny(next, "*?[") {
		next = path.Clean(r.URL.Path) // a path rule's pattern is no place to return to
	}
	p := page{
		Title: rule.Title, SignedIn: rd.SignedIn, Rule: rule,
		// The teaser is HTML written by the site's own Hugo build.
		Teaser:    template.HTML(rule.Teaser),
		PlanNames: strings.Join(names, " or "),
		Next:      next, // the template escapes it for the link's query
	}
	if rd.Access.Granted() {
		p.CurrentPlan = s.planName(rd.Access.PlanID)
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	s.render(w, r, status, "denied", p)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) error {
	if b, ok := s.Site.NotFoundPage(); ok {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		if r.Method != http.MethodHead {
			w.Write(b)
		}
		return nil
	}
	return paywall.Errorf(paywall.NotFound, "There is no page at this address.")
}
