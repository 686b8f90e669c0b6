package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// The session operations are extensions of the Supply API: an account
// sees the web console's sign-ins to it and ends any of them, with a key
// or from the console itself.

type sessionKey struct{}

// currentSession is the console session a request was made with; 0 for a
// request with a Bearer key.
func currentSession(ctx context.Context) int64 {
	id, _ := ctx.Value(sessionKey{}).(int64)
	return id
}

type sessionsOutput struct {
	Body []supplyapi.SessionInfo
}

type sessionIDInput struct {
	SessionID int64 `path:"session_id" minimum:"1"`
}

func (a *API) registerSessions() {
	op := operation(roles.Admin, "list_sessions", http.MethodGet, "/sessions", tagAccount, "The account's web console sessions")
	op.Description = "Extension. Every sign-in to the web console that still counts (not expired, not revoked, its key not revoked), " +
		"newest first; current marks the session this request was made with."
	huma.Register(a.huma, op, a.listSessions)
	op = operation(roles.Admin, "revoke_session", http.MethodDelete, "/sessions/{session_id}", tagAccount, "End a web console session")
	op.Description = "Extension. The session's cookie is refused from now on, on every replica."
	op.DefaultStatus = http.StatusNoContent
	huma.Register(a.huma, op, a.revokeSession)
}

func (a *API) listSessions(ctx context.Context, _ *struct{}) (*sessionsOutput, error) {
	ss, err := a.cfg.Sessions.List(ctx, AccountID(ctx))
	if err != nil {
		return nil, a.internalError(ctx, "list sessions", err)
	}
	current := currentSession(ctx)
	out := make([]supplyapi.SessionInfo, 0, len(ss))
	for _, s := range ss {
		out = append(out, supplyapi.SessionInfo{
			ID: s.ID, KeyPrefix: s.KeyPrefix, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt,
			UserAgent: s.UserAgent, Address: s.Address, Current: s.ID == current,
		})
	}
	return &sessionsOutput{Body: out}, nil
}

func (a *API) revokeSession(ctx context.Context, in *sessionIDInput) (*struct{}, error) {
	err := a.cfg.Sessions.Revoke(ctx, AccountID(ctx), in.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(http.StatusNotFound, "Session not found")
	}
	if err != nil {
		return nil, a.internalError(ctx, "revoke session", err)
	}
	return nil, nil
}
