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
	key, ok := bearerToken(ctx.Header("Authorization"))
	if !ok {
		a.notAuthenticated(ctx)
		return
	}
	accountID, err := a.cfg.Auth.Authenticate(ctx.Context(), key)
	switch {
	case errors.Is(err, apikeys.ErrUnknownKey):
		a.notAuthenticated(ctx)
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

func (a *API) notAuthenticated(ctx huma.Context) {
	ctx.SetHeader("WWW-Authenticate", "Bearer")
	_ = huma.WriteErr(a.huma, ctx, http.StatusUnauthorized, "Not authenticated")
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
