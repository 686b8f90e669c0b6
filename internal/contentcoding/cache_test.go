package contentcoding

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/contentcoding/contentcodingtest"
)

// unpack decompresses body from coding, as a client would.
func unpack(t *testing.T, body []byte, coding Coding) []byte {
	t.Helper()
	plain, err := contentcodingtest.Unpack(coding.Name(), body)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

// answer is an answer-like JSON body of n offers; seed changes every
// offer's id, as a new time slot does.
func answer(n, seed int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"offers":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"offer_id":"%08x-%04x","gpu_type":"nvidia-h100-sxm5-80gb","vendor":"lambda","gpu_price_per_hour":%d.%02d}`,
			seed*7919+i*104729, i, 2+i/100, i%100)
	}
	b.WriteString("]}\n")
	return b.Bytes()
}

// TestCacheServesOnlyTheSameBytes: every body unpacks to exactly the
// answer asked for; an answer compressed twice before is served from the
// cache, and an answer that differs in one byte, or the same answer in
// another coding, is not.
func TestCacheServesOnlyTheSameBytes(t *testing.T) {
	c := NewCache(16, 8<<20, time.Minute)
	a, b := answer(300, 1), answer(300, 2)
	changed := bytes.Clone(a)
	changed[len(changed)/2] ^= 1
	for _, coding := range []Coding{Gzip, Zstd} {
		for _, step := range []struct {
			plain []byte
			kept  bool
		}{{a, false}, {a, false}, {a, true}, {b, false}, {changed, false}, {a, true}, {changed, false}, {changed, true}, {b, false}, {b, true}} {
			packed, kept := c.Get(step.plain, coding)
			if kept != step.kept {
				t.Errorf("%s: kept %v, want %v", coding.Name(), kept, step.kept)
			}
			if got := unpack(t, packed, coding); !bytes.Equal(got, step.plain) {
				t.Fatalf("%s: body unpacks to %d bytes that differ from the %d asked for", coding.Name(), len(got), len(step.plain))
			}
			if len(packed) > len(step.plain)/5 {
				t.Errorf("%s: %d bytes from %d", coding.Name(), len(packed), len(step.plain))
			}
		}
	}
}

// TestCacheComparesWholeAnswers: an entry found under an answer's hash
// that was made from other bytes (a hash collision) is not served.
func TestCacheComparesWholeAnswers(t *testing.T) {
	c := NewCache(16, 8<<20, time.Minute)
	a, b := answer(100, 1), answer(100, 2)
	c.Get(b, Gzip)
	packedB, _ := c.Get(b, Gzip)
	// b's entry, filed under a's hash as a collision would file it.
	eb := c.entries[key{c.hash(b), Gzip}]
	c.entries[key{c.hash(a), Gzip}] = eb
	packed, kept := c.Get(a, Gzip)
	if kept || bytes.Equal(packed, packedB) || !bytes.Equal(unpack(t, packed, Gzip), a) {
		t.Fatalf("an entry of other bytes under the same hash was served (kept %v)", kept)
	}
}

// TestCacheBounds: the cache holds at most its entries and bytes, and an
// answer over an eighth of its bytes is compressed but not kept.
func TestCacheBounds(t *testing.T) {
	const maxEntries, maxBytes = 4, 1 << 20
	c := NewCache(maxEntries, maxBytes, time.Minute)
	c.Get(answer(50, -1), Gzip)
	if len(c.entries) != 0 || c.held != 0 {
		t.Fatalf("an answer compressed once was kept: %d entries, %d bytes", len(c.entries), c.held)
	}
	for i := range 20 {
		c.Get(answer(50, i), Gzip)
		c.Get(answer(50, i), Gzip)
		if c.lru.Len() > maxEntries || len(c.entries) > maxEntries || c.held > maxBytes {
			t.Fatalf("after %d answers: %d entries (%d listed), %d bytes; bounds %d and %d", i+1, len(c.entries), c.lru.Len(), c.held, maxEntries, maxBytes)
		}
	}
	c = NewCache(1000, maxBytes, time.Minute)
	for i := range 40 {
		c.Get(answer(500, i), Zstd) // ~50 KB each
		c.Get(answer(500, i), Zstd)
		if c.held > maxBytes {
			t.Fatalf("after %d answers: %d bytes held, bound %d", i+1, c.held, maxBytes)
		}
	}
	if len(c.entries) == 0 || len(c.entries) >= 40 {
		t.Errorf("%d of 40 answers kept: the byte bound should keep some and drop some", len(c.entries))
	}
	huge := answer(2000, 1) // over maxBytes/8
	for range 3 {
		packed, kept := c.Get(huge, Gzip)
		if kept || !bytes.Equal(unpack(t, packed, Gzip), huge) {
			t.Fatalf("huge answer: kept %v", kept)
		}
	}
}

// TestCacheCompressesOnceForConcurrentRequests: requests that arrive
// together with the same new answer share one compression once the first
// has marked it seen.
func TestCacheCompressesOnceForConcurrentRequests(t *testing.T) {
	c := NewCache(16, 8<<20, time.Minute)
	plain := answer(1000, 3)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fresh int
	)
	for range 16 {
		wg.Go(func() {
			packed, kept := c.Get(plain, Zstd)
			if !bytes.Equal(unpack(t, packed, Zstd), plain) {
				t.Error("a concurrent request got another answer")
			}
			if !kept {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if fresh != 2 {
		t.Errorf("%d of 16 concurrent requests compressed the same answer, want 2 (the first, and the one that keeps it)", fresh)
	}
}

// TestCacheDropsWhatIsNotServed: past the entry bound the least recently
// served answer goes, not the oldest; and an answer not served for the
// idle time goes, memory and all.
func TestCacheDropsWhatIsNotServed(t *testing.T) {
	now := time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)
	c := NewCache(2, 8<<20, 10*time.Second)
	c.now = func() time.Time { return now }
	keep := func(plain []byte) {
		c.Get(plain, Gzip)
		c.Get(plain, Gzip)
	}
	kept := func(plain []byte) bool {
		_, kept := c.Get(plain, Gzip)
		return kept
	}
	a, b, d := answer(100, 1), answer(100, 2), answer(100, 3)
	keep(a)
	keep(b)
	if !kept(a) { // a is now the more recently served
		t.Fatal("a was not kept")
	}
	keep(d) // over the bound of 2: b goes
	if !kept(a) || !kept(d) {
		t.Fatal("a recently served answer went instead of the least recently served")
	}
	if kept(b) {
		t.Fatal("b, the least recently served, stayed past the bound")
	}
	now = now.Add(9 * time.Second)
	if !kept(a) {
		t.Fatal("a was dropped before it was idle for 10 s")
	}
	now = now.Add(10 * time.Second)
	if kept(a) {
		t.Fatal("a was still served after 10 s idle")
	}
	if c.lru.Len() != 0 || len(c.entries) != 0 || c.held != 0 {
		t.Errorf("after 10 s idle: %d entries (%d listed), %d bytes held", len(c.entries), c.lru.Len(), c.held)
	}
}
