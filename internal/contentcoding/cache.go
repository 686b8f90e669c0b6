package contentcoding

import (
	"bytes"
	"hash/maphash"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Cache keeps the compressed bodies of recent answers, keyed by the
// answer's own bytes: a request whose answer is byte for byte one that was
// compressed before gets that compressed body, and one whose answer
// differs in any byte (another offer id, time slot, price or catalog) gets
// its own. An entry is found by a hash of the answer and then compared
// with it in full, so a body is never served for an answer it was not
// made from, whatever made the two answers alike or not.
//
// An answer is kept the second time it is compressed: most answers are
// sent once (one account's poll in its second of offer ids, a resource
// list whose costs moved), and copying those into the cache would only
// push out the ones that repeat. The first time, only its hash is noted.
//
// Memory: at most maxEntries entries holding at most maxBytes bytes of
// answers and compressed bodies together; past either bound the oldest
// entries go. An answer larger than maxBytes/8 is compressed for its
// request and not kept, so that one huge answer cannot empty the cache.
// The hashes of answers seen once are at most 4 × maxEntries (16 bytes
// each), forgotten all at once past that.
type Cache struct {
	seed       maphash.Seed
	maxEntries int
	maxBytes   int
	mu         sync.Mutex
	entries    map[key]*entry
	// order holds the entries oldest first, the ones replaced in entries
	// too until their turn comes; held is the bytes of all of them.
	order []*entry
	held  int
	// seen holds the keys of answers compressed once and not kept.
	seen map[key]struct{}
}

type key struct {
	sum    uint64
	coding Coding
}

// entry is an answer and its compressed body, which is set before done is
// closed and never changed after: any number of responses may write it.
type entry struct {
	key
	plain, packed []byte
	done          chan struct{}
	// size is the memory the entry holds, counted in Cache.held until it
	// is evicted.
	size    int
	evicted bool
}

// NewCache returns a Cache bounded by maxEntries entries and maxBytes
// bytes.
func NewCache(maxEntries, maxBytes int) *Cache {
	return &Cache{seed: maphash.MakeSeed(), maxEntries: maxEntries, maxBytes: maxBytes, entries: map[key]*entry{}, seen: map[key]struct{}{}}
}

// Get returns plain compressed in coding (not Identity), and whether it
// was kept from an earlier request. Concurrent requests for the same
// answer, once it is to be kept, wait for one compression rather than
// each making its own.
func (c *Cache) Get(plain []byte, coding Coding) (packed []byte, kept bool) {
	if len(plain) > c.maxBytes/8 {
		return compress(plain, coding), false
	}
	k := key{c.hash(plain), coding}
	c.mu.Lock()
	// Compared under the lock (a few microseconds for a 225 KB answer),
	// so that concurrent misses of one answer find each other's entry.
	if e := c.entries[k]; e != nil && bytes.Equal(e.plain, plain) {
		c.mu.Unlock()
		<-e.done
		return e.packed, true
	}
	if _, again := c.seen[k]; !again {
		if len(c.seen) >= 4*c.maxEntries {
			clear(c.seen)
		}
		c.seen[k] = struct{}{}
		c.mu.Unlock()
		return compress(plain, coding), false
	}
	delete(c.seen, k)
	e := &entry{key: k, plain: bytes.Clone(plain), done: make(chan struct{})}
	e.size = cap(e.plain)
	c.entries[k] = e
	c.order = append(c.order, e)
	c.held += e.size
	c.evict()
	c.mu.Unlock()

	packed = compress(plain, coding)
	c.mu.Lock()
	e.packed = packed
	if !e.evicted {
		e.size += cap(packed)
		c.held += cap(packed)
		c.evict()
	}
	c.mu.Unlock()
	close(e.done)
	return packed, false
}

// hash is the hash plain is filed under.
func (c *Cache) hash(plain []byte) uint64 { return maphash.Bytes(c.seed, plain) }

// evict drops the oldest entries while the cache is over a bound. An
// entry still being compressed may go: its waiters hold it.
func (c *Cache) evict() {
	for len(c.order) > 0 && (len(c.order) > c.maxEntries || c.held > c.maxBytes) {
		e := c.order[0]
		c.order[0] = nil // not held by the slice's array once dropped
		c.order = c.order[1:]
		c.held -= e.size
		e.evicted = true
		if c.entries[e.key] == e {
			delete(c.entries, e.key)
		}
	}
}

// gzipWriters are reused: a writer carries hundreds of KB of compressor
// state, too much to make per answer.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// zstdEncoder compresses for every request at once (EncodeAll runs up to
// GOMAXPROCS compressions concurrently). Its fastest level already makes
// bodies smaller than gzip's best. A window of 1 MiB (answers are mostly
// smaller; HTTP clients must accept up to 8 MB, RFC 9659) and the lower
// memory mode keep its state at ~1.5 MB per concurrent compression
// instead of ~9 MB, at the same speed and size for a 225 KB answer.
var zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
	if err != nil {
		panic("contentcoding: zstd encoder: " + err.Error()) // only for invalid options
	}
	return e
})

// compress is plain in coding, Gzip or Zstd.
func compress(plain []byte, coding Coding) []byte {
	if coding == Zstd {
		return zstdEncoder().EncodeAll(plain, make([]byte, 0, len(plain)/8))
	}
	var buf bytes.Buffer
	buf.Grow(len(plain) / 8)
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(&buf)
	// Writes to a bytes.Buffer do not fail.
	w.Write(plain)
	w.Close()
	w.Reset(nil) // pooled without a hold on buf
	gzipWriters.Put(w)
	return buf.Bytes()
}
