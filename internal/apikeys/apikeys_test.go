package apikeys

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/roles"
)

func TestGenerate(t *testing.T) {
	key, prefix, hash, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "sk_supply_") || len(key) != len("sk_supply_")+40 {
		t.Fatalf("key %q: want sk_supply_ + 40 characters", key)
	}
	if !wellFormed(key) {
		t.Fatalf("generated key %q is not well formed", key)
	}
	if prefix != key[:14] {
		t.Fatalf("prefix %q, want %q", prefix, key[:14])
	}
	if !bytes.Equal(hash, Hash(key)) || len(hash) != 32 {
		t.Fatalf("hash %x is not sha256 of the key", hash)
	}
	other, _, _, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if other == key {
		t.Fatal("two generated keys are equal")
	}
}

// store is an in-memory key table that counts its lookups.
type store struct {
	keys    map[string]Key // by hash (as string)
	lookups atomic.Int64
	fail    error
	// corrupt makes the store return a different hash than it was asked for.
	corrupt bool
}

func (s *store) lookup(_ context.Context, hash []byte) (Key, []byte, error) {
	s.lookups.Add(1)
	if s.fail != nil {
		return Key{}, nil, s.fail
	}
	k, ok := s.keys[string(hash)]
	if !ok {
		return Key{}, nil, ErrUnknownKey
	}
	stored := bytes.Clone(hash)
	if s.corrupt {
		stored[0] ^= 1
	}
	return k, stored, nil
}

func newStore(t *testing.T) (*store, string) {
	t.Helper()
	key, _, hash, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	return &store{keys: map[string]Key{string(hash): {ID: 7, AccountID: 42, Role: roles.Member}}}, key
}

func TestAuthenticate(t *testing.T) {
	st, key := newStore(t)
	unknown, _, _, _ := Generate()
	tests := []struct {
		name        string
		key         string
		wantAccount int64
		wantErr     bool
		wantLookups int64
	}{
		{"known", key, 42, false, 1},
		{"unknown", unknown, 0, true, 1},
		{"empty", "", 0, true, 0},
		{"wrong prefix", "sk_other_" + key[9:], 0, true, 0},
		{"too short", key[:len(key)-1], 0, true, 0},
		{"bad character", key[:len(key)-1] + "-", 0, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st.lookups.Store(0)
			a := NewAuthenticator(st.lookup, time.Minute)
			k, err := a.Authenticate(context.Background(), tt.key)
			if tt.wantErr != (err != nil) || k.AccountID != tt.wantAccount {
				t.Fatalf("Authenticate = %+v, %v; want account %d, error %v", k, err, tt.wantAccount, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("error %v does not wrap ErrUnknownKey", err)
			}
			if got := st.lookups.Load(); got != tt.wantLookups {
				t.Fatalf("%d lookups, want %d", got, tt.wantLookups)
			}
		})
	}
}

func TestAuthenticateCaches(t *testing.T) {
	st, key := newStore(t)
	unknown, _, _, _ := Generate()
	a := NewAuthenticator(st.lookup, time.Minute)
	now := time.Now()
	a.now = func() time.Time { return now }
	for range 5 {
		if k, err := a.Authenticate(context.Background(), key); err != nil || k.AccountID != 42 || k.Role != roles.Member {
			t.Fatalf("known key: %+v, %v", k, err)
		}
		if _, err := a.Authenticate(context.Background(), unknown); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("unknown key: %v", err)
		}
	}
	if got := st.lookups.Load(); got != 2 {
		t.Fatalf("%d lookups for 10 requests with 2 keys, want 2", got)
	}

	now = now.Add(time.Minute)
	if _, err := a.Authenticate(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if got := st.lookups.Load(); got != 3 {
		t.Fatalf("%d lookups after the ttl passed, want 3", got)
	}
}

// TestAuthenticateExpired: a key is refused from the moment it expires,
// though its answer is still cached.
func TestAuthenticateExpired(t *testing.T) {
	st, key := newStore(t)
	now := time.Now()
	expires := now.Add(time.Second)
	k := st.keys[string(Hash(key))]
	k.ExpiresAt = &expires
	st.keys[string(Hash(key))] = k
	a := NewAuthenticator(st.lookup, time.Hour)
	a.now = func() time.Time { return now }
	if _, err := a.Authenticate(context.Background(), key); err != nil {
		t.Fatalf("before it expires: %v", err)
	}
	now = expires
	if _, err := a.Authenticate(context.Background(), key); !errors.Is(err, ErrUnknownKey) || st.lookups.Load() != 1 {
		t.Fatalf("once expired: %v after %d lookups; want ErrUnknownKey from the cache", err, st.lookups.Load())
	}
}

// TestForget: a forgotten key is looked up again on its next request, and
// found revoked at once.
func TestForget(t *testing.T) {
	st, key := newStore(t)
	a := NewAuthenticator(st.lookup, time.Hour)
	k, err := a.Authenticate(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	delete(st.keys, string(Hash(key)))
	if _, err := a.Authenticate(context.Background(), key); err != nil {
		t.Fatalf("revoked but cached: %v, want the cached answer", err)
	}
	a.Forget(k.ID)
	if _, err := a.Authenticate(context.Background(), key); !errors.Is(err, ErrUnknownKey) || st.lookups.Load() != 2 {
		t.Fatalf("forgotten: %v after %d lookups, want ErrUnknownKey from a second lookup", err, st.lookups.Load())
	}
}

func TestAuthenticateLookupFailureIsNotCached(t *testing.T) {
	st, key := newStore(t)
	st.fail = errors.New("database down")
	a := NewAuthenticator(st.lookup, time.Minute)
	if _, err := a.Authenticate(context.Background(), key); err == nil || errors.Is(err, ErrUnknownKey) {
		t.Fatalf("lookup failure: got %v, want a non-ErrUnknownKey error", err)
	}
	st.fail = nil
	if k, err := a.Authenticate(context.Background(), key); err != nil || k.AccountID != 42 {
		t.Fatalf("after recovery: %+v, %v", k, err)
	}
}

func TestAuthenticateComparesStoredHash(t *testing.T) {
	st, key := newStore(t)
	st.corrupt = true
	a := NewAuthenticator(st.lookup, time.Minute)
	if _, err := a.Authenticate(context.Background(), key); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("mismatched stored hash: got %v, want ErrUnknownKey", err)
	}
}

func TestCacheIsBounded(t *testing.T) {
	st, _ := newStore(t)
	a := NewAuthenticator(st.lookup, time.Hour)
	for range maxCacheEntries + 10 {
		key, _, _, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		_, _ = a.Authenticate(context.Background(), key)
	}
	if n := len(a.cache); n > maxCacheEntries {
		t.Fatalf("cache holds %d entries, bound is %d", n, maxCacheEntries)
	}
}

// TestAuthenticateKnown: a key found valid before is answered, from the
// cache while it lasts and by a lookup after; a key not seen valid is
// looked up only within the budget all callers share, so guesses, however
// many, cost at most that; a key found revoked is not known any more.
func TestAuthenticateKnown(t *testing.T) {
	st, key := newStore(t)
	unknown, _, _, _ := Generate()
	a := NewAuthenticator(st.lookup, time.Minute)
	now := time.Now()
	a.now = func() time.Time { return now }
	for range 3 * unseenBurst {
		guess, _, _, _ := Generate()
		if _, err := a.AuthenticateKnown(context.Background(), guess); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("a guess: %v", err)
		}
	}
	if n := st.lookups.Load(); n != unseenBurst {
		t.Fatalf("%d guesses cost %d lookups, want the budget's %d", 3*unseenBurst, n, unseenBurst)
	}
	for _, k := range []string{key, unknown, "garbage"} {
		if _, err := a.AuthenticateKnown(context.Background(), k); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("%s past the budget, before any lookup of its own: %v, want ErrUnknownKey", k, err)
		}
	}
	_, _ = a.Authenticate(context.Background(), unknown)
	if _, err := a.Authenticate(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	st.lookups.Store(0)
	for range 5 {
		if k, err := a.AuthenticateKnown(context.Background(), key); err != nil || k.AccountID != 42 {
			t.Fatalf("known key: %+v, %v", k, err)
		}
		for range 100 {
			guess, _, _, _ := Generate()
			if _, err := a.AuthenticateKnown(context.Background(), guess); !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("a guess: %v", err)
			}
		}
	}
	if n := st.lookups.Load(); n != 0 {
		t.Fatalf("%d lookups, want none while the answer is cached and the budget is spent", n)
	}
	now = now.Add(time.Minute)
	if _, err := a.AuthenticateKnown(context.Background(), key); err != nil || st.lookups.Load() != 1 {
		t.Fatalf("after the ttl: %v with %d lookups, want one lookup", err, st.lookups.Load())
	}
	delete(st.keys, string(Hash(key)))
	now = now.Add(time.Minute)
	if _, err := a.AuthenticateKnown(context.Background(), key); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("revoked: %v", err)
	}
	now = now.Add(time.Minute)
	for range unseenBurst {
		guess, _, _, _ := Generate()
		_, _ = a.AuthenticateKnown(context.Background(), guess)
	}
	spent := st.lookups.Load()
	if _, err := a.AuthenticateKnown(context.Background(), key); !errors.Is(err, ErrUnknownKey) || st.lookups.Load() != spent {
		t.Fatalf("revoked, later, the budget spent: %v with %d lookups; want no further lookup", err, st.lookups.Load()-spent)
	}
}

// TestAuthenticateKnownServesANewKey: a valid key this process has not
// seen (the first request after a restart) is looked up within the budget
// and served, and known from then on.
func TestAuthenticateKnownServesANewKey(t *testing.T) {
	st, key := newStore(t)
	a := NewAuthenticator(st.lookup, time.Minute)
	for range 3 {
		if k, err := a.AuthenticateKnown(context.Background(), key); err != nil || k.AccountID != 42 {
			t.Fatalf("a valid key new to the process: %+v, %v", k, err)
		}
	}
	if n := st.lookups.Load(); n != 1 {
		t.Errorf("%d lookups, want one", n)
	}
}
