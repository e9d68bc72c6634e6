package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/paywall/paywall"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds one template set per page, each joined with the layout.
var pages = parsePages()

func parsePages() map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", n))
	}
	return out
}

// page is what the templates print. Each page uses the fields it needs.
type page struct {
	Title     string
	Message   string
	RequestID string
	SignedIn  bool
	Refresh   bool

	Next        string
	Email       string
	Token       string
	MinPassword int

	// denied
	Rule        *paywall.Rule
	Teaser      template.HTML
	PlanNames   string
	CurrentPlan string

	// account
	PlanName string
	Status   paywall.Status
	Until    string
	Ending   bool
	Renews   string
	Invoices []invoiceRow
	PastDue  bool
	// Comped describes each grant that lasts, a complimentary membership;
	// Subscribed says the member has subscriptions to show; Billing says
	// whether the portal button is shown.
	Comped     []string
	Subscribed bool
	Billing    bool

	// simulated checkout
	CheckoutID string
	Amount     string
	Interval   paywall.Interval
	Completed  bool
}

type invoiceRow struct {
	Number, Date, Amount, Status, URL string
}

// render writes the page named name with status. It renders into a buffer
// first so that a template error becomes a clean 500, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := pages[name]
	if !ok {
		panic(fmt.Sprintf("no page template %q", name))
	}
	p.RequestID = requestIDOf(r.Context())
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		s.Log.Error("render page", "page", name, "error", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// money formats an amount in the currency's smallest unit, e.g. $19 or €4.50.
func money(amount int64, currency string) string {
	symbols := map[string]string{"usd": "$", "eur": "€", "gbp": "£"}
	sym, ok := symbols[strings.ToLower(currency)]
	if !ok {
		sym = strings.ToUpper(currency) + " "
	}
	if amount%100 == 0 {
		return fmt.Sprintf("%s%d", sym, amount/100)
	}
	return fmt.Sprintf("%s%d.%02d", sym, amount/100, amount%100)
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 January 2006")
}
