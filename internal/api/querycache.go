package api

import (
	"sync"

	"github.com/gpusupply/supply/supplyapi"
)

// queryCache remembers the queries decoded from recent get_offers bodies.
// Clients poll with the same few bytes over and over, and parsing and
// validating a 40-byte YAML body was a fifth of the server's CPU per
// answer (BENCHMARKS.md). Decoding depends on nothing but the content type
// and the body, so a body seen before needs no parse. Only bodies that
// decoded cleanly are kept: a bad one takes the full path to its error.
type queryCache struct {
	mu      sync.RWMutex
	queries map[string]supplyapi.OfferQuery
}

const (
	// maxCachedBody is the longest body kept: real queries are tens of
	// bytes; a long one is rare and not worth the memory.
	maxCachedBody = 512
	// maxCachedQueries bounds the cache. When it is full it starts
	// over, which costs one parse per distinct body.
	maxCachedQueries = 4096
)

// cacheKey is the key of a body sent with contentType; ok is false when
// the body is too long to keep.
func cacheKey(contentType string, body []byte) (key string, ok bool) {
	if len(body) > maxCachedBody {
		return "", false
	}
	return contentType + "\x00" + string(body), true
}

func (c *queryCache) get(key string) (supplyapi.OfferQuery, bool) {
	c.mu.RLock()
	q, ok := c.queries[key]
	c.mu.RUnlock()
	return cloneQuery(q), ok
}

func (c *queryCache) put(key string, q supplyapi.OfferQuery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.queries == nil || len(c.queries) >= maxCachedQueries {
		c.queries = make(map[string]supplyapi.OfferQuery)
	}
	c.queries[key] = cloneQuery(q)
}

// cloneQuery copies what q points to, so that no caller can change the
// cached query through its pointers.
func cloneQuery(q supplyapi.OfferQuery) supplyapi.OfferQuery {
	if p := q.Compute.MaxPricePerGPUHour; p != nil {
		v := *p
		q.Compute.MaxPricePerGPUHour = &v
	}
	if n := q.Compute.NodeCount; n != nil {
		v := *n
		q.Compute.NodeCount = &v
	}
	if q.Network != nil {
		net := *q.Network
		if c := net.SupportsCilium; c != nil {
			v := *c
			net.SupportsCilium = &v
		}
		q.Network = &net
	}
	return q
}
