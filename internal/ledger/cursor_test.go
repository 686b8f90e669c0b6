package ledger_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/supplyapi"
)

func TestCursorRoundTrip(t *testing.T) {
	last := supplyapi.ResourceSummary{ResourceID: uuid.New(), CreatedAt: time.Date(2026, 12, 1, 15, 4, 5, 123456000, time.UTC)}
	c, err := ledger.ParseCursor(ledger.NextCursor(last))
	if err != nil || c.ID != last.ResourceID.String() || !c.CreatedAt.Equal(last.CreatedAt) {
		t.Fatalf("%+v %v", c, err)
	}
}

// FuzzParseCursor feeds ParseCursor what clients may send: it never
// panics, and what it accepts is what NextCursor makes of it again.
func FuzzParseCursor(f *testing.F) {
	f.Add(ledger.NextCursor(supplyapi.ResourceSummary{ResourceID: uuid.MustParse("22222222-2222-4222-8222-222222222222"), CreatedAt: time.UnixMicro(1_800_000_000_123_456)}))
	f.Add("MTIzXzIyMjIyMjIyLTIyMjItNDIyMi04MjIyLTIyMjIyMjIyMjIyMg")
	f.Add("")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ledger.ParseCursor(s)
		if err != nil {
			return
		}
		again := ledger.NextCursor(supplyapi.ResourceSummary{ResourceID: uuid.MustParse(c.ID), CreatedAt: c.CreatedAt})
		if again != s {
			t.Fatalf("%q parses to %+v, which is %q", s, c, again)
		}
	})
}
