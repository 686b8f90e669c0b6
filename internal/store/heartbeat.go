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

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// How a dead job holder is recognised, on the database's clock alone.
// River's own rescuer waits Options.JobRescueAfter (minutes) because it
// cannot tell a slow job from a dead process; a heartbeat can. Every
// process running jobs beats every Options.Heartbeat (HeartbeatEvery by
// default), writing the database's own time; one whose last beat is
// HolderDeadAfterBeats beats old by the database's time is dead, and the
// jobs it held are made available to the live ones. Clocks of the
// replicas' machines never enter the decision, so a replica whose clock is
// behind does not look dead, nor one whose clock is ahead alive.
//
// A replica fences itself: once it has not managed to beat for
// FenceAfterBeats beats, by its own monotonic clock from the start of its
// last beat that got through, it cancels its running steps and stops
// taking jobs, so it has handed its steps back before anyone may judge it
// dead (the database wrote that beat no earlier than it was sent). It
// starts again, under a new name, with its next beat that gets through.
const (
	HeartbeatEvery       = 2 * time.Second
	FenceAfterBeats      = 3
	HolderDeadAfterBeats = 5
)

// replicas records which job-running processes are alive, per engine, by
// the database's clock.
type replicas interface {
	// beat records that clientID is alive now.
	beat(ctx context.Context, clientID string) error
	// alive lists the processes that have beaten within deadAfter, and
	// says what time it is.
	alive(ctx context.Context, deadAfter time.Duration) (map[string]bool, time.Time, error)
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
// now is the database's time.
func rescueOrphans(ctx context.Context, exec riverdriver.Executor, now time.Time, alive func(holder string) bool) (int, error) {
	stuck, err := exec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{Max: 10_000, StuckHorizon: now.Add(time.Minute)})
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

// liteReplicas keeps heartbeats in SQLite. Times are SQLite's own, written
// as text in one fixed format (strftime's, to the millisecond), so that they
// compare as strings.
type liteReplicas struct{ db *sql.DB }

const liteNow = `strftime('%Y-%m-%d %H:%M:%f', 'now')`

func (r liteReplicas) beat(ctx context.Context, id string) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO replica_heartbeats (client_id, heartbeat_at) VALUES (?, `+liteNow+`)
		ON CONFLICT (client_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, id)
	return err
}

func (r liteReplicas) alive(ctx context.Context, deadAfter time.Duration) (map[string]bool, time.Time, error) {
	var now string
	if err := r.db.QueryRowContext(ctx, `SELECT `+liteNow).Scan(&now); err != nil {
		return nil, time.Time{}, err
	}
	t, err := time.Parse("2006-01-02 15:04:05.000", now)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("the database's time %q: %w", now, err)
	}
	rows, err := r.db.QueryContext(ctx, `SELECT client_id FROM replica_heartbeats WHERE heartbeat_at >= strftime('%Y-%m-%d %H:%M:%f', 'now', ?)`,
		fmt.Sprintf("-%.3f seconds", deadAfter.Seconds()))
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, time.Time{}, err
		}
		out[id] = true
	}
	return out, t, rows.Err()
}

func (r liteReplicas) forget(ctx context.Context, id string) error {
	_, err := r.db.ExecContext(ctx, `DELETE FROM replica_heartbeats WHERE client_id = ? OR heartbeat_at < strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 day')`, id)
	return err
}

// pgReplicas keeps heartbeats in PostgreSQL, on its now().
type pgReplicas struct{ pool *pgxpool.Pool }

func (r pgReplicas) beat(ctx context.Context, id string) error {
	_, err := r.pool.Exec(ctx, `INSERT INTO replica_heartbeats (client_id, heartbeat_at) VALUES ($1, now())
		ON CONFLICT (client_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, id)
	return err
}

func (r pgReplicas) alive(ctx context.Context, deadAfter time.Duration) (map[string]bool, time.Time, error) {
	var now time.Time
	var ids []string
	err := r.pool.QueryRow(ctx, `SELECT now(), coalesce(array_agg(client_id), '{}') FROM replica_heartbeats
		WHERE heartbeat_at >= now() - make_interval(secs => $1)`, deadAfter.Seconds()).Scan(&now, &ids)
	if err != nil {
		return nil, time.Time{}, err
	}
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out, now, nil
}

func (r pgReplicas) forget(ctx context.Context, id string) error {
	// Rows of processes long dead go too, so the table stays small.
	_, err := r.pool.Exec(ctx, `DELETE FROM replica_heartbeats WHERE client_id = $1 OR heartbeat_at < now() - interval '1 day'`, id)
	return err
}
