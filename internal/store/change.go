package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// changeTries bounds how often a change is re-applied while other writers
// keep winning. On SQLite writers are serialised, so a change inside a
// transaction never conflicts; on PostgreSQL a few tries, each after a
// random wait that doubles, settle any real contention, and more would
// only hide a writer that never stops.
const changeTries = 10

// ChangeResource is how a resource is changed when the change does not
// depend on a decision already taken elsewhere: it reads the row through
// q, lets change edit it and writes it over the version it read. When
// another writer got there first it reads again and asks change again, so
// change always decides on the row as it is, and nothing another writer set
// is written back over. change returns false to leave the row as it is.
// ChangeResource returns the row as it ended (written or left) and whether
// change wrote it.
//
// Inside a transaction pass the transaction as q: on PostgreSQL a re-read
// in the same transaction sees what the winner committed.
func ChangeResource(ctx context.Context, q Queries, id string, change func(*Resource) bool) (Resource, bool, error) {
	return changeRow(ctx, "resource "+id,
		func(ctx context.Context) (Resource, error) { return q.ResourceByID(ctx, id) },
		q.UpdateResource, change)
}

// ChangeProcurement is ChangeResource for the procurement of offerID.
func ChangeProcurement(ctx context.Context, q Queries, offerID string, change func(*Procurement) bool) (Procurement, bool, error) {
	return changeRow(ctx, "procurement "+offerID,
		func(ctx context.Context) (Procurement, error) { return q.ProcurementByOffer(ctx, offerID) },
		q.UpdateProcurement, change)
}

// changeRow reads, changes and writes one row until a write wins.
func changeRow[T any](ctx context.Context, what string, read func(context.Context) (T, error),
	write func(context.Context, T) (T, error), change func(*T) bool) (T, bool, error) {
	var zero T
	for try := range changeTries {
		row, err := read(ctx)
		if err != nil {
			return zero, false, err
		}
		if !change(&row) {
			return row, false, nil
		}
		out, err := write(ctx, row)
		if err == nil {
			return out, true, nil
		}
		if !errors.Is(err, ErrConflict) {
			return zero, false, err
		}
		// Two writers that lost to each other would meet again at once:
		// a random wait lets one of them through.
		if err := sleepJittered(ctx, try); err != nil {
			return zero, false, err
		}
	}
	return zero, false, fmt.Errorf("change %s: other writers changed it %d times in a row: %w", what, changeTries, ErrConflict)
}

// sleepJittered waits a random time below 2^try × 100 µs (at most about
// 50 ms), or until ctx ends.
func sleepJittered(ctx context.Context, try int) error {
	d := time.Duration(rand.Int64N(int64(100*time.Microsecond) << min(try, 9)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
