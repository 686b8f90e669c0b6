package vendors

import "testing"

// TestItemsSize: a read as long as the last fills the slice Make returns
// without growing it, and so allocates once; the first read starts empty.
func TestItemsSize(t *testing.T) {
	var size ItemsSize
	if c := cap(size.Make()); c != 0 {
		t.Errorf("the first read's slice has room for %d items, want 0", c)
	}
	size.Keep(make([]CatalogItem, 1000))
	allocs := testing.AllocsPerRun(10, func() {
		items := size.Make()
		for range 1000 {
			items = append(items, CatalogItem{})
		}
	})
	if allocs != 1 {
		t.Errorf("a read as long as the last allocated %v times, want once", allocs)
	}
}
