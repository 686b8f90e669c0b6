package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/printable"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// VolumeArgs is the job that takes a volume from creating to available,
// or from deleting to deleted, at its vendor: one step at a time, each
// from what the database says, as ProcureArgs and TerminateArgs do.
type VolumeArgs struct {
	VolumeID string `json:"volume_id"`
}

// Kind names the job in River.
func (VolumeArgs) Kind() string { return "volume" }

// InsertOpts makes the job unique per volume while it is pending; like a
// deletion, it is never given up (it snoozes between vendor calls).
func (VolumeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: uniqueArgs, MaxAttempts: 1000}
}

type volumeWorker struct {
	river.WorkerDefaults[VolumeArgs]
	s *Service
}

func (w *volumeWorker) Timeout(*river.Job[VolumeArgs]) time.Duration { return w.s.cfg.StepTimeout }

func (w *volumeWorker) Work(ctx context.Context, job *river.Job[VolumeArgs]) error {
	v, err := w.s.store.VolumeByID(ctx, job.Args.VolumeID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	switch v.Status {
	case store.VolumeCreating:
		return w.s.createVolumeStep(ctx, v)
	case store.VolumeDeleting:
		return w.s.deleteVolumeStep(ctx, v)
	}
	return nil
}

// volumeVendor is the configured vendor of that name with volumes, or a
// 422 on field naming the vendor and the capability.
func (s *Service) volumeVendor(name, field string) (vendors.Volumes, error) {
	v, ok := s.vendors[name]
	if !ok {
		return nil, fieldError(field, fmt.Sprintf("Value error, vendor %q is not configured", name), name)
	}
	vv, ok := v.(vendors.Volumes)
	if !ok || !v.Info().Volumes {
		return nil, fieldError(field, fmt.Sprintf("Value error, vendor %s does not support volumes (supports_volumes is false in GET /available_vendors)", name), name)
	}
	return vv, nil
}

// CreateVolume is POST /volumes: it records the volume and the job that
// makes it at the vendor in one transaction, and answers before any
// vendor is called.
func (s *Service) CreateVolume(ctx context.Context, accountID int64, req supplyapi.VolumeRequest) (supplyapi.Volume, error) {
	if err := printable.Check(req.Name); err != nil {
		return supplyapi.Volume{}, fieldError("name", "Value error, name "+err.Error(), req.Name)
	}
	vendor, region := req.Vendor, req.Region
	switch {
	case req.OfferID != nil && (vendor != "" || region != ""):
		return supplyapi.Volume{}, fieldError("offer_id", "Value error, give offer_id or vendor and region, not both", req.OfferID.String())
	case req.OfferID != nil:
		offer, item, err := s.offers.Resolve(ctx, accountID, *req.OfferID)
		if errors.Is(err, offers.ErrNotFound) {
			return supplyapi.Volume{}, refusal.Errorf(refusal.ErrNotFound, "Offer %s not found", req.OfferID)
		}
		if err != nil {
			return supplyapi.Volume{}, fmt.Errorf("create volume: %w", err)
		}
		vendor, region = offer.Vendor, item.Region
	case vendor == "":
		return supplyapi.Volume{}, fieldError("vendor", "Value error, give vendor and region, or offer_id", vendor)
	case region == "":
		return supplyapi.Volume{}, fieldError("region", "Value error, give the vendor's region (an offer's vendor_region), or offer_id", region)
	}
	vv, err := s.volumeVendor(vendor, "vendor")
	if err != nil {
		return supplyapi.Volume{}, err
	}
	if info := s.vendors[vendor].Info(); req.SizeGB < info.MinVolumeGB {
		return supplyapi.Volume{}, fieldError("size_gb", fmt.Sprintf("Value error, %s makes volumes of at least %d GB, not %d", info.DisplayName, info.MinVolumeGB, req.SizeGB), req.SizeGB)
	}
	now := s.now().UTC()
	v := store.Volume{
		ID: uuid.NewString(), AccountID: accountID, Vendor: vendor, VendorRegion: region, Name: req.Name, SizeGB: int64(req.SizeGB),
		PricePerGBMonth: vv.VolumePricePerGBMonth(region), Status: store.VolumeCreating, StatusMessage: "being created at the vendor",
		CreatedAt: now, UpdatedAt: now,
	}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if err := s.checkVolumeCaps(ctx, tx, accountID, v); err != nil {
			return err
		}
		if err := tx.InsertVolume(ctx, v); err != nil {
			return err
		}
		if err := s.volumeEvent(ctx, tx, supplyapi.EventVolumeCreated, v); err != nil {
			return err
		}
		return tx.Enqueue(ctx, VolumeArgs{VolumeID: v.ID}, nil)
	})
	if errors.Is(err, refusal.ErrForbidden) {
		return supplyapi.Volume{}, err
	}
	if err != nil {
		return supplyapi.Volume{}, fmt.Errorf("create volume: %w", err)
	}
	s.events.Notify(accountID)
	s.log.InfoContext(ctx, "volume accepted", "volume_id", v.ID, "vendor", vendor, "region", region, "size_gb", v.SizeGB, "account_id", accountID)
	return ledger.Volume(ctx, s.store, v, now)
}

// checkVolumeCaps refuses, in tx, a volume that would take the account
// over its cap on live hourly spend (volumes have no GPUs).
func (s *Service) checkVolumeCaps(ctx context.Context, tx store.Tx, accountID int64, v store.Volume) error {
	hourly := ledger.VolumePerHour(v)
	return s.checkCaps(ctx, tx, accountID, 0, supplyapi.Offer{TotalPricePerHour: hourly}, "")
}

// volumeOf is the account's volume id, or a 404.
func volumeOf(ctx context.Context, q store.Queries, accountID int64, id uuid.UUID) (store.Volume, error) {
	v, err := q.VolumeByID(ctx, id.String())
	if errors.Is(err, store.ErrNotFound) || err == nil && v.AccountID != accountID {
		return store.Volume{}, refusal.Errorf(refusal.ErrNotFound, "Volume %s not found", id)
	}
	return v, err
}

// Volume is GET /volumes/{id}.
func (s *Service) Volume(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.Volume, error) {
	v, err := volumeOf(ctx, s.store, accountID, id)
	if err != nil {
		return supplyapi.Volume{}, err
	}
	return ledger.Volume(ctx, s.store, v, s.now().UTC())
}

// Volumes is GET /volumes: the account's volumes, newest first.
func (s *Service) Volumes(ctx context.Context, accountID int64) ([]supplyapi.Volume, error) {
	vs, err := s.store.VolumesOfAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	out := make([]supplyapi.Volume, 0, len(vs))
	for _, v := range vs {
		sv, err := ledger.Volume(ctx, s.store, v, now)
		if err != nil {
			return nil, err
		}
		out = append(out, sv)
	}
	return out, nil
}

// DeleteVolume is DELETE /volumes/{id}: deleting at once, deleted once the
// vendor confirms. A volume attached to a live machine is a 409: it holds
// that machine's data.
func (s *Service) DeleteVolume(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.Volume, error) {
	var out store.Volume
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		v, err := volumeOf(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		switch v.Status {
		case store.VolumeDeleting, store.VolumeDeleted, store.VolumeGone:
			return refusal.Errorf(refusal.ErrConflict, "Volume %s is already %s", id, v.Status)
		}
		at, err := ledger.AttachedTo(ctx, tx, v)
		if err != nil {
			return err
		}
		if at != "" {
			return refusal.Errorf(refusal.ErrConflict, "Volume %s is attached to resource %s; delete the resource first", id, at)
		}
		out, _, err = s.changeVolume(ctx, tx, v.ID, func(x *store.Volume) bool {
			x.Status, x.StatusMessage, x.UpdatedAt = store.VolumeDeleting, "deletion requested", s.now().UTC()
			return true
		})
		if err != nil {
			return err
		}
		return tx.Enqueue(ctx, VolumeArgs{VolumeID: v.ID}, nil)
	})
	if err != nil {
		return supplyapi.Volume{}, err
	}
	s.events.Notify(accountID)
	return ledger.Volume(ctx, s.store, out, s.now().UTC())
}

// volumeEvents are the events of a volume's statuses.
var volumeEvents = map[string]string{
	store.VolumeAvailable: supplyapi.EventVolumeAvailable,
	store.VolumeFailed:    supplyapi.EventVolumeFailed,
	store.VolumeDeleting:  supplyapi.EventVolumeDeleting,
	store.VolumeDeleted:   supplyapi.EventVolumeDeleted,
	store.VolumeGone:      supplyapi.EventVolumeGone,
}

// changeVolume is store.ChangeVolume in tx, with the event of a new
// status appended in tx too.
func (s *Service) changeVolume(ctx context.Context, tx store.Tx, id string, change func(*store.Volume) bool) (store.Volume, bool, error) {
	before, err := tx.VolumeByID(ctx, id)
	if err != nil {
		return store.Volume{}, false, err
	}
	after, changed, err := store.ChangeVolume(ctx, tx, id, change)
	if err != nil || !changed || after.Status == before.Status {
		return after, changed, err
	}
	return after, true, s.volumeEvent(ctx, tx, volumeEvents[after.Status], after)
}

// updateVolume is changeVolume in a transaction of its own, with the
// account's followers woken after it.
func (s *Service) updateVolume(ctx context.Context, id string, change func(*store.Volume) bool) (store.Volume, error) {
	var out store.Volume
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		out, _, err = s.changeVolume(ctx, tx, id, change)
		return err
	})
	if err == nil {
		s.events.Notify(out.AccountID)
	}
	return out, err
}

// volumeEvent appends, in tx, an event of type typ carrying v as the API
// shows it.
func (s *Service) volumeEvent(ctx context.Context, tx store.Tx, typ string, v store.Volume) error {
	sv, err := ledger.Volume(ctx, tx, v, s.now().UTC())
	if err != nil {
		return err
	}
	data, err := json.Marshal(sv)
	if err != nil {
		return err
	}
	return s.events.Append(ctx, tx, v.AccountID, []store.Event{{Type: typ, ResourceID: v.ID, Data: data}})
}

// createVolumeStep makes the volume at its vendor. The row records the
// attempt before the vendor is called, and the volume carries its id, so
// a crash or an ambiguous answer is repaired by calling CreateVolume
// again, which finds the volume instead of making another.
func (s *Service) createVolumeStep(ctx context.Context, v store.Volume) error {
	vv, err := s.volumeVendor(v.Vendor, "vendor")
	if err != nil {
		return s.failVolume(ctx, v, fmt.Sprintf("vendor %s is no longer configured with volumes", v.Vendor))
	}
	if v.CreateAttemptedAt == nil {
		if v, err = s.updateVolume(ctx, v.ID, func(x *store.Volume) bool {
			now := s.now().UTC()
			x.CreateAttemptedAt, x.UpdatedAt = &now, now
			return true
		}); err != nil {
			return stepAgain(err)
		}
	}
	got, err := vv.CreateVolume(ctx, vendors.VolumeRequest{VolumeID: v.ID, Owner: s.cfg.Owner, Region: v.VendorRegion, SizeGB: int(v.SizeGB)})
	switch {
	case err != nil && vendors.Retryable(err):
		return s.retryLater(err)
	case err != nil:
		return s.failVolume(ctx, v, "the vendor refused the volume: "+vendors.TenantReason(s.vendors[v.Vendor], err))
	}
	// Recorded whatever happened meanwhile: a deletion asked for during
	// the create needs the vendor's id.
	_, err = s.updateVolume(ctx, v.ID, func(x *store.Volume) bool {
		now := s.now().UTC()
		x.VendorVolumeID, x.MountPath, x.UpdatedAt = got.ID, got.MountPath, now
		if x.BillingStartedAt == nil {
			x.BillingStartedAt = &now
		}
		if x.Status == store.VolumeCreating {
			x.Status, x.StatusMessage = store.VolumeAvailable, ""
		}
		return true
	})
	if err == nil {
		s.log.InfoContext(ctx, "volume created", "volume_id", v.ID, "vendor", v.Vendor, "vendor_volume_id", got.ID)
	}
	return err
}

// failVolume marks a volume still being created failed with reason.
func (s *Service) failVolume(ctx context.Context, v store.Volume, reason string) error {
	_, err := s.updateVolume(ctx, v.ID, func(x *store.Volume) bool {
		if x.Status != store.VolumeCreating {
			return false
		}
		x.Status, x.StatusMessage, x.UpdatedAt = store.VolumeFailed, reason, s.now().UTC()
		return true
	})
	s.log.WarnContext(ctx, "volume failed", "volume_id", v.ID, "vendor", v.Vendor, "reason", reason)
	return err
}

// deleteVolumeStep moves a deleting volume towards gone at its vendor,
// and calls it deleted only once the vendor no longer has it.
func (s *Service) deleteVolumeStep(ctx context.Context, v store.Volume) error {
	vv, err := s.volumeVendor(v.Vendor, "vendor")
	if err != nil {
		return s.volumeTrouble(ctx, v, fmt.Errorf("vendor %s is not configured with volumes; cannot confirm the volume is gone", v.Vendor))
	}
	id := v.VendorVolumeID
	if id == "" {
		// A create may have made the volume without us learning its id.
		found, err := findVolume(ctx, vv, v.ID)
		if err != nil {
			return s.retryLater(err)
		}
		if found.ID == "" {
			if v.CreateAttemptedAt == nil || s.now().Sub(*v.CreateAttemptedAt) > s.cfg.CreateGrace {
				return s.confirmVolumeDeleted(ctx, v)
			}
			return river.JobSnooze(s.cfg.PollInterval) // a create may still be in flight
		}
		id = found.ID
	}
	_, err = vv.GetVolume(ctx, id)
	switch {
	case vendors.IsNotFound(err):
		return s.confirmVolumeDeleted(ctx, v)
	case err != nil:
		return s.retryLater(err)
	}
	if err := vv.DeleteVolume(ctx, id); err != nil {
		return s.volumeTrouble(ctx, v, err)
	}
	s.log.InfoContext(ctx, "volume delete requested", "volume_id", v.ID, "vendor", v.Vendor, "vendor_volume_id", id)
	return river.JobSnooze(s.cfg.PollInterval)
}

// findVolume is the vendor's volume carrying supply's id volumeID, or
// the zero Volume.
func findVolume(ctx context.Context, vv vendors.Volumes, volumeID string) (vendors.Volume, error) {
	list, err := vv.ListVolumes(ctx)
	if err != nil {
		return vendors.Volume{}, err
	}
	i := slices.IndexFunc(list, func(x vendors.Volume) bool { return x.VolumeID == volumeID })
	if i < 0 {
		return vendors.Volume{}, nil
	}
	return list[i], nil
}

// volumeTrouble keeps a failing deletion going, with the reason in the
// volume's status message.
func (s *Service) volumeTrouble(ctx context.Context, v store.Volume, cause error) error {
	msg := "deletion retrying: " + vendors.TenantReason(s.vendors[v.Vendor], cause)
	if _, err := s.updateVolume(ctx, v.ID, func(x *store.Volume) bool {
		if x.Status != store.VolumeDeleting || x.StatusMessage == msg {
			return false
		}
		x.StatusMessage, x.UpdatedAt = msg, s.now().UTC()
		return true
	}); err != nil {
		return err
	}
	s.log.WarnContext(ctx, "volume deletion failed; will retry", "volume_id", v.ID, "vendor", v.Vendor, "err", cause)
	return s.retryLater(cause)
}

// confirmVolumeDeleted records that the vendor confirmed the volume gone.
func (s *Service) confirmVolumeDeleted(ctx context.Context, v store.Volume) error {
	_, err := s.updateVolume(ctx, v.ID, func(x *store.Volume) bool {
		if x.Status != store.VolumeDeleting {
			return false
		}
		now := s.now().UTC()
		x.Status, x.StatusMessage, x.DeletedAt, x.UpdatedAt = store.VolumeDeleted, "deleted; the vendor confirmed the volume is gone", &now, now
		return true
	})
	if err == nil {
		s.log.InfoContext(ctx, "volume gone", "volume_id", v.ID, "vendor", v.Vendor)
	}
	return err
}

// attachedVolumes are the vendor's volumes that resource r attaches at
// create time, as the vendor has them now.
func (s *Service) attachedVolumes(ctx context.Context, v vendors.Vendor, resourceID string) ([]vendors.Volume, error) {
	rows, err := s.store.VolumesAttachedTo(ctx, resourceID)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	vv, ok := v.(vendors.Volumes)
	if !ok {
		return nil, fmt.Errorf("vendor %s has no volumes", v.Name())
	}
	out := make([]vendors.Volume, 0, len(rows))
	for _, row := range rows {
		got, err := vv.GetVolume(ctx, row.VendorVolumeID)
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", row.ID, err)
		}
		out = append(out, got)
	}
	return out, nil
}

// attachLate attaches r's volumes to its running instance on a vendor
// whose create request cannot name them (vendors.LateVolumes), before
// the instance may count as ready. Every step asks again, the vendor
// skipping what is attached already, so a crash between steps loses
// nothing. attached is false when the step must end with err: an attach
// still in progress (look again soon), a transient failure (retry
// later), or a refusal, which fails the resource with the vendor's reason
// as a refused create does (its clean-up terminates the instance).
func (s *Service) attachLate(ctx context.Context, v vendors.Vendor, r store.Resource, inst vendors.Instance) (attached bool, err error) {
	lv, ok := v.(vendors.LateVolumes)
	if !ok {
		return true, nil
	}
	vols, err := s.attachedVolumes(ctx, v, r.ID)
	if err != nil {
		return false, s.retryLater(err)
	}
	if len(vols) == 0 {
		return true, nil
	}
	done, err := lv.AttachVolumes(ctx, inst.ID, vols)
	switch {
	case err != nil && vendors.Retryable(err):
		return false, s.retryLater(err)
	case err != nil:
		return false, stepAgain(s.fail(ctx, r, s.refusal(ctx, r, err)))
	case !done:
		return false, river.JobSnooze(s.cfg.PollInterval)
	}
	return true, nil
}

// checkVolumeIDs refuses, before anything is written, volume_ids that
// cannot be attached to offer o: a vendor without volumes, more than the
// vendor attaches at create (Info.MaxVolumes), a cluster, a failover
// (which may move to another vendor), a volume not found, or
// one of another vendor or region than the offer (a 422 naming both), or
// an offer whose machine the region's volumes cannot reach
// (item.NoVolumes: EC2 spot priced in another zone than the volumes').
func (s *Service) checkVolumeIDs(ctx context.Context, accountID int64, o supplyapi.Offer, item vendors.CatalogItem, req supplyapi.ProcureOfferRequest) error {
	if len(req.VolumeIDs) == 0 {
		return nil
	}
	if _, err := s.volumeVendor(o.Vendor, "volume_ids"); err != nil {
		return err
	}
	info := s.vendors[o.Vendor].Info()
	switch {
	case info.MaxVolumes > 0 && len(req.VolumeIDs) > info.MaxVolumes:
		return fieldError("volume_ids", fmt.Sprintf("Value error, %s attaches at most %d volume(s) to a machine at create, not %d",
			info.DisplayName, info.MaxVolumes, len(req.VolumeIDs)), req.VolumeIDs)
	case o.NodeCount != nil && *o.NodeCount > 1:
		return fieldError("volume_ids", "Value error, volumes attach to single machines, not to a cluster offer", req.VolumeIDs)
	case req.Fallback != nil:
		return fieldError("volume_ids", "Value error, volume_ids cannot be combined with fallback: a failover may move to another vendor or region", req.VolumeIDs)
	case item.NoVolumes:
		return fieldError("volume_ids", fmt.Sprintf("Value error, %s cannot attach volumes of %s to this offer's machine (it launches in another zone than the volumes, or its type is not sold there); ask get_offers with volume_id",
			info.DisplayName, o.VendorRegion), req.VolumeIDs)
	}
	for _, id := range req.VolumeIDs {
		v, err := volumeOf(ctx, s.store, accountID, id)
		if errors.Is(err, refusal.ErrNotFound) {
			return fieldError("volume_ids", fmt.Sprintf("Value error, volume %s not found", id), id.String())
		}
		if err != nil {
			return err
		}
		if v.Vendor != o.Vendor || v.VendorRegion != o.VendorRegion {
			return fieldError("volume_ids", fmt.Sprintf("Value error, volume %s is at %s in %s, the offer at %s in %s: a volume attaches only in its own vendor and region",
				id, v.Vendor, v.VendorRegion, o.Vendor, o.VendorRegion), id.String())
		}
	}
	return nil
}

// attachVolumes attaches, in tx, the volumes to resource resourceID: each
// must be available and attached to no live machine (else a 409).
func (s *Service) attachVolumes(ctx context.Context, tx store.Tx, accountID int64, ids []uuid.UUID, resourceID string) error {
	for _, id := range ids {
		v, err := volumeOf(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		if v.Status != store.VolumeAvailable {
			return refusal.Errorf(refusal.ErrConflict, "Volume %s is %s, not available", id, v.Status)
		}
		at, err := ledger.AttachedTo(ctx, tx, v)
		if err != nil {
			return err
		}
		if at != "" {
			return refusal.Errorf(refusal.ErrConflict, "Volume %s is attached to resource %s", id, at)
		}
		if _, _, err := s.changeVolume(ctx, tx, v.ID, func(x *store.Volume) bool {
			x.AttachedTo, x.UpdatedAt = resourceID, s.now().UTC()
			return true
		}); err != nil {
			return err
		}
	}
	return nil
}

// reconcileVolumes compares every vendor's volumes with the database: a
// volume the vendor no longer has is marked gone; a volume carrying this
// installation's id that the database does not know is reported (logged
// and counted), never deleted, since it holds someone's data; volumes of
// others are left alone. A deleting or creating volume whose job was lost
// gets it again.
func (s *Service) reconcileVolumes(ctx context.Context) error {
	live, err := s.store.LiveVolumes(ctx)
	if err != nil {
		return fmt.Errorf("reconcile volumes: %w", err)
	}
	byVendor := map[string][]store.Volume{}
	for _, v := range live {
		byVendor[v.Vendor] = append(byVendor[v.Vendor], v)
		if v.Status == store.VolumeCreating || v.Status == store.VolumeDeleting {
			if err := s.store.Enqueue(ctx, VolumeArgs{VolumeID: v.ID}, nil); err != nil {
				return fmt.Errorf("reconcile volumes: %w", err)
			}
		}
	}
	var errs []error
	for name, v := range s.vendors {
		vv, ok := v.(vendors.Volumes)
		if !ok || !v.Info().Volumes {
			continue
		}
		if err := s.reconcileVendorVolumes(ctx, name, vv, byVendor[name]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) reconcileVendorVolumes(ctx context.Context, vendor string, vv vendors.Volumes, live []store.Volume) error {
	list, err := vv.ListVolumes(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "reconcile: cannot list volumes; skipping vendor this pass", "vendor", vendor, "err", err)
		return nil
	}
	atVendor := map[string]bool{}
	for _, x := range list {
		atVendor[x.ID] = true
	}
	for _, v := range live {
		if v.Status != store.VolumeAvailable || v.VendorVolumeID == "" || atVendor[v.VendorVolumeID] {
			continue
		}
		if _, err := s.updateVolume(ctx, v.ID, func(x *store.Volume) bool {
			if x.Status != store.VolumeAvailable {
				return false
			}
			now := s.now().UTC()
			x.Status, x.StatusMessage = store.VolumeGone, "the vendor no longer has this volume; it was not deleted through supply"
			x.DeletedAt, x.UpdatedAt = &now, now
			return true
		}); err != nil {
			return fmt.Errorf("reconcile volumes: %w", err)
		}
		s.log.WarnContext(ctx, "reconcile: volume gone at its vendor", "volume_id", v.ID, "vendor", vendor, "vendor_volume_id", v.VendorVolumeID)
	}
	unknown := 0
	for _, x := range list {
		if x.VolumeID == "" || x.Owner != s.cfg.Owner {
			continue // not ours: another installation's, or made by hand
		}
		if _, err := s.store.VolumeByID(ctx, x.VolumeID); errors.Is(err, store.ErrNotFound) {
			unknown++
			s.log.WarnContext(ctx, "reconcile: a volume of this installation that the database does not know; left alone, it may hold data",
				"vendor", vendor, "vendor_volume_id", x.ID, "volume_id", x.VolumeID, "name", x.Name)
		} else if err != nil {
			return fmt.Errorf("reconcile volumes: %w", err)
		}
	}
	s.metrics.unknownVolumes.WithLabelValues(vendor).Set(float64(unknown))
	return nil
}
