package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/guard"
	"github.com/paywall/paywall/sqlite"
)

// errLeaks makes `guard audit` exit 1 after printing what it found.
var errLeaks = errors.New("gated text found outside its protection")

// guardCmd runs `paywall guard audit|explain`.
func guardCmd(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: guard needs audit or explain", errUsage)
	}
	switch args[0] {
	case "audit":
		return guardAudit(c, args[1:])
	case "explain":
		return guardExplain(ctx, c, args[1:])
	}
	return fmt.Errorf("%w: unknown guard command %q", errUsage, args[0])
}

// guardAudit reports every file of the built site that repeats a sentence
// of a gated body where a reader without the plan may fetch it.
func guardAudit(c *cli, args []string) error {
	fl := flag.NewFlagSet("guard audit", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	dir := fl.String("site", c.cfg.SiteDir, "built site directory")
	if err := fl.Parse(args); err != nil || fl.NArg() > 0 {
		return fmt.Errorf("%w: guard audit [--site DIR]", errUsage)
	}
	g, err := loadGuardFrom(c.cfg, *dir)
	if err != nil {
		return err
	}
	leaks, err := g.Audit()
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	for _, l := range leaks {
		fmt.Fprintf(c.stdout, "%s\t%s\t%q\n", l.File, l.Page, l.Snippet)
	}
	if len(leaks) > 0 {
		return fmt.Errorf("%w: %d files (file, post, sentence above)", errLeaks, leakyFiles(leaks))
	}
	fmt.Fprintf(c.stdout, "no leaks: %d gated pages checked\n", len(g.Rules()))
	return nil
}

// auditAtStart runs the audit before serving: each leak is a warning, and
// in production a leak stops start-up unless PAYWALL_ALLOW_LEAKS is set.
func auditAtStart(cfg config.Config, g *guard.Guard, log *slog.Logger) error {
	leaks, err := g.Audit()
	if err != nil {
		return fmt.Errorf("audit the site: %w", err)
	}
	for _, l := range leaks {
		snippet := l.Snippet
		if len(snippet) > 80 {
			snippet = snippet[:80] + "…"
		}
		log.Warn("gated text outside its protection", "file", l.File, "page", l.Page,
			"snippet", strings.ToValidUTF8(snippet, ""))
	}
	if len(leaks) > 0 && cfg.Production() && !cfg.AllowLeaks {
		return fmt.Errorf("PAYWALL_ALLOW_LEAKS: %d files of the site repeat gated text to readers "+
			"without the plan (see `paywall guard audit`); fix the site, or set "+
			"PAYWALL_ALLOW_LEAKS=true to serve it anyway", leakyFiles(leaks))
	}
	return nil
}

func leakyFiles(leaks []guard.Leak) int {
	files := map[string]bool{}
	for _, l := range leaks {
		files[l.File] = true
	}
	return len(files)
}

// guardExplain says how the guard decides one path, for one member or for
// a reader who is signed out.
func guardExplain(ctx context.Context, c *cli, args []string) error {
	fl := flag.NewFlagSet("guard explain", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	email := fl.String("email", "", "member to decide for")
	if err := fl.Parse(reorder(args)); err != nil || fl.NArg() != 1 {
		return fmt.Errorf("%w: guard explain PATH [--email EMAIL]", errUsage)
	}
	g, err := loadGuard(c.cfg)
	if err != nil {
		return err
	}
	// Decode the path as net/http decodes a request's, so that explain
	// decides exactly what the server would: /posts%2fweek0003%2f included.
	raw := strings.SplitN(fl.Arg(0), "?", 2)[0]
	urlPath, err := url.PathUnescape(raw)
	if err != nil {
		return fmt.Errorf("%w: %q is not a valid URL path: %v", errUsage, raw, err)
	}
	target := g.Resolve(urlPath)
	w := c.stdout
	fmt.Fprintf(w, "path:      %s\n", fl.Arg(0))
	switch {
	case target.Redirect != "":
		fmt.Fprintf(w, "canonical: redirect to %s (a directory asked for without its slash)\n",
			target.Redirect)
		return nil
	case target.File == "":
		fmt.Fprintln(w, "canonical: no file (404): the site has nothing servable at this path")
		return nil
	}
	fmt.Fprintf(w, "canonical: %s\n", target.File)
	if target.Rule == nil {
		fmt.Fprintln(w, "rule:      none: the file is free")
		fmt.Fprintln(w, "decision:  allow (200): free to everyone")
		return nil
	}
	r := target.Rule
	fmt.Fprintf(w, "rule:      %s (from %s)\n", r.Path, r.Source)
	fmt.Fprintf(w, "plans:     %s (unlocked by %s)\n", strings.Join(r.Plans, ", "),
		strings.Join(r.Unlocking(), ", "))
	return explainReader(ctx, c, r, *email)
}

func explainReader(ctx context.Context, c *cli, r *paywall.Rule, email string) error {
	w := c.stdout
	if email == "" {
		fmt.Fprintln(w, "reader:    signed out")
		fmt.Fprintln(w, "decision:  sign in (401): the page is gated and nobody is signed in")
		return nil
	}
	// Opening would create the file: explain must change nothing.
	if _, err := os.Stat(c.cfg.DatabasePath); err != nil && !sqlite.IsPostgres(c.cfg.DatabasePath) {
		return fmt.Errorf("PAYWALL_DATABASE_URL: no database at %s to look up %s", c.cfg.DatabasePath, email)
	}
	store, err := openStore(c.cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	m, err := memberOf(ctx, store, email)
	if err != nil {
		return err
	}
	subs, grants, err := holdings(ctx, store, m.ID)
	if err != nil {
		return err
	}
	now := time.Now()
	a := c.cfg.Policy.AccessWith(subs, grants, now)
	fmt.Fprintf(w, "reader:    %s, %s%s\n", m.Email, planStatus(a), grantsText(grants, now))
	switch paywall.Decide(r, true, a) {
	case paywall.Allow:
		unlocking := a.PlanID
		for _, p := range r.Unlocking() {
			if a.Has(p) {
				unlocking = p
				break
			}
		}
		fmt.Fprintf(w, "decision:  allow (200): plan %s unlocks the page\n", unlocking)
	case paywall.Upgrade:
		why := "no subscription or grant gives access now"
		if a.Granted() {
			why = "plan " + strings.Join(a.Plans, ", ") + " is not one that unlocks the page"
			if len(a.Plans) > 1 {
				why = "plans " + strings.Join(a.Plans, ", ") + " are not ones that unlock the page"
			}
		}
		fmt.Fprintf(w, "decision:  upgrade (403): %s\n", why)
	}
	return nil
}

// planStatus is "plan P, status S" for the access shown first.
func planStatus(a paywall.Access) string {
	plan, status := a.PlanID, string(a.Status)
	if plan == "" {
		plan = "none"
	}
	switch {
	case a.Comped:
		status = "comped (complimentary, " + untilText(a.Until) + ")"
	case status == "":
		status = "no subscription"
	}
	return "plan " + plan + ", status " + status
}

// grantsText lists the grants giving access at now, after a comma.
func grantsText(grants []paywall.Grant, now time.Time) string {
	var out []string
	for _, g := range grants {
		if g.Lasting(now) {
			out = append(out, g.PlanID+" "+untilText(g.Until))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return ", grants " + strings.Join(out, "; ")
}

// reorder puts flags before the arguments, so that `explain PATH --email E`
// reads as `explain --email E PATH`.
func reorder(args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			flags = append(flags, args[i])
			if !strings.Contains(args[i], "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		rest = append(rest, args[i])
	}
	return append(flags, rest...)
}
