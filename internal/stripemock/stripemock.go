// Package stripemock runs stripe-mock, Stripe's own API server for tests,
// at the version pinned as a tool in go.mod. Tests of several packages
// start it; this is the one place that knows how.
package stripemock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrUnavailable wraps a failure to build stripe-mock: the machine lacks
// what it takes (a module the proxy cannot serve, say), which tests treat
// as a missing component rather than a failure of the code under test.
var ErrUnavailable = errors.New("stripe-mock unavailable")

// startTimeout bounds how long stripe-mock may take to load its OpenAPI
// spec and listen. It starts in under a second on an idle machine; the
// margin is for two cores shared with race-enabled test binaries.
const startTimeout = 2 * time.Minute

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// build compiles stripe-mock once per test binary.
func build() (string, error) {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "stripe-mock")
		if err != nil {
			buildErr = fmt.Errorf("%w: %v", ErrUnavailable, err)
			return
		}
		bin := filepath.Join(dir, "stripe-mock")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/stripe/stripe-mock").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%w: go build: %v: %s", ErrUnavailable, err, out)
			return
		}
		binary = bin
	})
	return binary, buildErr
}

// Server is one running stripe-mock.
type Server struct {
	// URL is its plain-HTTP origin, such as http://127.0.0.1:41234.
	URL string

	cmd  *exec.Cmd
	once sync.Once
}

// Start builds (once) and starts stripe-mock on loopback ports the kernel
// chooses, and returns when it listens. Letting stripe-mock bind port 0
// and reading the address it prints leaves no window in which another
// process could take a port picked in advance.
func Start() (*Server, error) {
	bin, err := build()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start: %v", ErrUnavailable, err)
	}
	s := &Server{cmd: cmd}

	addr := make(chan string, 1)
	go func() {
		const prefix = "Listening for HTTP at address: "
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), prefix); ok && !found {
				found = true
				addr <- strings.TrimSpace(a)
			}
		}
		close(addr)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	select {
	case a, ok := <-addr:
		if !ok {
			err := cmd.Wait()
			return nil, fmt.Errorf("stripe-mock exited before listening (%v): %s", err, stderr.String())
		}
		s.URL = "http://" + a
		return s, nil
	case <-ctx.Done():
		s.Stop()
		return nil, fmt.Errorf("stripe-mock printed no HTTP address within %s: %s", startTimeout, stderr.String())
	}
}

// Stop ends stripe-mock; later calls do nothing.
func (s *Server) Stop() {
	s.once.Do(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	})
}
