package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/paywall/paywall"
)

// Limit allows N requests per period Per, in bursts of up to N.
type Limit struct {
	N   int
	Per time.Duration
}

// Limits are the rates of the routes that guess at or mail to accounts, or
// start payments. Each route is limited per client address and, where the
// request names one, per email, so that neither one address nor many
// addresses can hammer one account.
type Limits struct {
	SignInIP, SignInEmail     Limit
	LinkIP, LinkEmail         Limit
	SetupIP                   Limit
	CheckoutIP, CheckoutEmail Limit
}

// DefaultLimits are generous for people and tight for scripts.
var DefaultLimits = Limits{
	SignInIP: Limit{20, time.Minute}, SignInEmail: Limit{10, 15 * time.Minute},
	LinkIP: Limit{10, time.Minute}, LinkEmail: Limit{5, 15 * time.Minute},
	SetupIP:    Limit{20, time.Minute},
	CheckoutIP: Limit{20, time.Minute}, CheckoutEmail: Limit{10, 15 * time.Minute},
}

// limitKind names a group of routes that share limiters.
type limitKind int

const (
	signInLimit limitKind = iota
	linkLimit
	setupLimit
	checkoutLimit
)

type limiters map[limitKind][2]*keyedLimiter // per address, per email (nil: none)

func newLimiters(l Limits) limiters {
	if l == (Limits{}) {
		l = DefaultLimits
	}
	return limiters{
		signInLimit: {namedLimiter("signin_ip", l.SignInIP),
			namedLimiter("signin_email", l.SignInEmail)},
		linkLimit: {namedLimiter("link_ip", l.LinkIP),
			namedLimiter("link_email", l.LinkEmail)},
		setupLimit: {namedLimiter("setup_ip", l.SetupIP), nil},
		checkoutLimit: {namedLimiter("checkout_ip", l.CheckoutIP),
			namedLimiter("checkout_email", l.CheckoutEmail)},
	}
}

// Buckets keeps token buckets where every replica takes from the same one
// (sqlite.Store.TakeToken), so N replicas do not allow N times the budget.
type Buckets interface {
	TakeToken(ctx context.Context, key string, n int, per time.Duration) (bool, time.Duration, error)
}

// keyedLimiter is one token bucket (golang.org/x/time/rate) per key.
type keyedLimiter struct {
	name  string
	limit Limit
	mu    sync.Mutex
	keys  map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxKeys bounds a limiter's memory; past it, buckets that have refilled
// are dropped, since a full bucket is what a new key gets anyway.
const maxKeys = 10000

func newKeyedLimiter(l Limit) *keyedLimiter {
	return &keyedLimiter{limit: l, keys: map[string]*bucket{}}
}

// namedLimiter is a keyedLimiter whose shared buckets are named name.
func namedLimiter(name string, l Limit) *keyedLimiter {
	k := newKeyedLimiter(l)
	k.name = name
	return k
}

// allow takes one token for key at now, or says how long until one is free.
func (k *keyedLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.keys[key]
	if !ok {
		if len(k.keys) >= maxKeys {
			k.sweep(now)
		}
		every := rate.Every(k.limit.Per / time.Duration(max(k.limit.N, 1)))
		b = &bucket{lim: rate.NewLimiter(every, k.limit.N)}
		k.keys[key] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	r := b.lim.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return false, wait
}

func (k *keyedLimiter) sweep(now time.Time) {
	for key, b := range k.keys {
		if now.Sub(b.seen) > k.limit.Per {
			delete(k.keys, key)
		}
	}
}

// limited refuses a request over its route's limits with 429 and
// Retry-After, before h does any work.
func (s *Server) limited(kind limitKind, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		now := s.Now()
		pair := s.limiters[kind]
		ok, wait := s.allow(r.Context(), pair[0], s.clientIP(r), now)
		if ok && pair[1] != nil {
			email, err := requestEmail(r)
			if err != nil {
				return paywall.Errorf(paywall.Invalid, "The form could not be read.")
			}
			if email != "" {
				ok, wait = s.allow(r.Context(), pair[1], email, now)
			}
		}
		if !ok {
			s.tooMany(w, r, wait)
			return nil
		}
		return h(w, r)
	}
}

// allow takes a token for key from the shared buckets when there are any,
// else (or when they fail) from this process's own.
func (s *Server) allow(ctx context.Context, k *keyedLimiter, key string, now time.Time) (bool, time.Duration) {
	if s.Buckets != nil && k.limit.N > 0 && k.limit.Per > 0 {
		// Hashed, so that the database holds no address or email.
		sum := sha256.Sum256([]byte(key))
		ok, wait, err := s.Buckets.TakeToken(ctx, k.name+":"+hex.EncodeToString(sum[:16]),
			k.limit.N, k.limit.Per)
		if err == nil {
			return ok, wait
		}
		s.Log.Warn("shared rate limit unavailable; counting in this process", "error", err)
	}
	return k.allow(key, now)
}

// requestEmail returns the email of a form or JSON body, normalised as
// accounts compare it. A form is parsed here, leaving r.PostForm filled for
// the handler; a JSON body is read and put back for it. An unreadable form
// is an error; a JSON body that does not decode is the handler's to refuse.
func requestEmail(r *http.Request) (string, error) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 64<<10))
		if err != nil {
			return "", err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		var v struct {
			Email string `json:"email"`
		}
		json.Unmarshal(b, &v)
		return strings.ToLower(strings.TrimSpace(v.Email)), nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return "", err
	}
	return strings.ToLower(strings.TrimSpace(r.PostForm.Get("email"))), nil
}

func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	s.metrics.limited.Inc()
	msg := fmt.Sprintf("Too many attempts. Try again in %s.", inWords(time.Duration(max(secs, 1))*time.Second))
	if wantsJSON(r) {
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": msg,
			"request_id": requestIDOf(r.Context())})
		return
	}
	s.render(w, r, http.StatusTooManyRequests, "message", page{Title: "Slow down", Message: msg})
}

func inWords(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Seconds()))
	}
	return fmt.Sprintf("%d minutes", int(math.Ceil(d.Minutes())))
}

// clientIP is the address limits are counted for: the peer, or, when the
// peer is a trusted proxy, the nearest address in X-Forwarded-For that is
// not one. A client cannot pick its own address by sending the header.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(a) {
			return a.String()
		}
	}
	return host
}

func (s *Server) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
