package provision_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/provision"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// waitVolume polls the volume until it has status.
func (e *env) waitVolume(id uuid.UUID, status string) supplyapi.Volume {
	e.t.Helper()
	var v supplyapi.Volume
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var err error
		if v, err = e.svc.Volume(context.Background(), 1, id); err != nil {
			e.t.Fatal(err)
		}
		if v.Status == status {
			return v
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("volume %s never became %s; last %+v", id, status, v)
	return v
}

// atVendor lists the vendor's volumes by supply's id.
func atVendor(t *testing.T, vv vendors.Volumes) map[string]vendors.Volume {
	t.Helper()
	list, err := vv.ListVolumes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]vendors.Volume{}
	for _, x := range list {
		out[x.VolumeID] = x
	}
	return out
}

// TestVolumes: a volume is made at the vendor in the background, is
// attached at procurement only in its own vendor and region, refuses
// deletion while attached, outlives its machine, costs while it exists,
// emits events, and is deleted only once the vendor confirms. A vendor
// without volumes is a 422 naming it, and so is asking a vendor for more
// volumes than its create attaches (Hyperstack: one) or a smaller volume
// than it makes (Verda: 40 GB).
func TestVolumes(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t, engine, nil)
			var qe *offers.QueryError
			if _, err := e.svc.CreateVolume(ctx, 1, supplyapi.VolumeRequest{Vendor: "scaleway", Region: "fr-par-2", SizeGB: 10, Name: "x"}); !errors.As(err, &qe) ||
				!strings.Contains(qe.Msg, "scaleway does not support volumes") {
				t.Errorf("a volume at a vendor without volumes: %v, want a 422 naming the vendor and the capability", err)
			}
			if _, err := e.svc.CreateVolume(ctx, 1, supplyapi.VolumeRequest{Vendor: "verda", Region: "FIN-01", SizeGB: 10, Name: "x"}); !errors.As(err, &qe) ||
				fmt.Sprint(qe.Loc) != "[body size_gb]" || !strings.Contains(qe.Msg, "makes volumes of at least 40 GB, not 10") {
				t.Errorf("a 10 GB volume at Verda: %v, want a 422 on size_gb naming its 40 GB minimum", err)
			}
			hs, err := e.index.Search(ctx, 1, supplyapi.OfferQuery{Vendor: "hyperstack", Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}, Limit: 1})
			if err != nil || len(hs.Offers) == 0 {
				t.Fatalf("hyperstack offers: %+v, %v", hs, err)
			}
			_, err = e.svc.Procure(ctx, 1, "", supplyapi.ProcureOfferRequest{OfferID: hs.Offers[0].OfferID, SSHPublicKey: testKey, VolumeIDs: []uuid.UUID{uuid.New(), uuid.New()}})
			if !errors.As(err, &qe) || !strings.Contains(qe.Msg, "Hyperstack attaches at most 1 volume(s) to a machine at create, not 2") {
				t.Errorf("two volumes for one Hyperstack machine: %v, want a 422 naming the limit", err)
			}
			res, err := e.index.Search(ctx, 1, supplyapi.OfferQuery{Vendor: "lambda", Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}, Limit: 1000})
			if err != nil || len(res.Offers) < 2 {
				t.Fatalf("lambda offers: %d, %v", len(res.Offers), err)
			}
			o := res.Offers[0]
			i := slices.IndexFunc(res.Offers, func(x supplyapi.Offer) bool { return x.VendorRegion != o.VendorRegion })
			if i < 0 {
				t.Fatal("no lambda H100 offer in another region")
			}
			elsewhere := res.Offers[i]
			capUSD := 10.0
			if err := e.st.SetAccountLimits(ctx, 1, &capUSD, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.CreateVolume(ctx, 1, supplyapi.VolumeRequest{OfferID: &o.OfferID, SizeGB: 50000, Name: "data"}); !errors.Is(err, refusal.ErrForbidden) {
				t.Errorf("a volume of 13.70/h under a cap of 10/h: %v, want a 403", err)
			}
			if err := e.st.SetAccountLimits(ctx, 1, nil, nil); err != nil {
				t.Fatal(err)
			}
			vol, err := e.svc.CreateVolume(ctx, 1, supplyapi.VolumeRequest{OfferID: &o.OfferID, SizeGB: 50000, Name: "data"})
			if err != nil || vol.Status != supplyapi.VolumeCreating || vol.Vendor != "lambda" || vol.VendorRegion != o.VendorRegion || vol.PricePerGBMonth != 0.2 {
				t.Fatalf("create volume: %+v, %v", vol, err)
			}
			if _, err := e.svc.Volume(ctx, 2, vol.ID); !errors.Is(err, refusal.ErrNotFound) {
				t.Errorf("another account sees the volume: %v", err)
			}
			if got := e.waitVolume(vol.ID, supplyapi.VolumeAvailable); !strings.HasPrefix(got.MountPath, "/lambda/nfs/supply-") {
				t.Errorf("available volume %+v, want Lambda's mount path", got)
			}

			_, err = e.svc.Procure(ctx, 1, "", supplyapi.ProcureOfferRequest{OfferID: elsewhere.OfferID, SSHPublicKey: testKey, VolumeIDs: []uuid.UUID{vol.ID}})
			if !errors.As(err, &qe) || !strings.Contains(qe.Msg, o.VendorRegion) || !strings.Contains(qe.Msg, elsewhere.VendorRegion) {
				t.Errorf("attaching in another region: %v, want a 422 naming both regions", err)
			}
			resp := e.procure(o, func(r *supplyapi.ProcureOfferRequest) { r.VolumeIDs = []uuid.UUID{vol.ID} })
			e.waitStatus(o.OfferID, "ready", ready)
			rid := resp.ResourceIDs[0]
			if got := e.waitVolume(vol.ID, supplyapi.VolumeAttached); got.AttachedTo == nil || *got.AttachedTo != rid {
				t.Errorf("attached volume %+v, want attached to %s", got, rid)
			}
			if _, err := e.svc.DeleteVolume(ctx, 1, vol.ID); !errors.Is(err, refusal.ErrConflict) || !strings.Contains(err.Error(), rid.String()) {
				t.Errorf("deleting an attached volume: %v, want a 409 naming the resource", err)
			}
			if _, err := e.svc.Delete(ctx, 1, rid, false); err != nil {
				t.Fatal(err)
			}
			e.waitResource(rid, supplyapi.ResourceDeleted)
			if got := e.waitVolume(vol.ID, supplyapi.VolumeAvailable); got.AccruedCost <= 0 || got.PricePerHour != 13.6986 {
				t.Errorf("volume after its machine: %+v, want available, costing 13.6986/h and some already", got)
			}
			lambda := e.vendors["lambda"].(vendors.Volumes)
			if _, ok := atVendor(t, lambda)[vol.ID.String()]; !ok {
				t.Fatal("deleting the machine deleted the volume at the vendor")
			}
			u, err := e.svc.Usage(ctx, 1, ledger.UsageQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute), GroupBy: supplyapi.GroupByGPUType})
			if i := slices.IndexFunc(u.Groups, func(g supplyapi.UsageGroup) bool { return g.Key == ledger.UsageVolumes }); err != nil || i < 0 || u.Groups[i].Cost <= 0 {
				t.Errorf("usage by GPU type: %+v, %v; want a volumes group", u, err)
			}
			acc, err := e.svc.Account(ctx, 1)
			if err != nil || acc.Live.HourlyUSD < 13.6986 {
				t.Errorf("account's live spend %+v, %v; want the volume's 13.6986/h in it", acc.Live, err)
			}

			del, err := e.svc.DeleteVolume(ctx, 1, vol.ID)
			if err != nil || del.Status != supplyapi.VolumeDeleting {
				t.Fatalf("delete volume: %+v, %v", del, err)
			}
			if _, err := e.svc.DeleteVolume(ctx, 1, vol.ID); !errors.Is(err, refusal.ErrConflict) {
				t.Errorf("deleting a deleting volume: %v, want conflict", err)
			}
			if gone := e.waitVolume(vol.ID, supplyapi.VolumeDeleted); gone.DeletedAt == nil {
				t.Errorf("deleted volume %+v without deleted_at", gone)
			}
			if _, ok := atVendor(t, lambda)[vol.ID.String()]; ok {
				t.Error("deleted, but the vendor still has the volume")
			}
			var types []string
			for _, ev := range e.waitEvents(0) {
				if strings.HasPrefix(ev, "volume.") {
					types = append(types, ev)
				}
			}
			want := []string{supplyapi.EventVolumeCreated, supplyapi.EventVolumeAvailable, supplyapi.EventVolumeDeleting, supplyapi.EventVolumeDeleted}
			if !slices.Equal(types, want) {
				t.Errorf("volume events %v, want %v", types, want)
			}
		})
	}
}

// TestVolumeReconcile: the reconciler marks gone a volume its vendor no
// longer has, and never deletes a volume it cannot account for: neither
// another installation's nor one carrying this installation's id that
// the database does not know (it is reported).
func TestVolumeReconcile(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			owner := vendors.NewOwner()
			e := newEnv(t, engine, func(c *provision.Config) { c.Owner = owner })
			o := e.offer("lambda", "H100")
			vol, err := e.svc.CreateVolume(ctx, 1, supplyapi.VolumeRequest{Vendor: "lambda", Region: o.VendorRegion, SizeGB: 10, Name: "kept"})
			if err != nil {
				t.Fatal(err)
			}
			e.waitVolume(vol.ID, supplyapi.VolumeAvailable)
			lambda := e.vendors["lambda"].(vendors.Volumes)
			foreign, unknown := uuid.NewString(), uuid.NewString()
			for id, by := range map[string]string{foreign: vendors.NewOwner(), unknown: owner} {
				if _, err := lambda.CreateVolume(ctx, vendors.VolumeRequest{VolumeID: id, Owner: by, Region: o.VendorRegion}); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.svc.Reconcile(ctx); err != nil {
				t.Fatal(err)
			}
			have := atVendor(t, lambda)
			for _, id := range []string{foreign, unknown, vol.ID.String()} {
				if _, ok := have[id]; !ok {
					t.Errorf("the reconciler deleted volume %s", id)
				}
			}
			if n := metricValue(t, e.reg, "supply_reconciler_unknown_volumes", "vendor", "lambda"); n != 1 {
				t.Errorf("unknown volumes reported: %v, want 1", n)
			}
			if got, _ := e.svc.Volume(ctx, 1, vol.ID); got.Status != supplyapi.VolumeAvailable {
				t.Errorf("a volume the vendor has: %+v, want available", got)
			}
			if err := lambda.DeleteVolume(ctx, have[vol.ID.String()].ID); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.Reconcile(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := e.svc.Volume(ctx, 1, vol.ID); got.Status != supplyapi.VolumeGone || got.DeletedAt == nil {
				t.Errorf("a volume the vendor no longer has: %+v, want gone", got)
			}
			if live, err := e.st.LiveVolumes(ctx); err != nil || len(live) != 0 {
				t.Errorf("live volumes after the vendor lost it: %+v, %v", live, err)
			}
		})
	}
}

// lateLambda is Lambda's adapter as if its volumes could not be named in
// the create request (vendors.LateVolumes): each attach is in progress at
// the first call and done at the next, unless refuse says why not. It
// records the resource's status as each call found it.
type lateLambda struct {
	vendors.Vendor
	vendors.Volumes
	mu       sync.Mutex
	refuse   error
	status   func() string
	attached map[string][]string
	seen     []string
}

func (l *lateLambda) AttachVolumes(_ context.Context, instanceID string, vols []vendors.Volume) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status != nil {
		l.seen = append(l.seen, l.status())
	}
	if l.refuse != nil {
		return false, l.refuse
	}
	done := true
	for _, v := range vols {
		if !slices.Contains(l.attached[instanceID], v.ID) {
			l.attached[instanceID] = append(l.attached[instanceID], v.ID)
			done = false
		}
	}
	return done, nil
}

// TestLateVolumes: on a vendor whose volumes are attached after the
// instance runs, the procure step attaches them, looks again while the
// attach is in progress, and calls the resource ready only after; a
// refused attach fails the resource with the vendor's reason.
func TestLateVolumes(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var late *lateLambda
			e := newEnv(t, engine, func(c *provision.Config) {
				for i, v := range c.Vendors {
					if v.Name() == "lambda" {
						late = &lateLambda{Vendor: v, Volumes: v.(vendors.Volumes), attached: map[string][]string{}}
						c.Vendors[i] = late
					}
				}
			})
			o := e.offer("lambda", "H100")
			vol, err := e.svc.CreateVolume(ctx, 1, supplyapi.VolumeRequest{OfferID: &o.OfferID, SizeGB: 10, Name: "late"})
			if err != nil {
				t.Fatal(err)
			}
			e.waitVolume(vol.ID, supplyapi.VolumeAvailable)
			resp := e.procure(o, func(r *supplyapi.ProcureOfferRequest) { r.VolumeIDs = []uuid.UUID{vol.ID} })
			rid := resp.ResourceIDs[0]
			late.mu.Lock()
			late.status = func() string {
				r, err := e.svc.Resource(ctx, 1, rid, false)
				if err != nil {
					return err.Error()
				}
				return r.Status
			}
			late.mu.Unlock()
			e.waitStatus(o.OfferID, "ready", ready)
			e.waitResource(rid, supplyapi.ResourceRunning)
			late.mu.Lock()
			attached, seen := maps.Clone(late.attached), slices.Clone(late.seen)
			late.mu.Unlock()
			if len(attached) != 1 || len(slices.Collect(maps.Values(attached))[0]) != 1 || len(seen) < 2 || slices.ContainsFunc(seen, func(s string) bool { return s != supplyapi.ResourceProvisioning }) {
				t.Errorf("attached %v, the resource seen %v at each call; want the volume attached, asked twice, before it was ready", attached, seen)
			}

			if _, err := e.svc.Delete(ctx, 1, rid, false); err != nil {
				t.Fatal(err)
			}
			e.waitResource(rid, supplyapi.ResourceDeleted)
			e.waitVolume(vol.ID, supplyapi.VolumeAvailable)
			late.mu.Lock()
			late.refuse = &vendors.Error{Vendor: "lambda", Op: "attach volume", Kind: vendors.ErrInvalid, Message: "volume is attached to another instance"}
			late.mu.Unlock()
			o = e.offer("lambda", "H100")
			resp = e.procure(o, func(r *supplyapi.ProcureOfferRequest) { r.VolumeIDs = []uuid.UUID{vol.ID} })
			e.waitStatus(o.OfferID, "failed", failed)
			got := e.waitResource(resp.ResourceIDs[0], supplyapi.ResourceFailed)
			if got.StatusMessage == nil || !strings.Contains(*got.StatusMessage, "volume is attached to another instance") {
				t.Errorf("a refused attach: %+v, want the resource failed with the vendor's reason", got.StatusMessage)
			}
		})
	}
}

// TestVolumeZoneAtAWS: an EBS volume reaches only machines of its zone,
// so an offer query by volume leaves out the spot offers priced in
// another zone (CatalogItem.NoVolumes), volume_ids naming one are a 422,
// and an on-demand offer, launched in the volume's zone, gets the volume
// attached once it runs, before it is ready.
func TestVolumeZoneAtAWS(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t, engine, nil)
			const region = "us-east-1"
			vol, err := e.svc.CreateVolume(ctx, 1, supplyapi.VolumeRequest{Vendor: "aws", Region: region, SizeGB: 10, Name: "ebs"})
			if err != nil {
				t.Fatal(err)
			}
			e.waitVolume(vol.ID, supplyapi.VolumeAvailable)
			// Every GPU type the region sells: a spot price's cheapest zone
			// drifts, and is the volume's zone for one type or another at
			// times, never for all at once.
			var all, reached supplyapi.OfferResult
			for _, gpu := range []string{"T4", "A10G", "L4", "L40S", "A100", "H100", "H200"} {
				for _, q := range []struct {
					into   *supplyapi.OfferResult
					region string
				}{{&all, ""}, {&reached, region}} {
					res, err := e.index.Search(ctx, 1, supplyapi.OfferQuery{Vendor: "aws", VendorRegion: q.region, Compute: supplyapi.OfferQueryCompute{GPUType: gpu}, Limit: 1000})
					if err != nil {
						t.Fatal(err)
					}
					q.into.Offers = append(q.into.Offers, res.Offers...)
				}
			}
			var unreached, onDemand []supplyapi.Offer
			for _, o := range all.Offers {
				if o.VendorRegion != region {
					continue
				}
				_, item, err := e.index.Resolve(ctx, 1, o.OfferID)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case item.NoVolumes:
					unreached = append(unreached, o)
				case item.Contract == vendors.OnDemand:
					onDemand = append(onDemand, o)
				}
			}
			inRegion := slices.IndexFunc(reached.Offers, func(o supplyapi.Offer) bool { return o.VendorRegion != region }) < 0
			if len(unreached) == 0 || len(onDemand) == 0 || !inRegion || len(reached.Offers)+len(unreached) != len(all.Offers)-countOutside(all.Offers, region) {
				t.Fatalf("offers in %s: %d the volume's zone cannot reach, %d on demand; the query by volume answered %d (all in the region: %v)",
					region, len(unreached), len(onDemand), len(reached.Offers), inRegion)
			}
			var qe *offers.QueryError
			_, err = e.svc.Procure(ctx, 1, "", supplyapi.ProcureOfferRequest{OfferID: unreached[0].OfferID, SSHPublicKey: testKey, VolumeIDs: []uuid.UUID{vol.ID}})
			if !errors.As(err, &qe) || !strings.Contains(qe.Msg, "cannot attach volumes of "+region) {
				t.Errorf("a spot offer of another zone with a volume: %v, want a 422 on volume_ids", err)
			}
			resp := e.procure(onDemand[0], func(r *supplyapi.ProcureOfferRequest) { r.VolumeIDs = []uuid.UUID{vol.ID} })
			e.waitStatus(onDemand[0].OfferID, "ready", ready)
			res, err := e.svc.Resource(ctx, 1, resp.ResourceIDs[0], false)
			if err != nil {
				t.Fatal(err)
			}
			got := atVendor(t, e.vendors["aws"].(vendors.Volumes))[vol.ID.String()]
			if got.State != vendors.VolumeInUse || res.Status != supplyapi.ResourceRunning {
				t.Errorf("the volume of a ready AWS machine: %+v (machine %s), want it in use", got, res.Status)
			}
		})
	}
}

// countOutside counts the offers not in region.
func countOutside(os []supplyapi.Offer, region string) int {
	n := 0
	for _, o := range os {
		if o.VendorRegion != region {
			n++
		}
	}
	return n
}
