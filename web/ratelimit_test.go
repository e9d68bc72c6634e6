package web

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestClientIP(t *testing.T) {
	s := &Server{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("127.0.0.1/32")}}
	for _, tc := range []struct {
		name, peer, xff, want string
	}{
		{"direct client", "203.0.113.7:5000", "", "203.0.113.7"},
		{"direct client spoofing the header", "203.0.113.7:5000", "198.51.100.1", "203.0.113.7"},
		{"through one trusted proxy", "127.0.0.1:5000", "198.51.100.1", "198.51.100.1"},
		{"spoof through the proxy", "127.0.0.1:5000", "1.1.1.1, 198.51.100.1", "198.51.100.1"},
		{"two trusted proxies", "127.0.0.1:5000", "198.51.100.1, 10.1.2.3", "198.51.100.1"},
		{"proxy without the header", "127.0.0.1:5000", "", "127.0.0.1"},
		{"garbage in the header", "127.0.0.1:5000", "not-an-ip", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/login", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := s.clientIP(r); got != tc.want {
				t.Errorf("clientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKeyedLimiter(t *testing.T) {
	l := newKeyedLimiter(Limit{N: 3, Per: time.Minute})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if ok, _ := l.allow("a", now); !ok {
			t.Fatalf("request %d refused", i+1)
		}
	}
	ok, wait := l.allow("a", now)
	if ok || wait != 20*time.Second {
		t.Fatalf("fourth request: allowed %v, wait %s; want refused, 20s", ok, wait)
	}
	if ok, _ := l.allow("b", now); !ok {
		t.Error("another key shares the bucket")
	}
	if ok, _ := l.allow("a", now.Add(20*time.Second)); !ok {
		t.Error("no token after the wait it named")
	}
}
