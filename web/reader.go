package web

import (
	"context"
	"crypto/sha256"
	"net/http"
	"sync"
	"time"

	"github.com/paywall/paywall"
)

// SessionCookie is the name of the session cookie.
const SessionCookie = "paywall_session"

// reader is who is asking: a signed-in member and what they may read, or
// nobody. Identity comes only from the session cookie, never from a header
// a client could set.
type reader struct {
	Member   paywall.Member
	Access   paywall.Access
	SignedIn bool
	// Subs and Grants are what Access was decided from. They may be the
	// cache's: read them, never change them.
	Subs   []paywall.Subscription
	Grants []paywall.Grant
}

func (s *Server) reader(r *http.Request) (reader, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return reader{}, nil
	}
	now := s.Now()
	key := sha256.Sum256([]byte(c.Value))
	if e, ok := s.cache.get(key, now); ok {
		s.metrics.sessions.WithLabelValues("cache").Inc()
		return s.readerOf(e, now), nil
	}
	s.metrics.sessions.WithLabelValues("database").Inc()
	e, err := s.lookup(r.Context(), key, c.Value, now)
	if err != nil {
		if k := paywall.KindOf(err); k == paywall.Unauthorized || k == paywall.NotFound {
			return reader{}, nil
		}
		return reader{}, err
	}
	return s.readerOf(e, now), nil
}

func (s *Server) readerOf(e cached, now time.Time) reader {
	return reader{Member: e.member, Access: s.Policy.AccessWith(e.subs, e.grants, now),
		SignedIn: true, Subs: e.subs, Grants: e.grants}
}

// lookup reads a session and its member's subscriptions and grants from the
// identity provider and the store, and caches them.
func (s *Server) lookup(ctx context.Context, key [32]byte, token string, now time.Time) (cached, error) {
	gen := s.cache.generation()
	m, expires, err := s.Accounts.Session(ctx, token)
	if err != nil {
		return cached{}, err
	}
	subs, err := s.Store.Subscriptions(ctx, m.ID)
	if err != nil {
		return cached{}, err
	}
	grants, err := s.Store.Grants(ctx, m.ID)
	if err != nil {
		return cached{}, err
	}
	e := cached{member: m, subs: subs, grants: grants, until: now.Add(s.cache.ttl)}
	if !expires.IsZero() && expires.Before(e.until) {
		e.until = expires
	}
	s.cache.put(key, gen, e, now)
	return e, nil
}

// Forget drops what the cache holds for member: their sessions and access
// are read afresh on the next request. The webhook worker calls it when an
// event changed the member's subscriptions.
func (s *Server) Forget(member int64) { s.cache.forgetMember(member) }

// ForgetAll empties the cache, as when changes made elsewhere may have gone
// unheard.
func (s *Server) ForgetAll() { s.cache.forgetAll() }

// DefaultCacheTTL bounds how long a cached session is trusted. Changes made
// in this process (sign-out, a webhook, an email change) reach the cache at
// once, and those made elsewhere (another replica, the command line) when
// the store's listener hears of them; the TTL bounds what it misses.
const DefaultCacheTTL = 30 * time.Second

// maxCached bounds the cache's memory. Past it, expired entries are dropped,
// and if none are, the whole cache is: a cold cache costs one query each.
const maxCached = 50000

// readerCache keeps sessions and their members' subscriptions and grants in
// memory, so that a gated request on a warm cache asks the database nothing. Keys are
// SHA-256 hashes of session tokens, so the cache holds no usable token.
// Access is computed from the cached subscriptions at each request, so time
// alone (a period ending, a grace running out) is never served stale.
type readerCache struct {
	ttl time.Duration

	mu       sync.RWMutex
	gen      uint64
	entries  map[[32]byte]cached
	byMember map[int64]map[[32]byte]struct{}
}

type cached struct {
	member paywall.Member
	subs   []paywall.Subscription
	grants []paywall.Grant
	until  time.Time
}

func newReaderCache(ttl time.Duration) *readerCache {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	return &readerCache{ttl: ttl, entries: map[[32]byte]cached{},
		byMember: map[int64]map[[32]byte]struct{}{}}
}

func (c *readerCache) get(key [32]byte, now time.Time) (cached, bool) {
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return cached{}, false
	}
	return e, true
}

func (c *readerCache) generation() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen
}

// put stores e unless something was forgotten since gen was read: a lookup
// that raced with a sign-out or a plan change must not bring back what the
// invalidation removed.
func (c *readerCache) put(key [32]byte, gen uint64, e cached, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.entries) >= maxCached {
		c.sweep(now)
	}
	c.entries[key] = e
	keys := c.byMember[e.member.ID]
	if keys == nil {
		keys = map[[32]byte]struct{}{}
		c.byMember[e.member.ID] = keys
	}
	keys[key] = struct{}{}
}

func (c *readerCache) sweep(now time.Time) {
	for key, e := range c.entries {
		if !now.Before(e.until) {
			c.drop(key, e.member.ID)
		}
	}
	if len(c.entries) >= maxCached {
		clear(c.entries)
		clear(c.byMember)
	}
}

func (c *readerCache) drop(key [32]byte, member int64) {
	delete(c.entries, key)
	if keys := c.byMember[member]; keys != nil {
		delete(keys, key)
		if len(keys) == 0 {
			delete(c.byMember, member)
		}
	}
}

// forgetToken drops one session.
func (c *readerCache) forgetToken(token string) {
	key := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if e, ok := c.entries[key]; ok {
		c.drop(key, e.member.ID)
	}
}

func (c *readerCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
	clear(c.byMember)
}

// forgetMember drops every session of member.
func (c *readerCache) forgetMember(member int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for key := range c.byMember[member] {
		delete(c.entries, key)
	}
	delete(c.byMember, member)
}

func (s *Server) setSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.BaseURL.Scheme == "https",
		MaxAge: int(s.SessionMax / time.Second),
	})
}

func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.BaseURL.Scheme == "https", MaxAge: -1,
	})
}

// planName returns the display name of plan id.
func (s *Server) planName(id string) string {
	if p, ok := s.Catalog.Plan(id); ok {
		return p.Name
	}
	return id
}

// absolute returns path on the public origin.
func (s *Server) absolute(path string) string {
	u := *s.BaseURL
	u.Path = path
	return u.String()
}
