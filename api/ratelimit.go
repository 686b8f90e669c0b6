package api

import (
	"container/list"
	"math"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxBuckets bounds how many keys a limiter tracks, so that requests from
// ever new addresses cannot grow it without end.
const maxBuckets = 100_000

// limiter keeps one token bucket per key (an account, a client address),
// so that one client going too fast slows down only itself.
type limiter[K comparable] struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	// buckets finds a key's element in order, which holds the buckets
	// from the most recently used (front) to the least (back), so that
	// the one to forget when the table is full is found at once.
	buckets map[K]*list.Element
	order   *list.List
	// overflow is shared by the keys that find the table full of busy
	// buckets: they are limited together rather than not at all.
	overflow *rate.Limiter
}

// keyBucket is an element of limiter.order.
type keyBucket[K comparable] struct {
	key    K
	bucket *rate.Limiter
}

func newLimiter[K comparable](perSecond float64, burst int) *limiter[K] {
	if perSecond <= 0 {
		return nil
	}
	l := &limiter[K]{limit: rate.Limit(perSecond), burst: max(burst, 1), buckets: map[K]*list.Element{}, order: list.New()}
	l.overflow = rate.NewLimiter(l.limit, l.burst)
	return l
}

// bucket is key's bucket, made when first needed.
func (l *limiter[K]) bucket(key K, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.buckets[key]; ok {
		l.order.MoveToFront(e)
		return e.Value.(*keyBucket[K]).bucket
	}
	if len(l.buckets) < maxBuckets {
		b := rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = l.order.PushFront(&keyBucket[K]{key: key, bucket: b})
		return b
	}
	// The least recently used bucket is the one most likely to have
	// refilled; a full bucket is one that forgetting changes nothing for.
	// Any other may still be holding a client back, so the new key shares
	// the overflow until the oldest bucket has refilled.
	e := l.order.Back()
	kb := e.Value.(*keyBucket[K])
	if kb.bucket.TokensAt(now) < float64(l.burst) {
		return l.overflow
	}
	delete(l.buckets, kb.key)
	kb.key, kb.bucket = key, rate.NewLimiter(l.limit, l.burst)
	l.buckets[key] = e
	l.order.MoveToFront(e)
	return kb.bucket
}

// allow takes a token for key, or says how long until one is free.
func (l *limiter[K]) allow(key K, now time.Time) (bool, time.Duration) {
	r := l.bucket(key, now).ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// wait is how long until key has a token, without taking it: zero when
// it has one now, or has no bucket yet.
func (l *limiter[K]) wait(key K, now time.Time) time.Duration {
	l.mu.Lock()
	var b *rate.Limiter
	if e, ok := l.buckets[key]; ok {
		l.order.MoveToFront(e)
		b = e.Value.(*keyBucket[K]).bucket
	}
	l.mu.Unlock()
	if b == nil {
		return 0
	}
	tokens := b.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(l.limit) * float64(time.Second))
}

// retryAfter renders a wait as a Retry-After value: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// clientAddress is who a request comes from, for limits: the peer's IP
// address, or for IPv6 its /64, which one subscriber usually holds whole.
func clientAddress(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
