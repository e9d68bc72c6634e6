package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// TestHealth: `paywall health` is the container's health check: it finds
// the running paywall from PAYWALL_ADDR as serve reads it, and fails when
// nothing answers.
func TestHealth(t *testing.T) {
	app := startApp(t, nil)
	_, port, _ := net.SplitHostPort(app.addr)
	t.Setenv("PAYWALL_DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "unused.db"))
	for _, addr := range []string{":" + port, "0.0.0.0:" + port, "127.0.0.1:" + port} {
		t.Setenv("PAYWALL_ADDR", addr)
		var out bytes.Buffer
		if err := run(context.Background(), []string{"health"}, &out, &out); err != nil || out.String() != "ok\n" {
			t.Errorf("PAYWALL_ADDR=%s: %v, output %q", addr, err, out.String())
		}
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"health", "--url", "http://" + app.addr + "/readyz/nothing"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("health on a 404: %v", err)
	}
	t.Setenv("PAYWALL_ADDR", "127.0.0.1:"+freePort(t))
	if err := run(context.Background(), []string{"health"}, &out, &out); err == nil {
		t.Error("health with nothing listening: no error")
	}
	if err := run(context.Background(), []string{"health", "extra"}, &out, &out); !errors.Is(err, errUsage) {
		t.Errorf("health extra: %v, want bad usage", err)
	}
}
