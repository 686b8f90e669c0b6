package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/gpusupply/supply/internal/store/litedb"
	"github.com/gpusupply/supply/internal/store/pgdb"
)

// Session is a sign-in to the web console. The browser holds a random
// token; the store holds only its SHA-256 (TokenHash), so that a copy of
// the database opens no session. A session counts while it has not
// expired and the API key that opened it is not revoked.
type Session struct {
	ID        int64
	AccountID int64
	// APIKeyID is the key the session was opened with; KeyPrefix, KeyName
	// and KeyRole are that key's display prefix, name and role as they
	// are now (read with the session, not stored with it).
	APIKeyID  int64
	KeyPrefix string
	KeyName   string
	KeyRole   string
	TokenHash []byte
	CreatedAt time.Time
	// LastSeenAt is moved forward by TouchSession, as often as the caller
	// chooses.
	LastSeenAt time.Time
	ExpiresAt  time.Time
	// UserAgent and Address are what the browser said when it signed in.
	UserAgent string
	Address   string
}

// SessionQueries are the reads and writes of console sessions.
type SessionQueries interface {
	// CreateSession stores s as given (TokenHash, AccountID, APIKeyID,
	// CreatedAt, ExpiresAt, UserAgent, Address), last seen when created,
	// and returns it with its ID.
	CreateSession(ctx context.Context, s Session) (Session, error)
	// ActiveSession is the session of tokenHash, with its key's prefix,
	// name and role; ErrNotFound when there is none, it expired by now,
	// or its key was revoked or expired by now.
	ActiveSession(ctx context.Context, tokenHash []byte, now time.Time) (Session, error)
	// ActiveSessions are the account's sessions that count at now,
	// newest first.
	ActiveSessions(ctx context.Context, accountID int64, now time.Time) ([]Session, error)
	// TouchSession moves the session's LastSeenAt forward to at.
	TouchSession(ctx context.Context, id int64, at time.Time) error
	// EndSession deletes the session of tokenHash, if there is one.
	EndSession(ctx context.Context, tokenHash []byte) error
	// DeleteSession deletes the account's session id; ErrNotFound if the
	// account has no session with that id.
	DeleteSession(ctx context.Context, accountID, id int64) error
	// DeleteEndedSessions deletes the sessions that expired by now and
	// those of revoked keys, and returns how many went.
	DeleteEndedSessions(ctx context.Context, now time.Time) (int64, error)
}

// sessionsGenerated is the part of generated for sessions.
type sessionsGenerated interface {
	InsertSession(ctx context.Context, tokenHash []byte, accountID, apiKeyID int64, createdAt, expiresAt time.Time, userAgent, address string) (int64, error)
	ActiveSessionByTokenHash(ctx context.Context, tokenHash []byte, now time.Time) (sessionRow, error)
	ActiveSessionsByAccount(ctx context.Context, accountID int64, now time.Time) ([]sessionRow, error)
	TouchSession(ctx context.Context, lastSeenAt time.Time, id int64) error
	DeleteSessionByTokenHash(ctx context.Context, tokenHash []byte) error
	DeleteAccountSession(ctx context.Context, id, accountID int64) (int64, error)
	DeleteEndedSessions(ctx context.Context, now time.Time) (int64, error)
}

// sessionRow is a session as both engines' sqlc code reads it.
type sessionRow struct {
	ID         int64
	AccountID  int64
	ApiKeyID   int64
	KeyPrefix  string
	TokenHash  []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	UserAgent  string
	Address    string
	KeyName    string
	KeyRole    string
}

func (r sessionRow) session() Session {
	return Session{
		ID: r.ID, AccountID: r.AccountID, APIKeyID: r.ApiKeyID, KeyPrefix: r.KeyPrefix, KeyName: r.KeyName, KeyRole: r.KeyRole, TokenHash: r.TokenHash,
		CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt, ExpiresAt: r.ExpiresAt, UserAgent: r.UserAgent, Address: r.Address,
	}
}

func (q queries) CreateSession(ctx context.Context, s Session) (Session, error) {
	s.CreatedAt, s.ExpiresAt = dbTime(s.CreatedAt), dbTime(s.ExpiresAt)
	s.LastSeenAt = s.CreatedAt
	id, err := q.db.InsertSession(ctx, s.TokenHash, s.AccountID, s.APIKeyID, s.CreatedAt, s.ExpiresAt, s.UserAgent, s.Address)
	s.ID = id
	return s, wrap(err, "create session of account %d", s.AccountID)
}

func (q queries) ActiveSession(ctx context.Context, tokenHash []byte, at time.Time) (Session, error) {
	r, err := q.db.ActiveSessionByTokenHash(ctx, tokenHash, dbTime(at))
	return r.session(), wrap(err, "session by token")
}

func (q queries) ActiveSessions(ctx context.Context, accountID int64, at time.Time) ([]Session, error) {
	rows, err := q.db.ActiveSessionsByAccount(ctx, accountID, dbTime(at))
	if err != nil {
		return nil, wrap(err, "sessions of account %d", accountID)
	}
	return convertRows(rows, sessionRow.session), nil
}

func (q queries) TouchSession(ctx context.Context, id int64, at time.Time) error {
	return wrap(q.db.TouchSession(ctx, dbTime(at), id), "touch session %d", id)
}

func (q queries) EndSession(ctx context.Context, tokenHash []byte) error {
	return wrap(q.db.DeleteSessionByTokenHash(ctx, tokenHash), "end session")
}

func (q queries) DeleteSession(ctx context.Context, accountID, id int64) error {
	n, err := q.db.DeleteAccountSession(ctx, id, accountID)
	if err == nil && n == 0 {
		err = sql.ErrNoRows
	}
	return wrap(err, "delete session %d of account %d", id, accountID)
}

func (q queries) DeleteEndedSessions(ctx context.Context, at time.Time) (int64, error) {
	n, err := q.db.DeleteEndedSessions(ctx, dbTime(at))
	return n, wrap(err, "delete sessions ended by %s", at.Format(time.RFC3339))
}

// The engines' adapters: rows converted.

func (e pgQueries) ActiveSessionByTokenHash(ctx context.Context, tokenHash []byte, at time.Time) (sessionRow, error) {
	r, err := e.Queries.ActiveSessionByTokenHash(ctx, tokenHash, at)
	return sessionRow(r), err
}

func (e pgQueries) ActiveSessionsByAccount(ctx context.Context, accountID int64, at time.Time) ([]sessionRow, error) {
	rows, err := e.Queries.ActiveSessionsByAccount(ctx, accountID, at)
	return convertRows(rows, func(r pgdb.ActiveSessionsByAccountRow) sessionRow { return sessionRow(r) }), err
}

func (e liteQueries) ActiveSessionByTokenHash(ctx context.Context, tokenHash []byte, at time.Time) (sessionRow, error) {
	r, err := e.Queries.ActiveSessionByTokenHash(ctx, tokenHash, at)
	return sessionRow(r), err
}

func (e liteQueries) ActiveSessionsByAccount(ctx context.Context, accountID int64, at time.Time) ([]sessionRow, error) {
	rows, err := e.Queries.ActiveSessionsByAccount(ctx, accountID, at)
	return convertRows(rows, func(r litedb.ActiveSessionsByAccountRow) sessionRow { return sessionRow(r) }), err
}
