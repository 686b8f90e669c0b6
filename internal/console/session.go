package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gpusupply/supply/internal/api"
	"github.com/gpusupply/supply/internal/apikeys"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/internal/store"
)

// CookieName is the name of the session cookie.
const CookieName = "supply_session"

// DefaultSessionTTL is how long a sign-in lasts.
const DefaultSessionTTL = 12 * time.Hour

// touchEvery is how stale a session's last-seen time may get: a request
// writes it only when it is older, so that a session costs one read per
// request and a write a minute at most.
const touchEvery = time.Minute

// maxUserAgent bounds the user agent kept with a session: enough to tell
// browsers apart in a listing, and no more of what a client chooses.
const maxUserAgent = 200

// csrfLabel binds CSRF tokens to their purpose and format version.
var csrfLabel = []byte("supply console csrf v2")

// SessionStore is where sessions are kept: the store's sessions, and its
// API keys, which say which key a sign-in was made with.
type SessionStore interface {
	APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error)
	store.SessionQueries
}

// Sessions issues and checks the console's session cookies. A session is
// a row of the store; its cookie holds a random token (256 bits) of which
// the store keeps only the SHA-256. Whoever reads the database, a backup
// included, therefore holds no cookie, and the CSRF token, a MAC keyed by
// the token, is out of its reach too. Every request reads its session's
// row, which counts only while the session has not expired and the key it
// was opened with is not revoked: signing out, revoking the session and
// revoking the key end it at once on every replica.
type Sessions struct {
	store SessionStore
	ttl   time.Duration
	log   *slog.Logger
	now   func() time.Time
}

// NewSessions makes Sessions kept in st that last ttl; log (nil: none)
// hears of last-seen times it could not write.
func NewSessions(st SessionStore, ttl time.Duration, log *slog.Logger) *Sessions {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sessions{store: st, ttl: ttl, log: log, now: time.Now}
}

// token is a session's secret, as its cookie carries it.
type token [32]byte

// hash is what the store keeps of t.
func (t token) hash() []byte {
	h := sha256.Sum256(t[:])
	return h[:]
}

// String is t as its cookie carries it.
func (t token) String() string { return base64.RawURLEncoding.EncodeToString(t[:]) }

// errBadSession is a cookie that names no session that counts: malformed,
// made up, signed out, expired, revoked, or of a revoked key.
var errBadSession = fmt.Errorf("session not valid: %w", apikeys.ErrUnknownKey)

// parseToken reads a cookie's value; anything but a token as String
// writes it is errBadSession (the sealed cookies of earlier versions
// among them).
func parseToken(value string) (token, error) {
	var t token
	if base64.RawURLEncoding.EncodedLen(len(t)) != len(value) {
		return t, errBadSession
	}
	n, err := base64.RawURLEncoding.Strict().Decode(t[:], []byte(value))
	if err != nil || n != len(t) {
		return token{}, errBadSession
	}
	return t, nil
}

// session is a signed-in browser: its token and its row.
type session struct {
	token token
	store.Session
}

// start opens a session for a key the API has just accepted from r's
// form. It fails with an error wrapping apikeys.ErrUnknownKey if the key
// was revoked meanwhile.
func (s *Sessions) start(r *http.Request, key string) (session, error) {
	ctx := r.Context()
	k, err := s.store.APIKeyByHash(ctx, apikeys.Hash(key))
	if errors.Is(err, store.ErrNotFound) {
		return session{}, fmt.Errorf("start session: %w", apikeys.ErrUnknownKey)
	}
	if err != nil {
		return session{}, fmt.Errorf("start session: %w", err)
	}
	var sess session
	_, _ = rand.Read(sess.token[:]) // crypto/rand.Read never fails (Go 1.24)
	now := s.now()
	sess.Session, err = s.store.CreateSession(ctx, store.Session{
		TokenHash: sess.token.hash(), AccountID: k.AccountID, APIKeyID: k.ID, CreatedAt: now, ExpiresAt: now.Add(s.ttl),
		UserAgent: cut(r.UserAgent(), maxUserAgent), Address: remoteHost(r.RemoteAddr),
	})
	if err != nil {
		return session{}, fmt.Errorf("start session: %w", err)
	}
	return sess, nil
}

// lookup is the session of t, if it counts now; it moves the session's
// last-seen time when that is more than touchEvery old.
func (s *Sessions) lookup(ctx context.Context, t token) (session, error) {
	now := s.now()
	row, err := s.store.ActiveSession(ctx, t.hash(), now)
	if errors.Is(err, store.ErrNotFound) {
		return session{}, errBadSession
	}
	if err != nil {
		return session{}, err
	}
	if now.Sub(row.LastSeenAt) >= touchEvery {
		// The last-seen time only informs a listing: a request is not
		// refused because it could not be written.
		if err := s.store.TouchSession(ctx, row.ID, now); err != nil {
			s.log.WarnContext(ctx, "console session: last-seen time not written", "session_id", row.ID, "error", err)
		}
	}
	return session{token: t, Session: row}, nil
}

// csrfToken is the token a session's pages carry and its state-changing
// requests must send back: a MAC of a fixed label keyed by the session's
// secret, which only the browser holds (the store has its hash alone).
func csrfToken(t token) string {
	m := hmac.New(sha256.New, t[:])
	m.Write(csrfLabel)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func checkCSRF(t token, got string) error {
	if subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(t))) != 1 {
		return api.ErrCSRF
	}
	return nil
}

// Authenticate implements api.Sessions: the key and session of the
// session cookie in a Cookie header, with the CSRF token checked when the
// request changes state.
func (s *Sessions) Authenticate(ctx context.Context, cookies, csrf string, unsafe bool) (apikeys.Key, int64, error) {
	c, err := http.ParseCookie(cookies)
	if err != nil {
		return apikeys.Key{}, 0, api.ErrNoSession
	}
	for _, ck := range c {
		if ck.Name != CookieName {
			continue
		}
		t, err := parseToken(ck.Value)
		if err != nil {
			return apikeys.Key{}, 0, err
		}
		sess, err := s.lookup(ctx, t)
		if err != nil {
			return apikeys.Key{}, 0, err
		}
		if unsafe {
			if err := checkCSRF(t, csrf); err != nil {
				return apikeys.Key{}, 0, err
			}
		}
		return sess.key(), sess.ID, nil
	}
	return apikeys.Key{}, 0, api.ErrNoSession
}

// key is the key the session was opened with, as it is now.
func (s session) key() apikeys.Key {
	return apikeys.Key{ID: s.APIKeyID, AccountID: s.AccountID, Name: s.KeyName, Role: roles.Role(s.KeyRole)}
}

// List implements api.Sessions: the account's sessions that count now.
func (s *Sessions) List(ctx context.Context, accountID int64) ([]store.Session, error) {
	return s.store.ActiveSessions(ctx, accountID, s.now())
}

// Revoke implements api.Sessions: it ends the account's session id.
func (s *Sessions) Revoke(ctx context.Context, accountID, id int64) error {
	return s.store.DeleteSession(ctx, accountID, id)
}

// fromRequest is the session of a console request.
func (s *Sessions) fromRequest(r *http.Request) (session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return session{}, api.ErrNoSession
	}
	t, err := parseToken(c.Value)
	if err != nil {
		return session{}, err
	}
	return s.lookup(r.Context(), t)
}

// end signs the session of t out, wherever its cookie is used.
func (s *Sessions) end(ctx context.Context, t token) error {
	if err := s.store.EndSession(ctx, t.hash()); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	return nil
}

// cookie is the session cookie for sess, or, for a zero session, the
// cookie that removes it. It is HttpOnly (no script reads it),
// SameSite=Strict (no other site's page sends it) and Secure when the
// console is reached over TLS.
func cookie(r *http.Request, sess session) *http.Cookie {
	c := &http.Cookie{
		Name: CookieName, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
	}
	if sess.ExpiresAt.IsZero() {
		c.MaxAge = -1
		return c
	}
	c.Value = sess.token.String()
	c.Expires = sess.ExpiresAt
	return c
}

// cut is s, valid UTF-8, cut to at most n bytes on a character boundary.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// remoteHost is the address a request came from, without its port.
func remoteHost(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return cut(remoteAddr, 64)
	}
	return host
}
