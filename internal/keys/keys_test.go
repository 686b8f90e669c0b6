package keys_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/gpusupply/supply/internal/keys"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// An account keeps at least one admin key: its last one can be neither
// revoked nor demoted, and two admins revoking each other at once leave
// one of them. Without it nobody could make keys or change caps again.
func TestLastAdminKeyStays(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, engine)
			acc, err := st.EnsureAccount(ctx, "team")
			if err != nil {
				t.Fatal(err)
			}
			ks := keys.New(st)
			mk := func(role roles.Role) int64 {
				t.Helper()
				k, err := ks.Create(ctx, acc.ID, supplyapi.APIKeyRequest{Role: string(role)})
				if err != nil {
					t.Fatal(err)
				}
				return k.ID
			}
			first, member := mk(roles.Admin), mk(roles.Member)
			demote := func(id int64) error {
				_, err := ks.Update(ctx, acc.ID, id, supplyapi.APIKeyRequest{Role: string(roles.Member)}, keys.Fields{"role": true})
				return err
			}
			if err := ks.Revoke(ctx, acc.ID, first); !errors.Is(err, refusal.ErrConflict) {
				t.Errorf("revoking the last admin key: %v, want a conflict", err)
			}
			if err := demote(first); !errors.Is(err, refusal.ErrConflict) {
				t.Errorf("demoting the last admin key: %v, want a conflict", err)
			}
			if err := ks.Revoke(ctx, acc.ID, member); err != nil {
				t.Errorf("revoking a member key: %v", err)
			}
			if k, err := ks.Get(ctx, acc.ID, first); err != nil || k.Role != string(roles.Admin) {
				t.Errorf("the last admin key after the refusals: %+v, %v", k, err)
			}

			second := mk(roles.Admin)
			if err := demote(first); err != nil {
				t.Errorf("demoting an admin key while another is left: %v", err)
			}
			if err := ks.Revoke(ctx, acc.ID, second); !errors.Is(err, refusal.ErrConflict) {
				t.Errorf("revoking the admin key left: %v, want a conflict", err)
			}

			third := mk(roles.Admin)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, id := range []int64{second, third} {
				wg.Go(func() { errs[i] = ks.Revoke(ctx, acc.ID, id) })
			}
			wg.Wait()
			if (errs[0] == nil) == (errs[1] == nil) {
				t.Errorf("two admin keys revoked at once: %v and %v, want exactly one refused", errs[0], errs[1])
			}
			left, err := ks.List(ctx, acc.ID)
			if err != nil {
				t.Fatal(err)
			}
			admins := 0
			for _, k := range left {
				if k.Role == string(roles.Admin) {
					admins++
				}
			}
			if admins != 1 {
				t.Errorf("%d admin keys left, want 1: %+v", admins, left)
			}
		})
	}
}
