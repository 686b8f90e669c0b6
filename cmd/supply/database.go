package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/internal/keys"
	"github.com/gpusupply/supply/internal/logging"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// dbFlags are the flags every command that opens the database shares.
type dbFlags struct {
	dataDir     string
	databaseURL string
}

func (f *dbFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "./supply-data", "directory for the SQLite database, sandbox state and the initial API key")
	cmd.Flags().StringVar(&f.databaseURL, "database-url", "", "postgres:// URL to use PostgreSQL instead of SQLite")
}

func (f *dbFlags) options(migrate bool, log *slog.Logger) store.Options {
	return store.Options{DatabaseURL: f.databaseURL, DataDir: f.dataDir, Migrate: migrate, Logger: log}
}

func migrateCommand() *cobra.Command {
	var db dbFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations once (for multi-replica PostgreSQL deployments)",
		Example: `  supply migrate --database-url postgres://supply@db/supply
  SUPPLY_DATABASE_URL=postgres://supply@db/supply supply migrate`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := store.Migrate(cmd.Context(), db.options(true, newLogger("info"))); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "migrations applied")
			return nil
		},
	}
	db.register(cmd)
	return cmd
}

func keysCommand() *cobra.Command {
	keys := commandGroup(&cobra.Command{Use: "keys", Short: "Manage API keys",
		Example: "  supply keys create --account alice"})
	var db dbFlags
	var account string
	var req supplyapi.APIKeyRequest
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key for an account (the account is created if new) and print it",
		Long: `Create an API key for an account (the account is created if new) and print it. The key is an admin
unless --role says otherwise; an admin key manages the account's other keys over the API (POST /keys).`,
		Example: `  supply keys create --account alice
  supply keys create --account alice --role viewer --name dashboards`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := store.Open(cmd.Context(), db.options(db.databaseURL == "", newLogger("warn")))
			if err != nil {
				return err
			}
			defer st.Close()
			key, err := createKey(cmd.Context(), st, account, req)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), key)
			return nil
		},
	}
	db.register(create)
	create.Flags().StringVar(&account, "account", "", "account the key belongs to (required)")
	create.MarkFlagRequired("account")
	create.Flags().StringVar(&req.Role, "role", string(roles.Admin), "the key's role: admin, member or viewer")
	create.Flags().StringVar(&req.Name, "name", "", "what the key is for (a colleague, a CI job)")
	keys.AddCommand(create)
	return keys
}

// createKey makes a new key for account as req says, with the code POST
// /keys runs; only its hash is stored.
func createKey(ctx context.Context, q keys.Store, account string, req supplyapi.APIKeyRequest) (string, error) {
	acc, err := q.EnsureAccount(ctx, account)
	if err != nil {
		return "", fmt.Errorf("create key: %w", err)
	}
	k, err := keys.New(q).Create(ctx, acc.ID, req)
	if err != nil {
		return "", fmt.Errorf("create key: %w", err)
	}
	return k.Key, nil
}

// initialKeyFile is where the first start leaves the key it made.
const initialKeyFile = "initial-api-key"

// ensureInitialKey gives a brand-new installation one key: account
// "default", printed once and written to <data-dir>/initial-api-key
// (0600). A settings row claimed first makes sure that replicas starting
// together on one PostgreSQL create one key, not one each.
func ensureInitialKey(ctx context.Context, st store.Store, dataDir string, log *slog.Logger) error {
	n, err := st.CountAPIKeys(ctx)
	if err != nil || n > 0 {
		return err
	}
	claim := []byte(fmt.Sprintf("%d", os.Getpid()))
	won, err := st.InitSetting(ctx, "initial_api_key_claim", claim)
	if err != nil {
		return err
	}
	if string(won) != string(claim) {
		return nil
	}
	key, err := createKey(ctx, st, "default", supplyapi.APIKeyRequest{Role: string(roles.Admin), Name: "initial"})
	if err != nil {
		return err
	}
	path := filepath.Join(dataDir, initialKeyFile)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("write initial key: %w", err)
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("write initial key: %w", err)
	}
	// Shown to the person at the terminal, once; where stderr goes to a
	// file or a log collector, the key stays in its 0600 file and the log
	// (JSON lines there, nothing else) says where.
	if logging.IsTerminal(os.Stderr) {
		fmt.Fprintf(os.Stderr, "\n  Created the first API key (account \"default\"); it is shown only once:\n\n    %s\n\n  It is also in %s\n\n", key, path)
	}
	log.Info("created initial API key", "account", "default", "file", path)
	return nil
}
