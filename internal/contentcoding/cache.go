package contentcoding

import (
	"bytes"
	"container/list"
	"hash/maphash"
	"sync"
	"time"

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
// answers and compressed bodies together; past either bound the least
// recently served entries go, and so does any entry not served for idle
// (a get_offers answer is only ever served within its second, so without
// this the cache would sit at its bounds with answers nobody can get). An
// answer larger than maxBytes/8 is compressed for its request and not
// kept, so that one huge answer cannot empty the cache. The hashes of
// answers seen once are at most 4 × maxEntries (16 bytes each), forgotten
// all at once past that.
type Cache struct {
	seed       maphash.Seed
	maxEntries int
	maxBytes   int
	idle       time.Duration
	now        func() time.Time
	mu         sync.Mutex
	entries    map[key]*list.Element
	// lru holds the *entry values, least recently served first, the
	// ones replaced in entries too until their turn comes; held is the
	// bytes of all of them.
	lru  *list.List
	held int
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
	// served is when the entry was made or last served. size is the
	// memory it holds, counted in Cache.held until it is evicted.
	served  time.Time
	size    int
	evicted bool
}

// NewCache returns a Cache bounded by maxEntries entries and maxBytes
// bytes, whose entries go once not served for idle.
func NewCache(maxEntries, maxBytes int, idle time.Duration) *Cache {
	return &Cache{seed: maphash.MakeSeed(), maxEntries: maxEntries, maxBytes: maxBytes, idle: idle, now: time.Now,
		entries: map[key]*list.Element{}, lru: list.New(), seen: map[key]struct{}{}}
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
	now := c.now()
	c.evict(now)
	// Compared under the lock (a few microseconds for a 225 KB answer),
	// so that concurrent misses of one answer find each other's entry.
	if el := c.entries[k]; el != nil && bytes.Equal(el.Value.(*entry).plain, plain) {
		e := el.Value.(*entry)
		e.served = now
		c.lru.MoveToBack(el)
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
	e := &entry{key: k, plain: bytes.Clone(plain), done: make(chan struct{}), served: now}
	e.size = cap(e.plain)
	c.entries[k] = c.lru.PushBack(e)
	c.held += e.size
	c.evict(now)
	c.mu.Unlock()

	packed = compress(plain, coding)
	c.mu.Lock()
	e.packed = packed
	if !e.evicted {
		e.size += cap(packed)
		c.held += cap(packed)
		c.evict(c.now())
	}
	c.mu.Unlock()
	close(e.done)
	return packed, false
}

// hash is the hash plain is filed under.
func (c *Cache) hash(plain []byte) uint64 { return maphash.Bytes(c.seed, plain) }

// evict drops the least recently served entries while the cache is over
// a bound or they have been idle too long. An entry still being
// compressed may go: its waiters hold it.
func (c *Cache) evict(now time.Time) {
	for el := c.lru.Front(); el != nil; el = c.lru.Front() {
		e := el.Value.(*entry)
		if c.lru.Len() <= c.maxEntries && c.held <= c.maxBytes && now.Sub(e.served) < c.idle {
			return
		}
		c.lru.Remove(el)
		c.held -= e.size
		e.evicted = true
		if c.entries[e.key] == el {
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
