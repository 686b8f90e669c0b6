// Package versioned keeps what was made of an account's rows (a rendered
// status, an encoded answer) under the change version the rows were read
// at (store.ChangeVersion, which every write of the account's procurements
// and resources moves, whoever makes it). A reader that has just read the
// account's version and finds a value of that version has what the rows
// would give now, without reading them.
package versioned

import (
	"sync"

	"github.com/google/uuid"
)

// Cache holds at most a bound of values, one per object id; past it,
// entries are dropped at random (a dropped entry costs one remake).
type Cache[V any] struct {
	mu      sync.Mutex
	max     int
	entries map[uuid.UUID]entry[V]
}

type entry[V any] struct {
	accountID, version int64
	value              V
}

// New returns a Cache of at most max values.
func New[V any](max int) *Cache[V] {
	return &Cache[V]{max: max, entries: map[uuid.UUID]entry[V]{}}
}

// Get returns the value kept for the account's object id at version.
func (c *Cache[V]) Get(id uuid.UUID, accountID, version int64) (V, bool) {
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if !ok || e.accountID != accountID || e.version != version {
		var zero V
		return zero, false
	}
	return e.value, true
}

// Put keeps v for the account's object id at version, unless a value of a
// later version is kept already.
func (c *Cache[V]) Put(id uuid.UUID, accountID, version int64, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok && e.accountID == accountID && e.version > version {
		return
	}
	for k := range c.entries {
		if len(c.entries) < c.max {
			break
		}
		delete(c.entries, k)
	}
	c.entries[id] = entry[V]{accountID: accountID, version: version, value: v}
}
