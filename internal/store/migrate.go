package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
)

// migrate applies the store's migrations in fsys (goose) and then River's own
// (rivermigrate), which ship per engine inside the River driver.
func migrate[TTx any](ctx context.Context, dialect goose.Dialect, db *sql.DB, fsys fs.FS, driver riverdriver.Driver[TTx], logger *slog.Logger) error {
	p, err := goose.NewProvider(dialect, db, fsys)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: logger})
	if err != nil {
		return fmt.Errorf("migrate River: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate River: %w", err)
	}
	return nil
}
