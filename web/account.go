package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/paywall/paywall"
)

// minPassword mirrors the identity provider's rule, for the form's hint.
const minPassword = 10

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	rd, err := s.reader(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "login", page{Title: "Sign in", SignedIn: rd.SignedIn,
		Next: localPath(r.URL.Query().Get("next"))})
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return paywall.Errorf(paywall.Invalid, "The form could not be read.")
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	next := localPath(r.PostForm.Get("next"))
	token, err := s.Accounts.SignIn(r.Context(), email, r.PostForm.Get("password"))
	if err != nil {
		if paywall.KindOf(err) != paywall.Unauthorized {
			return err
		}
		s.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in",
			Message: paywall.MessageOf(err), Email: email, Next: next})
		return nil
	}
	s.setSession(w, token)
	if next == "" {
		next = "/account"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.Accounts.SignOut(r.Context(), c.Value); err != nil {
			return err
		}
	}
	s.clearSession(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// setupPage shows the password form. It does not use the token: mail
// scanners open links, and that must not burn the member's only way in.
func (s *Server) setupPage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	m, err := s.Accounts.SetupMember(r.Context(), token)
	if err != nil {
		if paywall.KindOf(err) == paywall.NotFound {
			return paywall.Errorf(paywall.NotFound, "This setup link has expired or was used "+
				"already. If you set a password, sign in with it.")
		}
		return err
	}
	s.render(w, r, http.StatusOK, "setup", page{Title: "Choose your password", Email: m.Email,
		Token: token, MinPassword: minPassword})
	return nil
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return paywall.Errorf(paywall.Invalid, "The form could not be read.")
	}
	token := r.PostForm.Get("token")
	session, err := s.Accounts.SetPassword(r.Context(), token, r.PostForm.Get("password"))
	if paywall.KindOf(err) == paywall.Invalid {
		m, merr := s.Accounts.SetupMember(r.Context(), token)
		if merr != nil {
			return merr
		}
		s.render(w, r, http.StatusBadRequest, "setup", page{Title: "Choose your password",
			Message: paywall.MessageOf(err), Email: m.Email, Token: token, MinPassword: minPassword})
		return nil
	}
	if paywall.KindOf(err) == paywall.NotFound {
		return paywall.Errorf(paywall.NotFound, "This setup link has expired or was used already.")
	}
	if err != nil {
		return err
	}
	s.setSession(w, session)
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) error {
	rd, err := s.reader(r)
	if err != nil {
		return err
	}
	if !rd.SignedIn {
		http.Redirect(w, r, "/login?next=/account", http.StatusSeeOther)
		return nil
	}
	p := page{Title: "Your account", SignedIn: true, Email: rd.Member.Email,
		Status: rd.Access.Status, Ending: rd.Access.Ending}
	if rd.Access.Granted() {
		p.PlanName = s.planName(rd.Access.PlanID)
		p.Until = date(rd.Access.Until)
	}
	if subs, err := s.Store.Subscriptions(r.Context(), rd.Member.ID); err == nil && p.Until == "" {
		for _, sub := range subs {
			if sub.PlanID == rd.Access.PlanID && sub.Status == paywall.Active {
				p.Renews = date(sub.PeriodEnd)
			}
		}
	}
	invoices, err := s.Store.Invoices(r.Context(), rd.Member.ID)
	if err != nil {
		return err
	}
	for _, in := range invoices {
		p.Invoices = append(p.Invoices, invoiceRow{Number: in.Number, Date: date(in.Created),
			Amount: money(in.Amount, in.Currency), Status: in.Status, URL: in.URL})
	}
	s.render(w, r, http.StatusOK, "account", p)
	return nil
}

// portal sends the member to Stripe's Customer Portal for their newest
// Stripe customer.
func (s *Server) portal(w http.ResponseWriter, r *http.Request) error {
	rd, err := s.reader(r)
	if err != nil {
		return err
	}
	if !rd.SignedIn {
		http.Redirect(w, r, "/login?next=/account", http.StatusSeeOther)
		return nil
	}
	if s.Portal == nil {
		s.render(w, r, http.StatusOK, "message", page{Title: "Manage billing", SignedIn: true,
			Message: "Checkout is simulated, so there is no Stripe Customer Portal. " +
				"Set STRIPE_SECRET_KEY to use Stripe."})
		return nil
	}
	customers, err := s.Store.CustomerIDs(r.Context(), rd.Member.ID)
	if err != nil {
		return err
	}
	if len(customers) == 0 {
		return paywall.Errorf(paywall.NotFound, "There is no billing account for you yet.")
	}
	u, err := s.Portal.PortalURL(r.Context(), customers[0])
	if err != nil {
		return err
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
	return nil
}

// localPath returns p when it is a path on this site, else "": a sign-in
// form must never send the reader to another origin.
func localPath(p string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") ||
		strings.ContainsAny(p, "\\\r\n") {
		return ""
	}
	u, err := url.Parse(p)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return ""
	}
	return p
}
