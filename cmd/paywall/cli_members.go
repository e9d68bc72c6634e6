package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite"
)

const membersUsage = "members list | show EMAIL | grant EMAIL PLAN [--until DATE] | revoke EMAIL"

// membersCmd is `paywall members list|show|grant|revoke`.
func membersCmd(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, membersUsage)
	}
	sub, ok := map[string]func(context.Context, *cli, *sqlite.Store, []string) error{
		"list":   membersList,
		"show":   membersShow,
		"grant":  membersGrant,
		"revoke": membersRevoke,
	}[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown members command %q: %s", errUsage, args[0], membersUsage)
	}
	for _, a := range args[1:] {
		if a == "-h" || a == "-help" || a == "--help" {
			return fmt.Errorf("%w: %s", errUsage, membersUsage)
		}
	}
	store, err := openMigrated(ctx, c.cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	return sub(ctx, c, store, args[1:])
}

// membersList prints one line per member, by email. It reads every table
// once, whatever the number of members.
func membersList(ctx context.Context, c *cli, store *sqlite.Store, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: members list takes no arguments", errUsage)
	}
	members, err := store.Members(ctx)
	if err != nil {
		return err
	}
	subs, err := store.AllSubscriptions(ctx)
	if err != nil {
		return err
	}
	owners, err := store.CustomerMembers(ctx)
	if err != nil {
		return err
	}
	grants, err := store.AllGrants(ctx)
	if err != nil {
		return err
	}
	byMember := map[int64][]paywall.Subscription{}
	for _, s := range subs {
		if m, ok := owners[s.CustomerID]; ok {
			byMember[m] = append(byMember[m], s)
		}
	}
	now := time.Now()
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tPLAN\tSTATUS\tACCESS UNTIL\tCREATED")
	for _, m := range members {
		a := c.cfg.Policy.AccessWith(byMember[m.ID], grants[m.ID], now)
		plan, until := "-", "-"
		if a.Granted() {
			plan, until = a.PlanID, endText(a.Until)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Email, plan, statusWord(a), until,
			m.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

// statusWord is a member's status in Stripe's words, comped for access a
// grant gives, or none.
func statusWord(a paywall.Access) string {
	switch {
	case a.Comped:
		return "comped"
	case a.Status != "":
		return string(a.Status)
	}
	return "none"
}

// endText prints when access ends.
func endText(t time.Time) string {
	if t.IsZero() {
		return "no end"
	}
	return t.UTC().Format(time.RFC3339)
}

// untilText is endText as a phrase: "until …" or "no end".
func untilText(t time.Time) string {
	if t.IsZero() {
		return "no end"
	}
	return "until " + endText(t)
}

// memberOf finds the member with email; nobody having it is a failure.
func memberOf(ctx context.Context, store *sqlite.Store, email string) (paywall.Member, error) {
	m, err := store.MemberByEmail(ctx, email)
	if paywall.KindOf(err) == paywall.NotFound {
		return m, fmt.Errorf("no member with the email %s", strings.TrimSpace(email))
	}
	return m, err
}

// holdings returns what the member's access is decided from.
func holdings(ctx context.Context, store *sqlite.Store, member int64) ([]paywall.Subscription, []paywall.Grant, error) {
	subs, err := store.Subscriptions(ctx, member)
	if err != nil {
		return nil, nil, err
	}
	grants, err := store.Grants(ctx, member)
	return subs, grants, err
}

func membersShow(ctx context.Context, c *cli, store *sqlite.Store, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: members show EMAIL", errUsage)
	}
	m, err := memberOf(ctx, store, args[0])
	if err != nil {
		return err
	}
	subs, grants, err := holdings(ctx, store, m.ID)
	if err != nil {
		return err
	}
	customers, err := store.CustomerIDs(ctx, m.ID)
	if err != nil {
		return err
	}
	a := c.cfg.Policy.AccessWith(subs, grants, time.Now())
	w := c.stdout
	fmt.Fprintf(w, "email:     %s\n", m.Email)
	password := "set"
	if !m.HasPassword {
		password = "not chosen yet"
	}
	fmt.Fprintf(w, "member:    %d, since %s, password %s\n", m.ID,
		m.CreatedAt.UTC().Format(time.RFC3339), password)
	plan := "none"
	if a.Granted() {
		plan = strings.Join(a.Plans, ", ")
	}
	fmt.Fprintf(w, "plan:      %s\n", plan)
	fmt.Fprintf(w, "status:    %s\n", statusWord(a))
	access := "no"
	if a.Granted() {
		access = "yes, " + untilText(a.Until)
	}
	fmt.Fprintf(w, "access:    %s\n", access)
	fmt.Fprintf(w, "customers: %s\n", listOrNone(customers))
	writeSubscriptions(w, subs)
	heading(w, "grants:   ", len(grants))
	for _, g := range grants {
		fmt.Fprintf(w, "  %s, %s, granted %s\n", g.PlanID, untilText(g.Until),
			g.Created.UTC().Format(time.RFC3339))
	}
	return nil
}

func writeSubscriptions(w io.Writer, subs []paywall.Subscription) {
	heading(w, "subscriptions:", len(subs))
	for _, s := range subs {
		line := fmt.Sprintf("  %s (customer %s): %s, plan %s", s.ID, s.CustomerID, s.Status,
			cmp.Or(s.PlanID, "unknown"))
		if !s.CancelAt.IsZero() {
			line += ", cancels at " + endText(s.CancelAt)
		} else if !s.PeriodEnd.IsZero() {
			line += ", period ends " + endText(s.PeriodEnd)
		}
		if len(s.Holds) > 0 {
			line += ", held: " + strings.Join(s.Holds, ", ")
		}
		fmt.Fprintln(w, line)
	}
}

func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// heading starts a list of n items, or says there are none.
func heading(w io.Writer, name string, n int) {
	if n == 0 {
		fmt.Fprintln(w, name, "none")
		return
	}
	fmt.Fprintln(w, strings.TrimSpace(name))
}

func membersGrant(ctx context.Context, c *cli, store *sqlite.Store, args []string) error {
	fl := flag.NewFlagSet("members grant", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	untilFlag := fl.String("until", "", "last day of access (YYYY-MM-DD, UTC) or an RFC 3339 time")
	if err := fl.Parse(reorder(args)); err != nil || fl.NArg() != 2 {
		return fmt.Errorf("%w: members grant EMAIL PLAN [--until DATE]", errUsage)
	}
	email, planID := strings.TrimSpace(fl.Arg(0)), fl.Arg(1)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return fmt.Errorf("%w: members grant: %q is not an email address", errUsage, email)
	}
	plan, ok := c.cfg.Catalog.Plan(planID)
	if !ok {
		return fmt.Errorf("%w: members grant: unknown plan %q; the plans are %s", errUsage, planID,
			strings.Join(planIDs(c.cfg.Catalog), ", "))
	}
	untilSet := false
	fl.Visit(func(f *flag.Flag) { untilSet = untilSet || f.Name == "until" })
	now := time.Now()
	until, err := parseUntil(*untilFlag, now)
	if err == nil && untilSet && *untilFlag == "" {
		err = errors.New("is empty; leave --until out for a grant without end")
	}
	if err != nil {
		return fmt.Errorf("%w: --until %q: %v", errUsage, *untilFlag, err)
	}
	g, err := store.Grant(ctx, email, paywall.Grant{PlanID: plan.ID, Until: until})
	if err != nil {
		return err
	}
	w := c.stdout
	if g.Created {
		fmt.Fprintf(w, "created member %s; a welcome mail with a setup link is queued, so they can choose a "+
			"password and sign in\n", g.Member.Email)
	}
	if g.Replaced {
		fmt.Fprintf(w, "granted %s (%s) to %s, %s, replacing their grant of it (%s)\n", plan.ID,
			plan.Name, g.Member.Email, grantEnd(*untilFlag, until), untilText(g.Previous.Until))
		return nil
	}
	fmt.Fprintf(w, "granted %s (%s) to %s, %s\n", plan.ID, plan.Name, g.Member.Email,
		grantEnd(*untilFlag, until))
	return nil
}

// grantEnd says when a new grant ends, in the words --until was given in.
func grantEnd(flag string, until time.Time) string {
	if _, err := time.Parse(time.DateOnly, flag); err == nil {
		return "through the end of " + flag + " UTC (" + untilText(until) + ")"
	}
	return untilText(until)
}

func planIDs(cat paywall.Catalog) []string {
	ids := make([]string, len(cat.Plans))
	for i, p := range cat.Plans {
		ids[i] = p.ID
	}
	return ids
}

// parseUntil reads --until: a day (access through its end, UTC) or an RFC
// 3339 time; "" is no end. It must lie in the future.
func parseUntil(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		day, derr := time.Parse(time.DateOnly, s)
		if derr != nil {
			return time.Time{}, fmt.Errorf("want YYYY-MM-DD or an RFC 3339 time such as " +
				"2026-12-31T18:00:00Z")
		}
		t = day.AddDate(0, 0, 1) // through the end of that day
	}
	if !t.After(now) {
		return time.Time{}, fmt.Errorf("lies in the past; a grant must end in the future")
	}
	if t.UTC().Year() > 9999 {
		// Past year 9999 a time has no RFC 3339 form, in JSON or anywhere.
		return time.Time{}, fmt.Errorf("lies past the year 9999; leave --until out for a grant without end")
	}
	return t, nil
}

// membersRevoke ends the member's grants now, and says what still gives
// access: a subscription ends in Stripe, not here.
func membersRevoke(ctx context.Context, c *cli, store *sqlite.Store, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: members revoke EMAIL", errUsage)
	}
	m, err := memberOf(ctx, store, args[0])
	if err != nil {
		return err
	}
	revoked, err := store.RevokeGrants(ctx, m.ID)
	if err != nil {
		return err
	}
	w := c.stdout
	if len(revoked) == 0 {
		fmt.Fprintf(w, "%s has no grant to revoke\n", m.Email)
	}
	for _, g := range revoked {
		fmt.Fprintf(w, "revoked the grant of %s to %s (it had %s)\n", g.PlanID, m.Email,
			untilText(g.Until))
	}
	subs, err := store.Subscriptions(ctx, m.ID)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, s := range subs {
		a := c.cfg.Policy.Access([]paywall.Subscription{s}, now)
		if !a.Granted() {
			continue
		}
		fmt.Fprintf(w, "still has access: subscription %s (customer %s) is %s, plan %s, %s; "+
			"to end it, cancel it in the Stripe Dashboard or let the member cancel in the "+
			"Customer Portal\n", s.ID, s.CustomerID, s.Status, s.PlanID, untilText(a.Until))
	}
	return nil
}
