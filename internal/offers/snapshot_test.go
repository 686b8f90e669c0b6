package offers

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// A refresh that reuses entries must end where a refresh from nothing
// ends: the same offers, items and answer bytes in the same order, after
// items were changed, added and removed anywhere; and it must reuse the
// entry of every item it was shown before.
func TestRefreshReusesOnlyUnchangedEntries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cat := syntheticCatalog(2000)
	cat[7].Extra = map[string]string{"image": "ubuntu", "flavor": "x"}
	cat[9].Nodes, cat[9].InfinibandGbps, cat[9].ClusterStorageGB = 4, 3200, 1024
	cat[11].GPUName = "Imaginary X9000"
	src := &fakeSource{info: vendors.Info{Name: "lambda"}}
	cfg := Config{Sources: []Source{src}, Snapshots: storetest.Open(t, "sqlite"), IDKey: []byte("0123456789abcdef")}
	ix, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 8 {
		before := map[*Entry]vendors.CatalogItem{}
		for _, e := range ix.state["lambda"].entries {
			before[e] = e.Item
		}
		next := slices.Clone(cat)
		for range 20 {
			i := rng.IntN(len(next))
			switch rng.IntN(4) {
			case 0:
				next[i].PricePerHour *= 1.1
			case 1:
				next = slices.Delete(next, i, i+1)
			case 2:
				added := next[i]
				added.InstanceType += "-new"
				next = slices.Insert(next, i, added)
			case 3:
				next[i].Available = !next[i].Available
			}
		}
		cat = next
		src.set(slices.Clone(cat), nil)
		if err := ix.Refresh(context.Background(), "lambda"); err != nil {
			t.Fatal(err)
		}
		got := ix.state["lambda"].entries

		fresh, err := New(Config{Sources: []Source{src}, Snapshots: storetest.Open(t, "sqlite"), IDKey: cfg.IDKey})
		if err != nil {
			t.Fatal(err)
		}
		if err := fresh.Refresh(context.Background(), "lambda"); err != nil {
			t.Fatal(err)
		}
		want := fresh.state["lambda"].entries
		if len(got) != len(want) {
			t.Fatalf("round %d: %d entries, from nothing %d", round, len(got), len(want))
		}
		reused := 0
		for i := range got {
			g, w := got[i], want[i]
			if !sameItem(g.Item, w.Item) || !bytes.Equal(g.enc.appendTo(nil, nil), w.enc.appendTo(nil, nil)) ||
				!bytes.Equal(encodingJSON(t, g.Offer()), encodingJSON(t, w.Offer())) {
				t.Fatalf("round %d: entry %d is %+v, from nothing %+v", round, i, g.Offer(), w.Offer())
			}
			if old, ok := before[g]; ok {
				reused++
				if !sameItem(old, g.Item) {
					t.Fatalf("round %d: entry %d reused for a changed item", round, i)
				}
			}
		}
		// At most 20 edits (two items each for a move) cost new entries.
		if round > 0 && reused < len(got)-60 {
			t.Errorf("round %d: only %d of %d entries reused", round, reused, len(got))
		}
	}
}

// The snapshot body is the entries' items, as encoding/json writes them,
// and reads back into the same entries; bodies written before (arrays of
// offers and items) still read.
func TestSnapshotBodyRoundTrip(t *testing.T) {
	cat := syntheticCatalog(300)
	cat[3].Extra = map[string]string{"b": "2", "a": "1 \"quoted\""}
	cat[5].Nodes, cat[5].InfinibandGbps, cat[5].ClusterStorageGB = 2, 400, 512
	cat[7].NoVolumes = true
	info := vendors.Info{Name: "lambda", Containers: true}
	_, entries, err := diffRead(info, nil, cat, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	body := snapshotBody(entries, 0)
	items := make([]vendors.CatalogItem, len(entries))
	for i, e := range entries {
		items[i] = e.Item
	}
	if want := encodingJSON(t, map[string]any{"items": items}); !bytes.Equal(body, want) {
		t.Fatalf("body differs from encoding/json:\n%.300s\n%.300s", body, want)
	}
	type legacyEntry struct {
		Offer supplyapi.Offer     `json:"offer"`
		Item  vendors.CatalogItem `json:"item"`
	}
	var old []legacyEntry
	for _, e := range entries {
		old = append(old, legacyEntry{e.Offer(), e.Item})
	}
	legacy, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{body, legacy} {
		back, err := decodeSnapshot(info, b)
		if err != nil {
			t.Fatal(err)
		}
		if len(back) != len(entries) {
			t.Fatalf("%d entries back, want %d", len(back), len(entries))
		}
		for i := range back {
			if !bytes.Equal(back[i].enc.appendTo(nil, nil), entries[i].enc.appendTo(nil, nil)) || !sameItem(back[i].Item, entries[i].Item) {
				t.Fatalf("entry %d reads back as %+v, want %+v", i, back[i].Offer(), entries[i].Offer())
			}
		}
	}
}

// TestEntriesShareAnswerParts: entries whose answer parts read alike hold
// one copy of them, and an entry made by a later refresh shares the copies
// of the entries it joins.
func TestEntriesShareAnswerParts(t *testing.T) {
	cat := syntheticCatalog(2000)
	src := &fakeSource{info: vendors.Info{Name: "lambda"}}
	ix, err := New(Config{Sources: []Source{src}, Snapshots: storetest.Open(t, "sqlite"), IDKey: []byte("0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	src.set(slices.Clone(cat), nil)
	if err := ix.Refresh(context.Background(), "lambda"); err != nil {
		t.Fatal(err)
	}
	// copies is how many copies of each distinct part text the entries hold.
	copies := func() map[string]int {
		seen := map[*byte]bool{}
		n := map[string]int{}
		for _, e := range ix.state["lambda"].entries {
			for _, p := range [3]string{e.enc.ident, e.enc.shape, e.enc.tail} {
				if d := unsafe.StringData(p); !seen[d] {
					seen[d] = true
					n[p]++
				}
			}
		}
		return n
	}
	check := func(when string) {
		n := copies()
		for p, c := range n {
			if c > 1 {
				t.Errorf("%s: %d copies of %.60s…", when, c, p)
			}
		}
		if entries := len(ix.state["lambda"].entries); len(n) >= 3*entries {
			t.Errorf("%s: %d distinct parts in %d entries: nothing shared", when, len(n), entries)
		}
	}
	check("first read")
	for i := 0; i < len(cat); i += 7 {
		cat[i].PricePerHour *= 1.5
	}
	src.set(slices.Clone(cat), nil)
	if err := ix.Refresh(context.Background(), "lambda"); err != nil {
		t.Fatal(err)
	}
	check("after a change")
}
