package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
)

// forEachEngine runs test as a parallel subtest per engine, each on a fresh
// store. Tests spend their time waiting on the database, so they all run in
// parallel.
func forEachEngine(t *testing.T, test func(t *testing.T, s store.Store)) {
	t.Parallel()
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, engine)
			if got := s.Engine(); got != engine {
				t.Fatalf("Engine() = %q, want %q", got, engine)
			}
			test(t, s)
		})
	}
}

// requireUTCMicro fails unless t is in UTC, at microsecond precision, within [from, to].
func requireUTCMicro(t *testing.T, what string, got, from, to time.Time) {
	t.Helper()
	if got.Location() != time.UTC || got.Nanosecond()%1000 != 0 {
		t.Errorf("%s = %v in location %v, want UTC with microsecond precision", what, got, got.Location())
	}
	if got.Before(from.Truncate(time.Microsecond)) || got.After(to) {
		t.Errorf("%s = %v, want within [%v, %v]", what, got, from, to)
	}
}

func TestAccounts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		before := time.Now()
		alice, err := s.EnsureAccount(ctx, "alice")
		if err != nil {
			t.Fatalf("EnsureAccount: %v", err)
		}
		requireUTCMicro(t, "CreatedAt", alice.CreatedAt, before, time.Now())

		again, err := s.EnsureAccount(ctx, "alice")
		if err != nil || again != alice {
			t.Fatalf("EnsureAccount again = %+v, %v; want %+v", again, err, alice)
		}
		bob, err := s.EnsureAccount(ctx, "bob")
		if err != nil || bob.ID == alice.ID || bob.Name != "bob" {
			t.Fatalf("EnsureAccount(bob) = %+v, %v; want a new account", bob, err)
		}

		got, err := s.AccountByID(ctx, alice.ID)
		if err != nil || got != alice {
			t.Fatalf("AccountByID = %+v, %v; want %+v", got, err, alice)
		}
		if _, err := s.AccountByID(ctx, bob.ID+100); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("AccountByID(unknown) error = %v, want ErrNotFound", err)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		acct, err := s.EnsureAccount(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		hash := bytes.Repeat([]byte{0xab}, 32)
		key, err := s.CreateAPIKey(ctx, store.APIKey{AccountID: acct.ID, Prefix: "sk_abcd", Hash: hash})
		if err != nil {
			t.Fatalf("CreateAPIKey: %v", err)
		}
		if key.AccountID != acct.ID || key.Prefix != "sk_abcd" || !bytes.Equal(key.Hash, hash) || key.RevokedAt != nil {
			t.Fatalf("CreateAPIKey = %+v", key)
		}

		got, err := s.APIKeyByHash(ctx, hash)
		if err != nil || got.ID != key.ID || !got.CreatedAt.Equal(key.CreatedAt) || !bytes.Equal(got.Hash, hash) {
			t.Fatalf("APIKeyByHash = %+v, %v; want %+v", got, err, key)
		}
		if _, err := s.APIKeyByHash(ctx, []byte("unknown")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("APIKeyByHash(unknown) error = %v, want ErrNotFound", err)
		}
		if _, err := s.CreateAPIKey(ctx, store.APIKey{AccountID: acct.ID, Prefix: "sk_dupe", Hash: hash}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("CreateAPIKey with a duplicate hash error = %v, want ErrConflict", err)
		}
		if _, err := s.CreateAPIKey(ctx, store.APIKey{AccountID: acct.ID + 100, Prefix: "sk_orph", Hash: []byte("other")}); err == nil || errors.Is(err, store.ErrConflict) {
			t.Fatalf("CreateAPIKey for an unknown account error = %v, want a foreign key error (foreign keys off?)", err)
		}

		if err := s.RevokeAPIKey(ctx, acct.ID, key.ID); err != nil {
			t.Fatalf("RevokeAPIKey: %v", err)
		}
		if _, err := s.APIKeyByHash(ctx, hash); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("APIKeyByHash(revoked) error = %v, want ErrNotFound", err)
		}
		if err := s.RevokeAPIKey(ctx, acct.ID, key.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RevokeAPIKey twice error = %v, want ErrNotFound", err)
		}

		if _, err := s.CreateAPIKey(ctx, store.APIKey{AccountID: acct.ID, Prefix: "sk_efgh", Hash: []byte("second")}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountAPIKeys(ctx); err != nil || n != 2 {
			t.Fatalf("CountAPIKeys = %d, %v; want 2 (revoked included)", n, err)
		}
	})
}

// TestAPIKeyRolesAndCaps covers what a key carries besides its hash: an
// unnamed role is admin, the caps, vendors and expiry round-trip and can be
// changed, only the owning account sees, changes or revokes the key, and
// TouchAPIKey only moves last-used forward.
func TestAPIKeyRolesAndCaps(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		alice, err := s.EnsureAccount(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		bob, err := s.EnsureAccount(ctx, "bob")
		if err != nil {
			t.Fatal(err)
		}
		admin, err := s.CreateAPIKey(ctx, store.APIKey{AccountID: alice.ID, Prefix: "sk_admin", Hash: []byte("admin")})
		if err != nil || admin.Role != string(roles.Admin) {
			t.Fatalf("CreateAPIKey without a role = %+v, %v; want an admin", admin, err)
		}
		usd, gpus := 2.5, int64(1)
		expires := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
		ci, err := s.CreateAPIKey(ctx, store.APIKey{AccountID: alice.ID, Prefix: "sk_ci", Hash: []byte("ci"), Name: "ci", Role: string(roles.Member),
			MaxHourlyUSD: &usd, MaxGPUCount: &gpus, Vendors: "runpod,vastai", ExpiresAt: &expires})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.AccountAPIKey(ctx, alice.ID, ci.ID)
		if err != nil || got.Name != "ci" || got.Role != string(roles.Member) || *got.MaxHourlyUSD != usd || *got.MaxGPUCount != gpus ||
			!got.ExpiresAt.Equal(expires) || !got.AllowsVendor("vastai") || got.AllowsVendor("lambda") || got.LastUsedAt != nil {
			t.Fatalf("AccountAPIKey = %+v, %v", got, err)
		}
		if _, err := s.AccountAPIKey(ctx, bob.ID, ci.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("AccountAPIKey of another account: %v, want ErrNotFound", err)
		}
		got.Role, got.MaxGPUCount, got.Vendors, got.ExpiresAt = string(roles.Viewer), nil, "", nil
		if err := s.UpdateAPIKey(ctx, got); err != nil {
			t.Fatal(err)
		}
		if k, err := s.APIKeyByHash(ctx, []byte("ci")); err != nil || k.Role != string(roles.Viewer) || k.MaxGPUCount != nil || !k.AllowsVendor("lambda") || k.ExpiresAt != nil {
			t.Fatalf("after UpdateAPIKey: %+v, %v", k, err)
		}
		other := got
		other.AccountID = bob.ID
		if err := s.UpdateAPIKey(ctx, other); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateAPIKey of another account's key: %v, want ErrNotFound", err)
		}
		at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
		for _, touch := range []time.Time{at, at.Add(-time.Hour)} {
			if err := s.TouchAPIKey(ctx, ci.ID, touch); err != nil {
				t.Fatal(err)
			}
		}
		if k, err := s.AccountAPIKey(ctx, alice.ID, ci.ID); err != nil || k.LastUsedAt == nil || !k.LastUsedAt.Equal(at) {
			t.Fatalf("last used after touches = %+v, %v; want %s", k.LastUsedAt, err, at)
		}
		if err := s.RevokeAPIKey(ctx, bob.ID, ci.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RevokeAPIKey by another account: %v, want ErrNotFound", err)
		}
		if err := s.RevokeAPIKey(ctx, alice.ID, ci.ID); err != nil {
			t.Fatal(err)
		}
		if k, err := s.APIKeyByID(ctx, ci.ID); err != nil || k.RevokedAt == nil || k.Name != "ci" {
			t.Fatalf("APIKeyByID of the revoked key = %+v, %v; want it, revoked", k, err)
		}
		keys, err := s.AccountAPIKeys(ctx, alice.ID)
		if err != nil || len(keys) != 1 || keys[0].ID != admin.ID {
			t.Fatalf("AccountAPIKeys after revoking ci = %+v, %v; want the admin key alone", keys, err)
		}
	})
}

// TestKeysBeforeRolesBecomeAdmins: a key made before keys had roles
// (migration 00011) could do everything its account could, so the upgrade
// makes it an admin with no caps of its own, no expiry and every vendor:
// nothing it did before is refused after.
func TestKeysBeforeRolesBecomeAdmins(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			o := storetest.Options(t, engine)
			db := store.MigrateTo(t, o, 10)
			ctx := t.Context()
			created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			var account int64
			if err := db.QueryRowContext(ctx, "INSERT INTO accounts (name, created_at) VALUES ($1, $2) RETURNING id", "old", created).Scan(&account); err != nil {
				t.Fatal(err)
			}
			hash := bytes.Repeat([]byte{0xcd}, 32)
			if _, err := db.ExecContext(ctx, "INSERT INTO api_keys (account_id, prefix, hash, created_at) VALUES ($1, $2, $3, $4)",
				account, "sk_supply_old", hash, created); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			o.Migrate = true
			k, err := open(t, o).APIKeyByHash(ctx, hash)
			if err != nil || k.Role != string(roles.Admin) || k.MaxHourlyUSD != nil || k.MaxGPUCount != nil || k.ExpiresAt != nil ||
				!k.AllowsVendor("runpod") || k.AccountID != account {
				t.Fatalf("a key made before roles, after the upgrade: %+v, %v; want an admin of account %d without caps, expiry or vendors", k, err, account)
			}
		})
	}
}

// TestDeleteAtEndsWithTheResource: migration 00010 clears the auto-delete
// time older releases left on resources already on their way out, and
// leaves it on a resource that still runs.
func TestDeleteAtEndsWithTheResource(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			o := storetest.Options(t, engine)
			db := store.MigrateTo(t, o, 9)
			ctx := t.Context()
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			deleteAt := at.Add(2 * time.Hour)
			var account int64
			if err := db.QueryRowContext(ctx, "INSERT INTO accounts (name, created_at) VALUES ($1, $2) RETURNING id", "old", at).Scan(&account); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO procurements (offer_id, account_id, vendor, offer, item, ssh_public_key, cloud_init,
				cluster_name, status, failure_reason, created_at, updated_at) VALUES ('o', $1, 'lambda', $2, $2, '', '', '', 'ready', '', $3, $3)`,
				account, []byte("{}"), at); err != nil {
				t.Fatal(err)
			}
			for id, status := range map[string]string{"gone": "deleted", "going": "deleting", "failed": "failed", "up": "running"} {
				if _, err := db.ExecContext(ctx, `INSERT INTO resources (id, account_id, offer_id, resource_type, vendor, vendor_region, name,
					node_index, status, status_message, failure_reason, vendor_instance_id, external_ip, internal_ip, ssh_port, spec,
					price_per_hour, delete_at, created_at, updated_at)
					VALUES ($1, $2, 'o', 'instance', 'lambda', 'us-east-1', $1, 0, $3, '', '', '', '', '', 22, $4, 1, $5, $6, $6)`,
					id, account, status, []byte("{}"), deleteAt, at); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			o.Migrate = true
			s := open(t, o)
			for id, want := range map[string]*time.Time{"gone": nil, "going": nil, "failed": nil, "up": &deleteAt} {
				r, err := s.ResourceByID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if (r.DeleteAt == nil) != (want == nil) || want != nil && !r.DeleteAt.Equal(*want) {
					t.Errorf("%s (%s) after the upgrade: delete_at %v, want %v", id, r.Status, r.DeleteAt, want)
				}
			}
		})
	}
}

func TestSettings(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		if _, err := s.Setting(ctx, "secret"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Setting(absent) error = %v, want ErrNotFound", err)
		}
		for _, value := range []string{"first", "second"} {
			got, err := s.InitSetting(ctx, "secret", []byte(value))
			if err != nil || string(got) != "first" {
				t.Fatalf("InitSetting(%q) = %q, %v; want first", value, got, err)
			}
		}
		if got, err := s.Setting(ctx, "secret"); err != nil || string(got) != "first" {
			t.Fatalf("Setting = %q, %v; want first", got, err)
		}
	})
}

// TestInitSettingRace has two stores on one database (two replicas) race to
// initialise the same setting: every caller must get the same stored value.
func TestInitSettingRace(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			o := storetest.Options(t, engine)
			if err := store.Migrate(t.Context(), o); err != nil {
				t.Fatal(err)
			}
			replicas := []store.Store{open(t, o), open(t, o)}

			const callers = 8
			got := make([]string, callers)
			var wg sync.WaitGroup
			for i := range callers {
				wg.Go(func() {
					v, err := replicas[i%2].InitSetting(t.Context(), "secret", fmt.Appendf(nil, "value-%d", i))
					if err != nil {
						t.Errorf("InitSetting %d: %v", i, err)
					}
					got[i] = string(v)
				})
			}
			wg.Wait()
			stored, err := replicas[0].Setting(t.Context(), "secret")
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range got {
				if v != string(stored) {
					t.Errorf("caller %d got %q, stored is %q", i, v, stored)
				}
			}
		})
	}
}

func TestSnapshots(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		insert := func(vendor, offers string) store.Snapshot {
			t.Helper()
			// Not UTC and with nanoseconds: the store must normalise it.
			observed := time.Date(2026, 11, 27, 13, 0, 0, 123456789, time.FixedZone("CET", 3600))
			in := store.Snapshot{Vendor: vendor, ObservedAt: observed, ContentHash: "h-" + offers, Offers: []byte(offers)}
			before := time.Now()
			got, err := s.InsertSnapshot(ctx, in)
			if err != nil {
				t.Fatalf("InsertSnapshot: %v", err)
			}
			requireUTCMicro(t, "CreatedAt", got.CreatedAt, before, time.Now())
			want := in
			want.ID, want.CreatedAt = got.ID, got.CreatedAt
			want.ObservedAt = observed.UTC().Truncate(time.Microsecond)
			if !equalSnapshots(got, want) || got.ObservedAt.Location() != time.UTC {
				t.Fatalf("InsertSnapshot = %+v, want %+v", got, want)
			}
			return got
		}

		// Whitespace and key order must survive: the store keeps offers verbatim.
		a := insert("lambda", `[ {"b": 1, "a": 2} ]`)
		b := insert("lambda", `[]`)
		c := insert("runpod", `[{"x":true}]`)
		if a.ID <= 0 || b.ID <= a.ID || c.ID <= b.ID {
			t.Fatalf("IDs not increasing: %d, %d, %d", a.ID, b.ID, c.ID)
		}

		got, err := s.SnapshotByID(ctx, a.ID)
		if err != nil || !equalSnapshots(got, a) {
			t.Fatalf("SnapshotByID = %+v, %v; want %+v", got, err, a)
		}
		if _, err := s.SnapshotByID(ctx, c.ID+100); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SnapshotByID(unknown) error = %v, want ErrNotFound", err)
		}
		if got, err := s.LatestSnapshot(ctx, "lambda"); err != nil || got.ID != b.ID {
			t.Fatalf("LatestSnapshot(lambda) = %+v, %v; want id %d", got, err, b.ID)
		}
		if _, err := s.LatestSnapshot(ctx, "nebius"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("LatestSnapshot(no snapshots) error = %v, want ErrNotFound", err)
		}

		// b replaced a before the cutoff; d replaces b only after it.
		time.Sleep(2 * time.Millisecond)
		cutoff := time.Now()
		time.Sleep(2 * time.Millisecond)
		d := insert("lambda", `[1]`)

		if n, err := s.DeleteSnapshotsBefore(ctx, cutoff); err != nil || n != 1 {
			t.Fatalf("DeleteSnapshotsBefore(cutoff) = %d, %v; want 1", n, err)
		}
		requireSnapshots(t, s, map[int64]bool{a.ID: false, b.ID: true, c.ID: true, d.ID: true})

		if n, err := s.DeleteSnapshotsBefore(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("DeleteSnapshotsBefore(future) = %d, %v; want 1", n, err)
		}
		requireSnapshots(t, s, map[int64]bool{b.ID: false, c.ID: true, d.ID: true})
	})
}

func equalSnapshots(a, b store.Snapshot) bool {
	return a.ID == b.ID && a.Vendor == b.Vendor && a.ObservedAt.Equal(b.ObservedAt) &&
		a.ContentHash == b.ContentHash && bytes.Equal(a.Offers, b.Offers) && a.CreatedAt.Equal(b.CreatedAt)
}

// requireSnapshots checks which snapshot ids exist.
func requireSnapshots(t *testing.T, s store.Store, exist map[int64]bool) {
	t.Helper()
	for id, want := range exist {
		_, err := s.SnapshotByID(t.Context(), id)
		if got := err == nil; got != want {
			t.Errorf("snapshot %d exists = %v (%v), want %v", id, got, err, want)
		}
	}
}

// noopArgs is a job that only the transaction tests insert.
type noopArgs struct{ N int }

func (noopArgs) Kind() string { return "store_test_noop" }

func TestInTx(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		var committed store.Account
		err := s.InTx(ctx, func(tx store.Tx) error {
			var err error
			if committed, err = tx.EnsureAccount(ctx, "committed"); err != nil {
				return err
			}
			return tx.Enqueue(ctx, noopArgs{N: 1}, nil)
		})
		if err != nil {
			t.Fatalf("InTx commit: %v", err)
		}
		if got, err := s.AccountByID(ctx, committed.ID); err != nil || got != committed {
			t.Fatalf("after commit AccountByID = %+v, %v; want %+v", got, err, committed)
		}
		if n := store.CountRows(t, s, "river_job"); n != 1 {
			t.Fatalf("after commit river_job has %d rows, want 1", n)
		}

		errBoom := errors.New("boom")
		var rolledBack store.Account
		err = s.InTx(ctx, func(tx store.Tx) error {
			var err error
			if rolledBack, err = tx.EnsureAccount(ctx, "rolled-back"); err != nil {
				return err
			}
			if err := tx.Enqueue(ctx, noopArgs{N: 2}, nil); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("InTx rollback error = %v, want %v", err, errBoom)
		}
		if _, err := s.AccountByID(ctx, rolledBack.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after rollback AccountByID error = %v, want ErrNotFound", err)
		}
		if n := store.CountRows(t, s, "river_job"); n != 1 {
			t.Fatalf("after rollback river_job has %d rows, want 1", n)
		}

		if err := s.Enqueue(ctx, noopArgs{N: 3}, nil); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		if n := store.CountRows(t, s, "river_job"); n != 2 {
			t.Fatalf("after Enqueue river_job has %d rows, want 2", n)
		}
	})
}

// recordArgs is a job whose worker records that it ran in a setting.
type recordArgs struct{ Value string }

func (recordArgs) Kind() string { return "store_test_record" }

type recordWorker struct {
	river.WorkerDefaults[recordArgs]
	store store.Store
}

func (w *recordWorker) Work(ctx context.Context, job *river.Job[recordArgs]) error {
	_, err := w.store.InitSetting(ctx, "job-ran", []byte(job.Args.Value))
	return err
}

func TestJobs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		// Enqueued before the workers exist: the insert-only client takes it.
		if err := s.Enqueue(ctx, recordArgs{Value: "early"}, nil); err != nil {
			t.Fatalf("Enqueue before StartJobs: %v", err)
		}
		workers := river.NewWorkers()
		river.AddWorker(workers, &recordWorker{store: s})
		if err := s.StartJobs(ctx, workers, nil); err != nil {
			t.Fatalf("StartJobs: %v", err)
		}
		if err := s.StartJobs(ctx, workers, nil); err == nil {
			t.Error("StartJobs while running succeeded")
		}

		deadline := time.Now().Add(10 * time.Second)
		for {
			v, err := s.Setting(ctx, "job-ran")
			if err == nil {
				if string(v) != "early" {
					t.Errorf("job recorded %q, want early", v)
				}
				break
			}
			if !errors.Is(err, store.ErrNotFound) || time.Now().After(deadline) {
				t.Fatalf("job did not run: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := s.StopJobs(ctx); err != nil {
			t.Fatalf("StopJobs: %v", err)
		}
		if err := s.Enqueue(ctx, recordArgs{Value: "late"}, nil); err != nil {
			t.Fatalf("Enqueue after StopJobs: %v", err)
		}
	})
}

// TestMigrate migrates a fresh database (concurrently on PostgreSQL), then
// again once it holds data: nothing may fail or change.
func TestMigrate(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			o := storetest.Options(t, engine)
			// PostgreSQL replicas starting together all migrate. SQLite
			// serves one process, which migrates once.
			replicas := 1
			if engine == store.EnginePostgres {
				replicas = 3
			}
			var wg sync.WaitGroup
			for range replicas {
				wg.Go(func() {
					if err := store.Migrate(t.Context(), o); err != nil {
						t.Errorf("Migrate: %v", err)
					}
				})
			}
			wg.Wait()
			s := open(t, o)
			acct, err := s.EnsureAccount(t.Context(), "alice")
			if err != nil {
				t.Fatal(err)
			}
			tables := []string{"goose_db_version", "river_migration"}
			counts := map[string]int64{}
			for _, table := range tables {
				counts[table] = store.CountRows(t, s, table)
				if counts[table] == 0 {
					t.Fatalf("%s is empty after Migrate", table)
				}
			}

			if err := store.Migrate(t.Context(), o); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
			for _, table := range tables {
				if n := store.CountRows(t, s, table); n != counts[table] {
					t.Errorf("%s has %d rows after Migrate again, want %d", table, n, counts[table])
				}
			}
			if got, err := s.AccountByID(t.Context(), acct.ID); err != nil || got != acct {
				t.Errorf("after Migrate again AccountByID = %+v, %v; want %+v", got, err, acct)
			}
		})
	}
}

func TestPing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s store.Store) {
		if err := s.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

func TestOpenRejects(t *testing.T) {
	tests := []struct {
		name string
		o    store.Options
		want string
	}{
		{"unknown scheme", store.Options{DatabaseURL: "mysql://root:hunter2@db/x"}, `scheme "mysql"`},
		{"no data dir", store.Options{}, "no data directory"},
		{"bad postgres URL", store.Options{DatabaseURL: "postgres://root:hunter2@db:notaport/x"}, "invalid database URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := store.Open(t.Context(), tt.o)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("Open error = %q, want it to contain %q and no password", err, tt.want)
			}
		})
	}
}

// open opens a store on o without migrating, closed when the test ends.
func open(t *testing.T, o store.Options) store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
