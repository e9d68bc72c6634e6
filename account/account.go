// Package account is the local identity provider: passwords, single-use
// links and server-side sessions, kept in paywall's own database.
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/paywall/paywall"
)

// Store is what the local provider keeps in the database. Tokens never reach
// it: only their SHA-256 hashes do.
type Store interface {
	Member(ctx context.Context, id int64) (paywall.Member, error)
	MemberByEmail(ctx context.Context, email string) (paywall.Member, error)
	PasswordHash(ctx context.Context, email string) (int64, []byte, error)
	UpdatePasswordHash(ctx context.Context, member int64, hash []byte) error
	CreateLink(ctx context.Context, hash []byte, member int64, purpose, email string, ttl time.Duration) error
	LinkMember(ctx context.Context, hash []byte, purpose string) (int64, error)
	SetPasswordWithLink(ctx context.Context, link, pwHash, session []byte, ttl time.Duration) (int64, error)
	SignInWithLink(ctx context.Context, link, session []byte, ttl time.Duration) (int64, error)
	ChangeEmailWithLink(ctx context.Context, link []byte) (int64, error)
	RequestLinkMail(ctx context.Context, email, request string) error
	RequestEmailChange(ctx context.Context, member int64, email, request string) error
	CreateSession(ctx context.Context, hash []byte, member int64, ttl time.Duration) error
	SessionMember(ctx context.Context, hash []byte, idle time.Duration) (int64, time.Time, error)
	DeleteSession(ctx context.Context, hash []byte) error
	DeleteMemberSessions(ctx context.Context, member int64) error
}

// MinPasswordLength is the shortest password accepted. bcrypt reads at most
// 72 bytes, so longer passwords are refused rather than silently cut.
const (
	MinPasswordLength = 10
	maxPasswordBytes  = 72
)

// Link purposes, each with its own lifetime and page.
const (
	Setup        = "setup"
	SignInByLink = "signin"
	EmailChange  = "email_change"
)

// Lifetimes are how long links and sessions last.
type Lifetimes struct {
	SetupLink   time.Duration // a setup link
	SignInLink  time.Duration // a sign-in link, and an email-change link
	SessionIdle time.Duration // a session not used for this long ends
	SessionMax  time.Duration // a session ends this long after sign-in, used or not
}

// DefaultLifetimes are the lifetimes used unless configured otherwise.
var DefaultLifetimes = Lifetimes{
	SetupLink: 48 * time.Hour, SignInLink: 15 * time.Minute,
	SessionIdle: 14 * 24 * time.Hour, SessionMax: 90 * 24 * time.Hour,
}

// Local implements accounts on paywall's own database.
type Local struct {
	Store   Store
	BaseURL *url.URL
	Lifetimes
	// Cost is the bcrypt cost; tests lower it.
	Cost int

	dummyOnce sync.Once
	dummyHash []byte
}

// NewLocal returns a local provider with the default lifetimes.
func NewLocal(s Store, baseURL *url.URL) *Local {
	return &Local{Store: s, BaseURL: baseURL, Lifetimes: DefaultLifetimes, Cost: 12}
}

// ErrBadCredentials is returned for a wrong email or password, alike, so
// that the answer does not say which accounts exist.
var ErrBadCredentials = paywall.Errorf(paywall.Unauthorized, "That email and password do not match.")

// linkPaths is where each kind of link opens.
var linkPaths = map[string]string{
	Setup: "/account/setup", SignInByLink: "/login/link", EmailChange: "/account/email",
}

// NewLink makes a single-use link for member and returns its URL and how
// long it lasts. email is the new address an email-change link confirms.
func (l *Local) NewLink(ctx context.Context, member int64, purpose, email string) (string, time.Duration, error) {
	path, ok := linkPaths[purpose]
	if !ok {
		return "", 0, fmt.Errorf("new link: unknown purpose %q", purpose)
	}
	ttl := l.Lifetimes.SignInLink
	if purpose == Setup {
		ttl = l.Lifetimes.SetupLink
	}
	token, hash := newToken()
	if err := l.Store.CreateLink(ctx, hash, member, purpose, email, ttl); err != nil {
		return "", 0, err
	}
	u := *l.BaseURL
	u.Path = path
	u.RawQuery = url.Values{"token": {token}}.Encode()
	return u.String(), ttl, nil
}

// LinkMember returns the member a link is for, without using it.
func (l *Local) LinkMember(ctx context.Context, token, purpose string) (paywall.Member, error) {
	id, err := l.Store.LinkMember(ctx, hashToken(token), purpose)
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
	// A dead link costs no bcrypt: look it up before hashing. The link is
	// used, atomically, only by SetPasswordWithLink below.
	if _, err := l.Store.LinkMember(ctx, hashToken(token), Setup); err != nil {
		return "", err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), l.Cost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	session, sessionHash := newToken()
	_, err = l.Store.SetPasswordWithLink(ctx, hashToken(token), hash, sessionHash, l.SessionMax)
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
// unknown email, or a member without a password, costs the same bcrypt
// comparison as a known one, and bcrypt compares in constant time.
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
	if err := l.upgradeHash(ctx, id, hash, password); err != nil {
		return "", err
	}
	session, sessionHash := newToken()
	if err := l.Store.CreateSession(ctx, sessionHash, id, l.SessionMax); err != nil {
		return "", err
	}
	return session, nil
}

// upgradeHash rehashes a password stored with a lower bcrypt cost than the
// current one, at the one moment the password is at hand: a sign-in.
func (l *Local) upgradeHash(ctx context.Context, member int64, hash []byte, password string) error {
	if cost, err := bcrypt.Cost(hash); err != nil || cost >= l.Cost {
		return nil
	}
	newHash, err := bcrypt.GenerateFromPassword([]byte(password), l.Cost)
	if err != nil {
		return fmt.Errorf("rehash password: %w", err)
	}
	return l.Store.UpdatePasswordHash(ctx, member, newHash)
}

func (l *Local) dummy() []byte {
	l.dummyOnce.Do(func() {
		l.dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not a password of anyone"), l.Cost)
	})
	return l.dummyHash
}

// RequestLink queues a sign-in link (or, for a member without a password, a
// setup link) for email. It answers the same whether or not email has an
// account.
func (l *Local) RequestLink(ctx context.Context, email string) error {
	return l.Store.RequestLinkMail(ctx, strings.TrimSpace(email), requestID())
}

// SignInWithLink uses a sign-in link and returns a new session token.
func (l *Local) SignInWithLink(ctx context.Context, token string) (string, error) {
	session, sessionHash := newToken()
	if _, err := l.Store.SignInWithLink(ctx, hashToken(token), sessionHash, l.SessionMax); err != nil {
		return "", err
	}
	return session, nil
}

// RequestEmailChange mails a link to email; using it makes email the
// member's sign-in address.
func (l *Local) RequestEmailChange(ctx context.Context, member int64, email string) error {
	email = strings.TrimSpace(email)
	// An address another account uses gets no link, and the answer is the
	// same as for a free one: the form must not tell members which
	// addresses have accounts.
	other, err := l.Store.MemberByEmail(ctx, email)
	switch {
	case err == nil && other.ID != member:
		return nil
	case err != nil && paywall.KindOf(err) != paywall.NotFound:
		return err
	}
	return l.Store.RequestEmailChange(ctx, member, email, requestID())
}

// ChangeEmail uses an email-change link and returns the member it changed.
func (l *Local) ChangeEmail(ctx context.Context, token string) (int64, error) {
	return l.Store.ChangeEmailWithLink(ctx, hashToken(token))
}

// Session returns the member signed in with token and when the session ends
// unless used again.
func (l *Local) Session(ctx context.Context, token string) (paywall.Member, time.Time, error) {
	if token == "" {
		return paywall.Member{}, time.Time{}, paywall.Errorf(paywall.Unauthorized, "not signed in")
	}
	id, expires, err := l.Store.SessionMember(ctx, hashToken(token), l.SessionIdle)
	if err != nil {
		return paywall.Member{}, time.Time{}, err
	}
	m, err := l.Store.Member(ctx, id)
	return m, expires, err
}

// SignOut ends the session of token.
func (l *Local) SignOut(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return l.Store.DeleteSession(ctx, hashToken(token))
}

// SignOutEverywhere ends every session of member.
func (l *Local) SignOutEverywhere(ctx context.Context, member int64) error {
	return l.Store.DeleteMemberSessions(ctx, member)
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

// requestID makes one request's mail unique in the outbox.
func requestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
