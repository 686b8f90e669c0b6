package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/store"
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

// SessionInfo is a sign-in to the web console, as GET /sessions lists it.
type SessionInfo struct {
	ID         int64     `json:"id"`
	KeyPrefix  string    `json:"key_prefix" doc:"The first characters of the API key the session was opened with"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at" doc:"When the session was last used, to the minute"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent" doc:"The browser's User-Agent at sign-in, cut to 200 bytes"`
	Address    string    `json:"address" doc:"The address the sign-in came from"`
	Current    bool      `json:"current" doc:"Whether this request was made with this session"`
}

type sessionsOutput struct {
	Body []SessionInfo
}

type sessionIDInput struct {
	SessionID int64 `path:"session_id" minimum:"1"`
}

func (a *API) registerSessions() {
	op := operation("list_sessions", http.MethodGet, "/sessions", tagAccount, "The account's web console sessions")
	op.Description = "Extension. Every sign-in to the web console that still counts (not expired, not revoked, its key not revoked), " +
		"newest first; current marks the session this request was made with."
	huma.Register(a.huma, op, a.listSessions)
	op = operation("revoke_session", http.MethodDelete, "/sessions/{session_id}", tagAccount, "End a web console session")
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
	out := make([]SessionInfo, 0, len(ss))
	for _, s := range ss {
		out = append(out, SessionInfo{
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
