package store

import (
	"context"
	"testing"
)

// CountRows counts the rows of table through the store's own database handle,
// for tests that look at tables the Store does not expose (River's, goose's).
func CountRows(t testing.TB, s Store, table string) int64 {
	t.Helper()
	query := "SELECT count(*) FROM " + table
	var n int64
	var err error
	switch s := s.(type) {
	case *pgStore:
		err = s.pool.QueryRow(context.Background(), query).Scan(&n)
	case *liteStore:
		err = s.db.QueryRowContext(context.Background(), query).Scan(&n)
	default:
		t.Fatalf("CountRows: unknown store type %T", s)
	}
	if err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}
