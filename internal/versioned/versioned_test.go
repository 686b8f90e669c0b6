package versioned

import (
	"testing"

	"github.com/google/uuid"
)

func TestCache(t *testing.T) {
	c := New[string](3)
	a, b := uuid.New(), uuid.New()
	c.Put(a, 1, 5, "a@5")
	if v, ok := c.Get(a, 1, 5); !ok || v != "a@5" {
		t.Fatalf("Get(a, 1, 5) = %q, %v", v, ok)
	}
	for _, miss := range []struct {
		id               uuid.UUID
		account, version int64
	}{{a, 1, 6}, {a, 1, 4}, {a, 2, 5}, {b, 1, 5}} {
		if v, ok := c.Get(miss.id, miss.account, miss.version); ok {
			t.Errorf("Get(%v, %d, %d) = %q: another version, account or object", miss.id == a, miss.account, miss.version, v)
		}
	}
	c.Put(a, 1, 4, "a@4")
	if v, _ := c.Get(a, 1, 5); v != "a@5" {
		t.Errorf("an older version replaced a newer one: %q", v)
	}
	c.Put(a, 1, 7, "a@7")
	if v, ok := c.Get(a, 1, 7); !ok || v != "a@7" {
		t.Errorf("a newer version was not kept: %q", v)
	}
	for range 10 {
		c.Put(uuid.New(), 1, 1, "x")
	}
	if n := len(c.entries); n > 3 {
		t.Errorf("%d entries kept, bound 3", n)
	}
}
