package console

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/api"
	"github.com/gpusupply/supply/apikeys"
	"github.com/gpusupply/supply/offers"
	"github.com/gpusupply/supply/provision"
)

const testAccount = 7

// provisionService deletes anything and remembers what; the console's
// tests are about who may ask, not about deleting. The embedded interface
// stands for the extensions no console test reaches (calling one panics).
type provisionService struct {
	api.ProvisionService
	mu      sync.Mutex
	deleted []uuid.UUID
}

func (p *provisionService) Procure(context.Context, int64, string, provision.ProcureRequest) (provision.ProcureResponse, error) {
	return provision.ProcureResponse{}, provision.ErrNotFound
}

func (p *provisionService) OfferStatus(context.Context, int64, uuid.UUID) (provision.OfferStatus, error) {
	return provision.OfferStatus{}, provision.ErrNotFound
}

func (p *provisionService) Resources(context.Context, int64, provision.ResourceFilter) ([]provision.ResourceSummary, error) {
	return nil, nil
}

func (p *provisionService) Resource(context.Context, int64, uuid.UUID, bool) (provision.ResourceSummary, error) {
	return provision.ResourceSummary{}, provision.ErrNotFound
}

func (p *provisionService) Delete(_ context.Context, _ int64, id uuid.UUID, _ bool) (provision.DeleteResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deleted = append(p.deleted, id)
	return provision.DeleteResponse{ResourceID: id, Status: "deleting"}, nil
}

func (p *provisionService) deletes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.deleted)
}

type offerService struct{}

func (offerService) Answer(context.Context, int64, offers.Query) (*offers.Answer, error) {
	return nil, offers.ErrNotFound
}

func (offerService) Details(context.Context, int64, uuid.UUID) (offers.Details, error) {
	return offers.Details{}, offers.ErrNotFound
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
	key       string
	log       *syncBuffer
	provision *provisionService
	mu        sync.Mutex
	revoked   bool
}

func (tc *testConsole) revoke() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.revoked = true
}

// newConsole serves the API and the console the way cmd/supply wires
// them, with an authenticator that does not cache, so that a revoked key
// is noticed at once.
func newConsole(t *testing.T, mod ...func(*api.Config)) *testConsole {
	t.Helper()
	key, _, hash, err := apikeys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	tc := &testConsole{key: key, log: &syncBuffer{}, provision: &provisionService{}}
	auth := apikeys.NewAuthenticator(func(_ context.Context, h []byte) (int64, []byte, error) {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		if tc.revoked || !bytes.Equal(h, hash) {
			return 0, nil, apikeys.ErrUnknownKey
		}
		return testAccount, hash, nil
	}, 0)
	sessions, err := NewSessions(bytes.Repeat([]byte{1}, 32), auth, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(tc.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := api.Config{
		Auth: auth, Sessions: sessions, Ready: func(context.Context) error { return nil },
		Offers: offerService{}, Provision: tc.provision, Logger: log, Version: "test",
	}
	for _, m := range mod {
		m(&cfg)
	}
	a := api.New(cfg)
	Register(Config{API: a, Sessions: sessions, Sandbox: true, Logger: log})
	tc.Server = httptest.NewServer(a.Handler())
	t.Cleanup(tc.Close)
	return tc
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

// signIn signs in with key and returns the session cookie as the server
// set it.
func (tc *testConsole) signIn(t *testing.T, header ...string) *http.Cookie {
	t.Helper()
	resp, body := tc.request(t, http.MethodPost, "/signin", url.Values{"api_key": {tc.key}}, nil, header...)
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
	tc := newConsole(t)
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
	tc := newConsole(t)
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
// count against the API's per-address limit on invalid keys.
func TestSignInIsNoFasterWayToGuessKeys(t *testing.T) {
	tc := newConsole(t, func(c *api.Config) { c.AuthFailureRate, c.AuthFailureBurst = 0.001, 3 })
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
	// The API answers the same address in kind, even for a good key.
	if resp, _ := tc.request(t, http.MethodPost, "/signin", url.Values{"api_key": {tc.key}}, nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("good key after too many bad ones: %d, want 429", resp.StatusCode)
	}
	if resp, _ := tc.request(t, http.MethodGet, "/resources", nil, nil, "Authorization", "Bearer "+tc.key); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("Bearer request after too many bad keys in the form: %d, want 429", resp.StatusCode)
	}
}

func TestSignOut(t *testing.T) {
	tc := newConsole(t)
	session := tc.signIn(t)
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
}

func TestRevokedKeyEndsSession(t *testing.T) {
	tc := newConsole(t)
	session := tc.signIn(t)
	tc.revoke()
	resp, _ := tc.request(t, http.MethodGet, "/", nil, session)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" {
		t.Fatalf("page after the key was revoked: %d %s, want 303 to /signin", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := tc.request(t, http.MethodGet, "/resources", nil, session); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API after the key was revoked: %d, want 401", resp.StatusCode)
	}
}

var (
	inlineScript = regexp.MustCompile(`<script(?:\s[^>]*)?>`)
	inlineStyle  = regexp.MustCompile(`(?i)\sstyle=|<style|\son[a-z]+=`)
)

func TestEveryPageHasCSP(t *testing.T) {
	tc := newConsole(t)
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

func TestKeyInNoURLAndNoLog(t *testing.T) {
	tc := newConsole(t)
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

// FuzzOpenSession feeds arbitrary cookie values to the session parser: it
// must never panic, and only a value it sealed may open, unchanged.
func FuzzOpenSession(f *testing.F) {
	s, err := NewSessions(bytes.Repeat([]byte{1}, 32), nil, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	want := session{accountID: 1, expires: time.Unix(4_000_000_000, 0), id: [16]byte{9}}
	sealed := s.seal(want)
	f.Add(sealed)
	f.Add("")
	f.Add("%%%")
	f.Add(sealed[:len(sealed)-1])
	f.Fuzz(func(t *testing.T, value string) {
		// Fuzzing workers seal their own copy (another nonce), so what
		// opens is checked by content: a tampered value would differ.
		sess, err := s.open(value)
		if err == nil && sess != want {
			t.Fatalf("%q opened as %+v", value, sess)
		}
	})
}
