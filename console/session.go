package console

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gpusupply/supply/api"
	"github.com/gpusupply/supply/apikeys"
)

// CookieName is the name of the session cookie.
const CookieName = "supply_session"

// DefaultSessionTTL is how long a sign-in lasts.
const DefaultSessionTTL = 12 * time.Hour

// sessionAD binds sealed sessions to their purpose and format version.
var sessionAD = []byte("supply console session v1")

// HashAuthenticator maps a key's hash to its account, failing with
// apikeys.ErrUnknownKey for a key that is unknown or revoked.
type HashAuthenticator interface {
	AuthenticateHash(ctx context.Context, hash [sha256.Size]byte) (int64, error)
}

// Sessions issues and checks the console's session cookies. A session is
// sealed into its cookie (AES-GCM under a key derived from a server secret
// that every replica shares), so no table holds sessions. It carries the
// hash of the API key that signed in, never the key, and every request
// checks that hash as it would check the key: revoking the key ends its
// sessions within the authenticator's cache time.
type Sessions struct {
	aead    cipher.AEAD
	csrfKey []byte
	auth    HashAuthenticator
	ttl     time.Duration
	now     func() time.Time
}

// session is what a cookie holds.
type session struct {
	keyHash   [sha256.Size]byte
	accountID int64
	expires   time.Time
	// id is random per sign-in; the CSRF token is derived from it.
	id [16]byte
}

const sessionLen = sha256.Size + 8 + 8 + 16

// NewSessions makes Sessions whose cookies are sealed with keys derived
// from secret (at least 16 random bytes, the same on every replica) and
// last ttl.
func NewSessions(secret []byte, auth HashAuthenticator, ttl time.Duration) (*Sessions, error) {
	if len(secret) < 16 {
		return nil, errors.New("console session secret: fewer than 16 bytes")
	}
	sealKey, err := hkdf.Key(sha256.New, secret, nil, "supply console session seal", 32)
	if err != nil {
		return nil, fmt.Errorf("console session key: %w", err)
	}
	csrfKey, err := hkdf.Key(sha256.New, secret, nil, "supply console csrf", 32)
	if err != nil {
		return nil, fmt.Errorf("console csrf key: %w", err)
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("console session cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("console session cipher: %w", err)
	}
	return &Sessions{aead: aead, csrfKey: csrfKey, auth: auth, ttl: ttl, now: time.Now}, nil
}

// start makes a session for a key that has just been checked.
func (s *Sessions) start(key string, accountID int64) (session, error) {
	sess := session{accountID: accountID, expires: s.now().Add(s.ttl)}
	copy(sess.keyHash[:], apikeys.Hash(key))
	if _, err := rand.Read(sess.id[:]); err != nil {
		return session{}, fmt.Errorf("session id: %w", err)
	}
	return sess, nil
}

func (s *Sessions) seal(sess session) string {
	plain := make([]byte, 0, sessionLen)
	plain = append(plain, sess.keyHash[:]...)
	plain = binary.BigEndian.AppendUint64(plain, uint64(sess.accountID))
	plain = binary.BigEndian.AppendUint64(plain, uint64(sess.expires.Unix()))
	plain = append(plain, sess.id[:]...)
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, sessionAD))
}

// errBadSession is any cookie that does not open: forged, from another
// installation, truncated, or expired.
var errBadSession = fmt.Errorf("session not valid: %w", apikeys.ErrUnknownKey)

func (s *Sessions) open(value string) (session, error) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return session{}, errBadSession
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], sessionAD)
	if err != nil || len(plain) != sessionLen {
		return session{}, errBadSession
	}
	var sess session
	copy(sess.keyHash[:], plain)
	sess.accountID = int64(binary.BigEndian.Uint64(plain[32:]))
	sess.expires = time.Unix(int64(binary.BigEndian.Uint64(plain[40:])), 0)
	copy(sess.id[:], plain[48:])
	if !s.now().Before(sess.expires) {
		return session{}, errBadSession
	}
	return sess, nil
}

// csrfToken is the token a session's pages carry and its state-changing
// requests must send back: a MAC of the session's id, which only the
// server and the pages it served know.
func (s *Sessions) csrfToken(sess session) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write(sess.id[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Sessions) checkCSRF(sess session, token string) error {
	if subtle.ConstantTimeCompare([]byte(token), []byte(s.csrfToken(sess))) != 1 {
		return api.ErrCSRF
	}
	return nil
}

// verify checks that the key behind a session is still valid and still
// the account's.
func (s *Sessions) verify(ctx context.Context, sess session) error {
	accountID, err := s.auth.AuthenticateHash(ctx, sess.keyHash)
	if err != nil {
		return err
	}
	if accountID != sess.accountID {
		return errBadSession
	}
	return nil
}

// Authenticate implements api.Sessions: the account of the session in a
// Cookie header, with the CSRF token checked when the request changes
// state.
func (s *Sessions) Authenticate(ctx context.Context, cookies, csrfToken string, unsafe bool) (int64, error) {
	c, err := http.ParseCookie(cookies)
	if err != nil {
		return 0, api.ErrNoSession
	}
	for _, ck := range c {
		if ck.Name != CookieName {
			continue
		}
		sess, err := s.open(ck.Value)
		if err != nil {
			return 0, err
		}
		if unsafe {
			if err := s.checkCSRF(sess, csrfToken); err != nil {
				return 0, err
			}
		}
		if err := s.verify(ctx, sess); err != nil {
			return 0, err
		}
		return sess.accountID, nil
	}
	return 0, api.ErrNoSession
}

// fromRequest is the valid session of a console request.
func (s *Sessions) fromRequest(r *http.Request) (session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return session{}, api.ErrNoSession
	}
	sess, err := s.open(c.Value)
	if err != nil {
		return session{}, err
	}
	return sess, s.verify(r.Context(), sess)
}

// cookie is the session cookie for sess, or, for a zero session, the
// cookie that removes it. It is HttpOnly (no script reads it),
// SameSite=Strict (no other site's page sends it) and Secure when the
// console is reached over TLS.
func (s *Sessions) cookie(r *http.Request, sess session) *http.Cookie {
	c := &http.Cookie{
		Name: CookieName, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
	}
	if sess.expires.IsZero() {
		c.MaxAge = -1
		return c
	}
	c.Value = s.seal(sess)
	c.Expires = sess.expires
	return c
}
