package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
)

// TestChangeVersion checks that every kind of write of a procurement or
// resource moves its account's ChangeVersion, as seen through another
// handle on the same database (another process, another replica), only
// once it commits, and never the other accounts'.
func TestChangeVersion(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			o := storetest.Options(t, engine)
			o.Migrate = true
			writer, err := store.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = writer.Close() })
			o.Migrate = false
			reader, err := store.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = reader.Close() })

			a, _ := writer.EnsureAccount(ctx, "a")
			b, _ := writer.EnsureAccount(ctx, "b")
			version := func(account int64) int64 {
				t.Helper()
				v, err := reader.ChangeVersion(ctx, account)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			if v := version(a.ID); v != 0 {
				t.Fatalf("version before any write: %d", v)
			}
			const offer, id = "00000000-0000-4000-8000-000000000001", "10000000-0000-4000-8000-000000000001"
			r := testResource(a.ID, offer, id, base)
			later := base.Add(time.Minute)
			writes := []struct {
				name  string
				write func() error
			}{
				{"insert procurement", func() error { return writer.InsertProcurement(ctx, testProcurement(a.ID, offer)) }},
				{"insert resource", func() error { return writer.InsertResource(ctx, r) }},
				{"update resource", func() (err error) {
					r.Status, r.ExternalIP = "running", "203.0.113.9"
					r, err = writer.UpdateResource(ctx, r)
					return err
				}},
				{"update resource, status unchanged", func() (err error) {
					r.ExternalIP = "203.0.113.10"
					r, err = writer.UpdateResource(ctx, r)
					return err
				}},
				{"set delete_at", func() error {
					_, err := writer.SetDeleteAt(ctx, offer, &later, later)
					return err
				}},
				{"update procurement", func() error {
					_, _, err := store.ChangeProcurement(ctx, writer, offer, func(p *store.Procurement) bool {
						p.Status, p.FailureReason, p.UpdatedAt = "failed", "because", later
						return true
					})
					return err
				}},
			}
			last := version(a.ID)
			for _, w := range writes {
				if err := w.write(); err != nil {
					t.Fatalf("%s: %v", w.name, err)
				}
				if v := version(a.ID); v <= last {
					t.Errorf("%s: version %d, was %d", w.name, v, last)
				}
				last = version(a.ID)
			}
			if v := version(b.ID); v != 0 {
				t.Errorf("another account's writes moved b's version to %d", v)
			}

			// In a transaction: not before commit, and not at all on rollback.
			errRollback := errors.New("roll back")
			err = writer.InTx(ctx, func(tx store.Tx) error {
				x := r
				x.Status = "deleting"
				if _, err := tx.UpdateResource(ctx, x); err != nil {
					return err
				}
				if v := version(a.ID); v != last {
					t.Errorf("version %d seen before commit, was %d", v, last)
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatal(err)
			}
			if v := version(a.ID); v != last {
				t.Errorf("a rolled back write moved the version from %d to %d", last, v)
			}
			err = writer.InTx(ctx, func(tx store.Tx) error {
				_, err := tx.UpdateResource(ctx, r)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if v := version(a.ID); v <= last {
				t.Errorf("a committed transaction left the version at %d", v)
			}
		})
	}
}

// TestChangeVersionNoDeadlock checks that counting changes adds no lock
// cycle: a transaction that writes one resource, then another, does not
// deadlock with one that writes the other in between, as it would if the
// counter row were locked at the first write rather than at commit.
func TestChangeVersionNoDeadlock(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, engine)
			a, _ := st.EnsureAccount(ctx, "a")
			const offer = "00000000-0000-4000-8000-000000000001"
			if err := st.InsertProcurement(ctx, testProcurement(a.ID, offer)); err != nil {
				t.Fatal(err)
			}
			r1 := testResource(a.ID, offer, "10000000-0000-4000-8000-000000000001", base)
			r2 := testResource(a.ID, offer, "10000000-0000-4000-8000-000000000002", base)
			for _, r := range []store.Resource{r1, r2} {
				if err := st.InsertResource(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			firstDone, secondDone := make(chan struct{}), make(chan struct{})
			second := make(chan error, 1)
			go func() {
				<-firstDone
				second <- st.InTx(ctx, func(tx store.Tx) error {
					_, _, err := store.ChangeResource(ctx, tx, r2.ID, func(x *store.Resource) bool {
						x.StatusMessage = "second"
						return true
					})
					close(secondDone)
					return err
				})
			}()
			err := st.InTx(ctx, func(tx store.Tx) error {
				x := r1
				x.StatusMessage = "first"
				if _, err := tx.UpdateResource(ctx, x); err != nil {
					return err
				}
				close(firstDone)
				select { // SQLite: the second waits for this one to commit
				case <-secondDone:
				case <-time.After(300 * time.Millisecond):
				}
				_, _, err := store.ChangeResource(ctx, tx, r2.ID, func(x *store.Resource) bool {
					x.StatusMessage = "first"
					return true
				})
				return err
			})
			if err != nil {
				t.Errorf("first transaction: %v", err)
			}
			if err := <-second; err != nil {
				t.Errorf("second transaction: %v", err)
			}
		})
	}
}

// TestListResourcesPages reads an account's resources page by page while
// resources are created and change status between pages: the pages hold
// every resource that existed when the first was read, each once, in the
// order of the whole list (ties in creation time included).
func TestListResourcesPages(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, engine)
			a, _ := st.EnsureAccount(ctx, "a")
			b, _ := st.EnsureAccount(ctx, "b")
			const offer = "00000000-0000-4000-8000-000000000001"
			if err := st.InsertProcurement(ctx, testProcurement(a.ID, offer)); err != nil {
				t.Fatal(err)
			}
			insert := func(account int64, i int, created time.Time) store.Resource {
				t.Helper()
				r := testResource(account, offer, fmt.Sprintf("10000000-0000-4000-8000-%012d", i), created)
				if err := st.InsertResource(ctx, r); err != nil {
					t.Fatal(err)
				}
				return r
			}
			for i := range 23 {
				// Three at each instant: ties are broken by id.
				insert(a.ID, i, base.Add(time.Duration(i/3)*time.Second))
			}
			insert(b.ID, 100, base)
			whole, err := st.ListResources(ctx, a.ID, store.ResourceFilter{}, store.ResourceCursor{}, 0)
			if err != nil || len(whole) != 23 {
				t.Fatalf("the whole list: %d resources, %v", len(whole), err)
			}

			var paged []store.Resource
			after := store.ResourceCursor{}
			for page := 0; ; page++ {
				rs, err := st.ListResources(ctx, a.ID, store.ResourceFilter{}, after, 5)
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, rs...)
				if len(rs) < 5 {
					break
				}
				last := rs[len(rs)-1]
				after = store.ResourceCursor{CreatedAt: last.CreatedAt, ID: last.ID}
				// Between pages: a new resource, and one already read and
				// one not yet read change status.
				insert(a.ID, 200+page, base.Add(time.Hour))
				for _, x := range []store.Resource{paged[0], whole[min(len(paged)+1, len(whole)-1)]} {
					x.Status = "deleting"
					if _, err := st.UpdateResource(ctx, x); err != nil && !errors.Is(err, store.ErrConflict) {
						t.Fatal(err)
					}
				}
			}
			if len(paged) != len(whole) {
				t.Fatalf("pages hold %d resources, the list %d", len(paged), len(whole))
			}
			for i := range whole {
				if paged[i].ID != whole[i].ID {
					t.Fatalf("resource %d of the pages is %s, of the list %s", i, paged[i].ID, whole[i].ID)
				}
			}
		})
	}
}
