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
`

// errUsage marks a command line paywall does not understand: exit status 2.
var errUsage = errors.New("bad usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "paywall:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if len(args) > 0 {
		return errUsage
	}
	switch cmd {
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "paywall", versionString())
		return nil
	case "serve", "migrate":
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return errUsage
	}
	cfg, err := config.Load(site.Plans)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogFormat, stderr)
	if cmd == "migrate" {
		return migrate(ctx, cfg, stdout)
	}
	app, err := NewApp(ctx, cfg, log, options{})
	if err != nil {
		return err
	}
	defer app.Close()
	return app.Run(ctx)
}

func migrate(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	store, err := sqlite.Open(cfg.DatabasePath)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migrations to sqlite:%s\n", n, cfg.DatabasePath)
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
