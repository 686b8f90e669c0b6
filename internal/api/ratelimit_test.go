package api

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestRateLimitPerAccount(t *testing.T) {
	ts := newTestServerWith(t, 0, func(c *Config) { c.RateLimit, c.RateBurst = 0.5, 2 })
	auth := "Bearer " + ts.key
	for i := range 2 {
		if r := ts.do(t, http.MethodGet, "/available_regions", "", "", auth); r.status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d", i, r.status)
		}
	}
	r := ts.do(t, http.MethodGet, "/available_regions", "", "", auth)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("request over the limit: %d %s", r.status, r.body)
	}
	after := r.header.Get("Retry-After")
	if s, err := strconv.Atoi(after); err != nil || s < 1 || s > 2 {
		t.Errorf("Retry-After %q, want 1-2 seconds", after)
	}
	wantJSON(t, r, http.StatusTooManyRequests, `{"detail":"Too many requests for this account; retry after `+after+` s"}`)
	// Health checks are not an account's requests.
	if r := ts.do(t, http.MethodGet, "/healthz", "", "", ""); r.status != http.StatusOK {
		t.Errorf("healthz limited: %d", r.status)
	}
}

// TestLimiterForgetsLeastRecentlyUsed: a full table makes room by
// forgetting its least recently used bucket once it has refilled; while
// that one still holds its key back, a new key shares the overflow.
func TestLimiterForgetsLeastRecentlyUsed(t *testing.T) {
	l := newLimiter[int](1, 2)
	start := time.Now()
	for i := range maxBuckets {
		l.allow(i, start)
	}
	// Key 0 spends its burst now; every other key's bucket refilled long ago.
	later := start.Add(time.Minute)
	l.allow(0, later)
	l.allow(0, later)
	if ok, _ := l.allow(maxBuckets, later); !ok {
		t.Fatal("a new key was refused a token")
	}
	if _, kept := l.buckets[1]; kept {
		t.Error("key 1, the least recently used, is still kept")
	}
	if wait := l.wait(0, later); wait == 0 {
		t.Error("key 0, used last, was forgotten with its spent bucket")
	}
	// Now key 0 is the oldest but one; spend every other bucket, so that
	// none may be forgotten: new keys share the overflow's burst of 2.
	for i := 2; i <= maxBuckets; i++ {
		l.allow(i, later)
	}
	l.allow(0, later)
	refused := 0
	for k := maxBuckets + 1; k <= maxBuckets+3; k++ {
		if ok, _ := l.allow(k, later); !ok {
			refused++
		}
	}
	if refused != 1 || len(l.buckets) != maxBuckets {
		t.Errorf("%d of 3 new keys refused with %d buckets kept; want 1 refused by the shared overflow and %d kept", refused, len(l.buckets), maxBuckets)
	}
}

// BenchmarkLimiterFull is a request from a new address while the table
// is full of buckets still in use (each has spent a token, none has
// refilled): the case in which a limiter that looks for a bucket to
// forget by scanning them all does so under its lock on every request.
func BenchmarkLimiterFull(b *testing.B) {
	l := newLimiter[int](1, 20)
	now := time.Now()
	for i := range maxBuckets {
		l.allow(i, now)
	}
	next := maxBuckets
	for b.Loop() {
		l.allow(next, now)
		next++
	}
}

// BenchmarkLimiterKnown is a request from an address the full table
// already has a bucket for, the common case.
func BenchmarkLimiterKnown(b *testing.B) {
	l := newLimiter[int](1, 20)
	now := time.Now()
	for i := range maxBuckets {
		l.allow(i, now)
	}
	i := 0
	for b.Loop() {
		l.allow(i%maxBuckets, now)
		i++
	}
}
