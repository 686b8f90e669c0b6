package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// UsageVolumes is the group key of volumes in GET /usage grouped by GPU
// type: they have none.
const UsageVolumes = "volumes"

// VolumePerHour is what a volume costs an hour: its size at the vendor's
// price per GB-month.
func VolumePerHour(v store.Volume) float64 {
	return float64(v.SizeGB) * v.PricePerGBMonth / vendors.HoursPerMonth
}

// VolumesPerHour adds up what the volumes the vendors bill now cost an
// hour: made, and not yet confirmed gone.
func VolumesPerHour(vs []store.Volume) float64 {
	var sum float64
	for _, v := range vs {
		if v.BillingStartedAt != nil && v.DeletedAt == nil {
			sum += VolumePerHour(v)
		}
	}
	return sum
}

// volumeCost is what a volume cost within [from, to): from when the
// vendor made it until it confirmed it gone (or now).
func volumeCost(v store.Volume, now, from, to time.Time) float64 {
	start, end, ok := volumeBilled(v, now)
	if !ok {
		return 0
	}
	start, end = later(start, from), earlier(end, to)
	if !end.After(start) {
		return 0
	}
	return VolumePerHour(v) * end.Sub(start).Hours()
}

// volumeBilled is the span the vendor bills a volume for, as billed says
// of a machine: the same two timestamps.
func volumeBilled(v store.Volume, now time.Time) (start, end time.Time, ok bool) {
	return billed(store.Resource{BillingStartedAt: v.BillingStartedAt, DeletedAt: v.DeletedAt}, now)
}

// volumesUsage adds the volumes' costs within q's window to the usage's
// groups (by vendor, under UsageVolumes for GPU types, or by day) and
// returns their total.
func volumesUsage(vs []store.Volume, q UsageQuery, now time.Time, add func(key string, cost float64)) float64 {
	var total float64
	for _, v := range vs {
		cost := volumeCost(v, now, q.From, q.To)
		if cost == 0 {
			continue
		}
		total += cost
		switch q.GroupBy {
		case supplyapi.GroupByVendor:
			add(v.Vendor, cost)
		case supplyapi.GroupByGPUType:
			add(UsageVolumes, cost)
		case supplyapi.GroupByDay:
			start, end, _ := volumeBilled(v, now)
			addDays(q, start, end, func(from, to time.Time) float64 { return volumeCost(v, now, from, to) }, add)
		}
	}
	return total
}

// LiveResource says whether a resource may still hold its vendor's
// instance: not deleted, and not failed with its clean-up confirmed.
func LiveResource(r store.Resource) bool {
	return r.Status != supplyapi.ResourceDeleted && !(r.Status == supplyapi.ResourceFailed && r.DeletedAt != nil)
}

// AttachedTo is the live resource v is attached to, or "" when none.
func AttachedTo(ctx context.Context, q store.Queries, v store.Volume) (string, error) {
	if v.AttachedTo == "" {
		return "", nil
	}
	r, err := q.ResourceByID(ctx, v.AttachedTo)
	if err != nil {
		return "", fmt.Errorf("volume %s: %w", v.ID, err)
	}
	if !LiveResource(r) {
		return "", nil
	}
	return r.ID, nil
}

// Volume is v as GET /volumes/{id} shows it at now.
func Volume(ctx context.Context, q store.Queries, v store.Volume, now time.Time) (supplyapi.Volume, error) {
	out := supplyapi.Volume{
		ID: uuid.MustParse(v.ID), Name: v.Name, Vendor: v.Vendor, VendorRegion: v.VendorRegion, SizeGB: v.SizeGB,
		Status: v.Status, StatusMessage: v.StatusMessage, MountPath: v.MountPath, PricePerGBMonth: v.PricePerGBMonth,
		PricePerHour: roundUSD(VolumePerHour(v)), CreatedAt: v.CreatedAt, DeletedAt: v.DeletedAt,
	}
	all := time.Unix(0, 0).UTC()
	out.AccruedCost = roundUSD(volumeCost(v, now, all, now.Add(time.Hour)))
	if v.Status == store.VolumeAvailable {
		at, err := AttachedTo(ctx, q, v)
		if err != nil {
			return supplyapi.Volume{}, err
		}
		if at != "" {
			id := uuid.MustParse(at)
			out.Status, out.AttachedTo = supplyapi.VolumeAttached, &id
		}
	}
	return out, nil
}
