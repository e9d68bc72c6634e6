package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"strings"

	"github.com/paywall/paywall"
)

type checkoutInput struct {
	Plan     string `json:"plan"`
	Interval string `json:"interval"`
	Email    string `json:"email"`
}

func readCheckoutInput(r *http.Request) (checkoutInput, error) {
	var in checkoutInput
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			return in, paywall.Errorf(paywall.Invalid, "The request body is not valid JSON.")
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return in, paywall.Errorf(paywall.Invalid, "The form could not be read.")
		}
		in = checkoutInput{Plan: r.PostForm.Get("plan"), Interval: r.PostForm.Get("interval"),
			Email: r.PostForm.Get("email")}
	}
	in.Plan, in.Interval = strings.TrimSpace(in.Plan), strings.TrimSpace(in.Interval)
	in.Email = strings.TrimSpace(in.Email)
	return in, nil
}

// startCheckout answers the pricing page's forms and JSON clients alike.
func (s *Server) startCheckout(w http.ResponseWriter, r *http.Request) error {
	in, err := readCheckoutInput(r)
	if err != nil {
		return err
	}
	req, err := s.checkoutRequest(in)
	if err != nil {
		return err
	}
	rd, err := s.reader(r)
	if err != nil {
		return err
	}
	if rd.SignedIn {
		live, err := s.liveSubscription(r.Context(), rd.Member.ID)
		if err != nil {
			return err
		}
		if live != nil {
			return s.alreadySubscribed(w, r, *live)
		}
		if req, err = s.asMember(r.Context(), req, rd.Member); err != nil {
			return err
		}
	} else if req.Email != "" {
		taken, err := s.emailHasLiveSubscription(r.Context(), req.Email)
		if err != nil {
			return err
		}
		if taken {
			return s.emailTaken(w, r, req.Email)
		}
	}
	sess, err := s.Checkout.StartCheckout(r.Context(), req)
	if err != nil {
		return err
	}
	s.metrics.checkouts.WithLabelValues(req.Plan.ID).Inc()
	if isForm(r) {
		http.Redirect(w, r, sess.URL, http.StatusSeeOther)
		return nil
	}
	writeJSON(w, http.StatusOK, sess)
	return nil
}

func (s *Server) checkoutRequest(in checkoutInput) (paywall.CheckoutRequest, error) {
	plan, ok := s.Catalog.Plan(in.Plan)
	if !ok {
		return paywall.CheckoutRequest{}, paywall.Errorf(paywall.Invalid, "Unknown plan %q.", in.Plan)
	}
	interval := paywall.Interval(in.Interval)
	if interval == "" {
		interval = plan.Prices[0].Interval
	}
	price, ok := plan.Price(interval)
	if !ok {
		return paywall.CheckoutRequest{}, paywall.Errorf(paywall.Invalid,
			"The %s plan has no %q price.", plan.Name, in.Interval)
	}
	if in.Email != "" {
		if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email {
			return paywall.CheckoutRequest{}, paywall.Errorf(paywall.Invalid,
				"%q is not an email address.", in.Email)
		}
	}
	return paywall.CheckoutRequest{Plan: plan, Price: price, Email: in.Email}, nil
}

// asMember makes req a purchase by the signed-in member m: as their newest
// Stripe customer when they have one, so that Stripe keeps one customer per
// member.
func (s *Server) asMember(ctx context.Context, req paywall.CheckoutRequest, m paywall.Member) (paywall.CheckoutRequest, error) {
	req.MemberID, req.MemberEmail = m.ID, m.Email
	customers, err := s.Store.CustomerIDs(ctx, m.ID)
	if err != nil {
		return req, err
	}
	if len(customers) > 0 {
		req.CustomerID = customers[0]
	}
	return req, nil
}

// liveSubscription returns the member's subscription that still bills them,
// or nil. Live is wider than access: a past_due subscription beyond its grace
// gives no access but Stripe still tries to charge it.
func (s *Server) liveSubscription(ctx context.Context, member int64) (*paywall.Subscription, error) {
	subs, err := s.Store.Subscriptions(ctx, member)
	if err != nil {
		return nil, err
	}
	for i := len(subs) - 1; i >= 0; i-- {
		if subs[i].Status.Live() {
			return &subs[i], nil
		}
	}
	return nil, nil
}

func (s *Server) emailHasLiveSubscription(ctx context.Context, email string) (bool, error) {
	m, err := s.Store.MemberByEmail(ctx, email)
	if paywall.KindOf(err) == paywall.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	live, err := s.liveSubscription(ctx, m.ID)
	return live != nil, err
}

// alreadySubscribed answers a member who has a live subscription: a second
// one would charge them twice for the same letters. They are sent to the
// Customer Portal, where they can change plans instead.
func (s *Server) alreadySubscribed(w http.ResponseWriter, r *http.Request, live paywall.Subscription) error {
	portal := s.portalLink(r, live.CustomerID)
	if isForm(r) {
		http.Redirect(w, r, portal, http.StatusSeeOther)
		return nil
	}
	writeJSON(w, http.StatusConflict, map[string]string{
		"error":      fmt.Sprintf("You already subscribe to %s.", s.planName(live.PlanID)),
		"portal_url": portal,
	})
	return nil
}

// portalLink returns a Customer Portal session for customer, or the
// dashboard, which has the portal button, when there is no portal or Stripe
// does not answer.
func (s *Server) portalLink(r *http.Request, customer string) string {
	if s.Portal == nil || customer == "" {
		return s.absolute("/account")
	}
	u, err := s.Portal.PortalURL(r.Context(), customer)
	if err != nil {
		withStripeRequest(s.Log, err).Warn("portal session for conflict",
			"request_id", requestIDOf(r.Context()), "customer_id", customer, "error", err)
		return s.absolute("/account")
	}
	return u
}

// emailTaken answers a buyer who is not signed in and typed the address of a
// member with a live subscription: a sign-in link goes to that address, and
// the answer is the same whatever the member's plan or status, so it tells a
// stranger no more than that the address cannot start a second subscription.
func (s *Server) emailTaken(w http.ResponseWriter, r *http.Request, email string) error {
	if err := s.Accounts.RequestLink(r.Context(), email); err != nil {
		return err
	}
	const msg = "This email address already has a membership. We sent it a sign-in link; " +
		"open it to manage your subscription."
	if wantsJSON(r) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": msg,
			"login_url": s.absolute("/login")})
		return nil
	}
	s.render(w, r, http.StatusConflict, "message", page{Title: "Already a member", Message: msg})
	return nil
}

// checkoutSuccess tells the buyer where their setup link went. When Stripe's
// webhook has not been processed yet, it asks Stripe itself and applies what
// the webhook will say, so the buyer never lands on a page that does not
// know them.
func (s *Server) checkoutSuccess(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("session_id")
	if !validSessionID(id) {
		return paywall.Errorf(paywall.Invalid, "This page needs the session_id Stripe sends back.")
	}
	rd, err := s.reader(r)
	if err != nil {
		return err
	}
	email, paid, found, err := s.Store.CheckoutEmail(r.Context(), id)
	if err != nil {
		return err
	}
	status := paywall.CheckoutPaid
	if !found && s.Simulator != nil {
		// A simulated order is known here: no order, or one not completed,
		// has nothing to wait for.
		c, err := s.Simulator.SimulatedCheckout(r.Context(), id)
		if err != nil {
			return err
		}
		if c.CompletedAt.IsZero() {
			status = paywall.CheckoutOpen
		}
	}
	if !found && s.Confirmer != nil {
		if status, err = s.Confirmer.ConfirmCheckout(r.Context(), id); err != nil {
			if paywall.KindOf(err) == paywall.NotFound {
				return err
			}
			// The webhook will bring the same news; until then the page
			// says the payment is being confirmed and refreshes.
			withStripeRequest(s.Log, err).Warn("confirm checkout",
				"request_id", requestIDOf(r.Context()), "session_id", id, "error", err)
		}
		if email, paid, found, err = s.Store.CheckoutEmail(r.Context(), id); err != nil {
			return err
		}
	}
	member := false
	if found {
		m, err := s.Store.MemberByEmail(r.Context(), email)
		if err != nil && paywall.KindOf(err) != paywall.NotFound {
			return err
		}
		member = m.HasPassword
	}
	s.render(w, r, http.StatusOK, "success", successPage(rd, status, email, paid, found, member))
	return nil
}

// successPage words the success page; hasPassword says the buyer is a
// member who can sign in already, so no setup mail was sent.
func successPage(rd reader, status paywall.CheckoutStatus, email string, paid, found, hasPassword bool) page {
	p := page{Title: "Thank you", SignedIn: rd.SignedIn}
	switch {
	case status == paywall.CheckoutProcessing || (found && !paid):
		p.Title = "Payment processing"
		p.Message = "Your payment is still being processed. You will get access, and a mail, " +
			"as soon as it clears."
	case status == paywall.CheckoutOpen || status == paywall.CheckoutExpired:
		p.Title = "Checkout not finished"
		p.Message = "This checkout was not completed, so nothing was charged."
	case found && rd.SignedIn:
		p.Message = "Your subscription is active. Enjoy your reading."
	case found && hasPassword:
		p.Message = "Your subscription is on your account " + email + ". Sign in to start reading."
	case found:
		p.Message = "We sent a link to " + email + ". Open it to choose your password and start reading."
	default:
		p.Message = "Your payment is being confirmed. Your setup link will arrive by mail in a moment."
		p.Refresh = true
	}
	return p
}

// validSessionID reports whether id looks like a Checkout Session ID, so that
// nothing else is ever sent on to Stripe.
func validSessionID(id string) bool {
	if !strings.HasPrefix(id, "cs_") || len(id) > 255 {
		return false
	}
	for _, c := range id {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func (s *Server) simulatedPage(w http.ResponseWriter, r *http.Request) error {
	if s.Simulator == nil {
		return paywall.Errorf(paywall.NotFound, "Simulated checkout is off: Stripe is configured.")
	}
	c, err := s.Simulator.SimulatedCheckout(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.renderSimulated(w, r, http.StatusOK, c, "")
}

func (s *Server) renderSimulated(w http.ResponseWriter, r *http.Request, status int, c paywall.SimulatedCheckout, msg string) error {
	plan, ok := s.Catalog.Plan(c.PlanID)
	if !ok {
		return paywall.Errorf(paywall.NotFound, "This plan is no longer on sale.")
	}
	price, _ := plan.Price(c.Interval)
	s.render(w, r, status, "simulated", page{
		Title: "Simulated checkout", Message: msg, CheckoutID: c.ID, PlanName: plan.Name,
		Amount: money(price.Amount, price.Currency), Interval: c.Interval, Email: c.Email,
		Completed: !c.CompletedAt.IsZero(),
	})
	return nil
}

// simulatedComplete finishes a simulated order: the simulator posts the
// Stripe-shaped events to our own webhook before the buyer moves on.
func (s *Server) simulatedComplete(w http.ResponseWriter, r *http.Request) error {
	if s.Simulator == nil {
		return paywall.Errorf(paywall.NotFound, "Simulated checkout is off: Stripe is configured.")
	}
	if err := r.ParseForm(); err != nil {
		return paywall.Errorf(paywall.Invalid, "The form could not be read.")
	}
	id := r.PathValue("id")
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if email != "" {
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			c, err := s.Simulator.SimulatedCheckout(r.Context(), id)
			if err != nil {
				return err
			}
			return s.renderSimulated(w, r, http.StatusBadRequest, c, "Enter a valid email address.")
		}
	}
	c, err := s.Simulator.Complete(r.Context(), id, email)
	if err != nil {
		return err
	}
	http.Redirect(w, r, s.absolute("/checkout/success")+"?session_id="+c.ID, http.StatusSeeOther)
	return nil
}
