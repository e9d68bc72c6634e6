package paywall

// Rule says which plans may read a page of the site.
type Rule struct {
	Path  string   // the page's URL path, e.g. /posts/week0001/
	Plans []string // the plans the page names; any one of them unlocks it
	// Unlocks is every plan that opens the page: Plans and the plans that
	// include one of them (see Catalog.Unlocking). Nil means Plans.
	Unlocks []string
	Source  string // where the rule was read from, for explain and logs
	Title   string
	Teaser  string // HTML shown to readers without the plan; never the body
}

// Unlocking returns the plans that open the page.
func (r *Rule) Unlocking() []string {
	if r.Unlocks != nil {
		return r.Unlocks
	}
	return r.Plans
}

// Decision is the guard's answer for one reader and one page.
type Decision int

// Decisions, with the HTTP status each stands for in the comments.
const (
	Allow   Decision = iota // 200: free page, or the reader has a plan it lists
	SignIn                  // 401: gated and the reader is not signed in
	Upgrade                 // 403: signed in without a plan the page lists
)

// Decide returns whether a reader may read the page guarded by rule. A nil
// rule means the page is free.
func Decide(rule *Rule, signedIn bool, a Access) Decision {
	if rule == nil || len(rule.Plans) == 0 {
		return Allow
	}
	if !signedIn {
		return SignIn
	}
	for _, plan := range rule.Unlocking() {
		if a.Has(plan) {
			return Allow
		}
	}
	return Upgrade
}

// Target is what a request path names on the site: the one file that would
// be served and the rule that protects it. Deciding and serving both use it,
// so what is decided is exactly what is sent.
type Target struct {
	// File is the path inside the site; "" when the request names nothing
	// servable.
	File string
	// Redirect, when set, is where a directory asked for without its trailing
	// slash should go instead. A redirect carries no content.
	Redirect string
	// Rule protects File; nil for a free file.
	Rule *Rule
}

// Glob gates every file of the site whose path matches Pattern (path.Match
// syntax on the URL path, e.g. /members/*.pdf; a final /** matches all
// below), for sites whose pages paywall cannot read rules from.
type Glob struct {
	Pattern string
	Plans   []string
}
