package offers

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

func TestOfferIDsResolveToWhatWasShown(t *testing.T) {
	f := newFixture(t)
	shown := f.search(t, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}}).Offers[0]

	// The vendor changes its price: new queries see it, the shown offer keeps its own.
	f.beta.set([]vendors.CatalogItem{item("gpu-h100-sxm", 1, "eu-north1", "FI", 9.99, vendors.Spot)}, nil)
	f.refresh(t)
	if now := f.search(t, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100", ContractType: "spot"}}).Offers[0]; now.GPUPricePerHour != 9.99 {
		t.Fatalf("new price not served: %v", now.GPUPricePerHour)
	}
	d, err := f.ix.Details(context.Background(), 1, shown.OfferID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != supplyapi.OfferAvailable || d.GPUPricePerHour != shown.GPUPricePerHour || !d.ExpiresAt.Equal(shown.ExpiresAt) || d.VendorRegion != shown.VendorRegion {
		t.Errorf("details %+v\nwant the shown offer %+v", d, shown)
	}

	// Another index on the same database (a second replica, or a restart) resolves it too.
	other, err := New(f.config)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := other.Details(context.Background(), 1, shown.OfferID)
	if err != nil || d2.GPUPricePerHour != shown.GPUPricePerHour {
		t.Errorf("other replica: %+v, %v", d2, err)
	}

	// Another account, a tampered id and a random id are all unknown.
	for name, tc := range map[string]struct {
		account int64
		id      uuid.UUID
	}{
		"other account": {2, shown.OfferID},
		"tampered":      {1, func() uuid.UUID { id := shown.OfferID; id[3] ^= 1; return id }()},
		"random":        {1, uuid.New()},
	} {
		if _, err := f.ix.Details(context.Background(), tc.account, tc.id); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}

	f.clock.add(31 * time.Minute)
	if d, _ := f.ix.Details(context.Background(), 1, shown.OfferID); d.Status != supplyapi.OfferExpired {
		t.Errorf("after the TTL status = %q, want expired", d.Status)
	}
}

func TestProcuredSingleMachineIsHidden(t *testing.T) {
	f := newFixture(t)
	machine := item("H100 (80 GB PCIe)", 1, "us-west-1", "US", 0.99, vendors.OnDemand)
	machine.Stock = 1 // one specific machine, as a marketplace lists it
	f.alpha.set(append(f.alpha.list, machine), nil)
	f.refresh(t)
	q := supplyapi.OfferQuery{Vendor: "lambda", Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}}
	first := f.search(t, q).Offers[0]
	if first.GPUPricePerHour != 0.99 {
		t.Fatalf("cheapest %v, want the single machine", first.GPUPricePerHour)
	}
	pool := f.search(t, q).Offers[1]
	for _, id := range []uuid.UUID{first.OfferID, pool.OfferID} {
		if err := f.ix.MarkTaken(context.Background(), 1, id); err != nil {
			t.Fatal(err)
		}
	}
	after := f.search(t, q)
	if after.TotalCount != 2 || after.Offers[0].GPUPricePerHour == 0.99 {
		t.Errorf("after renting the single machine: %d offers, cheapest %v", after.TotalCount, after.Offers[0].GPUPricePerHour)
	}
	if after.Offers[0].GPUPricePerHour != pool.GPUPricePerHour {
		t.Errorf("an offer with pooled stock was hidden too")
	}
	// The vendor's next catalog without the machine replaces the snapshot.
	f.alpha.set(f.alpha.list[:len(f.alpha.list)-1], nil)
	f.refresh(t)
	if len(f.ix.taken) != 0 {
		t.Errorf("taken marks of replaced snapshots kept: %v", f.ix.taken)
	}
}

// An item a create was refused for is hidden from every renter at once,
// and shown again by the vendor's next read that began after the refusal,
// whether that read changed the catalog or not.
func TestRefusedItemIsHiddenUntilTheNextRead(t *testing.T) {
	f := newFixture(t)
	q := supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}, Region: "US"}
	before := f.search(t, q)
	cheapest, item, err := f.ix.Resolve(context.Background(), 1, before.Offers[0].OfferID)
	if err != nil {
		t.Fatal(err)
	}
	f.ix.MarkRefused(cheapest.Vendor, item)
	after := f.search(t, q)
	if after.TotalCount != before.TotalCount-1 || slices.ContainsFunc(after.Offers, func(o supplyapi.Offer) bool {
		return o.Vendor == cheapest.Vendor && o.VendorRegion == cheapest.VendorRegion && o.GPUCount == cheapest.GPUCount &&
			o.GPUPricePerHour == cheapest.GPUPricePerHour
	}) {
		t.Fatalf("after the refusal: %d offers (were %d), the refused one among them: %+v", after.TotalCount, before.TotalCount, after.Offers)
	}
	if other := f.search(t, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}, Region: "US"}); other.TotalCount != after.TotalCount {
		t.Errorf("another query still sees it")
	}
	// A read that began before the refusal (at the same instant, as this
	// clock stands still) does not show it again; one that began later does.
	f.refresh(t)
	if got := f.search(t, q).TotalCount; got != after.TotalCount {
		t.Errorf("a read that began no later than the refusal showed it again: %d offers", got)
	}
	f.clock.add(time.Second)
	f.refresh(t)
	if got := f.search(t, q).TotalCount; got != before.TotalCount {
		t.Errorf("after a later read: %d offers, want %d", got, before.TotalCount)
	}
	if len(f.ix.state[cheapest.Vendor].refused) != 0 {
		t.Errorf("refusals kept after a later read: %v", f.ix.state[cheapest.Vendor].refused)
	}
}

// An answer in the same second as the one a procured offer came from
// gives that offer a new id (a second later), so a renter renting machines
// one after another is never shown a spent id; the spent one still
// resolves to what was procured, and other accounts are not affected.
func TestProcuredOfferIsShownAgainUnderANewID(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	q := supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}}
	first := f.search(t, q).Offers[0]
	if err := f.ix.MarkTaken(ctx, 1, first.OfferID); err != nil {
		t.Fatal(err)
	}
	again := f.search(t, q).Offers[0]
	if again.OfferID == first.OfferID || !again.CreatedAt.Equal(first.CreatedAt.Add(time.Second)) {
		t.Errorf("the offer answered after it was procured: id %s created %s; first %s created %s; want a new id, a second later",
			again.OfferID, again.CreatedAt, first.OfferID, first.CreatedAt)
	}
	if again.GPUPricePerHour != first.GPUPricePerHour || again.Vendor != first.Vendor {
		t.Errorf("the same offer answered as %+v, want %+v", again, first)
	}
	if o, _, err := f.ix.Resolve(ctx, 1, first.OfferID); err != nil || o.OfferID != first.OfferID {
		t.Errorf("the spent id resolves to %+v, %v", o, err)
	}
	other, err := f.ix.Search(ctx, 2, q)
	if err != nil || !other.Offers[0].CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("another account's answer: %+v, %v; want created in the current second", other.Offers[0], err)
	}
}
