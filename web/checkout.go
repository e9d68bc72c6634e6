package web

import (
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
	if rd.SignedIn && rd.Access.Granted() {
		return s.alreadySubscribed(w, r, rd)
	}
	req.MemberID = rd.Member.ID
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

// alreadySubscribed answers a member who has a live subscription: a second
// one would charge them twice for the same letters.
func (s *Server) alreadySubscribed(w http.ResponseWriter, r *http.Request, rd reader) error {
	portal := s.absolute("/account")
	if isForm(r) {
		http.Redirect(w, r, portal, http.StatusSeeOther)
		return nil
	}
	writeJSON(w, http.StatusConflict, map[string]string{
		"error":      fmt.Sprintf("You already subscribe to %s.", s.planName(rd.Access.PlanID)),
		"portal_url": portal,
	})
	return nil
}

// checkoutSuccess tells the buyer where their setup link went.
func (s *Server) checkoutSuccess(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("session_id")
	if id == "" {
		return paywall.Errorf(paywall.Invalid, "This page needs a session_id.")
	}
	rd, err := s.reader(r)
	if err != nil {
		return err
	}
	email, paid, found, err := s.Store.CheckoutEmail(r.Context(), id)
	if err != nil {
		return err
	}
	p := page{Title: "Thank you", SignedIn: rd.SignedIn}
	switch {
	case found && !paid:
		p.Title = "Payment processing"
		p.Message = "Your payment is still being processed. We will mail " + email +
			" as soon as it clears."
	case found && rd.SignedIn:
		p.Message = "Your subscription is active. Enjoy your reading."
	case found:
		p.Message = "We sent a link to " + email + ". Open it to choose your password and start reading."
	default:
		p.Message = "Your payment is being confirmed. Your setup link will arrive by mail in a moment."
		p.Refresh = true
	}
	s.render(w, r, http.StatusOK, "success", p)
	return nil
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
