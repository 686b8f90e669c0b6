package api

import (
	"sync"

	"github.com/google/uuid"
)

// maxMemos bounds a memo as provision bounds its caches; past it, entries
// are dropped at random (a dropped entry costs one encoding).
const maxMemos = 50_000

// memo keeps what the API made of an object (its encoded answer, or a part
// of it), under the account and the version of the rows the object was
// rendered from (provision's Version fields): an object of the same
// version is the same, so what was made of it can be written again
// instead of encoded and hashed again.
type memo[V any] struct {
	mu      sync.Mutex
	entries map[uuid.UUID]memoEntry[V]
}

type memoEntry[V any] struct {
	accountID, version int64
	value              V
}

func newMemo[V any]() *memo[V] {
	return &memo[V]{entries: map[uuid.UUID]memoEntry[V]{}}
}

// get returns what was kept for the account's object id at version.
func (m *memo[V]) get(id uuid.UUID, accountID, version int64) (V, bool) {
	m.mu.Lock()
	e, ok := m.entries[id]
	m.mu.Unlock()
	if !ok || e.accountID != accountID || e.version != version {
		var zero V
		return zero, false
	}
	return e.value, true
}

// put keeps v for the account's object id at version, unless something of
// a later version is kept already.
func (m *memo[V]) put(id uuid.UUID, accountID, version int64, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[id]; ok && e.accountID == accountID && e.version > version {
		return
	}
	for k := range m.entries {
		if len(m.entries) < maxMemos {
			break
		}
		delete(m.entries, k)
	}
	m.entries[id] = memoEntry[V]{accountID: accountID, version: version, value: v}
}

// encodedAnswer is an answer encoded once, with its ETag; its bytes are
// never changed, so any number of responses may write them at once.
type encodedAnswer struct {
	body []byte
	tag  string
}
