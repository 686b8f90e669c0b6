package store_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store"
)

// TestSessions: a session is found by its token's hash while it has not
// expired and its key is not revoked; an account lists only its own and
// deletes only its own; the purge removes what no longer counts.
func TestSessions(t *testing.T) {
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
		aliceKey, err := s.CreateAPIKey(ctx, store.APIKey{AccountID: alice.ID, Prefix: "sk_supply_alic", Hash: bytes.Repeat([]byte{1}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		aliceOther, err := s.CreateAPIKey(ctx, store.APIKey{AccountID: alice.ID, Prefix: "sk_supply_ali2", Hash: bytes.Repeat([]byte{2}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		bobKey, err := s.CreateAPIKey(ctx, store.APIKey{AccountID: bob.ID, Prefix: "sk_supply_bobb", Hash: bytes.Repeat([]byte{3}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		open := func(key store.APIKey, token byte, ttl time.Duration) store.Session {
			t.Helper()
			sess, err := s.CreateSession(ctx, store.Session{
				TokenHash: bytes.Repeat([]byte{token}, 32), AccountID: key.AccountID, APIKeyID: key.ID,
				CreatedAt: now, ExpiresAt: now.Add(ttl), UserAgent: "Mozilla/5.0", Address: "192.0.2.7",
			})
			if err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			requireUTCMicro(t, "CreatedAt", sess.CreatedAt, now, now)
			if sess.ID == 0 || !sess.LastSeenAt.Equal(sess.CreatedAt) {
				t.Fatalf("CreateSession = %+v", sess)
			}
			return sess
		}
		a1 := open(aliceKey, 0xa1, time.Hour)
		a2 := open(aliceOther, 0xa2, time.Hour)
		expired := open(aliceKey, 0xa3, -time.Second)
		b1 := open(bobKey, 0xb1, time.Hour)

		got, err := s.ActiveSession(ctx, a1.TokenHash, now)
		if err != nil {
			t.Fatalf("ActiveSession: %v", err)
		}
		if got.ID != a1.ID || got.AccountID != alice.ID || got.APIKeyID != aliceKey.ID || got.KeyPrefix != "sk_supply_alic" ||
			!bytes.Equal(got.TokenHash, a1.TokenHash) || !got.CreatedAt.Equal(a1.CreatedAt) || !got.ExpiresAt.Equal(a1.ExpiresAt) ||
			got.UserAgent != "Mozilla/5.0" || got.Address != "192.0.2.7" {
			t.Fatalf("ActiveSession = %+v, want %+v with the key's prefix", got, a1)
		}
		for name, c := range map[string]struct {
			hash []byte
			at   time.Time
		}{
			"unknown token":       {bytes.Repeat([]byte{0xff}, 32), now},
			"expired":             {expired.TokenHash, now},
			"at its expiry":       {a1.TokenHash, a1.ExpiresAt},
			"the key's own hash":  {aliceKey.Hash, now},
			"a prefix of a token": {a1.TokenHash[:16], now},
		} {
			if _, err := s.ActiveSession(ctx, c.hash, c.at); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("ActiveSession, %s: %v, want ErrNotFound", name, err)
			}
		}

		later := now.Add(time.Minute)
		if err := s.TouchSession(ctx, a1.ID, later); err != nil {
			t.Fatal(err)
		}
		if err := s.TouchSession(ctx, a1.ID, now); err != nil { // never backwards
			t.Fatal(err)
		}
		if got, err := s.ActiveSession(ctx, a1.TokenHash, now); err != nil || !got.LastSeenAt.Equal(later.UTC().Truncate(time.Microsecond)) {
			t.Fatalf("LastSeenAt after touches = %v, %v; want %v", got.LastSeenAt, err, later)
		}

		ids := func(account int64) []int64 {
			t.Helper()
			ss, err := s.ActiveSessions(ctx, account, now)
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, x := range ss {
				out = append(out, x.ID)
			}
			return out
		}
		if got := ids(alice.ID); !slices.Equal(got, []int64{a2.ID, a1.ID}) {
			t.Errorf("alice's sessions %v, want %v (newest first, no expired one)", got, []int64{a2.ID, a1.ID})
		}

		// Revoking a key ends its sessions at once, with no write to them.
		if err := s.RevokeAPIKey(ctx, alice.ID, aliceOther.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ActiveSession(ctx, a2.TokenHash, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session of a revoked key: %v, want ErrNotFound", err)
		}
		if got := ids(alice.ID); !slices.Equal(got, []int64{a1.ID}) {
			t.Errorf("alice's sessions after revoking a key %v, want %v", got, []int64{a1.ID})
		}

		// An account deletes its own sessions only.
		if err := s.DeleteSession(ctx, alice.ID, b1.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("alice deleting bob's session: %v, want ErrNotFound", err)
		}
		if _, err := s.ActiveSession(ctx, b1.TokenHash, now); err != nil {
			t.Errorf("bob's session after alice tried to delete it: %v", err)
		}
		if err := s.DeleteSession(ctx, bob.ID, b1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ActiveSession(ctx, b1.TokenHash, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted session: %v, want ErrNotFound", err)
		}

		// Signing out ends the session of a token; twice is no error.
		for range 2 {
			if err := s.EndSession(ctx, a1.TokenHash); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.ActiveSession(ctx, a1.TokenHash, now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ended session: %v, want ErrNotFound", err)
		}

		// The purge takes the expired session and the revoked key's.
		kept := open(aliceKey, 0xa4, time.Hour)
		if n, err := s.DeleteEndedSessions(ctx, now); err != nil || n != 2 {
			t.Errorf("DeleteEndedSessions = %d, %v; want 2 (expired, revoked key's)", n, err)
		}
		if n := store.CountRows(t, s, "sessions"); n != 1 {
			t.Errorf("%d sessions left, want 1", n)
		}
		if _, err := s.ActiveSession(ctx, kept.TokenHash, now); err != nil {
			t.Errorf("a live session after the purge: %v", err)
		}
	})
}
