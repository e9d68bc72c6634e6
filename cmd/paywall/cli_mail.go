package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/paywall/paywall"
	"github.com/paywall/paywall/sqlite"
)

// mailCmd is `paywall mail list [--failed]` and `paywall mail retry ID`.
func mailCmd(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: mail needs list or retry", errUsage)
	}
	store, err := openMigrated(ctx, c.cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	switch args[0] {
	case "list":
		return mailList(ctx, c, store, args[1:])
	case "retry":
		return mailRetry(ctx, c, store, args[1:])
	default:
		return fmt.Errorf("%w: unknown mail command %q", errUsage, args[0])
	}
}

func mailList(ctx context.Context, c *cli, store *sqlite.Store, args []string) error {
	fs := flag.NewFlagSet("mail list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	failed := fs.Bool("failed", false, "only mail set aside as failed")
	limit := fs.Int("limit", 100, "at most this many, newest first")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *limit < 1 {
		return fmt.Errorf("%w: mail list [--failed] [--limit N], N at least 1", errUsage)
	}
	mails, err := store.Mails(ctx, *failed, *limit)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tTO\tSTATE\tATTEMPTS\tCREATED\tLAST ERROR")
	for _, m := range mails {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.Kind, m.To, mailState(m),
			m.Attempts, m.CreatedAt.UTC().Format(time.RFC3339), m.LastError)
	}
	return tw.Flush()
}

// mailState is a mail's state in one word, with when it changed.
func mailState(m paywall.Outgoing) string {
	switch {
	case !m.SentAt.IsZero():
		return "sent " + m.SentAt.UTC().Format(time.RFC3339)
	case !m.FailedAt.IsZero():
		return "failed " + m.FailedAt.UTC().Format(time.RFC3339)
	case m.Attempts > 0:
		return "retry " + m.NextAttempt.UTC().Format(time.RFC3339)
	default:
		return "queued"
	}
}

func mailRetry(ctx context.Context, c *cli, store *sqlite.Store, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: mail retry ID", errUsage)
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("%w: mail retry: %q is not a mail ID", errUsage, args[0])
	}
	if err := store.RetryMail(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "mail %d is due now; a running paywall sends it within seconds\n", id)
	return nil
}
