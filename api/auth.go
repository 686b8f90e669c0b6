package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/apikeys"
)

type accountKey struct{}

// AccountID is the account that made the request; handlers of operations
// that require a key can rely on it being set.
func AccountID(ctx context.Context) int64 {
	id, _ := ctx.Value(accountKey{}).(int64)
	return id
}

// authenticate is the huma middleware that enforces HTTPBearer on every
// operation that declares it, and records the account for handlers, the
// request log and metrics.
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
	addr := clientAddress(ctx.RemoteAddr())
	if a.authFailures != nil {
		// An address that sent too many bad keys learns nothing more,
		// not even whether its next key is good, until it slows down.
		if wait := a.authFailures.wait(addr, time.Now()); wait > 0 {
			a.tooManyFailures(ctx, wait)
			return
		}
	}
	header := ctx.Header("Authorization")
	key, ok := bearerToken(header)
	if !ok {
		a.authFailed(ctx, addr, header != "")
		return
	}
	accountID, err := a.cfg.Auth.Authenticate(ctx.Context(), key)
	switch {
	case errors.Is(err, apikeys.ErrUnknownKey):
		a.authFailed(ctx, addr, true)
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
	if info != nil {
		info.accountID = accountID
	}
	if a.limiter != nil {
		if ok, wait := a.limiter.allow(accountID, time.Now()); !ok {
			ctx.SetHeader("Retry-After", retryAfter(wait))
			_ = huma.WriteErr(a.huma, ctx, http.StatusTooManyRequests, "Too many requests for this account; retry after "+retryAfter(wait)+" s")
			return
		}
	}
	next(huma.WithValue(ctx, accountKey{}, accountID))
}

// authFailed answers a request without a valid key: 401, or 429 when it
// presented credentials and its address has run out of failures.
func (a *API) authFailed(ctx huma.Context, addr string, presented bool) {
	if presented && a.authFailures != nil {
		if ok, wait := a.authFailures.allow(addr, time.Now()); !ok {
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
