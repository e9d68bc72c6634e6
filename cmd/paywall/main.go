// Command paywall sells subscriptions with Stripe and guards the posts of a
// static site so that each member reads exactly what their plan covers.
//
//	paywall serve     serve the site with memberships (the default)
//	paywall migrate   apply database migrations and exit
//	paywall version   print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
	"github.com/paywall/paywall/sqlite"
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = ""

const usage = `usage: paywall [command]

commands:
  serve     serve the site with memberships (default)
  migrate   apply database migrations and exit
  version   print the version
  members list              every member: plan, status, access until
  members show EMAIL        plan, status, access, grants and Stripe customers of a member
  members grant EMAIL PLAN [--until DATE]
                            complimentary access (DATE: YYYY-MM-DD, through its end UTC,
                            or RFC 3339); creates the member and mails their setup link
  members revoke EMAIL      end the member's grants now
  mail list [--failed]   list the outbox, or only mail that failed for good
  mail retry ID          send a failed or deferred mail again now
  guard audit [--site DIR]             report gated text the site repeats elsewhere
  guard explain PATH [--email EMAIL]   how the guard decides PATH (for a member)
  stripe sync-plans [--dry-run]     make Stripe's products, prices and portal match paywall.toml
  stripe setup-webhook --url URL    create the webhook endpoint and print its signing secret
  stripe reconcile [--dry-run]      compare subscriptions with Stripe's and repair them
  events    the webhook inbox: list [--failed] | show ID | replay ID | retry-failed |
            send TYPE [--to URL] [--email E --plan P]
  health [--url URL]                exit 0 when the running paywall's /healthz answers 200
`

// errUsage marks a command line paywall does not understand: exit status 2.
var errUsage = errors.New("bad usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, errUsage):
		// One line, as every error; `paywall help` lists the commands.
		fmt.Fprintf(os.Stderr, "paywall: %v (paywall help lists the commands)\n", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "paywall:", err)
		os.Exit(1)
	}
}

// cli is what every command gets: the validated config, a logger and the
// output streams.
type cli struct {
	cfg    config.Config
	log    *slog.Logger
	stdout io.Writer
	stderr io.Writer
	// stripeHTTP is the client stripe-go uses; nil for the default, tests record with it.
	stripeHTTP *http.Client
}

// command runs one subcommand with the arguments after its name.
type command func(ctx context.Context, c *cli, args []string) error

// commands is the command table; each entry's name is its first argument.
var commands = map[string]command{
	"serve":   serve,
	"migrate": migrate,
	"mail":    mailCmd,
	"members": membersCmd,
	"guard":   guardCmd,
	"stripe":  stripeCommand,
	"events":  events,
	"health":  health,
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	name := "serve"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	switch name {
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "paywall", versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, ok := commands[name]
	if !ok {
		return fmt.Errorf("%w: unknown command %q", errUsage, name)
	}
	cfg, err := config.Load(site.Plans)
	if err != nil {
		return err
	}
	return cmd(ctx, &cli{cfg: cfg, log: newLogger(cfg.LogFormat, stderr), stdout: stdout,
		stderr: stderr}, args)
}

func serve(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: serve takes no arguments", errUsage)
	}
	app, err := NewApp(ctx, c.cfg, c.log, options{})
	if err != nil {
		return err
	}
	defer app.Close()
	return app.Run(ctx)
}

func migrate(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: migrate takes no arguments", errUsage)
	}
	store, err := openStore(c.cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "applied %d migrations to %s\n", n, sqlite.Describe(c.cfg.DatabasePath))
	return nil
}

// newLogger returns text for a terminal and JSON otherwise, unless the
// format is set.
func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
