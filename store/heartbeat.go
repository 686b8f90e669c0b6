package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// How quickly a dead job holder is recognised. River's own rescuer waits
// Options.JobRescueAfter (minutes) because it cannot tell a slow job from
// a dead process; a heartbeat can. Every process running jobs beats every
// HeartbeatEvery; one that has not beaten for HolderDeadAfter is dead, and
// the jobs it held are made available to the live ones.
const (
	HeartbeatEvery  = 5 * time.Second
	HolderDeadAfter = 30 * time.Second
)

// replicas records which job-running processes are alive, per engine.
type replicas interface {
	beat(ctx context.Context, clientID string, at time.Time) error
	// alive lists the processes that have beaten since then.
	alive(ctx context.Context, since time.Time) (map[string]bool, error)
	forget(ctx context.Context, clientID string) error
}

// newClientID names this process's River client, which River writes into
// every job it runs (attempted_by): host, pid and a random part, so that a
// restarted process never inherits a dead one's name.
func newClientID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// rescueOrphans makes every running job whose holder is not alive
// available again at once, the way River's rescuer would after its delay.
func rescueOrphans(ctx context.Context, exec riverdriver.Executor, alive func(holder string) bool) (int, error) {
	now := time.Now().UTC()
	stuck, err := exec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{Max: 10_000, StuckHorizon: now})
	if err != nil {
		return 0, fmt.Errorf("list running jobs: %w", err)
	}
	params := &riverdriver.JobRescueManyParams{StuckHorizon: now}
	for _, job := range stuck {
		holder := ""
		if n := len(job.AttemptedBy); n > 0 {
			holder = job.AttemptedBy[n-1]
		}
		if alive(holder) {
			continue
		}
		msg, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: job.Attempt, Error: "taken over: the process running it (" + holder + ") is gone"})
		if err != nil {
			return 0, err
		}
		params.ID = append(params.ID, job.ID)
		params.Error = append(params.Error, msg)
		params.FinalizedAt = append(params.FinalizedAt, nil)
		params.ScheduledAt = append(params.ScheduledAt, now)
		params.State = append(params.State, string(rivertype.JobStateAvailable))
	}
	if len(params.ID) == 0 {
		return 0, nil
	}
	if _, err := exec.JobRescueMany(ctx, params); err != nil {
		return 0, fmt.Errorf("take over jobs: %w", err)
	}
	return len(params.ID), nil
}

// liteReplicas keeps heartbeats in SQLite. Times are written as text in
// one fixed format, so that they compare as strings.
type liteReplicas struct{ db *sql.DB }

const liteTime = "2006-01-02 15:04:05.000000"

func (r liteReplicas) beat(ctx context.Context, id string, at time.Time) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO replica_heartbeats (client_id, heartbeat_at) VALUES (?, ?)
		ON CONFLICT (client_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, id, at.UTC().Format(liteTime))
	return err
}

func (r liteReplicas) alive(ctx context.Context, since time.Time) (map[string]bool, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT client_id FROM replica_heartbeats WHERE heartbeat_at >= ?`, since.UTC().Format(liteTime))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

func (r liteReplicas) forget(ctx context.Context, id string) error {
	_, err := r.db.ExecContext(ctx, `DELETE FROM replica_heartbeats WHERE client_id = ? OR heartbeat_at < ?`,
		id, time.Now().Add(-24*time.Hour).UTC().Format(liteTime))
	return err
}

// pgReplicas keeps heartbeats in PostgreSQL.
type pgReplicas struct{ pool *pgxpool.Pool }

func (r pgReplicas) beat(ctx context.Context, id string, at time.Time) error {
	_, err := r.pool.Exec(ctx, `INSERT INTO replica_heartbeats (client_id, heartbeat_at) VALUES ($1, $2)
		ON CONFLICT (client_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, id, at)
	return err
}

func (r pgReplicas) alive(ctx context.Context, since time.Time) (map[string]bool, error) {
	rows, err := r.pool.Query(ctx, `SELECT client_id FROM replica_heartbeats WHERE heartbeat_at >= $1`, since)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out, err
}

func (r pgReplicas) forget(ctx context.Context, id string) error {
	// Rows of processes long dead go too, so the table stays small.
	_, err := r.pool.Exec(ctx, `DELETE FROM replica_heartbeats WHERE client_id = $1 OR heartbeat_at < $2`, id, time.Now().Add(-24*time.Hour))
	return err
}
