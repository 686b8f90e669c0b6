package console

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/api"
	"github.com/gpusupply/supply/internal/apikeys"
	"github.com/gpusupply/supply/internal/keys"
	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// provisionService deletes anything and remembers what; the console's
// tests are about who may ask, not about deleting. The embedded interface
// stands for the extensions no console test reaches (calling one panics).
type provisionService struct {
	api.ProvisionService
	mu      sync.Mutex
	deleted []uuid.UUID
}

func (p *provisionService) Procure(context.Context, int64, string, supplyapi.ProcureOfferRequest) (supplyapi.ProcureOfferResponse, error) {
	return supplyapi.ProcureOfferResponse{}, refusal.ErrNotFound
}

func (p *provisionService) OfferStatus(context.Context, int64, uuid.UUID) (supplyapi.OfferStatusResponse, error) {
	return supplyapi.OfferStatusResponse{}, refusal.ErrNotFound
}

func (p *provisionService) Resources(context.Context, int64, ledger.ResourceFilter) ([]supplyapi.ResourceSummary, error) {
	return nil, nil
}

func (p *provisionService) Resource(context.Context, int64, uuid.UUID, bool) (supplyapi.ResourceSummary, error) {
	return supplyapi.ResourceSummary{}, refusal.ErrNotFound
}

func (p *provisionService) Delete(_ context.Context, _ int64, id uuid.UUID, _ bool) (supplyapi.DeleteResourceResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deleted = append(p.deleted, id)
	return supplyapi.DeleteResourceResponse{ResourceID: id, Status: "deleting"}, nil
}

func (p *provisionService) deletes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.deleted)
}

type offerService struct{}

func (offerService) Answer(context.Context, int64, supplyapi.OfferQuery) (*offers.Answer, error) {
	return nil, offers.ErrNotFound
}

func (offerService) Details(context.Context, int64, uuid.UUID) (supplyapi.OfferDetails, error) {
	return supplyapi.OfferDetails{}, offers.ErrNotFound
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testConsole struct {
	*httptest.Server
	st        store.Store
	opts      store.Options
	sessions  *Sessions
	account   store.Account
	keyID     int64
	key       string
	log       *syncBuffer
	provision *provisionService
}

// revoke revokes the console's key.
func (tc *testConsole) revoke(t *testing.T) {
	t.Helper()
	if err := tc.st.RevokeAPIKey(t.Context(), tc.account.ID, tc.keyID); err != nil {
		t.Fatal(err)
	}
}

// newKey makes a key of the account named name.
func newKey(t *testing.T, st store.Store, name string) (store.Account, store.APIKey, string) {
	t.Helper()
	acct, err := st.EnsureAccount(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	key, prefix, hash, err := apikeys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	k, err := st.CreateAPIKey(t.Context(), store.APIKey{AccountID: acct.ID, Prefix: prefix, Hash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return acct, k, key
}

// newConsole serves the API and the console over a store on engine the
// way cmd/supply wires them, keys cached for 30 s (longer than there: a
// session must end with its key whatever the cache holds).
func newConsole(t *testing.T, engine string, mod ...func(*api.Config)) *testConsole {
	t.Helper()
	opts := storetest.Options(t, engine)
	opts.Migrate = true
	st, err := store.Open(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tc := &testConsole{st: st, opts: opts, log: &syncBuffer{}, provision: &provisionService{}}
	var k store.APIKey
	tc.account, k, tc.key = newKey(t, st, "renter")
	tc.keyID = k.ID
	auth := apikeys.NewAuthenticator(keys.New(st).Lookup, 30*time.Second)
	log := slog.New(slog.NewJSONHandler(tc.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tc.sessions = NewSessions(st, time.Hour, log)
	cfg := api.Config{
		Auth: auth, Sessions: tc.sessions, Ready: func(context.Context) error { return nil },
		Offers: offerService{}, Provision: tc.provision, Logger: log, Version: "test",
	}
	for _, m := range mod {
		m(&cfg)
	}
	a := api.New(cfg)
	Register(Config{API: a, Sessions: tc.sessions, Sandbox: true, Logger: log})
	tc.Server = httptest.NewServer(a.Handler())
	t.Cleanup(tc.Close)
	return tc
}

// forEachEngine runs test on a console over each engine's store.
func forEachEngine(t *testing.T, test func(t *testing.T, tc *testConsole)) {
	t.Parallel()
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			test(t, newConsole(t, engine))
		})
	}
}

// send makes a request without following redirects.
func (tc *testConsole) send(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (tc *testConsole) request(t *testing.T, method, path string, form url.Values, session *http.Cookie, header ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, tc.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if session != nil {
		req.AddCookie(session)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return tc.send(t, req)
}

// signIn signs in with the console's key and returns the session cookie
// as the server set it.
func (tc *testConsole) signIn(t *testing.T, header ...string) *http.Cookie {
	t.Helper()
	return tc.signInWith(t, tc.key, header...)
}

func (tc *testConsole) signInWith(t *testing.T, key string, header ...string) *http.Cookie {
	t.Helper()
	resp, body := tc.request(t, http.MethodPost, "/signin", url.Values{"api_key": {key}}, nil, header...)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("sign in: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == CookieName {
			return c
		}
	}
	t.Fatalf("sign in set no %s cookie: %v", CookieName, resp.Header["Set-Cookie"])
	return nil
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// csrf reads the CSRF token off a page of the session.
func (tc *testConsole) csrf(t *testing.T, session *http.Cookie) string {
	t.Helper()
	resp, body := tc.request(t, http.MethodGet, "/", nil, session)
	m := csrfMeta.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("GET / signed in: %d, no CSRF token in\n%s", resp.StatusCode, body)
	}
	return m[1]
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	tc := newConsole(t, store.EngineSQLite)
	c := tc.signIn(t)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Fatalf("session cookie over plain http: %+v; want HttpOnly, SameSite=Strict, Path=/, not Secure", c)
	}
	if strings.Contains(c.Value, tc.key) || strings.Contains(c.Value, tc.key[len("sk_supply_"):]) {
		t.Fatal("the session cookie carries the key")
	}
	if c := tc.signIn(t, "X-Forwarded-Proto", "https"); !c.Secure || !c.HttpOnly {
		t.Fatalf("session cookie behind TLS: %+v; want Secure and HttpOnly", c)
	}

	resp, body := tc.request(t, http.MethodPost, "/signin", url.Values{"api_key": {"sk_supply_" + strings.Repeat("x", 40)}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "That API key is not valid") || len(resp.Cookies()) != 0 {
		t.Fatalf("wrong key: %d %v\n%s", resp.StatusCode, resp.Cookies(), body)
	}

	// A cookie changed by one character opens nothing.
	forged := *c
	b := []byte(forged.Value)
	b[len(b)/2] ^= 1
	forged.Value = string(b)
	resp, _ = tc.request(t, http.MethodGet, "/machines", nil, &forged)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
		t.Fatalf("forged cookie: %d %s, want 303 to /signin", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = tc.request(t, http.MethodGet, "/resources", nil, &forged)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API with a forged cookie: %d, want 401", resp.StatusCode)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	tc := newConsole(t, store.EngineSQLite)
	session := tc.signIn(t)
	token := tc.csrf(t, session)
	path := "/resources/" + uuid.NewString()

	for _, c := range []struct {
		name   string
		cookie *http.Cookie
		header []string
		want   int
	}{
		{"cookie, no token", session, nil, http.StatusForbidden},
		{"cookie, forged token", session, []string{api.CSRFHeader, "forged"}, http.StatusForbidden},
		{"cookie, another session's token", session, []string{api.CSRFHeader, tc.csrf(t, tc.signIn(t))}, http.StatusForbidden},
		{"token, no cookie", nil, []string{api.CSRFHeader, token}, http.StatusUnauthorized},
	} {
		resp, body := tc.request(t, http.MethodDelete, path, nil, c.cookie, c.header...)
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d: %s", c.name, resp.StatusCode, c.want, body)
		}
	}
	if n := tc.provision.deletes(); n != 0 {
		t.Fatalf("%d deletes went through without the session's token", n)
	}

	// The session's own token works; reading needs none.
	if resp, body := tc.request(t, http.MethodDelete, path, nil, session, api.CSRFHeader, token); resp.StatusCode != http.StatusOK {
		t.Fatalf("cookie and token: %d %s", resp.StatusCode, body)
	}
	if resp, body := tc.request(t, http.MethodGet, "/resources", nil, session); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET with the cookie: %d %s", resp.StatusCode, body)
	}
	// A Bearer request is as it always was: no cookie, no token.
	if resp, body := tc.request(t, http.MethodDelete, path, nil, nil, "Authorization", "Bearer "+tc.key); resp.StatusCode != http.StatusOK {
		t.Fatalf("Bearer delete: %d %s", resp.StatusCode, body)
	}
	if n := tc.provision.deletes(); n != 2 {
		t.Fatalf("%d deletes, want 2", n)
	}

	// Forms: sign-out needs the token, and a sign-in posted from another
	// site is refused before the key is looked at.
	if resp, _ := tc.request(t, http.MethodPost, "/signout", url.Values{"csrf_token": {"forged"}}, session); resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Fatalf("sign-out with a forged token: %d %v, want 403 and the cookie kept", resp.StatusCode, resp.Cookies())
	}
	resp, _ := tc.request(t, http.MethodPost, "/signin", url.Values{"api_key": {tc.key}}, nil, "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Fatalf("cross-site sign-in: %d %v, want 403 and no cookie", resp.StatusCode, resp.Cookies())
	}
}

// TestSignInIsNoFasterWayToGuessKeys: wrong keys typed into the form
// count against the API's per-address limit on invalid keys, and a good
// key still gets in.
func TestSignInIsNoFasterWayToGuessKeys(t *testing.T) {
	t.Parallel()
	tc := newConsole(t, store.EngineSQLite, func(c *api.Config) { c.AuthFailureRate, c.AuthFailureBurst = 0.001, 3 })
	wrong := url.Values{"api_key": {"sk_supply_" + strings.Repeat("y", 40)}}
	for i := range 3 {
		if resp, _ := tc.request(t, http.MethodPost, "/signin", wrong, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong key %d: %d, want 401", i, resp.StatusCode)
		}
	}
	resp, body := tc.request(t, http.MethodPost, "/signin", wrong, nil)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many invalid keys") {
		t.Fatalf("fourth wrong key: %d, want 429\n%s", resp.StatusCode, body)
	}
	// The API answers the same address in kind: a guess is a 429 there
	// too, while a good key (new to the process, looked up within the
	// small budget every limited address shares) is let in, by the form
	// and by the API.
	if resp, _ := tc.request(t, http.MethodGet, "/resources", nil, nil, "Authorization", "Bearer sk_supply_"+strings.Repeat("z", 40)); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a wrong Bearer key after too many in the form: %d, want 429", resp.StatusCode)
	}
	if resp, _ := tc.request(t, http.MethodPost, "/signin", url.Values{"api_key": {tc.key}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("good key after too many bad ones: %d, want 303 (signed in)", resp.StatusCode)
	}
	if resp, _ := tc.request(t, http.MethodGet, "/resources", nil, nil, "Authorization", "Bearer "+tc.key); resp.StatusCode != http.StatusOK {
		t.Fatalf("Bearer request with the good key after too many bad keys in the form: %d, want 200", resp.StatusCode)
	}
}

// requireEnded fails unless the session of cookie is refused: the pages
// send the browser to the sign-in form and the API answers 401.
func (tc *testConsole) requireEnded(t *testing.T, cookie *http.Cookie, what string) {
	t.Helper()
	resp, _ := tc.request(t, http.MethodGet, "/", nil, cookie)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
		t.Errorf("page %s: %d %s, want 303 to /signin", what, resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := tc.request(t, http.MethodGet, "/resources", nil, cookie); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API %s: %d %s, want 401", what, resp.StatusCode, body)
	}
}

// requireLive fails unless the session of cookie is accepted.
func (tc *testConsole) requireLive(t *testing.T, cookie *http.Cookie, what string) {
	t.Helper()
	if resp, body := tc.request(t, http.MethodGet, "/resources", nil, cookie); resp.StatusCode != http.StatusOK {
		t.Fatalf("API %s: %d %s, want 200", what, resp.StatusCode, body)
	}
}

// TestSignOut: signing out ends the session in the store, so the cookie
// replayed afterwards (copied before, by anyone) is refused.
func TestSignOut(t *testing.T) {
	forEachEngine(t, func(t *testing.T, tc *testConsole) {
		session := tc.signIn(t)
		other := tc.signIn(t)
		tc.requireLive(t, session, "signed in")
		resp, _ := tc.request(t, http.MethodPost, "/signout", url.Values{"csrf_token": {tc.csrf(t, session)}}, session)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
			t.Fatalf("sign out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		cleared := false
		for _, c := range resp.Cookies() {
			cleared = cleared || c.Name == CookieName && c.Value == "" && c.MaxAge < 0
		}
		if !cleared {
			t.Fatalf("sign out did not clear the cookie: %v", resp.Header["Set-Cookie"])
		}
		tc.requireEnded(t, session, "with the signed-out cookie replayed")
		tc.requireLive(t, other, "of another sign-in of the same key")
	})
}

// TestRevokedKeyEndsSession: revoking the key refuses its sessions at
// once, although the API caches keys for 30 s.
func TestRevokedKeyEndsSession(t *testing.T) {
	forEachEngine(t, func(t *testing.T, tc *testConsole) {
		session := tc.signIn(t)
		tc.requireLive(t, session, "signed in")
		// The key's answer is in the cache now.
		if resp, _ := tc.request(t, http.MethodGet, "/resources", nil, nil, "Authorization", "Bearer "+tc.key); resp.StatusCode != http.StatusOK {
			t.Fatalf("Bearer: %d", resp.StatusCode)
		}
		tc.revoke(t)
		tc.requireEnded(t, session, "after the key was revoked")
		resp, body := tc.request(t, http.MethodPost, "/signin", url.Values{"api_key": {tc.key}}, nil)
		if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
			t.Errorf("sign-in with the revoked key, still cached: %d %v\n%s", resp.StatusCode, resp.Cookies(), body)
		}
	})
}

// TestPagesFollowRole: a viewer's session is not offered the Team page and
// is sent away from it, and its pages say its role (the script leaves out
// Rent and Delete for it); an admin's has the Team page. A session ends
// when its key expires.
func TestPagesFollowRole(t *testing.T) {
	forEachEngine(t, func(t *testing.T, tc *testConsole) {
		ks := keys.New(tc.st)
		viewer, err := ks.Create(t.Context(), tc.account.ID, supplyapi.APIKeyRequest{Name: "dashboards", Role: "viewer"})
		if err != nil {
			t.Fatal(err)
		}
		vs := tc.signInWith(t, viewer.Key)
		if resp, _ := tc.request(t, http.MethodGet, "/team", nil, vs); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Errorf("the Team page for a viewer: %d %s, want 303 to /", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, path := range []string{"/", "/machines"} {
			if _, body := tc.request(t, http.MethodGet, path, nil, vs); !strings.Contains(body, `data-role="viewer"`) || strings.Contains(body, `href="/team"`) {
				t.Errorf("%s for a viewer: want data-role viewer and no Team link in\n%s", path, body)
			}
		}
		as := tc.signIn(t)
		resp, body := tc.request(t, http.MethodGet, "/team", nil, as)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-role="admin"`) || !strings.Contains(body, `href="/team" aria-current="page"`) {
			t.Errorf("the Team page for an admin: %d\n%s", resp.StatusCode, body)
		}

		// The viewer's key expires: its session ends with it.
		k, err := tc.st.AccountAPIKey(t.Context(), tc.account.ID, viewer.ID)
		if err != nil {
			t.Fatal(err)
		}
		past := time.Now().Add(-time.Second)
		k.ExpiresAt = &past
		if err := tc.st.UpdateAPIKey(t.Context(), k); err != nil {
			t.Fatal(err)
		}
		tc.requireEnded(t, vs, "after its key expired")
	})
}

// TestSessionExpires: a session is refused from its expiry on.
func TestSessionExpires(t *testing.T) {
	forEachEngine(t, func(t *testing.T, tc *testConsole) {
		session := tc.signIn(t)
		rows, err := tc.st.ActiveSessions(t.Context(), tc.account.ID, time.Now())
		if err != nil || len(rows) != 1 {
			t.Fatalf("sessions: %v %v", rows, err)
		}
		tc.sessions.now = func() time.Time { return rows[0].ExpiresAt.Add(-time.Microsecond) }
		tc.requireLive(t, session, "just before its expiry")
		tc.sessions.now = func() time.Time { return rows[0].ExpiresAt }
		tc.requireEnded(t, session, "at its expiry")
	})
}

// sessionInfo is GET /sessions' element as a client reads it.
type sessionInfo struct {
	ID         int64     `json:"id"`
	KeyPrefix  string    `json:"key_prefix"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	Address    string    `json:"address"`
	Current    bool      `json:"current"`
}

// sessions is GET /sessions with cookie, or with the key when cookie is nil.
func (tc *testConsole) listSessions(t *testing.T, cookie *http.Cookie, key string) []sessionInfo {
	t.Helper()
	var header []string
	if cookie == nil {
		header = []string{"Authorization", "Bearer " + key}
	}
	resp, body := tc.request(t, http.MethodGet, "/sessions", nil, cookie, header...)
	var out []sessionInfo
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("GET /sessions: %d %s", resp.StatusCode, body)
	}
	return out
}

// TestListAndRevokeSessions: an account lists its console sessions, the
// caller's own marked current, and ends any of them; another account's
// are 404 to it.
func TestListAndRevokeSessions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, tc *testConsole) {
		before := time.Now()
		laptop := tc.signIn(t, "User-Agent", "Firefox/140 "+strings.Repeat("x", 300))
		phone := tc.signIn(t, "User-Agent", "Safari/18")
		_, _, otherKey := newKey(t, tc.st, "other")
		stranger := tc.signInWith(t, otherKey)

		list := tc.listSessions(t, laptop, "")
		if len(list) != 2 {
			t.Fatalf("GET /sessions: %+v, want the account's 2 sessions", list)
		}
		byAgent := map[string]sessionInfo{}
		for _, s := range list {
			byAgent[s.UserAgent[:strings.Index(s.UserAgent, "/")]] = s
			if s.KeyPrefix != tc.key[:14] || s.Address != "127.0.0.1" || s.CreatedAt.Before(before.Add(-time.Second)) ||
				!s.ExpiresAt.Equal(s.CreatedAt.Add(time.Hour)) || s.LastSeenAt.Before(s.CreatedAt) {
				t.Errorf("session %+v: want key prefix %s, address 127.0.0.1, created now, expiring an hour later", s, tc.key[:14])
			}
		}
		mine, theirs := byAgent["Firefox"], byAgent["Safari"]
		if !mine.Current || theirs.Current || len(mine.UserAgent) != maxUserAgent {
			t.Errorf("sessions seen from the laptop: %+v; want it current, its user agent cut to %d bytes", list, maxUserAgent)
		}
		for _, s := range tc.listSessions(t, nil, tc.key) {
			if s.Current {
				t.Errorf("GET /sessions with a key marks %+v current", s)
			}
		}

		// A session may end another; the CSRF token is needed as for any change.
		path := fmt.Sprintf("/sessions/%d", theirs.ID)
		if resp, _ := tc.request(t, http.MethodDelete, path, nil, laptop); resp.StatusCode != http.StatusForbidden {
			t.Errorf("DELETE %s without the CSRF token: %d, want 403", path, resp.StatusCode)
		}
		if resp, body := tc.request(t, http.MethodDelete, path, nil, laptop, api.CSRFHeader, tc.csrf(t, laptop)); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE %s: %d %s, want 204", path, resp.StatusCode, body)
		}
		tc.requireEnded(t, phone, "revoked from the laptop")
		if list := tc.listSessions(t, laptop, ""); len(list) != 1 || list[0].ID != mine.ID {
			t.Errorf("after revoking the phone's: %+v, want the laptop's alone", list)
		}

		others := tc.listSessions(t, stranger, "")
		if len(others) != 1 {
			t.Fatalf("the other account's sessions: %+v", others)
		}
		for _, c := range []struct {
			path string
			want int
		}{
			{fmt.Sprintf("/sessions/%d", others[0].ID), http.StatusNotFound},
			{path, http.StatusNotFound},
			{"/sessions/999999", http.StatusNotFound},
			{"/sessions/x", http.StatusUnprocessableEntity},
			{"/sessions/0", http.StatusUnprocessableEntity},
		} {
			resp, body := tc.request(t, http.MethodDelete, c.path, nil, nil, "Authorization", "Bearer "+tc.key)
			var e struct{ Detail any }
			if resp.StatusCode != c.want || json.Unmarshal([]byte(body), &e) != nil || e.Detail == nil {
				t.Errorf("DELETE %s with a key: %d %s, want %d with a detail", c.path, resp.StatusCode, body, c.want)
			}
		}
		tc.requireLive(t, stranger, "of the other account")

		// Ending the caller's own session with a key works too.
		if resp, _ := tc.request(t, http.MethodDelete, fmt.Sprintf("/sessions/%d", mine.ID), nil, nil, "Authorization", "Bearer "+tc.key); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE the laptop's session with a key: %d", resp.StatusCode)
		}
		tc.requireEnded(t, laptop, "revoked with a key")
	})
}

var (
	inlineScript = regexp.MustCompile(`<script(?:\s[^>]*)?>`)
	inlineStyle  = regexp.MustCompile(`(?i)\sstyle=|<style|\son[a-z]+=`)
)

func TestEveryPageHasCSP(t *testing.T) {
	t.Parallel()
	tc := newConsole(t, store.EngineSQLite)
	session := tc.signIn(t)
	for _, c := range []struct {
		path   string
		cookie *http.Cookie
		want   int
	}{
		{"/", nil, http.StatusSeeOther},
		{"/signin", nil, http.StatusOK},
		{"/", session, http.StatusOK},
		{"/machines", session, http.StatusOK},
		{"/vendors", session, http.StatusOK},
		{"/assets/console.js", nil, http.StatusOK},
		{"/assets/console.css", nil, http.StatusOK},
	} {
		resp, body := tc.request(t, http.MethodGet, c.path, nil, c.cookie)
		if resp.StatusCode != c.want {
			t.Errorf("GET %s: %d, want %d", c.path, resp.StatusCode, c.want)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != CSP {
			t.Errorf("GET %s: Content-Security-Policy %q, want %q", c.path, got, CSP)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			continue
		}
		for _, tag := range inlineScript.FindAllString(body, -1) {
			if !strings.Contains(tag, ` src="/assets/`) {
				t.Errorf("GET %s: inline script %s", c.path, tag)
			}
		}
		if m := inlineStyle.FindString(body); m != "" {
			t.Errorf("GET %s: inline style or handler %q", c.path, m)
		}
		if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
			t.Errorf("GET %s references another origin", c.path)
		}
	}
	// The script writes data as text and never sets styles or evaluates
	// strings, which the CSP would block or which would let data run.
	js, err := assetFS.ReadFile("assets/console.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", ".style", `"style"`, "eval(", "new Function"} {
		if strings.Contains(string(js), banned) {
			t.Errorf("console.js uses %s", banned)
		}
	}
	// /docs works offline: everything it loads is served here.
	resp, body := tc.request(t, http.MethodGet, "/docs", nil, nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Fatalf("/docs: %d, references another origin:\n%s", resp.StatusCode, body)
	}
	for _, asset := range []string{"/docs/web-components.min.js", "/docs/styles.min.css"} {
		if resp, body := tc.request(t, http.MethodGet, asset, nil, nil); resp.StatusCode != http.StatusOK || len(body) < 100_000 {
			t.Errorf("%s: %d, %d bytes", asset, resp.StatusCode, len(body))
		}
	}
}

// TestNotFoundPage: a browser asking for an address that is no page gets
// the console's page saying so (with the console's navigation once signed
// in), while API clients keep their JSON 404.
func TestNotFoundPage(t *testing.T) {
	t.Parallel()
	tc := newConsole(t, store.EngineSQLite)
	session := tc.signIn(t)
	page := []string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}
	for _, c := range []struct {
		name    string
		cookie  *http.Cookie
		header  []string
		want    int
		typ     string
		has     []string
		hasNone []string
	}{
		{"signed in", session, page, http.StatusNotFound, "text/html", []string{"Page not found", "<code>/nope</code>", `href="/machines"`, "Sign out"}, nil},
		{"signed out", nil, page, http.StatusNotFound, "text/html", []string{"Page not found", `href="/signin"`}, []string{"Sign out", `href="/machines"`}},
		{"an API client", session, nil, http.StatusNotFound, "application/json", []string{`{"detail":"Not Found"}`}, nil},
	} {
		resp, body := tc.request(t, http.MethodGet, "/nope", nil, c.cookie, c.header...)
		if resp.StatusCode != c.want || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.typ) {
			t.Errorf("%s: %d %s, want %d %s", c.name, resp.StatusCode, resp.Header.Get("Content-Type"), c.want, c.typ)
		}
		if c.typ == "text/html" && resp.Header.Get("Content-Security-Policy") != CSP {
			t.Errorf("%s: Content-Security-Policy %q, want the console's", c.name, resp.Header.Get("Content-Security-Policy"))
		}
		for _, want := range c.has {
			if !strings.Contains(body, want) {
				t.Errorf("%s: no %q in\n%s", c.name, want, body)
			}
		}
		for _, not := range c.hasNone {
			if strings.Contains(body, not) {
				t.Errorf("%s: %q in\n%s", c.name, not, body)
			}
		}
	}
}

func TestKeyInNoURLAndNoLog(t *testing.T) {
	t.Parallel()
	tc := newConsole(t, store.EngineSQLite)
	resp, body := tc.request(t, http.MethodGet, "/signin", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<form method="post" action="/signin"`) {
		t.Fatalf("the sign-in form must POST its key: %d\n%s", resp.StatusCode, body)
	}
	session := tc.signIn(t)
	token := tc.csrf(t, session)
	tc.request(t, http.MethodPost, "/signin", url.Values{"api_key": {tc.key + "x"}}, nil)
	for _, path := range []string{"/", "/machines", "/vendors", "/resources"} {
		resp, body := tc.request(t, http.MethodGet, path, nil, session)
		if strings.Contains(body, tc.key) || strings.Contains(resp.Header.Get("Location"), tc.key) {
			t.Errorf("GET %s shows the key", path)
		}
	}
	tc.request(t, http.MethodPost, "/signout", url.Values{"csrf_token": {token}}, session)
	log := tc.log.String()
	if !strings.Contains(log, `"path":"/signin"`) {
		t.Fatalf("the request log has no sign-in line:\n%s", log)
	}
	if strings.Contains(log, tc.key) || strings.Contains(log, tc.key[len("sk_supply_"):]) || strings.Contains(log, session.Value) {
		t.Fatalf("the key or the session is in the log:\n%s", log)
	}
}

// TestSessionOperationsDocumented: the session operations are in the
// OpenAPI document beside the others, behind the Bearer scheme.
func TestSessionOperationsDocumented(t *testing.T) {
	t.Parallel()
	tc := newConsole(t, store.EngineSQLite)
	resp, body := tc.request(t, http.MethodGet, "/openapi.json", nil, nil)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                `json:"operationId"`
			Tags        []string              `json:"tags"`
			Security    []map[string][]string `json:"security"`
			Responses   map[string]any        `json:"responses"`
		} `json:"paths"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &doc) != nil {
		t.Fatalf("GET /openapi.json: %d", resp.StatusCode)
	}
	for _, c := range []struct{ path, method, id, status string }{
		{"/sessions", "get", "list_sessions_sessions_get", "200"},
		{"/sessions/{session_id}", "delete", "revoke_session_sessions__session_id__delete", "204"},
	} {
		op, ok := doc.Paths[c.path][c.method]
		if !ok || op.OperationID != c.id || !slices.Equal(op.Tags, []string{"Account"}) || len(op.Security) != 1 ||
			op.Security[0]["HTTPBearer"] == nil || op.Responses[c.status] == nil || op.Responses["422"] == nil {
			t.Errorf("%s %s: %+v, want %s tagged Account behind HTTPBearer, answering %s (or 422)", c.method, c.path, op, c.id, c.status)
		}
	}
}

// FuzzParseToken feeds arbitrary cookie values to the token parser: it
// must never panic, and a value parses only if it is the one way of
// writing its token.
func FuzzParseToken(f *testing.F) {
	f.Add(token{1, 2, 3}.String())
	f.Add("")
	f.Add("%%%")
	f.Add(token{}.String()[1:])
	f.Add(token{}.String() + "A")
	f.Fuzz(func(t *testing.T, value string) {
		tok, err := parseToken(value)
		if err == nil && tok.String() != value {
			t.Fatalf("%q parsed as %q", value, tok.String())
		}
		if err != nil && !errors.Is(err, apikeys.ErrUnknownKey) {
			t.Fatalf("%q: %v, want an unknown session", value, err)
		}
	})
}

// legacySeal is how sessions were sealed into cookies before they were
// kept in the store (AES-GCM under a key derived from the settings
// table's console_session_key): the way a copy of the database used to
// mint a session for any account.
func legacySeal(t *testing.T, secret, keyHash []byte, accountID int64, expires time.Time) string {
	t.Helper()
	sealKey, err := hkdf.Key(sha256.New, secret, nil, "supply console session seal", 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	plain := append(bytes.Clone(keyHash), make([]byte, 32)...)
	binary.BigEndian.PutUint64(plain[32:], uint64(accountID))
	binary.BigEndian.PutUint64(plain[40:], uint64(expires.Unix()))
	nonce := make([]byte, aead.NonceSize())
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, []byte("supply console session v1")))
}

// copyDatabase is every value in every table of a copy of the console's
// database, as bytes: the SQLite file copied and opened apart, or every
// table of the PostgreSQL database read (what pg_dump would hold).
func copyDatabase(t *testing.T, tc *testConsole) [][]byte {
	t.Helper()
	var db *sql.DB
	switch tc.st.Engine() {
	case store.EngineSQLite:
		dir := t.TempDir()
		for _, name := range []string{store.SQLiteFile, store.SQLiteFile + "-wal"} {
			b, err := os.ReadFile(filepath.Join(tc.opts.DataDir, name))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		var err error
		if db, err = sql.Open("sqlite", "file:"+filepath.Join(dir, store.SQLiteFile)); err != nil {
			t.Fatal(err)
		}
	default:
		var err error
		if db, err = sql.Open("pgx", tc.opts.DatabaseURL); err != nil {
			t.Fatal(err)
		}
	}
	defer db.Close()
	tablesQuery := map[string]string{
		store.EngineSQLite:   "SELECT name FROM sqlite_master WHERE type = 'table'",
		store.EnginePostgres: "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
	}[tc.st.Engine()]
	var tables []string
	rows, err := db.QueryContext(t.Context(), tablesQuery)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var values [][]byte
	for _, table := range tables {
		rows, err := db.QueryContext(t.Context(), `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			cells := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range cells {
				ptrs[i] = &cells[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, c := range cells {
				switch v := c.(type) {
				case []byte:
					values = append(values, v)
				case string:
					values = append(values, []byte(v))
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	return values
}

// cookieValue reports whether v is made of the characters a cookie's
// value may hold (RFC 6265 section 4.1.1).
func cookieValue(v string) bool {
	for _, c := range []byte(v) {
		if c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return v != ""
}

// TestDatabaseCopyMintsNoSession: whoever holds a copy of the database
// (a backup) and the server's code cannot make a cookie the console
// accepts, nor the CSRF token of a session it holds no cookie of. The
// copy is of a database that still has the settings key cookies used to
// be sealed with, and it is tried as that key.
func TestDatabaseCopyMintsNoSession(t *testing.T) {
	forEachEngine(t, func(t *testing.T, tc *testConsole) {
		ctx := t.Context()
		legacyKey, err := tc.st.InitSetting(ctx, "console_session_key", bytes.Repeat([]byte{7}, 32))
		if err != nil {
			t.Fatal(err)
		}
		session := tc.signIn(t)
		tc.requireLive(t, session, "of the real cookie")
		values := copyDatabase(t, tc)
		sess, err := tc.st.ActiveSessions(ctx, tc.account.ID, time.Now())
		if err != nil || len(sess) != 1 {
			t.Fatalf("sessions: %v %v", sess, err)
		}
		tokenHash := sess[0].TokenHash
		if !slices.ContainsFunc(values, func(v []byte) bool { return bytes.Equal(v, tokenHash) }) ||
			!slices.ContainsFunc(values, func(v []byte) bool { return bytes.Equal(v, legacyKey) }) {
			t.Fatalf("the copy (%d values) lacks the session's hash or the settings key", len(values))
		}

		// Every value of the copy, as the cookie in every encoding a
		// cookie could carry it in.
		var forged []string
		for _, v := range values {
			forged = append(forged, string(v), base64.RawURLEncoding.EncodeToString(v), base64.URLEncoding.EncodeToString(v),
				base64.StdEncoding.EncodeToString(v), hex.EncodeToString(v))
		}
		// The old way: sealed with the settings key, for the key and the
		// account of the session, or any hash the copy holds.
		keyRow, err := tc.st.APIKeyByHash(ctx, apikeys.Hash(tc.key))
		if err != nil {
			t.Fatal(err)
		}
		expires := time.Now().Add(time.Hour)
		forged = append(forged, legacySeal(t, legacyKey, keyRow.Hash, tc.account.ID, expires), legacySeal(t, legacyKey, tokenHash, tc.account.ID, expires))
		accepted := 0
		for _, value := range forged {
			if !cookieValue(value) {
				continue // no browser would send it
			}
			cookie := &http.Cookie{Name: CookieName, Value: value}
			if resp, _ := tc.request(t, http.MethodGet, "/resources", nil, cookie); resp.StatusCode != http.StatusUnauthorized {
				accepted++
				t.Errorf("a cookie made from the copy answered %d: %.60q", resp.StatusCode, value)
			}
		}
		if accepted != 0 {
			t.Fatalf("%d of %d forged cookies accepted", accepted, len(forged))
		}

		// The CSRF token is out of the copy's reach as well: a MAC keyed
		// by the stored hash instead of the token is refused.
		m := hmac.New(sha256.New, tokenHash)
		m.Write(csrfLabel)
		guess := base64.RawURLEncoding.EncodeToString(m.Sum(nil))
		path := "/resources/" + uuid.NewString()
		if resp, _ := tc.request(t, http.MethodDelete, path, nil, session, api.CSRFHeader, guess); resp.StatusCode != http.StatusForbidden {
			t.Errorf("DELETE with a CSRF token made from the stored hash: %d, want 403", resp.StatusCode)
		}
		if resp, _ := tc.request(t, http.MethodDelete, path, nil, session, api.CSRFHeader, tc.csrf(t, session)); resp.StatusCode != http.StatusOK {
			t.Errorf("DELETE with the page's CSRF token: %d, want 200", resp.StatusCode)
		}
	})
}

// BenchmarkAuthenticate is what a console API request spends on its
// session (one indexed read of the store, on each engine) beside what a
// Bearer request spends on its key (a cache hit), from 8 goroutines.
func BenchmarkAuthenticate(b *testing.B) {
	for _, engine := range storetest.Engines(b) {
		b.Run(engine, func(b *testing.B) {
			st := storetest.Open(b, engine)
			acct, err := st.EnsureAccount(b.Context(), "bench")
			if err != nil {
				b.Fatal(err)
			}
			key, prefix, hash, err := apikeys.Generate()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.CreateAPIKey(b.Context(), store.APIKey{AccountID: acct.ID, Prefix: prefix, Hash: hash}); err != nil {
				b.Fatal(err)
			}
			sessions := NewSessions(st, time.Hour, nil)
			req := httptest.NewRequest(http.MethodPost, "/signin", nil)
			sess, err := sessions.start(req, key)
			if err != nil {
				b.Fatal(err)
			}
			header := CookieName + "=" + sess.token.String()
			auth := apikeys.NewAuthenticator(keys.New(st).Lookup, 30*time.Second)
			b.Run("session", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(4)
				b.RunParallel(func(p *testing.PB) {
					for p.Next() {
						if k, _, err := sessions.Authenticate(context.Background(), header, "", false); err != nil || k.AccountID != acct.ID {
							b.Error(k, err)
							return
						}
					}
				})
			})
			b.Run("key", func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(4)
				b.RunParallel(func(p *testing.PB) {
					for p.Next() {
						if k, err := auth.Authenticate(context.Background(), key); err != nil || k.AccountID != acct.ID {
							b.Error(k, err)
							return
						}
					}
				})
			})
		})
	}
}
