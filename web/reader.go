package web

import (
	"net/http"

	"github.com/paywall/paywall"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "paywall_session"

// reader is who is asking: a signed-in member and what they may read, or
// nobody. Identity comes only from the session cookie, never from a header
// a client could set.
type reader struct {
	Member   paywall.Member
	Access   paywall.Access
	SignedIn bool
}

func (s *Server) reader(r *http.Request) (reader, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return reader{}, nil
	}
	m, err := s.Accounts.Session(r.Context(), c.Value)
	if err != nil {
		if k := paywall.KindOf(err); k == paywall.Unauthorized || k == paywall.NotFound {
			return reader{}, nil
		}
		return reader{}, err
	}
	subs, err := s.Store.Subscriptions(r.Context(), m.ID)
	if err != nil {
		return reader{}, err
	}
	return reader{Member: m, Access: s.Policy.Access(subs, s.Now()), SignedIn: true}, nil
}

func (s *Server) setSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.BaseURL.Scheme == "https",
		MaxAge: 30 * 24 * 3600,
	})
}

func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.BaseURL.Scheme == "https", MaxAge: -1,
	})
}

// planName returns the display name of plan id.
func (s *Server) planName(id string) string {
	if p, ok := s.Catalog.Plan(id); ok {
		return p.Name
	}
	return id
}

// absolute returns path on the public origin.
func (s *Server) absolute(path string) string {
	u := *s.BaseURL
	u.Path = path
	return u.String()
}
