package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/gpusupply/supply/internal/actor"
	"github.com/gpusupply/supply/internal/apikeys"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/internal/store"
)

// requestKey is the context key of the request's apikeys.Key.
type requestKey struct{}

// CSRFHeader is the header that carries a console page's CSRF token on
// requests that authenticate with the session cookie and change state.
const CSRFHeader = "X-CSRF-Token"

var (
	// ErrNoSession is what Sessions.Authenticate answers for a request
	// without a session cookie: to the API, a request without credentials.
	ErrNoSession = errors.New("no session")
	// ErrCSRF is what Sessions.Authenticate answers for a state-changing
	// request whose CSRF token does not belong to its session (403).
	ErrCSRF = errors.New("CSRF token missing or invalid")
	// ErrTooManyFailures is CheckKey's answer to an address that sent too
	// many invalid keys.
	ErrTooManyFailures = errors.New("too many invalid API keys from this address")
)

// Sessions authenticates browser sessions, the web console's cookies, in
// place of an API key on requests that have no Authorization header.
// Requests with a Bearer key never look at cookies.
type Sessions interface {
	// Authenticate returns the key a session in cookies (a Cookie header)
	// was opened with, as it is now, and the session's id. It fails with
	// ErrNoSession when there is no session cookie; with an error wrapping
	// apikeys.ErrUnknownKey when the session is not valid, has expired or
	// was revoked, or its key was or has expired; and, when unsafe (the
	// request changes state), with an error wrapping ErrCSRF unless
	// csrfToken is the session's token.
	Authenticate(ctx context.Context, cookies, csrfToken string, unsafe bool) (key apikeys.Key, sessionID int64, err error)
	// List is GET /sessions: the account's sessions that count now.
	List(ctx context.Context, accountID int64) ([]store.Session, error)
	// Revoke is DELETE /sessions/{id}: it ends the account's session id,
	// failing with an error wrapping store.ErrNotFound if the account has
	// no such session.
	Revoke(ctx context.Context, accountID, id int64) error
}

// AccountID is the account of the key that made the request (or opened
// its console session); handlers of operations that require a key can rely
// on it being set.
func AccountID(ctx context.Context) int64 {
	k, _ := ctx.Value(requestKey{}).(apikeys.Key)
	return k.AccountID
}

// authenticate is the huma middleware that enforces HTTPBearer on every
// operation that declares it and the role the operation needs, and
// records the key for handlers (AccountID, and actor.From for the code
// they call), the request log and metrics.
func (a *API) authenticate(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	info := requestInfoFrom(ctx.Context())
	if info != nil {
		info.operation = op.OperationID
	}
	if len(op.Security) == 0 {
		next(ctx)
		return
	}
	r, _ := humago.Unwrap(ctx)
	addr := a.clientKey(r)
	now := time.Now()
	wait := a.failureWait(addr, now)
	key, sessionID, presented, err := a.credentials(ctx, wait > 0)
	switch {
	case errors.Is(err, ErrCSRF):
		_ = huma.WriteErr(a.huma, ctx, http.StatusForbidden, "CSRF token missing or invalid: a request with the console's session cookie that changes anything must carry the page's token in "+CSRFHeader)
		return
	case errors.Is(err, apikeys.ErrUnknownKey) && presented && wait > 0:
		a.tooManyFailures(ctx, wait)
		return
	case errors.Is(err, apikeys.ErrUnknownKey):
		a.authFailed(ctx, addr, presented, now)
		return
	case err != nil && clientGone(ctx.Context(), "authenticate", err):
		_ = huma.WriteErr(a.huma, ctx, errClientGone.status, errClientGone.Error())
		return
	case err != nil:
		a.log.ErrorContext(ctx.Context(), "authenticate", "error", err)
		ctx.SetHeader("Retry-After", unavailableRetryAfter)
		_ = huma.WriteErr(a.huma, ctx, http.StatusServiceUnavailable, "Authentication is unavailable, try again later")
		return
	}
	who := actor.Actor{KeyID: key.ID, Name: key.Name, Tool: toolName(ctx.Header(actor.ToolHeader))}
	if info != nil {
		info.accountID, info.key = key.AccountID, who
	}
	if a.limiter != nil {
		if ok, wait := a.limiter.allow(key.AccountID, time.Now()); !ok {
			ctx.SetHeader("Retry-After", retryAfter(wait))
			_ = huma.WriteErr(a.huma, ctx, http.StatusTooManyRequests, "Too many requests for this account; retry after "+retryAfter(wait)+" s")
			return
		}
	}
	need, _ := op.Metadata[roleKey].(roles.Role)
	if have := a.role(key); !have.Includes(need) {
		_ = huma.WriteErr(a.huma, ctx, http.StatusForbidden, forbidden(have, need, op))
		return
	}
	if sessionID != 0 {
		ctx = huma.WithValue(ctx, sessionKey{}, sessionID)
	}
	ctx = huma.WithContext(ctx, actor.With(ctx.Context(), who))
	next(huma.WithValue(ctx, requestKey{}, key))
}

// toolName is the MCP tool a request names (actor.ToolHeader): a tool's
// name, which is a word, or nothing, so that a client cannot write
// anything else into the log under it.
func toolName(h string) string {
	if len(h) > 64 || strings.IndexFunc(h, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z') }) >= 0 {
		return ""
	}
	return h
}

// role is what key may do: its role, or roles.Operator for an admin key of
// the operator account.
func (a *API) role(key apikeys.Key) roles.Role {
	if key.Role == roles.Admin && a.cfg.OperatorAccount != 0 && key.AccountID == a.cfg.OperatorAccount {
		return roles.Operator
	}
	return key.Role
}

// forbidden is the detail of a 403 for a key of role have calling op, which
// needs need: what the key is, and what it lacks.
func forbidden(have, need roles.Role, op *huma.Operation) string {
	if need == "" {
		// Not a key's fault: an operation registered without a role
		// refuses everyone rather than serve anyone.
		return fmt.Sprintf("%s %s declares no role, so no key may call it", op.Method, op.Path)
	}
	if need == roles.Operator {
		return fmt.Sprintf("This API key's role is %s; %s %s needs an admin key of the server's operator account", have, op.Method, op.Path)
	}
	return fmt.Sprintf("This API key's role is %s, which lacks %s: %s %s needs a key whose role is %s or above", have, need, op.Method, op.Path, need)
}

// Limiting invalid keys per client address. What an attacker can do, and
// what each answer costs it:
//
//   - Guess keys. A key is 238 random bits, so guessing is hopeless at any
//     rate; the limit keeps it from costing the database a lookup per
//     guess. Once an address is limited (failureWait > 0), a key it sends
//     is checked only if this process has found it valid before, or
//     within a small budget of lookups shared by every limited address
//     (apikeys.Authenticator.AuthenticateKnown): past it a guess is a 429
//     without a lookup, repeated or new, and so is a known key once
//     revoked.
//   - Lock others out. Clients behind one NAT, or behind a proxy whose
//     address is not in --trusted-proxies, share an address; one of them
//     sending bad keys must not shut the others out. A valid key is
//     therefore served even from a limited address, answered from the
//     authenticator's cache (one lookup per cache time, not per request),
//     and never counts against the address.
//   - Spoof X-Forwarded-For. It is read only from a peer in
//     --trusted-proxies, and only its hops that such proxies appended, so a
//     client cannot pick a fresh address per request to escape its bucket,
//     nor name another client's to use up that one's.
//   - Flood with ever new addresses (an IPv6 /48 holds 65,536 /64s). The
//     table of buckets is bounded; addresses that find it full of busy
//     buckets share one overflow bucket, so the flood is limited as one.
//
// What is left: a valid key this process has never seen (the first request
// after a restart, or a key made meanwhile) from an address that is being
// limited is served while that budget lasts (10, then 2 a second); when
// guesses from limited addresses spend it faster, the key waits like a bad
// one until its address's bucket refills. A console
// session cookie is looked up even then: it is one read by the hash of 256
// random bits, which no guess finds, and a cookie that is not a well-formed
// token is refused before any lookup.

// failureWait is how long the client address addr must wait before an
// invalid key of its is looked up again: zero unless it is limited.
func (a *API) failureWait(addr string, now time.Time) time.Duration {
	if a.authFailures == nil {
		return 0
	}
	return a.authFailures.wait(addr, now)
}

// credentials finds the key of a request: its Bearer key, or, with no
// Authorization header at all, the key its console session was opened
// with (then sessionID is the session's). presented says whether the
// request carried credentials of either kind; an error wrapping
// apikeys.ErrUnknownKey means they were missing or not valid. From a
// limited address (limited) only a key known to be valid is looked up.
func (a *API) credentials(ctx huma.Context, limited bool) (key apikeys.Key, sessionID int64, presented bool, err error) {
	header := ctx.Header("Authorization")
	if token, ok := bearerToken(header); ok {
		check := a.cfg.Auth.Authenticate
		if limited {
			check = a.cfg.Auth.AuthenticateKnown
		}
		key, err = check(ctx.Context(), token)
		return key, 0, true, err
	}
	if header != "" || a.cfg.Sessions == nil {
		return apikeys.Key{}, 0, header != "", apikeys.ErrUnknownKey
	}
	unsafe := !safeMethod(ctx.Method())
	key, sessionID, err = a.cfg.Sessions.Authenticate(ctx.Context(), ctx.Header("Cookie"), ctx.Header(CSRFHeader), unsafe)
	if errors.Is(err, ErrNoSession) {
		return apikeys.Key{}, 0, false, apikeys.ErrUnknownKey
	}
	return key, sessionID, true, err
}

// safeMethod reports whether method only reads (RFC 9110 section 9.2.1),
// so that a session may use it without a CSRF token.
func safeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// CheckKey checks an API key that came other than in an Authorization
// header (the console's sign-in form, r) as the middleware checks a Bearer
// key: from the same client address, under the same limit on invalid keys,
// so that a form is no faster a way to guess keys than the API. It fails
// with an error wrapping apikeys.ErrUnknownKey or ErrTooManyFailures.
func (a *API) CheckKey(r *http.Request, key string) (apikeys.Key, error) {
	addr := a.clientKey(r)
	now := time.Now()
	if wait := a.failureWait(addr, now); wait > 0 {
		k, err := a.cfg.Auth.AuthenticateKnown(r.Context(), key)
		if errors.Is(err, apikeys.ErrUnknownKey) {
			return apikeys.Key{}, fmt.Errorf("retry after %s s: %w", retryAfter(wait), ErrTooManyFailures)
		}
		return k, err
	}
	k, err := a.cfg.Auth.Authenticate(r.Context(), key)
	if errors.Is(err, apikeys.ErrUnknownKey) && a.authFailures != nil {
		if ok, wait := a.authFailures.allow(addr, now); !ok {
			return apikeys.Key{}, fmt.Errorf("retry after %s s: %w", retryAfter(wait), ErrTooManyFailures)
		}
	}
	return k, err
}

// authFailed answers a request without a valid key: 401, or 429 when it
// presented credentials and its address has just run out of failures.
func (a *API) authFailed(ctx huma.Context, addr string, presented bool, now time.Time) {
	if presented && a.authFailures != nil {
		if ok, wait := a.authFailures.allow(addr, now); !ok {
			a.tooManyFailures(ctx, wait)
			return
		}
	}
	ctx.SetHeader("WWW-Authenticate", "Bearer")
	_ = huma.WriteErr(a.huma, ctx, http.StatusUnauthorized, "Not authenticated")
}

func (a *API) tooManyFailures(ctx huma.Context, wait time.Duration) {
	ctx.SetHeader("Retry-After", retryAfter(wait))
	_ = huma.WriteErr(a.huma, ctx, http.StatusTooManyRequests,
		"Too many requests with invalid API keys from this address; retry after "+retryAfter(wait)+" s")
}

// bearerToken extracts the credentials of an "Authorization: Bearer <key>"
// header; the scheme is case-insensitive, as in FastAPI.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
