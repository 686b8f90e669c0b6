package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gpusupply/supply/internal/store"
)

// TestDatabaseOutageIs503: with its PostgreSQL database refusing
// connections, the server answers 503 with Retry-After (which clients
// retry), never 500, and serves again once the database is back.
func TestDatabaseOutageIs503(t *testing.T) {
	s := Start(t, store.EnginePostgres)
	s.JSON(t, http.MethodGet, "/resources", "", nil, http.StatusOK, nil) // the key is now cached

	u, err := url.Parse(s.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`ALTER DATABASE "` + db + `" ALLOW_CONNECTIONS false`)
	exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '` + db + `' AND pid <> pg_backend_pid()`)
	restored := false
	restore := func() {
		if !restored {
			restored = true
			exec(`ALTER DATABASE "` + db + `" ALLOW_CONNECTIONS true`)
		}
	}
	defer restore()

	for _, path := range []string{"/resources", "/readyz"} {
		code, header, body := s.Do(t, http.MethodGet, path, "", nil)
		if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"detail"`) {
			t.Errorf("GET %s with the database down: %d %s, want 503 with a detail", path, code, body)
		}
		if path == "/resources" && header.Get("Retry-After") == "" {
			t.Errorf("GET %s with the database down: no Retry-After", path)
		}
	}

	restore()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, body := s.Do(t, http.MethodGet, "/resources", "", nil)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the database came back: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
