package standin

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

// fakeSeller is a stand-in's stock model reduced to its levels.
type fakeSeller struct {
	mu     sync.Mutex
	levels []Level
}

func (f *fakeSeller) list() []Level { return f.levels }

// TestCapacity holds the ledger to its rules: an item is its stock
// model's level (sold out while it flickers) until a Set pins it; a pinned
// item ignores the flicker and loses what renters take and regains what
// they give back; a Set cannot give back more than the stock model has;
// the ledger is kept across a restart; a nil ledger takes nothing away.
func TestCapacity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "capacity.json")
	c, err := NewCapacity(path)
	if err != nil {
		t.Fatal(err)
	}
	h100 := Item{Vendor: "v", InstanceType: "h100", Region: "r1", Contract: OnDemand, GPUCount: 1, NodeCount: 1}
	a100 := Item{Vendor: "v", InstanceType: "a100", Region: "r1", Contract: OnDemand, GPUCount: 1, NodeCount: 1}
	spot := Item{Vendor: "v", InstanceType: "h100", Region: "r1", Contract: Spot, GPUCount: 1, NodeCount: 1}
	elsewhere := Item{Vendor: "v", InstanceType: "h100", Region: "r2", Contract: OnDemand, GPUCount: 1, NodeCount: 1}
	seller := &fakeSeller{levels: []Level{
		{Item: h100, Natural: 3, Flickered: true},
		{Item: a100, Natural: 0},
		{Item: spot, Natural: 2},
		{Item: elsewhere, Natural: 5},
	}}
	c.Register("v", &seller.mu, seller.list)
	free := func(c *Capacity, i int) int { return c.Free(seller.levels[i]) }

	if got := free(c, 0); got != 0 {
		t.Errorf("a flickering item has %d free before any Set, want 0", got)
	}
	if got := free(c, 3); got != 5 {
		t.Errorf("an item has %d free before any Set, want its natural 5", got)
	}
	got, err := c.Set(Selection{Vendor: "v", Region: "r1", Contract: OnDemand}, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []Stock{{a100, 0}, {h100, 2}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Set answered %+v, want %+v (a sold-out item cannot be given more)", got, want)
	}
	if got := free(c, 0); got != 2 {
		t.Errorf("a pinned item has %d free while it flickers, want the 2 set", got)
	}
	if got, want := free(c, 2)+free(c, 3), 2+5; got != want {
		t.Errorf("items Set did not pick have %d free together, want %d as before", got, want)
	}
	seller.levels[0].Natural = 2 // a renter took one
	if got := free(c, 0); got != 1 {
		t.Errorf("after a renter took one of 2, %d free, want 1", got)
	}
	if got := c.List(Selection{Vendor: "v", InstanceType: "h100"}); len(got) != 3 || got[0] != (Stock{h100, 1}) {
		t.Errorf("List of every h100: %+v, want three items, the pinned one with 1 free first", got)
	}
	if _, err := c.Set(Selection{Vendor: "v", Region: "r1", InstanceType: "h100", Contract: OnDemand}, 9); err != nil {
		t.Fatal(err)
	}
	if got := free(c, 0); got != 2 {
		t.Errorf("asked for 9 of an item whose stock leaves 2, %d free, want 2", got)
	}

	for _, tc := range []struct {
		sel  Selection
		free int
		err  error
	}{
		{Selection{Vendor: "w", Region: "r1"}, 0, ErrUnknownVendor},
		{Selection{Vendor: "v", Region: "r3"}, 0, ErrNoItem},
		{Selection{Vendor: "v", Region: "r1", InstanceType: "b200"}, 0, ErrNoItem},
	} {
		if _, err := c.Set(tc.sel, tc.free); !errors.Is(err, tc.err) {
			t.Errorf("Set(%s): %v, want %v", tc.sel, err, tc.err)
		}
	}
	if _, err := c.Set(Selection{Vendor: "v"}, -1); err == nil {
		t.Error("Set with free -1 passed")
	}

	again, err := NewCapacity(path)
	if err != nil {
		t.Fatal(err)
	}
	again.Register("v", &seller.mu, seller.list)
	if got := free(again, 0); got != 2 {
		t.Errorf("after a restart the pinned item has %d free, want 2", got)
	}
	var none *Capacity
	if got := free(none, 0) + free(none, 3); got != 5 {
		t.Errorf("a nil ledger leaves %d free of a flickering item and one with 5, want 5", got)
	}
	none.Register("v", &seller.mu, seller.list)
}
