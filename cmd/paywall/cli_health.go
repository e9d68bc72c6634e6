package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// health asks the running paywall's /healthz, as a container's
// HEALTHCHECK does: the static image has no curl or wget, so paywall asks
// itself. It reads the address from PAYWALL_ADDR, like serve.
func health(ctx context.Context, c *cli, args []string) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	target := fs.String("url", "", "the URL to ask (default: /healthz on PAYWALL_ADDR)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return fmt.Errorf("%w: health [--url URL]", errUsage)
	}
	if *target == "" {
		*target = "http://" + localAddr(c.cfg.Addr) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %s", *target, resp.Status)
	}
	fmt.Fprintln(c.stdout, "ok")
	return nil
}

// localAddr is where a process on the same host reaches a listen address:
// an unspecified host (":5000", "0.0.0.0:5000", "[::]:5000") means loopback.
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
