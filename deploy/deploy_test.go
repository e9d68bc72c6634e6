// Package deploy holds what operators copy to run paywall: the Caddyfiles,
// compose.yaml and .env.example. Its tests load them as the tools that run
// them do; the Caddyfiles run in front of paywall in cmd/paywall's tests.
package deploy

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/paywall/paywall/config"
	"github.com/paywall/paywall/examples/site"
)

// envExample reads .env.example: every variable it lists, set or commented
// out, with its value.
func envExample(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	line := regexp.MustCompile(`^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$`)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if strings.ContainsAny(m[2], `"'`) || strings.TrimSpace(m[2]) != m[2] {
			t.Errorf(".env.example: %s has a quoted or padded value %q", m[1], m[2])
		}
		vars[m[1]] = m[2]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vars
}

// TestEnvExampleListsEverything: every variable paywall reads, and every
// one compose.yaml interpolates, is in .env.example.
func TestEnvExampleListsEverything(t *testing.T) {
	listed := envExample(t)
	src, err := os.ReadFile("../config/config.go")
	if err != nil {
		t.Fatal(err)
	}
	read := regexp.MustCompile(`"((?:PAYWALL|STRIPE|SMTP|SENDGRID|FIREBASE)_[A-Z0-9_]*)"`).FindAllSubmatch(src, -1)
	compose, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	interpolated := regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)`).FindAllSubmatch(compose, -1)
	if len(read) < 20 || len(interpolated) < 5 {
		t.Fatalf("found %d variables in config.go and %d in compose.yaml; the patterns are stale",
			len(read), len(interpolated))
	}
	for _, m := range append(read, interpolated...) {
		if _, ok := listed[string(m[1])]; !ok {
			t.Errorf(".env.example does not list %s", m[1])
		}
	}
}

// loadCompose loads compose.yaml as docker compose and podman-compose do,
// interpolating .env.example's values, every profile enabled.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"compose.yaml"},
		cli.WithWorkingDirectory("."), cli.WithEnvFiles(".env.example"), cli.WithDotEnv,
		cli.WithProfiles([]string{"*"}),
		// env_file names the operator's .env, which the repository does not have.
		cli.WithoutEnvironmentResolution)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load compose.yaml: %v", err)
	}
	return p
}

func env(s types.ServiceConfig, k string) string {
	if v := s.Environment[k]; v != nil {
		return *v
	}
	return ""
}

// TestCompose checks compose.yaml's wiring: what each service runs, where
// its files are, who is published, and that the parts point at each other.
func TestCompose(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"paywall", "caddy", "stripe"} {
		if _, ok := p.Services[name]; !ok {
			t.Fatalf("no service %s in %v", name, p.ServiceNames())
		}
	}
	pw, caddy, stripe := p.Services["paywall"], p.Services["caddy"], p.Services["stripe"]
	wd, _ := os.Getwd()
	root := filepath.Dir(wd)

	// paywall: the image built from the Containerfile, its data in a
	// volume, its health asked by itself, and published to nobody.
	if pw.Build == nil || pw.Build.Context != root || pw.Build.Dockerfile != "Containerfile" {
		t.Errorf("paywall builds %+v, want the repository's Containerfile", pw.Build)
	}
	if _, err := os.Stat(filepath.Join(root, "Containerfile")); err != nil {
		t.Error(err)
	}
	if len(pw.Ports) != 0 {
		t.Errorf("paywall publishes %v; only Caddy should be reachable", pw.Ports)
	}
	if pw.HealthCheck == nil || !slices.Equal(pw.HealthCheck.Test, []string{"CMD", "/paywall", "health"}) {
		t.Errorf("paywall health check %+v, want /paywall health", pw.HealthCheck)
	}
	if len(pw.EnvFiles) != 1 || filepath.Base(pw.EnvFiles[0].Path) != ".env" {
		t.Errorf("paywall env_file %+v, want .env", pw.EnvFiles)
	}
	mounts := map[string]types.ServiceVolumeConfig{}
	for _, v := range pw.Volumes {
		mounts[v.Target] = v
	}
	if v := mounts["/data"]; v.Type != types.VolumeTypeVolume || p.Volumes[v.Source].Name == "" {
		t.Errorf("paywall /data is %+v, want a named volume", v)
	}
	if env(pw, "PAYWALL_DATABASE_URL") != "sqlite:/data/paywall.db" {
		t.Errorf("PAYWALL_DATABASE_URL %q is not in the /data volume", env(pw, "PAYWALL_DATABASE_URL"))
	}
	for _, target := range []string{env(pw, "PAYWALL_SITE_DIR"), env(pw, "PAYWALL_CONFIG")} {
		v, ok := mounts[target]
		if !ok || !v.ReadOnly {
			t.Errorf("paywall's %s is not mounted read-only: %+v", target, v)
			continue
		}
		if _, err := os.Stat(v.Source); err != nil {
			t.Errorf("paywall's %s comes from %s: %v", target, v.Source, err)
		}
	}
	_, port, err := net.SplitHostPort(env(pw, "PAYWALL_ADDR"))
	if err != nil {
		t.Fatalf("PAYWALL_ADDR %q: %v", env(pw, "PAYWALL_ADDR"), err)
	}

	// Caddy: a shipped Caddyfile, the same site files as paywall, paywall's
	// address, published, started once paywall is healthy.
	if got, want := env(caddy, "PAYWALL_UPSTREAM"), "paywall:"+port; got != want {
		t.Errorf("Caddy's PAYWALL_UPSTREAM %q, want %q", got, want)
	}
	var caddyfile, site string
	for _, v := range caddy.Volumes {
		switch v.Target {
		case "/etc/caddy/Caddyfile":
			caddyfile = v.Source
		case env(caddy, "PAYWALL_SITE_ROOT"):
			site = v.Source
		}
	}
	if caddyfile != filepath.Join(wd, "Caddyfile") {
		t.Errorf("Caddy runs %q, want deploy/Caddyfile", caddyfile)
	}
	if site == "" || site != mounts[env(pw, "PAYWALL_SITE_DIR")].Source {
		t.Errorf("Caddy serves %q, paywall guards %q: they must be the same files", site,
			mounts[env(pw, "PAYWALL_SITE_DIR")].Source)
	}
	if env(caddy, "CADDY_ADDRESS") != ":5000" {
		t.Errorf("CADDY_ADDRESS %q, want :5000 from .env.example", env(caddy, "CADDY_ADDRESS"))
	}
	published := map[uint32]bool{}
	for _, pc := range caddy.Ports {
		published[pc.Target] = true
	}
	for _, want := range []uint32{5000, 80, 443} {
		if !published[want] {
			t.Errorf("Caddy does not publish %d: %+v", want, caddy.Ports)
		}
	}
	if d, ok := caddy.DependsOn["paywall"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("Caddy depends on paywall %+v, want service_healthy", caddy.DependsOn)
	}
	if caddy.HealthCheck == nil || len(caddy.HealthCheck.Test) < 2 {
		t.Errorf("Caddy has no health check")
	}

	// The Stripe CLI: optional, and forwarding to Caddy's webhook route.
	if !slices.Equal(stripe.Profiles, []string{"stripe"}) {
		t.Errorf("the Stripe listener's profiles %v, want it optional under stripe", stripe.Profiles)
	}
	cmd := strings.Join(stripe.Command, " ")
	if !strings.Contains(cmd, "listen --forward-to http://caddy:5000/webhooks/stripe") {
		t.Errorf("the Stripe listener runs %q, want it forwarding to caddy:5000/webhooks/stripe", cmd)
	}
	if env(stripe, "STRIPE_API_KEY") != "" {
		t.Errorf("the Stripe listener has a key %q from .env.example", env(stripe, "STRIPE_API_KEY"))
	}

	// Every service on the network whose subnet paywall trusts.
	var subnet string
	for _, n := range p.Networks {
		for _, c := range n.Ipam.Config {
			subnet = c.Subnet
		}
	}
	if subnet == "" || env(pw, "PAYWALL_TRUSTED_PROXIES") != subnet {
		t.Errorf("paywall trusts %q, the network is %q", env(pw, "PAYWALL_TRUSTED_PROXIES"), subnet)
	}
	for _, s := range []types.ServiceConfig{pw, caddy, stripe} {
		if _, ok := s.Networks["paywall"]; !ok || len(s.Networks) != 1 {
			t.Errorf("%s is on %v, want the paywall network", s.Name, s.Networks)
		}
	}
}

// TestComposeConfig: paywall accepts what compose.yaml and .env.example
// give it as they are (the container's paths read from their mounts), and
// refuses the same in production until it is filled in.
func TestComposeConfig(t *testing.T) {
	p := loadCompose(t)
	pw := p.Services["paywall"]
	vars := map[string]string{}
	f, err := os.ReadFile(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(f), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			vars[k] = v
		}
	}
	for k := range pw.Environment {
		vars[k] = env(pw, k)
	}
	for _, v := range pw.Volumes {
		for _, k := range []string{"PAYWALL_SITE_DIR", "PAYWALL_CONFIG"} {
			if vars[k] == v.Target {
				vars[k] = v.Source
			}
		}
	}
	vars["PAYWALL_DATABASE_URL"] = "sqlite:" + filepath.Join(t.TempDir(), "paywall.db")
	c, err := config.Parse(vars, site.Plans)
	if err != nil {
		t.Fatalf("paywall refuses compose.yaml with .env.example: %v", err)
	}
	if len(c.TrustedProxies) != 1 || c.Addr != ":5000" {
		t.Errorf("trusted proxies %v, address %q", c.TrustedProxies, c.Addr)
	}
	vars["PAYWALL_ENV"] = "production"
	if _, err := config.Parse(vars, site.Plans); err == nil || !strings.HasPrefix(err.Error(), "STRIPE_SECRET_KEY: ") {
		t.Errorf("production with .env.example as shipped: %v, want STRIPE_SECRET_KEY refused", err)
	}
}

// TestContainerfile checks what the image promises, since no container
// engine runs the build here: two stages, a static binary stamped with
// its version, a non-root user, /data as a volume and a health check.
func TestContainerfile(t *testing.T) {
	b, err := os.ReadFile("../Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var froms, users []string
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "FROM":
			froms = append(froms, f[1])
		case "USER":
			users = append(users, f[1])
		}
	}
	if len(froms) < 2 {
		t.Errorf("FROM %v: want a build stage and a runtime stage", froms)
	}
	if len(users) == 0 || strings.HasPrefix(users[len(users)-1], "0") || strings.HasPrefix(users[len(users)-1], "root") {
		t.Errorf("USER %v: want a non-root user last", users)
	}
	for _, want := range []string{"CGO_ENABLED=0 go build", `-X main.version=${VERSION}`, "ARG VERSION",
		"VOLUME /data", `HEALTHCHECK`, `CMD ["/paywall", "health"]`, "./cmd/paywall"} {
		if !strings.Contains(text, want) {
			t.Errorf("Containerfile lacks %q", want)
		}
	}
}
