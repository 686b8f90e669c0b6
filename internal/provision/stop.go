package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// PowerArgs is the job that takes one node through a stop (stopping →
// stopped) or a start (starting → running, once SSH answers): one step
// at a time, snoozing between, as a procurement does.
type PowerArgs struct {
	ResourceID string `json:"resource_id"`
	// Start: the job starts the node; without it, it stops it.
	Start bool `json:"start,omitempty"`
	// Requested is when the renter asked (zero for the reconciler's
	// job): each request gets a job of its own, because River's uniqueness
	// counts a running job, and a start asked for while the last start's
	// job finishes (refused) would be dropped as its duplicate. Two jobs
	// of one resource are harmless: each step acts on what the vendor
	// says now, and writes only over the status it read.
	Requested time.Time `json:"requested,omitzero"`
}

// Kind names the job in River.
func (PowerArgs) Kind() string { return "power" }

// InsertOpts makes the job unique per resource and direction while it is
// pending; like a deletion, it snoozes between steps.
func (PowerArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: uniqueArgs, MaxAttempts: 1000}
}

// powerJob is the job that takes r, stopping or starting, the rest of the
// way; false when r is neither.
func powerJob(r store.Resource) (PowerArgs, bool) {
	switch r.Status {
	case supplyapi.ResourceStopping:
		return PowerArgs{ResourceID: r.ID}, true
	case supplyapi.ResourceStarting:
		return PowerArgs{ResourceID: r.ID, Start: true}, true
	}
	return PowerArgs{}, false
}

// power is one direction of a power change: the status it starts from,
// the one it moves to at once, and the words the renter reads.
type power struct {
	from, to, verb, message string
	start                   bool
}

var (
	powerStop  = power{from: supplyapi.ResourceRunning, to: supplyapi.ResourceStopping, verb: "stop", message: "stop requested"}
	powerStart = power{from: supplyapi.ResourceStopped, to: supplyapi.ResourceStarting, verb: "start", message: "start requested", start: true}
)

// Stop is POST /resources/{id}/stop: a running resource (a cluster: all
// of its nodes, or none) becomes stopping, and stopped once its vendor
// confirms.
func (s *Service) Stop(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.PowerResponse, error) {
	return s.changePower(ctx, accountID, id, powerStop)
}

// Start is POST /resources/{id}/start: a stopped resource becomes
// starting, and running again once SSH answers.
func (s *Service) Start(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.PowerResponse, error) {
	return s.changePower(ctx, accountID, id, powerStart)
}

func (s *Service) changePower(ctx context.Context, accountID int64, id uuid.UUID, p power) (supplyapi.PowerResponse, error) {
	for range 5 {
		r, err := s.resource(ctx, accountID, id)
		if err != nil {
			return supplyapi.PowerResponse{}, err
		}
		if v, ok := s.vendors[r.Vendor]; ok {
			if _, ok := vendors.CanStop(v); !ok {
				return supplyapi.PowerResponse{}, &offers.QueryError{Loc: []any{"path", "resource_id"}, Type: "value_error", Input: id.String(),
					Msg: fmt.Sprintf("Value error, vendor %s does not support stop and start (supports_stop is false)", r.Vendor)}
			}
		}
		if r.ParentID != "" {
			return supplyapi.PowerResponse{}, refusal.Errorf(refusal.ErrConflict, "Resource %s is a node of cluster %s, which stops and starts as a whole: %s the cluster", id, r.ParentID, p.verb)
		}
		targets := []store.Resource{r}
		if r.ResourceType == store.ResourceTypeCluster {
			nodes, err := s.store.ResourcesByParent(ctx, r.ID)
			if err != nil {
				return supplyapi.PowerResponse{}, fmt.Errorf("%s: %w", p.verb, err)
			}
			targets = append(targets, nodes...)
		}
		// A cluster stops and starts as a whole or not at all.
		for _, t := range targets {
			if t.Status != p.from {
				what := "Resource " + id.String()
				if t.ID != r.ID {
					what = fmt.Sprintf("Node %s of cluster %s", t.ID, id)
				}
				return supplyapi.PowerResponse{}, refusal.Errorf(refusal.ErrConflict, "%s is %s; only a %s resource can %s", what, t.Status, p.from, p.verb)
			}
		}
		now := s.now().UTC()
		err = s.store.InTx(ctx, func(tx store.Tx) error {
			for _, t := range targets {
				t.Status, t.StatusMessage, t.UpdatedAt = p.to, p.message, now
				if _, err := tx.UpdateResource(ctx, t); err != nil {
					return err
				}
				if t.ResourceType == store.ResourceTypeCluster {
					continue // its nodes' jobs settle it
				}
				if err := tx.Enqueue(ctx, PowerArgs{ResourceID: t.ID, Start: p.start, Requested: now}, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if errors.Is(err, store.ErrConflict) {
			continue // changed under us: look again
		}
		if err != nil {
			return supplyapi.PowerResponse{}, fmt.Errorf("%s: %w", p.verb, err)
		}
		msg := fmt.Sprintf("%s started; the resource becomes %s once the vendor confirms", p.verb, map[bool]string{false: "stopped", true: "running (and reachable over SSH)"}[p.start])
		return supplyapi.PowerResponse{ResourceID: id, Status: p.to, Message: msg}, nil
	}
	return supplyapi.PowerResponse{}, fmt.Errorf("%s %s: the resource kept changing; try again", p.verb, id)
}

type powerWorker struct {
	river.WorkerDefaults[PowerArgs]
	s *Service
}

func (w *powerWorker) Timeout(*river.Job[PowerArgs]) time.Duration { return w.s.cfg.StepTimeout }

// Work takes one step of a stop or a start, from what the vendor says of
// the instance now, so that a crash or a repeated step sends no second
// request for a change the vendor is already making.
func (w *powerWorker) Work(ctx context.Context, job *river.Job[PowerArgs]) error {
	s := w.s
	ctx, r, ok, err := s.jobResource(ctx, job.Args.ResourceID)
	if !ok {
		return err
	}
	if own, ok := powerJob(r); !ok || own.Start != job.Args.Start {
		return nil // deleted meanwhile, or done
	}
	st, ok := vendors.CanStop(s.vendors[r.Vendor])
	if !ok {
		return fmt.Errorf("vendor %s is not configured to stop and start instances", r.Vendor)
	}
	inst, err := s.vendors[r.Vendor].Get(ctx, r.VendorInstanceID)
	switch {
	case vendors.IsNotFound(err) || err == nil && inst.State == vendors.StateTerminated:
		return s.powerVanished(ctx, r)
	case err != nil:
		return s.retryLater(err)
	}
	if job.Args.Start {
		return s.startStep(ctx, st, r, inst)
	}
	return s.stopStep(ctx, st, r, inst)
}

// stopStep asks a running instance to stop, and records it stopped, at
// the vendor's stopped rate, once the vendor says so.
func (s *Service) stopStep(ctx context.Context, st vendors.Stopper, r store.Resource, inst vendors.Instance) error {
	switch inst.State {
	case vendors.StateRunning:
		if err := st.Stop(ctx, inst.ID); err != nil && !errors.Is(err, vendors.ErrInvalid) {
			return s.retryLater(err)
		}
		// Accepted, or refused because the instance moved on: look again.
		return river.JobSnooze(s.cfg.PollInterval)
	case vendors.StateStopped:
	default:
		return river.JobSnooze(s.cfg.PollInterval)
	}
	rate, err := s.stoppedRate(ctx, st, r)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	_, _, err = store.ChangeResource(ctx, s.store, r.ID, func(x *store.Resource) bool {
		if x.Status != supplyapi.ResourceStopping {
			return false
		}
		x.Status, x.StatusMessage, x.UpdatedAt, x.LastSyncedAt = supplyapi.ResourceStopped, "stopped; its disk is kept", now, &now
		return ledger.OpenStop(x, now, rate) == nil
	})
	if err != nil {
		return err
	}
	s.refreshSpend(ctx, r.AccountID)
	return s.settleCluster(ctx, r, supplyapi.ResourceStopping, supplyapi.ResourceStopped)
}

// startStep asks a stopped instance to start, and records it running once
// it answers over SSH, at the address it has now. A vendor that cannot
// give the instance its GPU back leaves it stopped, saying so.
func (s *Service) startStep(ctx context.Context, st vendors.Stopper, r store.Resource, inst vendors.Instance) error {
	switch inst.State {
	case vendors.StateStopped:
		err := st.Start(ctx, inst.ID)
		switch {
		case errors.Is(err, vendors.ErrNoCapacity):
			return s.startRefused(ctx, r, "start failed: the vendor has no GPU for it now ("+s.tenantError(r, err)+"); it stays stopped with its disk; try again later")
		case err != nil && !errors.Is(err, vendors.ErrInvalid):
			return s.retryLater(err)
		}
		return river.JobSnooze(s.cfg.PollInterval)
	case vendors.StateRunning:
	default:
		return river.JobSnooze(s.cfg.PollInterval)
	}
	if inst.ExternalIP == "" {
		return river.JobSnooze(s.cfg.PollInterval)
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err := s.cfg.Probe(pctx, inst.ExternalIP, sshPort(inst))
	cancel()
	if err != nil {
		return river.JobSnooze(s.cfg.PollInterval) // ready means reachable
	}
	now := s.now().UTC()
	_, _, err = store.ChangeResource(ctx, s.store, r.ID, func(x *store.Resource) bool {
		if x.Status != supplyapi.ResourceStarting {
			return false
		}
		x.Status, x.StatusMessage, x.UpdatedAt, x.LastSyncedAt = supplyapi.ResourceRunning, "", now, &now
		x.ExternalIP, x.InternalIP, x.SSHPort = inst.ExternalIP, inst.InternalIP, sshPort(inst)
		// Billed in full again from the start the vendor accepted; the
		// boot is the vendor's to bill.
		return ledger.CloseStop(x, now) == nil
	})
	if err != nil {
		return err
	}
	s.refreshSpend(ctx, r.AccountID)
	return s.settleCluster(ctx, r, supplyapi.ResourceStarting, supplyapi.ResourceRunning)
}

// startRefused puts a node whose start the vendor refused back to
// stopped, with why in its status message, and its cluster with it.
func (s *Service) startRefused(ctx context.Context, r store.Resource, why string) error {
	now := s.now().UTC()
	if _, _, err := store.ChangeResource(ctx, s.store, r.ID, func(x *store.Resource) bool {
		if x.Status != supplyapi.ResourceStarting {
			return false
		}
		x.Status, x.StatusMessage, x.UpdatedAt = supplyapi.ResourceStopped, why, now
		return true
	}); err != nil {
		return err
	}
	s.log.WarnContext(ctx, "start refused", "resource_id", r.ID, "vendor", r.Vendor, "reason", why)
	return s.settleCluster(ctx, r, supplyapi.ResourceStarting, supplyapi.ResourceStopped)
}

// powerVanished fails a node whose instance is gone while it stopped or
// started, as a sync would.
func (s *Service) powerVanished(ctx context.Context, r store.Resource) error {
	_, _, err := store.ChangeResource(ctx, s.store, r.ID, func(x *store.Resource) bool {
		if _, ok := powerJob(*x); !ok {
			return false
		}
		s.applyVendorState(ctx, x, vendors.Instance{State: vendors.StateTerminated}, nil)
		x.UpdatedAt = s.now().UTC()
		return true
	})
	return err
}

// stoppedRate is what r's vendor bills per hour for r stopped, by its
// rule for the catalog item r was procured from.
func (s *Service) stoppedRate(ctx context.Context, st vendors.Stopper, r store.Resource) (float64, error) {
	p, err := s.store.ProcurementByOffer(ctx, r.OfferID)
	if err != nil {
		return 0, err
	}
	var item vendors.CatalogItem
	if err := json.Unmarshal(p.Item, &item); err != nil {
		return 0, fmt.Errorf("resource %s: the offer's catalog item cannot be read: %w", r.ID, err)
	}
	return min(st.StoppedPricePerHour(item), r.PricePerHour), nil
}

// settleCluster moves the cluster parent of node r from its status from
// to to once no node is short of to.
func (s *Service) settleCluster(ctx context.Context, r store.Resource, from, to string) error {
	if r.ParentID == "" {
		return nil
	}
	nodes, err := s.store.ResourcesByParent(ctx, r.ParentID)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Status != to {
			return nil
		}
	}
	now := s.now().UTC()
	_, _, err = store.ChangeResource(ctx, s.store, r.ParentID, func(x *store.Resource) bool {
		if x.Status != from {
			return false
		}
		x.Status, x.StatusMessage, x.UpdatedAt = to, "", now
		return true
	})
	return err
}

// reconcileStopped looks directly at the instance of a stopped resource
// that the vendor's list did not show: a stopped machine is not a gone
// one, and only the vendor's not-found fails it.
func (s *Service) reconcileStopped(ctx context.Context, v vendors.Vendor, r store.Resource) error {
	_, err := v.Get(ctx, r.VendorInstanceID)
	if !vendors.IsNotFound(err) {
		return nil // still there, or no answer this pass
	}
	now := s.now().UTC()
	_, _, err = store.ChangeResource(ctx, s.store, r.ID, func(x *store.Resource) bool {
		if x.Status != supplyapi.ResourceStopped {
			return false
		}
		x.LastSyncedAt, x.UpdatedAt = &now, now
		s.applyVendorState(ctx, x, vendors.Instance{}, err)
		return true
	})
	return err
}
