// Package account is the local identity provider: passwords, single-use
// links and server-side sessions, kept in paywall's own database.
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/paywall/paywall"
)

// Store is what the local provider keeps in the database. Tokens never reach
// it: only their SHA-256 hashes do.
type Store interface {
	Member(ctx context.Context, id int64) (paywall.Member, error)
	PasswordHash(ctx context.Context, email string) (int64, []byte, error)
	CreateLink(ctx context.Context, hash []byte, member int64, purpose string, ttl time.Duration) error
	LinkMember(ctx context.Context, hash []byte, purpose string) (int64, error)
	SetPasswordWithLink(ctx context.Context, link, pwHash, session []byte, ttl time.Duration) (int64, error)
	CreateSession(ctx context.Context, hash []byte, member int64, ttl time.Duration) error
	SessionMember(ctx context.Context, hash []byte) (int64, error)
	DeleteSession(ctx context.Context, hash []byte) error
}

// MinPasswordLength is the shortest password accepted. bcrypt reads at most
// 72 bytes, so longer passwords are refused rather than silently cut.
const (
	MinPasswordLength = 10
	maxPasswordBytes  = 72
)

// Local implements accounts on paywall's own database.
type Local struct {
	Store      Store
	BaseURL    *url.URL
	SetupTTL   time.Duration
	SessionTTL time.Duration
	// Cost is the bcrypt cost; tests lower it.
	Cost int

	dummyOnce sync.Once
	dummyHash []byte
}

// NewLocal returns a local provider with the default lifetimes.
func NewLocal(s Store, baseURL *url.URL) *Local {
	return &Local{Store: s, BaseURL: baseURL, SetupTTL: 48 * time.Hour,
		SessionTTL: 30 * 24 * time.Hour, Cost: 12}
}

// ErrBadCredentials is returned for a wrong email or password, alike, so
// that the answer does not say which accounts exist.
var ErrBadCredentials = paywall.Errorf(paywall.Unauthorized, "That email and password do not match.")

// NewLink makes a single-use link for member and returns its URL.
func (l *Local) NewLink(ctx context.Context, member int64, purpose string) (string, time.Duration, error) {
	token, hash := newToken()
	if err := l.Store.CreateLink(ctx, hash, member, purpose, l.SetupTTL); err != nil {
		return "", 0, err
	}
	u := *l.BaseURL
	u.Path = "/account/setup"
	u.RawQuery = url.Values{"token": {token}}.Encode()
	return u.String(), l.SetupTTL, nil
}

// SetupMember returns the member a setup link is for, without using it.
func (l *Local) SetupMember(ctx context.Context, token string) (paywall.Member, error) {
	id, err := l.Store.LinkMember(ctx, hashToken(token), "setup")
	if err != nil {
		return paywall.Member{}, err
	}
	return l.Store.Member(ctx, id)
}

// SetPassword uses a setup link to set the member's first password and
// returns a new session token.
func (l *Local) SetPassword(ctx context.Context, token, password string) (string, error) {
	if err := checkPassword(password); err != nil {
		return "", err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), l.Cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	session, sessionHash := newToken()
	_, err = l.Store.SetPasswordWithLink(ctx, hashToken(token), hash, sessionHash, l.SessionTTL)
	if err != nil {
		return "", err
	}
	return session, nil
}

func checkPassword(pw string) error {
	if len([]rune(pw)) < MinPasswordLength {
		return paywall.Errorf(paywall.Invalid, "Choose a password of at least %d characters.",
			MinPasswordLength)
	}
	if len(pw) > maxPasswordBytes {
		return paywall.Errorf(paywall.Invalid, "Choose a password of at most %d bytes.",
			maxPasswordBytes)
	}
	return nil
}

// SignIn checks an email and password and returns a new session token. An
// unknown email costs the same bcrypt comparison as a known one.
func (l *Local) SignIn(ctx context.Context, email, password string) (string, error) {
	id, hash, err := l.Store.PasswordHash(ctx, email)
	if err != nil && paywall.KindOf(err) != paywall.NotFound {
		return "", err
	}
	if hash == nil {
		hash = l.dummy()
		id = 0
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || id == 0 {
		return "", ErrBadCredentials
	}
	session, sessionHash := newToken()
	if err := l.Store.CreateSession(ctx, sessionHash, id, l.SessionTTL); err != nil {
		return "", err
	}
	return session, nil
}

func (l *Local) dummy() []byte {
	l.dummyOnce.Do(func() {
		l.dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password of anyone"), l.Cost)
	})
	return l.dummyHash
}

// Session returns the member signed in with token.
func (l *Local) Session(ctx context.Context, token string) (paywall.Member, error) {
	if token == "" {
		return paywall.Member{}, paywall.Errorf(paywall.Unauthorized, "not signed in")
	}
	id, err := l.Store.SessionMember(ctx, hashToken(token))
	if err != nil {
		return paywall.Member{}, err
	}
	return l.Store.Member(ctx, id)
}

// SignOut ends the session of token.
func (l *Local) SignOut(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return l.Store.DeleteSession(ctx, hashToken(token))
}

// newToken returns 32 random bytes, URL-safe, and the hash that is stored.
func newToken() (string, []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(errors.Join(errors.New("read random bytes"), err))
	}
	t := base64.RawURLEncoding.EncodeToString(b)
	return t, hashToken(t)
}

func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}
