package web

import (
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/paywall/paywall"
)

// minPassword mirrors the identity provider's rule, for the form's hint.
const minPassword = 10

// Link purposes, as the identity provider names them.
const (
	setupLink       = "setup"
	signInLink      = "signin"
	emailChangeLink = "email_change"
)

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	rd, err := s.reader(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "login", page{Title: "Sign in", SignedIn: rd.SignedIn,
		Next: localPath(r.URL.Query().Get("next"))})
	return nil
}

func parseForm(r *http.Request) error {
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return paywall.Errorf(paywall.Invalid, "The form could not be read.")
	}
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
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
	if err := s.startSession(w, r, token); err != nil {
		return err
	}
	if next == "" {
		next = "/account"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// startSession sets the cookie of a new session and ends the one the
// browser had, if any: every sign-in gets a fresh token, so a token planted
// in a browser before sign-in is worth nothing after it.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, token string) error {
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		s.cache.forgetToken(c.Value)
		if err := s.Accounts.SignOut(r.Context(), c.Value); err != nil {
			return err
		}
	}
	s.setSession(w, token)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		s.cache.forgetToken(c.Value)
		if err := s.Accounts.SignOut(r.Context(), c.Value); err != nil {
			return err
		}
	}
	s.clearSession(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// linkPage shows the form that asks for a sign-in link, or, with a token,
// the button that uses it. Mail scanners open links: the GET never uses one.
func (s *Server) linkPage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if token == "" {
		s.render(w, r, http.StatusOK, "link", page{Title: "Sign in by email",
			Next: localPath(r.URL.Query().Get("next"))})
		return nil
	}
	m, err := s.Accounts.LinkMember(r.Context(), token, signInLink)
	if paywall.KindOf(err) == paywall.NotFound {
		s.linkExpired(w, r, "sign-in")
		return nil
	}
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "link", page{Title: "Sign in", Email: m.Email, Token: token})
	return nil
}

// link is the POST of both link forms: with a token it signs in, with an
// email it mails a link.
func (s *Server) link(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	if token := r.PostForm.Get("token"); token != "" {
		return s.signInWithLink(w, r, token)
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		s.render(w, r, http.StatusBadRequest, "link", page{Title: "Sign in by email",
			Message: "Enter the email address you subscribed with.", Email: email})
		return nil
	}
	if err := s.Accounts.RequestLink(r.Context(), email); err != nil {
		return err
	}
	s.queued()
	// The same page for every address, so that it tells nobody which have
	// accounts.
	s.render(w, r, http.StatusOK, "message", page{Title: "Check your inbox",
		Message: "If " + email + " belongs to an account, a link to sign in is on its way. " +
			"It works once and expires soon; the mail says when."})
	return nil
}

func (s *Server) signInWithLink(w http.ResponseWriter, r *http.Request, token string) error {
	session, err := s.Accounts.SignInWithLink(r.Context(), token)
	return s.linkUsed(w, r, "sign-in", session, err)
}

// linkUsed answers the POST that used a link of kind what: a link that
// was used, has expired or never existed gets the page that sends a new
// one; a used one, a fresh session and the dashboard.
func (s *Server) linkUsed(w http.ResponseWriter, r *http.Request, what, session string, err error) error {
	if paywall.KindOf(err) == paywall.NotFound {
		s.linkExpired(w, r, what)
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.startSession(w, r, session); err != nil {
		return err
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

// linkExpired answers a link that was used, has expired or never existed,
// with the form that sends a new one: for a member without a password that
// is a new setup link, else a sign-in link.
func (s *Server) linkExpired(w http.ResponseWriter, r *http.Request, what string) {
	msg := "This " + what + " link has expired or was used already. Enter your email " +
		"and we will send you a new one."
	if what == "setup" {
		msg += " If you chose a password already, sign in with it."
	}
	s.render(w, r, http.StatusNotFound, "link", page{Title: "This link does not work any more",
		Message: msg})
}

func (s *Server) queued() {
	if s.Queued != nil {
		s.Queued()
	}
}

// setupPage shows the password form. It does not use the token: mail
// scanners open links, and that must not burn the member's only way in.
func (s *Server) setupPage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	m, err := s.Accounts.LinkMember(r.Context(), token, setupLink)
	if paywall.KindOf(err) == paywall.NotFound {
		s.linkExpired(w, r, "setup")
		return nil
	}
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "setup", page{Title: "Choose your password", Email: m.Email,
		Token: token, MinPassword: minPassword})
	return nil
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	token := r.PostForm.Get("token")
	session, err := s.Accounts.SetPassword(r.Context(), token, r.PostForm.Get("password"))
	if paywall.KindOf(err) == paywall.Invalid {
		m, merr := s.Accounts.LinkMember(r.Context(), token, setupLink)
		if paywall.KindOf(merr) == paywall.NotFound {
			s.linkExpired(w, r, "setup")
			return nil
		}
		if merr != nil {
			return merr
		}
		s.render(w, r, http.StatusBadRequest, "setup", page{Title: "Choose your password",
			Message: paywall.MessageOf(err), Email: m.Email, Token: token, MinPassword: minPassword})
		return nil
	}
	return s.linkUsed(w, r, "setup", session, err)
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) error {
	rd, ok, err := s.signedIn(w, r)
	if !ok || err != nil {
		return err
	}
	// The subscriptions and grants access was decided from; asking the
	// store again would cost a query and could disagree with the decision.
	// The subscriptions are shown as Stripe bills them, each grant beside
	// them, so that neither hides the other.
	now := s.Now()
	sub := s.Policy.Access(rd.Subs, now)
	p := page{Title: "Your account", SignedIn: true, Email: rd.Member.Email,
		Status: sub.Status, Ending: sub.Ending, PastDue: sub.Status == paywall.PastDue,
		Subscribed: len(rd.Subs) > 0}
	if sub.Granted() {
		names := make([]string, len(sub.Plans))
		for i, id := range sub.Plans {
			names[i] = s.planName(id)
		}
		p.PlanName = strings.Join(names, ", ")
		p.Until = date(sub.Until)
		for _, x := range rd.Subs {
			if p.Until == "" && x.PlanID == sub.PlanID && x.Status == paywall.Active {
				p.Renews = date(x.PeriodEnd)
			}
		}
	}
	for _, g := range rd.Grants {
		if g.Lasting(now) {
			p.Comped = append(p.Comped, grantText(s.planName(g.PlanID), g.Until))
		}
	}
	// A member whose access is only a grant may have no Stripe customer:
	// the portal would have nothing to show them.
	p.Billing = len(rd.Subs) > 0 || len(rd.Grants) == 0
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

// grantText describes a grant of the plan called name. A grant made
// through the end of a day ends at the next midnight UTC; it reads as
// through that day, as it was given.
func grantText(name string, until time.Time) string {
	text := "Complimentary " + name + " membership"
	switch u := until.UTC(); {
	case u.IsZero():
		return text
	case u.Equal(u.Truncate(24 * time.Hour)):
		return text + " through " + date(u.AddDate(0, 0, -1))
	default:
		return text + " until " + date(u)
	}
}

// signOutEverywhere ends every session of the member, this one included.
func (s *Server) signOutEverywhere(w http.ResponseWriter, r *http.Request) error {
	rd, ok, err := s.signedIn(w, r)
	if !ok || err != nil {
		return err
	}
	if err := s.Accounts.SignOutEverywhere(r.Context(), rd.Member.ID); err != nil {
		return err
	}
	s.Forget(rd.Member.ID)
	s.clearSession(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// requestEmailChange mails a confirmation link to the address the member
// wants to sign in with. Nothing changes until that link is used, so a
// typo or a stranger's address cannot lock the member out.
func (s *Server) requestEmailChange(w http.ResponseWriter, r *http.Request) error {
	rd, ok, err := s.signedIn(w, r)
	if !ok || err != nil {
		return err
	}
	if err := parseForm(r); err != nil {
		return err
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return paywall.Errorf(paywall.Invalid, "Enter a valid email address.")
	}
	if strings.EqualFold(email, rd.Member.Email) {
		return paywall.Errorf(paywall.Invalid, "You sign in with %s already.", email)
	}
	if err := s.Accounts.RequestEmailChange(r.Context(), rd.Member.ID, email); err != nil {
		return err
	}
	s.queued()
	s.render(w, r, http.StatusOK, "message", page{Title: "Confirm your new address",
		SignedIn: true, Message: "We sent a link to " + email + ". Until you open it, you " +
			"sign in with " + rd.Member.Email + "."})
	return nil
}

func (s *Server) emailChangePage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if _, err := s.Accounts.LinkMember(r.Context(), token, emailChangeLink); err != nil {
		if paywall.KindOf(err) == paywall.NotFound {
			return paywall.Errorf(paywall.NotFound, "This link has expired or was used "+
				"already. Ask for a new one on your account page.")
		}
		return err
	}
	s.render(w, r, http.StatusOK, "email", page{Title: "Confirm your new address", Token: token})
	return nil
}

func (s *Server) confirmEmailChange(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(r); err != nil {
		return err
	}
	member, err := s.Accounts.ChangeEmail(r.Context(), r.PostForm.Get("token"))
	if paywall.KindOf(err) == paywall.NotFound {
		return paywall.Errorf(paywall.NotFound, "This link has expired or was used "+
			"already. Ask for a new one on your account page.")
	}
	if err != nil {
		return err
	}
	s.Forget(member)
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return nil
}

// portal sends the member to Stripe's Customer Portal for their newest
// Stripe customer.
func (s *Server) portal(w http.ResponseWriter, r *http.Request) error {
	rd, ok, err := s.signedIn(w, r)
	if !ok || err != nil {
		return err
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

// signedIn returns the reader of a request to a members' page, or sends a
// reader who is signed out to the sign-in form (ok false).
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request) (reader, bool, error) {
	rd, err := s.reader(r)
	if err != nil || rd.SignedIn {
		return rd, err == nil, err
	}
	http.Redirect(w, r, "/login?next=/account", http.StatusSeeOther)
	return rd, false, nil
}
