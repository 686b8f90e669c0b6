package provision_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/provision"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/supplyapi"
)

// equivalents finds, in the sandbox's catalog, a single-GPU offer with at
// least n equivalents in stock (its exact GPU, contract and region group,
// at most 25% dearer per GPU-hour) at two vendors or more: the offers,
// cheapest first, the procured one first. Stock and prices drift with the
// wall clock, so the GPU is found, not named.
func (e *env) equivalents(n int) []supplyapi.Offer {
	e.t.Helper()
	for _, gpu := range []string{"nvidia-h100-pcie-80gb", "nvidia-h100-sxm5-80gb", "nvidia-h200-sxm5-141gb", "nvidia-l40s-pcie-48gb", "nvidia-rtx-4090-pcie-24gb"} {
		for _, region := range []string{"US", "EU", "APAC"} {
			res, err := e.index.Search(context.Background(), 1, supplyapi.OfferQuery{Region: region,
				Compute: supplyapi.OfferQueryCompute{GPUType: gpu, ContractType: "ondemand"}, Limit: 1000})
			if err != nil {
				e.t.Fatal(err)
			}
			var within []supplyapi.Offer
			vendorsSeen := map[string]bool{}
			for _, o := range res.Offers {
				if len(res.Offers) > 0 && o.GPUPricePerHour <= res.Offers[0].GPUPricePerHour*1.25 {
					within = append(within, o)
					vendorsSeen[o.Vendor] = true
				}
			}
			if len(within) >= n && len(vendorsSeen) >= 2 {
				return within
			}
		}
	}
	e.t.Fatalf("no GPU with %d equivalent offers at two vendors in the sandbox", n)
	return nil
}

// takeAway leaves free units of o's catalog item at its vendor: other
// customers rent (or give back) the rest.
func (e *env) takeAway(o supplyapi.Offer, free int) {
	e.t.Helper()
	_, it, err := e.index.Resolve(context.Background(), 1, o.OfferID)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.sb.Capacity().Set(standin.Selection{Vendor: o.Vendor, Region: it.Region, Contract: string(it.Contract), InstanceType: it.InstanceType}, free); err != nil {
		e.t.Fatalf("capacity of %s %s: %v", o.Vendor, it.InstanceType, err)
	}
}

func (e *env) procureWithFallback(o supplyapi.Offer, fb supplyapi.Fallback) supplyapi.ProcureOfferResponse {
	e.t.Helper()
	return e.procure(o, func(r *supplyapi.ProcureOfferRequest) { r.Fallback = &fb })
}

// shown reports whether get_offers lists o's item now (under any id).
func (e *env) shown(o supplyapi.Offer) bool {
	e.t.Helper()
	res, err := e.index.Search(context.Background(), 1, supplyapi.OfferQuery{Vendor: o.Vendor,
		Compute: supplyapi.OfferQueryCompute{GPUType: o.GPUType, ContractType: o.ContractType}, Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	return slices.ContainsFunc(res.Offers, func(x supplyapi.Offer) bool {
		return x.VendorRegion == o.VendorRegion && x.GPUCount == o.GPUCount && x.TotalPricePerHour == o.TotalPricePerHour
	})
}

// The two cheapest equivalent offers are sold between the catalog read and
// the procurement: the procurement is ready on the third, one procurement
// with one set of resources, its attempts name both refusals in the
// vendors' classified words, exactly one machine runs for it, and every
// renter stops being shown the refused items at once.
func TestFailoverRentsTheNextEquivalent(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine, nil)
			eq := e.equivalents(3)
			e.takeAway(eq[0], 0)
			e.takeAway(eq[1], 0)
			start := time.Now()
			resp := e.procureWithFallback(eq[0], supplyapi.Fallback{})
			st := e.waitStatus(eq[0].OfferID, "ready", func(st supplyapi.OfferStatusResponse) bool { return ready(st) || failed(st) })
			if !ready(st) {
				t.Fatalf("status %+v, want ready", st)
			}
			t.Logf("%s: ready on the third offer %s after the request", engine, time.Since(start).Round(100*time.Millisecond))
			if len(st.Attempts) != 3 {
				t.Fatalf("attempts %+v, want 3", st.Attempts)
			}
			for i, want := range []string{supplyapi.AttemptRefused, supplyapi.AttemptRefused, supplyapi.AttemptReady} {
				a := st.Attempts[i]
				if a.Outcome != want || a.Vendor != eq[i].Vendor || a.Region != eq[i].VendorRegion || a.GPUPricePerHour != eq[i].GPUPricePerHour {
					t.Errorf("attempt %d: %+v, want %s at %s %s", i, a, want, eq[i].Vendor, eq[i].VendorRegion)
				}
				if want == supplyapi.AttemptRefused && (a.Reason == nil || !strings.HasPrefix(*a.Reason, "no capacity")) {
					t.Errorf("attempt %d's reason %v, want the vendor's no-capacity refusal", i, a.Reason)
				}
			}
			if fmt.Sprint(st.ResourceIDs) != fmt.Sprint(resp.ResourceIDs) || st.Progress != "1/1 instances running" {
				t.Errorf("status %+v: want the resources procured, running", st)
			}
			r := e.waitResource(resp.ResourceIDs[0], supplyapi.ResourceRunning)
			if r.Vendor != eq[2].Vendor || r.VendorRegion != eq[2].VendorRegion || r.PricingTotalHourly != eq[2].TotalPricePerHour {
				t.Errorf("resource %+v, want it at %s %s for %v an hour", r, eq[2].Vendor, eq[2].VendorRegion, eq[2].TotalPricePerHour)
			}
			if !strings.Contains(r.Name, "-"+eq[2].Vendor+"-") {
				t.Errorf("resource named %q at %s: the name supply made names another vendor", r.Name, eq[2].Vendor)
			}
			if live := e.live(resp.ResourceIDs[0].String()); len(live) != 1 {
				t.Errorf("%d live instances for the procurement, want 1: %+v", len(live), live)
			}
			for _, o := range eq[:2] {
				if e.shown(o) {
					t.Errorf("%s %s is still offered after it was refused", o.Vendor, o.VendorRegion)
				}
			}
			evs, err := e.st.EventsAfter(context.Background(), 1, 0, store.EventFilter{Type: supplyapi.EventProcurementAttemptFailed}, 10)
			if err != nil || len(evs) != 2 {
				t.Fatalf("procurement.attempt_failed events: %d, %v; want 2", len(evs), err)
			}
			// Each event carries the status with the try that failed.
			for i, ev := range evs {
				var st supplyapi.OfferStatusResponse
				if err := json.Unmarshal(ev.Data, &st); err != nil {
					t.Fatal(err)
				}
				if len(st.Attempts) != i+1 || st.Attempts[i].Vendor != eq[i].Vendor || st.Attempts[i].Outcome != supplyapi.AttemptRefused {
					t.Errorf("procurement.attempt_failed event %d: attempts %+v, want the refusal at %s last", i, st.Attempts, eq[i].Vendor)
				}
			}
		})
	}
}

// Without a fallback a refusal fails the procurement, as the contract
// says, and still hides the refused item.
func TestNoFallbackNoFailover(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	// An item with stock in a pool: a marketplace's single machine is
	// hidden once procured anyway.
	o := e.offer("lambda", "H100")
	e.takeAway(o, 0)
	e.procure(o, nil)
	st := e.waitStatus(o.OfferID, "failed", failed)
	if st.Attempts != nil || st.FailureReason == nil || !strings.HasPrefix(*st.FailureReason, "no capacity") {
		t.Errorf("status %+v, want failed for no capacity, without attempts", st)
	}
	if e.shown(o) {
		t.Error("the refused item is still offered")
	}
}

// With a deadline and no equivalent in stock, the procurement waits,
// saying so, and is ready once stock comes back and a catalog read shows
// it; another fails at its deadline saying it waited; a wait ends at once
// when its resource is deleted or its procurement cancelled.
func TestFailoverWaitsForStock(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	eq := e.equivalents(2)
	for _, o := range eq {
		e.takeAway(o, 0)
	}
	resp := e.procureWithFallback(eq[0], supplyapi.Fallback{Until: supplyapi.DurationText("5m")})
	waiting := e.waitStatus(eq[0].OfferID, "waiting", func(st supplyapi.OfferStatusResponse) bool {
		return strings.HasPrefix(st.Progress, "waiting for capacity")
	})
	if waiting.ProcurementStatus != supplyapi.ProcurementInProgress || !strings.Contains(waiting.Progress, "next look at") {
		t.Errorf("waiting status %+v", waiting)
	}
	if evs, err := e.st.EventsAfter(context.Background(), 1, 0, store.EventFilter{Type: supplyapi.EventProcurementWaiting}, 10); err != nil || len(evs) != 1 {
		t.Errorf("procurement.waiting events: %d, %v; want 1", len(evs), err)
	}
	last := eq[len(eq)-1]
	e.takeAway(last, 1)
	if err := e.index.Refresh(context.Background(), last.Vendor); err != nil {
		t.Fatal(err)
	}
	read := time.Now()
	st := e.waitStatus(eq[0].OfferID, "ready", func(st supplyapi.OfferStatusResponse) bool { return ready(st) || failed(st) })
	if !ready(st) {
		t.Fatalf("after stock came back: %+v", st)
	}
	t.Logf("ready %s after the catalog read showed stock", time.Since(read).Round(100*time.Millisecond))
	if a := st.Attempts[len(st.Attempts)-1]; a.Vendor != last.Vendor || a.Outcome != supplyapi.AttemptReady {
		t.Errorf("last attempt %+v, want ready at %s", a, last.Vendor)
	}
	if r := e.waitResource(resp.ResourceIDs[0], supplyapi.ResourceRunning); r.Vendor != last.Vendor {
		t.Errorf("resource at %s, want %s", r.Vendor, last.Vendor)
	}

	// No stock at all: it fails at its deadline, naming the wait. The
	// deadline leaves the refused first try (seconds under the race
	// detector on a loaded machine) time to end before it, so that there
	// is a wait to name.
	other := e.equivalentsOrAny()
	query := e.soldOut(other)
	asked := time.Now()
	e.procureWithFallback(other, supplyapi.Fallback{Until: supplyapi.DurationText("5s"), Query: query})
	st = e.waitStatus(other.OfferID, "failed", failed)
	if !strings.Contains(*st.FailureReason, "waited for capacity") {
		t.Errorf("failure %q, want it to name the wait", *st.FailureReason)
	}
	if took := time.Since(asked); took < 5*time.Second || took > 7500*time.Millisecond {
		t.Errorf("failed %s after the request, want at its deadline of 5s", took.Round(100*time.Millisecond))
	}

	// A wait ends with a delete of its resource (no force needed: nothing
	// is at any vendor) or with a cancel.
	for _, end := range []string{"delete", "cancel"} {
		o := e.equivalentsOrAny()
		resp := e.procureWithFallback(o, supplyapi.Fallback{Until: supplyapi.DurationText("5m"), Query: e.soldOut(o)})
		e.waitStatus(o.OfferID, "waiting", func(st supplyapi.OfferStatusResponse) bool {
			return strings.HasPrefix(st.Progress, "waiting for capacity")
		})
		switch end {
		case "delete":
			if _, err := e.svc.Delete(context.Background(), 1, resp.ResourceIDs[0], false); err != nil {
				t.Fatalf("delete while waiting: %v", err)
			}
		case "cancel":
			if _, err := e.svc.Cancel(context.Background(), 1, o.OfferID); err != nil {
				t.Fatalf("cancel while waiting: %v", err)
			}
		}
		st := e.waitStatus(o.OfferID, "failed", failed)
		if !strings.Contains(*st.FailureReason, "cancelled") {
			t.Errorf("%s: failure %q, want cancelled", end, *st.FailureReason)
		}
		e.waitResource(resp.ResourceIDs[0], supplyapi.ResourceDeleted)
	}
	if _, err := e.svc.Cancel(context.Background(), 1, eq[0].OfferID); !errors.Is(err, refusal.ErrConflict) {
		t.Errorf("cancelling a ready procurement: %v, want a conflict", err)
	}
}

// soldOut takes away every item that a query matching o and nothing
// dearer matches, and returns the query.
func (e *env) soldOut(o supplyapi.Offer) *supplyapi.OfferQuery {
	e.t.Helper()
	q := supplyapi.OfferQuery{Region: o.Region, Compute: supplyapi.OfferQueryCompute{GPUType: o.GPUType, GPUCount: o.GPUCount,
		ContractType: o.ContractType, MaxPricePerGPUHour: ptr(o.GPUPricePerHour)}}
	res, err := e.index.Search(context.Background(), 1, q)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, x := range res.Offers {
		e.takeAway(x, 0)
	}
	return &q
}

// equivalentsOrAny is the cheapest single H100 offer in stock.
func (e *env) equivalentsOrAny() supplyapi.Offer {
	e.t.Helper()
	res, err := e.index.Search(context.Background(), 1, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}})
	if err != nil || len(res.Offers) == 0 {
		e.t.Fatalf("no H100 offer: %v", err)
	}
	return res.Offers[0]
}

// A create that hangs past its timeout, having made the instance, is
// failed over: the instance is found by its tag and terminated before the
// next try's create starts, so that the procurement never has two machines.
func TestFailoverRemovesWhatAHungCreateMade(t *testing.T) {
	var eq []supplyapi.Offer
	var hung, overlapping atomic.Int32
	var e *env
	e = newEnv(t, "sqlite", func(c *provision.Config) {
		c.StepTimeout, c.CreateGrace = 2*time.Second, 3*time.Second
		vs := make([]vendors.Vendor, len(c.Vendors))
		for i, v := range c.Vendors {
			vs[i] = gatedVendor{Vendor: v, create: func(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
				if hung.CompareAndSwap(0, 1) {
					// The first create makes the instance and never
					// answers: the step's deadline cuts it short.
					v.Create(ctx, req)
					<-ctx.Done()
					return vendors.Instance{}, &vendors.Error{Vendor: v.Name(), Op: "create", Kind: vendors.ErrTransient, Message: ctx.Err().Error()}
				}
				if n := len(e.live(req.ResourceID)); n != 0 {
					overlapping.Store(int32(n))
				}
				return v.Create(ctx, req)
			}}
		}
		c.Vendors = vs
	})
	eq = e.equivalents(2)
	resp := e.procureWithFallback(eq[0], supplyapi.Fallback{})
	st := e.waitStatus(eq[0].OfferID, "ready", func(st supplyapi.OfferStatusResponse) bool { return ready(st) || failed(st) })
	if !ready(st) || len(st.Attempts) != 2 || st.Attempts[0].Outcome != supplyapi.AttemptNoAnswer {
		t.Fatalf("status %+v, want ready on the second try after no answer", st)
	}
	if n := overlapping.Load(); n != 0 {
		t.Errorf("the second try's create began with %d instances of the first still live", n)
	}
	if live := e.live(resp.ResourceIDs[0].String()); len(live) != 1 || live[0].Vendor != eq[1].Vendor {
		t.Errorf("live instances %+v, want one at %s", live, eq[1].Vendor)
	}
}

// A cluster that cannot be completed at one vendor is removed there, its
// cluster object too, and made whole at the next equivalent cluster offer.
func TestClusterFailsOverAsAWhole(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	si, _ := e.sb.StandIn("nebius")
	// The first node gets in, the second is refused for quota.
	si.(interface{ SetInstanceQuota(int) }).SetInstanceQuota(1)
	o := e.clusterOffer("nebius", 2)
	resp := e.procureWithFallback(o, supplyapi.Fallback{Query: &supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{
		GPUType: o.GPUFamily, NodeCount: ptr(2), MaxPricePerGPUHour: ptr(1000.0)}}})
	st := e.waitStatus(o.OfferID, "ready", func(st supplyapi.OfferStatusResponse) bool { return ready(st) || failed(st) })
	if !ready(st) || len(st.Attempts) < 2 || st.Attempts[0].Outcome != supplyapi.AttemptRefused || !strings.Contains(*st.Attempts[0].Reason, "quota") {
		t.Fatalf("status %+v, want ready after nebius's quota refusal", st)
	}
	winner := st.Attempts[len(st.Attempts)-1].Vendor
	parent, nodes := e.clusterParts(resp.ResourceIDs)
	if p := e.waitResource(parent, supplyapi.ResourceRunning); p.Vendor != winner {
		t.Errorf("cluster parent at %s, want %s", p.Vendor, winner)
	}
	for _, id := range nodes {
		if r := e.waitResource(id, supplyapi.ResourceRunning); r.Vendor != winner {
			t.Errorf("node at %s, want %s", r.Vendor, winner)
		}
	}
	for _, in := range e.live("") {
		if in.Vendor == "nebius" {
			t.Errorf("an instance left at nebius: %+v", in)
		}
	}
}

// An equivalent offer that would take the account over a spend cap is never
// tried: with every one in stock over it, the procurement fails saying so.
func TestFailoverStaysUnderSpendCaps(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	eq := e.equivalents(2)
	e.takeAway(eq[0], 0)
	// The cap lets the procured offer in, and no dearer one.
	capUSD := (eq[0].TotalPricePerHour + eq[1].TotalPricePerHour) / 2
	if err := e.st.SetAccountLimits(context.Background(), 1, &capUSD, nil); err != nil {
		t.Fatal(err)
	}
	e.procureWithFallback(eq[0], supplyapi.Fallback{})
	st := e.waitStatus(eq[0].OfferID, "failed", func(st supplyapi.OfferStatusResponse) bool { return ready(st) || failed(st) })
	if !failed(st) || len(st.Attempts) != 1 || !strings.Contains(*st.FailureReason, "over the account's caps") {
		t.Errorf("status %+v, want failed after one try, naming the caps", st)
	}
	if n := len(e.live("")); n != 0 {
		t.Errorf("%d instances live", n)
	}
}

// refusingVendors answers each create with refuse's error for it, or,
// when that is nil, with the vendor's own answer.
func refusingVendors(refuse func(v vendors.Vendor, req vendors.CreateRequest) error) func(*provision.Config) {
	return func(c *provision.Config) {
		vs := make([]vendors.Vendor, len(c.Vendors))
		for i, v := range c.Vendors {
			vs[i] = gatedVendor{Vendor: v, create: func(ctx context.Context, req vendors.CreateRequest) (vendors.Instance, error) {
				if err := refuse(v, req); err != nil {
					return vendors.Instance{}, err
				}
				return v.Create(ctx, req)
			}}
		}
		c.Vendors = vs
	}
}

// A vendor that refuses the credentials or the request would refuse it
// anywhere: a procurement with a fallback fails on its first try, as one
// without would, and no other vendor is asked.
func TestFailoverNotForAuthOrInvalid(t *testing.T) {
	for _, c := range []struct {
		kind   error
		status int
	}{{vendors.ErrAuth, 401}, {vendors.ErrInvalid, 400}} {
		t.Run(vendors.KindName(c.kind), func(t *testing.T) {
			t.Parallel()
			var creates atomic.Int32
			e := newEnv(t, "sqlite", refusingVendors(func(v vendors.Vendor, _ vendors.CreateRequest) error {
				creates.Add(1)
				return &vendors.Error{Vendor: v.Name(), Op: "create", Kind: c.kind, Status: c.status, Message: "refused"}
			}))
			eq := e.equivalents(2)
			e.procureWithFallback(eq[0], supplyapi.Fallback{})
			st := e.waitStatus(eq[0].OfferID, "failed", failed)
			if len(st.Attempts) != 1 || st.Attempts[0].Outcome != supplyapi.AttemptFailed || !strings.HasPrefix(*st.FailureReason, c.kind.Error()) {
				t.Errorf("failed after %d tries (%s), want on the first try for %v", len(st.Attempts), *st.FailureReason, c.kind)
			}
			if n := creates.Load(); n != 1 {
				t.Errorf("%d creates asked for, want 1", n)
			}
		})
	}
}

// A renter who deletes the resource while its create is under way ends the
// procurement: the capacity refusal that answers the create then moves
// nothing to another offer.
func TestFailoverNotAfterADelete(t *testing.T) {
	var creates atomic.Int32
	var e *env
	e = newEnv(t, "sqlite", refusingVendors(func(v vendors.Vendor, req vendors.CreateRequest) error {
		creates.Add(1)
		if _, err := e.svc.Delete(context.Background(), 1, uuid.MustParse(req.ResourceID), true); err != nil {
			t.Errorf("delete during the create: %v", err)
		}
		return &vendors.Error{Vendor: v.Name(), Op: "create", Kind: vendors.ErrNoCapacity, Status: 409, Message: "sold out"}
	}))
	eq := e.equivalents(2)
	resp := e.procureWithFallback(eq[0], supplyapi.Fallback{})
	st := e.waitStatus(eq[0].OfferID, "failed", failed)
	if len(st.Attempts) != 1 || st.Attempts[0].Outcome != supplyapi.AttemptCancelled {
		t.Errorf("failed after %d tries (%s), want the first one cancelled", len(st.Attempts), *st.FailureReason)
	}
	e.waitResource(resp.ResourceIDs[0], supplyapi.ResourceDeleted)
	if n := creates.Load(); n != 1 {
		t.Errorf("%d creates asked for, want 1", n)
	}
}

// beyondCap finds, in the sandbox's catalog, the equivalents of a
// single-GPU on-demand offer as a fallback without a query has them (its
// exact GPU, GPU count, contract and region group, at most 25% dearer per
// GPU-hour), cheapest first, and the cheapest offer of that kind above the
// cap. Few equivalents are wanted, since each is tried before the cap
// shows; and, when the catalog has one, a GPU with another variant of its
// family in stock under the cap, which only a match by family would try.
// Stock and prices drift with the wall clock, so the GPU is found, not
// named.
func (e *env) beyondCap() (eq []supplyapi.Offer, dearer supplyapi.Offer) {
	e.t.Helper()
	search := func(q supplyapi.OfferQuery) []supplyapi.Offer {
		q.Limit, q.Compute.GPUCount, q.Compute.ContractType = 1000, 1, "ondemand"
		res, err := e.index.Search(context.Background(), 1, q)
		if err != nil {
			e.t.Fatal(err)
		}
		return res.Offers
	}
	for _, gpu := range []string{"nvidia-h100-pcie-80gb", "nvidia-h100-sxm5-80gb", "nvidia-h200-sxm5-141gb", "nvidia-l40s-pcie-48gb", "nvidia-rtx-4090-pcie-24gb"} {
		for _, region := range []string{"US", "EU", "APAC"} {
			offers := search(supplyapi.OfferQuery{Region: region, Compute: supplyapi.OfferQueryCompute{GPUType: gpu}})
			if len(offers) == 0 {
				continue
			}
			limit := offers[0].GPUPricePerHour * 1.25
			n := 0
			for n < len(offers) && offers[n].GPUPricePerHour <= limit {
				n++
			}
			if n == len(offers) || n > 10 {
				continue
			}
			if eq == nil {
				eq, dearer = offers[:n], offers[n]
			}
			family := search(supplyapi.OfferQuery{Region: region, Compute: supplyapi.OfferQueryCompute{GPUType: offers[0].GPUFamily, MaxPricePerGPUHour: &limit}})
			if slices.ContainsFunc(family, func(o supplyapi.Offer) bool { return o.GPUType != gpu }) {
				return offers[:n], offers[n]
			}
		}
	}
	if eq == nil {
		e.t.Fatal("no GPU in the sandbox has an offer more than 25% dearer than its cheapest, with at most 10 in between")
	}
	return eq, dearer
}

// Without a query, a fallback moves only to the procured offer's
// equivalents: with each of them sold out, the procurement fails having
// tried them alone, though a dearer offer of the same GPU is in stock. The
// query's max_price_per_gpu_hour, when the renter gives one, is the cap
// instead, and lets that offer in.
func TestFailoverEquivalents(t *testing.T) {
	for _, name := range []string{"default cap", "renter's cap"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, "sqlite", nil)
			eq, dearer := e.beyondCap()
			for _, o := range eq {
				e.takeAway(o, 0)
			}
			fb := supplyapi.Fallback{MaxAttempts: ptr(20)}
			if name == "renter's cap" {
				fb.Query = &supplyapi.OfferQuery{Region: dearer.Region, Compute: supplyapi.OfferQueryCompute{
					GPUType: dearer.GPUType, ContractType: dearer.ContractType, MaxPricePerGPUHour: ptr(dearer.GPUPricePerHour)}}
			}
			e.procureWithFallback(eq[0], fb)
			st := e.waitStatus(eq[0].OfferID, "settled", func(st supplyapi.OfferStatusResponse) bool { return ready(st) || failed(st) })
			tried := st.Attempts
			if fb.Query != nil {
				last := tried[len(tried)-1]
				if !ready(st) || last.GPUPricePerHour != dearer.GPUPricePerHour {
					t.Fatalf("%s after %d tries, the last %s at %s %s for $%v per GPU-hour; want ready at $%v", st.ProcurementStatus, len(tried),
						last.Outcome, last.Vendor, last.Region, last.GPUPricePerHour, dearer.GPUPricePerHour)
				}
				tried = tried[:len(tried)-1]
			} else if !failed(st) || !strings.Contains(*st.FailureReason, "no other equivalent offer is in stock") {
				t.Fatalf("%s after %d tries, want failed with none in stock (%v)", st.ProcurementStatus, len(tried), st.FailureReason)
			}
			if len(tried) != len(eq) {
				t.Errorf("%d equivalents tried before the last, want the %d sold out", len(tried), len(eq))
			}
			for _, a := range tried {
				if !slices.ContainsFunc(eq, func(o supplyapi.Offer) bool {
					return o.Vendor == a.Vendor && o.VendorRegion == a.Region && o.GPUPricePerHour == a.GPUPricePerHour
				}) {
					t.Errorf("tried %s %s at $%v per GPU-hour, which is no equivalent of %s at $%v", a.Vendor, a.Region, a.GPUPricePerHour, eq[0].GPUType, eq[0].GPUPricePerHour)
				}
			}
		})
	}
}
