package api

import (
	"container/list"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
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

// clientKey is who a request comes from, for the limit on invalid keys:
// its TCP peer, or, when the peer is one of Config.TrustedProxies, the
// right-most address of X-Forwarded-For that is not itself a trusted proxy
// (each proxy appends the address it was reached from, so what lies left of
// the first untrusted hop was written by the client and proves nothing).
// An entry that is not an address ends the walk at the last trusted hop, so
// that a garbled header cannot choose its own key. IPv6 clients are keyed
// by their /64, which one subscriber usually holds whole.
func (a *API) clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	client, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	client = client.WithZone("").Unmap()
	if a.trusted(client) {
		client = a.forwardedFor(client, r.Header.Values("X-Forwarded-For"))
	}
	if client.Is6() {
		return netip.PrefixFrom(client, 64).Masked().String()
	}
	return client.String()
}

// forwardedFor walks X-Forwarded-For (every header line, in order) from
// the right while its hops are trusted proxies, starting from the peer.
func (a *API) forwardedFor(peer netip.Addr, lines []string) netip.Addr {
	client := peer
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		for rest != "" {
			var hop string
			if comma := strings.LastIndexByte(rest, ','); comma >= 0 {
				rest, hop = rest[:comma], rest[comma+1:]
			} else {
				rest, hop = "", rest
			}
			addr, ok := parseHop(strings.TrimSpace(hop))
			if !ok {
				return client
			}
			client = addr
			if !a.trusted(addr) {
				return client
			}
		}
	}
	return client
}

// parseHop reads one X-Forwarded-For entry: an address, or an address and
// a port as some proxies write it ("192.0.2.1:443", "[2001:db8::1]:443").
func parseHop(s string) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return netip.Addr{}, false
		}
		addr = ap.Addr()
	}
	return addr.WithZone("").Unmap(), true
}

// trusted reports whether addr is one of Config.TrustedProxies.
func (a *API) trusted(addr netip.Addr) bool {
	for _, p := range a.cfg.TrustedProxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
