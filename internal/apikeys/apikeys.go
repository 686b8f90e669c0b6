// Package apikeys creates API keys and checks them: keys are stored only as
// SHA-256 hashes, and answers are cached so the request path rarely touches
// the database.
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/roles"
)

const (
	// keyPrefix marks a string as a supply key, so leaked keys are easy to
	// spot in logs and by secret scanners.
	keyPrefix = "sk_supply_"
	// secretLen is the number of random base62 characters after keyPrefix
	// (about 238 bits).
	secretLen = 40
	keyLen    = len(keyPrefix) + secretLen
	// displayPrefixLen is how much of a key may be shown to identify it.
	displayPrefixLen = 14
	base62           = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	// maxCacheEntries bounds the cache, so a flood of random keys cannot grow
	// memory without limit.
	maxCacheEntries = 10_000
	// maxKnown bounds the keys remembered as valid (AuthenticateKnown);
	// only a valid key enters, so only a service with more live keys than
	// this ever forgets one.
	maxKnown = 100_000
	// unseenRate and unseenBurst are the process-wide budget of lookups
	// AuthenticateKnown spends on keys it has not seen valid: enough for
	// the keys of a team behind one address after a restart, while
	// guesses from every limited address together cost the database at
	// most this many lookups.
	unseenRate  = rate.Limit(2) // per second
	unseenBurst = 10
)

// ErrUnknownKey is the answer for a key that is malformed or not on record.
var ErrUnknownKey = errors.New("unknown API key")

// Generate creates a new API key. It returns the key (shown to its owner
// once), its prefix (safe to display) and its hash (what is stored).
func Generate() (key, prefix string, hash []byte, err error) {
	b := make([]byte, keyLen)
	copy(b, keyPrefix)
	random := make([]byte, 64)
	for i := len(keyPrefix); i < keyLen; {
		if _, err := rand.Read(random); err != nil {
			return "", "", nil, fmt.Errorf("generate API key: %w", err)
		}
		for _, r := range random {
			// Rejection sampling keeps every character equally likely:
			// 248 is the largest multiple of 62 that fits in a byte.
			if r >= 248 {
				continue
			}
			b[i] = base62[r%62]
			i++
			if i == keyLen {
				break
			}
		}
	}
	key = string(b)
	return key, key[:displayPrefixLen], Hash(key), nil
}

// Hash is the stored form of a key.
func Hash(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// wellFormed reports whether key could have come from Generate.
func wellFormed(key string) bool {
	if len(key) != keyLen || !strings.HasPrefix(key, keyPrefix) {
		return false
	}
	for i := len(keyPrefix); i < keyLen; i++ {
		c := key[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// Key is what a request's key says about it: whose it is and what it may do.
type Key struct {
	ID        int64
	AccountID int64
	Name      string
	Role      roles.Role
	// ExpiresAt is when the key stops working; nil: never.
	ExpiresAt *time.Time
}

// Lookup finds a key by its hash: the key, the stored hash, or an error
// wrapping ErrUnknownKey when there is none (revoked keys included).
type Lookup func(ctx context.Context, hash []byte) (key Key, storedHash []byte, err error)

// Authenticator checks API keys against a Lookup and remembers the answers
// (known and unknown keys alike) for a while. An expired key is refused
// from the moment it expires, cached or not.
type Authenticator struct {
	lookup Lookup
	ttl    time.Duration
	now    func() time.Time
	// unseen is AuthenticateKnown's budget for keys not seen valid.
	unseen *rate.Limiter

	mu    sync.RWMutex
	cache map[[sha256.Size]byte]cacheEntry
	// known holds the hashes of the keys found valid and not found
	// unknown since. Unlike cache, which a flood of bad keys churns, only
	// a lookup of a valid key adds to it.
	known map[[sha256.Size]byte]struct{}
}

type cacheEntry struct {
	key     Key
	known   bool
	expires time.Time
}

// NewAuthenticator returns an Authenticator that caches each answer of
// lookup for ttl. A revoked key, or one whose role changed, therefore keeps
// its old answer for up to ttl on each process that cached it.
func NewAuthenticator(lookup Lookup, ttl time.Duration) *Authenticator {
	return &Authenticator{
		lookup: lookup,
		ttl:    ttl,
		now:    time.Now,
		unseen: rate.NewLimiter(unseenRate, unseenBurst),
		cache:  make(map[[sha256.Size]byte]cacheEntry),
		known:  make(map[[sha256.Size]byte]struct{}),
	}
}

// Authenticate returns what key is. It fails with an error wrapping
// ErrUnknownKey for a malformed, unknown or expired key, and with any other
// error when the lookup itself failed (which is not cached).
func (a *Authenticator) Authenticate(ctx context.Context, key string) (Key, error) {
	if !wellFormed(key) {
		return Key{}, fmt.Errorf("malformed key: %w", ErrUnknownKey)
	}
	return a.authenticate(ctx, sha256.Sum256([]byte(key)))
}

// AuthenticateKnown is Authenticate for a caller that must not spend a
// lookup on every guess (a client address that sent too many invalid
// keys): it answers for a key this Authenticator has found valid before
// and not unknown since, from the cache or, once the cached answer
// expired, by a lookup, so that a revoked key still ends within the ttl.
// Another key is looked up only while a small budget shared by every
// caller lasts (unseenRate): a valid key new to this process (the first
// request after a restart, a key made meanwhile) from such an address is
// served then, and guesses cost the database that budget at most. Past
// it, a key not seen valid fails with an error wrapping ErrUnknownKey,
// without a lookup.
func (a *Authenticator) AuthenticateKnown(ctx context.Context, key string) (Key, error) {
	if !wellFormed(key) {
		return Key{}, fmt.Errorf("malformed key: %w", ErrUnknownKey)
	}
	hash := sha256.Sum256([]byte(key))
	a.mu.RLock()
	_, known := a.known[hash]
	a.mu.RUnlock()
	if !known && !a.unseen.AllowN(a.now(), 1) {
		return Key{}, fmt.Errorf("key not seen valid, not looked up: %w", ErrUnknownKey)
	}
	return a.authenticate(ctx, hash)
}

// authenticate finds the key whose hash is hash, from the cache while its
// answer is fresh.
func (a *Authenticator) authenticate(ctx context.Context, hash [sha256.Size]byte) (Key, error) {
	now := a.now()

	a.mu.RLock()
	entry, ok := a.cache[hash]
	a.mu.RUnlock()
	if ok && now.Before(entry.expires) {
		return entry.answer(now)
	}

	key, stored, err := a.lookup(ctx, hash[:])
	switch {
	case errors.Is(err, ErrUnknownKey):
		entry = cacheEntry{}
	case err != nil:
		return Key{}, fmt.Errorf("look up API key: %w", err)
	default:
		// The lookup went by hash already; comparing again in constant
		// time guards against a store that matches loosely (a prefix, a
		// collation) without leaking how much of the hash matched.
		entry = cacheEntry{key: key, known: subtle.ConstantTimeCompare(stored, hash[:]) == 1}
	}
	entry.expires = now.Add(a.ttl)
	a.remember(hash, entry, now)
	return entry.answer(now)
}

// Forget drops what this Authenticator remembers of the key id, so that
// its next request here is looked up: the process that revokes or changes
// a key applies it at once, the others within the ttl.
func (a *Authenticator) Forget(id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for h, e := range a.cache {
		if e.known && e.key.ID == id {
			delete(a.cache, h)
		}
	}
}

// answer is the entry's key, unless it is unknown or has expired by now.
func (e cacheEntry) answer(now time.Time) (Key, error) {
	switch {
	case !e.known:
		return Key{}, ErrUnknownKey
	case e.key.ExpiresAt != nil && !now.Before(*e.key.ExpiresAt):
		return Key{}, fmt.Errorf("key expired at %s: %w", e.key.ExpiresAt.Format(time.RFC3339), ErrUnknownKey)
	}
	return e.key, nil
}

// remember stores entry, making room first when the cache is full: expired
// entries go, and if none had expired, arbitrary ones (map order) do. It
// also notes whether the key is valid, for AuthenticateKnown.
func (a *Authenticator) remember(hash [sha256.Size]byte, entry cacheEntry, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !entry.known {
		delete(a.known, hash)
	} else if _, ok := a.known[hash]; !ok {
		for h := range a.known {
			if len(a.known) < maxKnown {
				break
			}
			delete(a.known, h)
		}
		a.known[hash] = struct{}{}
	}
	if len(a.cache) >= maxCacheEntries {
		for h, e := range a.cache {
			if !now.Before(e.expires) {
				delete(a.cache, h)
			}
		}
		for h := range a.cache {
			if len(a.cache) < maxCacheEntries {
				break
			}
			delete(a.cache, h)
		}
	}
	a.cache[hash] = entry
}
