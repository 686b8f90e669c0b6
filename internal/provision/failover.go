package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
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

// A procurement with a fallback fails over: when its vendor refuses to
// create for lack of capacity or quota (or gives no answer), the try is
// recorded, what it may have made is removed at its vendor, and the same
// procurement, with the same resources, moves to the next cheapest
// equivalent offer not yet tried. When none is in stock it waits, looking
// again after the vendors' catalog reads, until its deadline. A client
// that polls the procured offer's status follows all of it.
//
// The procurement's phase says where it is: trying (its resources are
// being made at its current vendor, by their procure jobs), switching (the
// failover job is removing the last try at its vendor) or waiting (the
// failover job looks for stock). A procure job acts only during its own
// try (ProcureArgs.Attempt); a failover job only between tries.

// Failover limits.
const (
	defaultMaxAttempts = 5
	maxFailoverWait    = 24 * time.Hour
	// equivalentPremium is how much dearer per GPU-hour an equivalent
	// offer may be than the procured one, unless the query says.
	equivalentPremium = 1.25
)

// tried reports whether it is the item of one of the attempts made since
// its vendor's catalog was last read: an item tried before that read, and
// listed in stock by it, may be tried again.
func tried(attempts []ledger.Attempt, vendor string, it vendors.CatalogItem, read time.Time) bool {
	for _, a := range attempts {
		if a.Vendor == vendor && a.Region == it.Region && a.InstanceType == it.InstanceType && a.Contract == it.Contract && !a.At.Before(read) {
			return true
		}
	}
	return false
}

func newAttempt(o supplyapi.Offer, it vendors.CatalogItem, at time.Time) ledger.Attempt {
	return ledger.Attempt{
		Attempt: supplyapi.Attempt{OfferID: o.OfferID, Vendor: o.Vendor, Region: o.VendorRegion, GPUPricePerHour: o.GPUPricePerHour,
			Outcome: supplyapi.AttemptTrying, At: at},
		InstanceType: it.InstanceType, Contract: it.Contract,
	}
}

// endAttempt records how p's current try ended, when p has tries.
func endAttempt(p *store.Procurement, outcome, reason string) error {
	fo, attempts, ok, err := ledger.FailoverOf(*p)
	if err != nil || !ok || len(attempts) == 0 {
		return err
	}
	last := &attempts[len(attempts)-1]
	if last.Outcome != supplyapi.AttemptTrying {
		return nil
	}
	last.Outcome = outcome
	if reason != "" {
		last.Reason = &reason
	}
	return ledger.SetFailover(p, fo, attempts)
}

// planFailover checks a request's fallback and makes what the procurement
// keeps of it, with its first try, the offer procured.
func (s *Service) planFailover(ctx context.Context, accountID int64, o supplyapi.Offer, it vendors.CatalogItem, req *supplyapi.Fallback, now time.Time) (ledger.Failover, []ledger.Attempt, error) {
	fo := ledger.Failover{MaxAttempts: defaultMaxAttempts}
	if req.MaxAttempts != nil {
		if n := *req.MaxAttempts; n < 1 || n > 20 {
			return ledger.Failover{}, nil, &offers.QueryError{Loc: []any{"body", "fallback", "max_attempts"}, Type: "value_error",
				Msg: "Value error, max_attempts must be between 1 and 20", Input: n}
		}
		fo.MaxAttempts = *req.MaxAttempts
	}
	if req.Until != nil && !req.Until.IsNull() {
		d, err := req.Until.Parse()
		if err == nil && d > maxFailoverWait {
			err = fmt.Errorf("must be at most %s", maxFailoverWait)
		}
		if err != nil {
			return ledger.Failover{}, nil, &offers.QueryError{Loc: []any{"body", "fallback", "until"}, Type: "value_error",
				Msg: "Value error, until " + err.Error(), Input: req.Until.Input()}
		}
		until := now.Add(d)
		fo.Until = &until
	}
	if req.Query != nil {
		fo.Query = *req.Query
	} else {
		fo.Query = supplyapi.OfferQuery{Region: o.Region, Compute: supplyapi.OfferQueryCompute{
			GPUType: o.GPUType, GPUCount: o.GPUCount, ContractType: o.ContractType, NodeCount: clusterNodes(o),
		}}
	}
	if fo.Query.Compute.MaxPricePerGPUHour == nil {
		limit := math.Ceil(o.GPUPricePerHour*equivalentPremium*1e6) / 1e6
		fo.Query.Compute.MaxPricePerGPUHour = &limit
	}
	fo.Query.Limit = 1000
	// The query is checked as get_offers checks it, its errors named
	// where the request holds it.
	if _, err := s.offers.Answer(ctx, accountID, fo.Query); err != nil {
		var qe *offers.QueryError
		if errors.As(err, &qe) && len(qe.Loc) > 0 && qe.Loc[0] == "body" {
			moved := *qe
			moved.Loc = append([]any{"body", "fallback", "query"}, qe.Loc[1:]...)
			return ledger.Failover{}, nil, &moved
		}
		return ledger.Failover{}, nil, err
	}
	return fo, []ledger.Attempt{newAttempt(o, it, now)}, nil
}

// clusterNodes is the node count a query names to match o: nil for a
// single machine.
func clusterNodes(o supplyapi.Offer) *int {
	if o.NodeCount == nil || *o.NodeCount <= 1 {
		return nil
	}
	n := *o.NodeCount
	return &n
}

// failsOver reports whether a create refused with err moves a procurement
// with a fallback to its next try: the vendor has no capacity or quota for
// it, or gave no answer. Auth and invalid requests would fail anywhere.
func failsOver(err error) bool {
	return errors.Is(err, vendors.ErrNoCapacity) || errors.Is(err, vendors.ErrQuota) || vendors.Unanswered(err)
}

// failOver ends the current try of r's procurement p with outcome and
// reason and starts switching: every resource of the procurement is marked
// so, in the same transaction, so that a step still under way loses its
// write and looks again, and the failover job is enqueued. r is the row
// the decision was taken on (see fail).
func (s *Service) failOver(ctx context.Context, p store.Procurement, r store.Resource, outcome, reason string) error {
	now := s.now().UTC()
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		_, changed, err := store.ChangeProcurement(ctx, tx, p.OfferID, func(x *store.Procurement) bool {
			if x.Status != store.ProcurementProvisioning || x.Attempt != p.Attempt || x.Phase != store.PhaseTrying {
				return false
			}
			if err := endAttempt(x, outcome, reason); err != nil {
				return false
			}
			x.Phase, x.UpdatedAt = store.PhaseSwitching, now
			return true
		})
		if err != nil {
			return err
		}
		if !changed {
			return fmt.Errorf("fail over procurement %s: it changed: %w", p.OfferID, store.ErrConflict)
		}
		rs, err := tx.ResourcesByOffer(ctx, p.OfferID)
		if err != nil {
			return err
		}
		msg := reason + "; moving to the next equivalent offer"
		for _, x := range rs {
			if x.ID == r.ID && x.Version != r.Version {
				return fmt.Errorf("fail over resource %s: it changed since the decision: %w", x.ID, store.ErrConflict)
			}
			switch x.Status {
			case supplyapi.ResourceProvisioning, supplyapi.ResourceRunning:
			default:
				// Deleted by the renter meanwhile: that ends it instead.
				return fmt.Errorf("fail over resource %s: it is %s: %w", x.ID, x.Status, store.ErrConflict)
			}
			x.Status, x.StatusMessage, x.UpdatedAt = supplyapi.ResourceProvisioning, msg, now
			if _, err := tx.UpdateResource(ctx, x); err != nil {
				return err
			}
		}
		return tx.Enqueue(ctx, FailoverArgs{OfferID: p.OfferID, Attempt: p.Attempt}, nil)
	})
	if err != nil {
		return err
	}
	s.metrics.failovers.WithLabelValues(p.Vendor, outcome).Inc()
	s.log.WarnContext(ctx, "procurement failing over", "offer_id", p.OfferID, "vendor", p.Vendor, "attempt", p.Attempt+1, "outcome", outcome, "reason", reason)
	return nil
}

// FailoverArgs is the job that moves a procurement from one try to the
// next: it removes what the last try made at its vendor, then retargets
// the procurement's resources at the cheapest equivalent offer in stock,
// or waits for one.
type FailoverArgs struct {
	OfferID string `json:"offer_id"`
	// Attempt is the try that ended.
	Attempt int64 `json:"attempt"`
}

// Kind names the job in River.
func (FailoverArgs) Kind() string { return "failover" }

// InsertOpts makes the job unique per try while it is pending.
func (FailoverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: uniqueArgs, MaxAttempts: 1000}
}

type failoverWorker struct {
	river.WorkerDefaults[FailoverArgs]
	s *Service
}

func (w *failoverWorker) Timeout(*river.Job[FailoverArgs]) time.Duration { return w.s.cfg.StepTimeout }

// Work takes one step between two tries, like the procure job's steps.
func (w *failoverWorker) Work(ctx context.Context, job *river.Job[FailoverArgs]) error {
	s := w.s
	p, err := s.store.ProcurementByOffer(ctx, job.Args.OfferID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.Status != store.ProcurementProvisioning || p.Attempt != job.Args.Attempt {
		return nil // ended (cancelled, failed) or moved on
	}
	switch p.Phase {
	case store.PhaseSwitching:
		done, err := s.removeTry(ctx, p)
		if err != nil {
			return s.retryLater(err)
		}
		if !done {
			return river.JobSnooze(s.cfg.PollInterval)
		}
	case store.PhaseWaiting:
	default:
		return nil
	}
	return stepAgain(s.nextTry(ctx, p))
}

// removeTry moves what p's last try made at its vendor towards gone, and
// says whether all of it is: every node's instance (found by its tag when
// the create gave no answer, once that create can no longer be in flight)
// and then the vendor's cluster object.
func (s *Service) removeTry(ctx context.Context, p store.Procurement) (bool, error) {
	rs, err := s.store.ResourcesByOffer(ctx, p.OfferID)
	if err != nil {
		return false, err
	}
	all := true
	var parent *store.Resource
	for i, r := range rs {
		if r.ResourceType == store.ResourceTypeCluster {
			parent = &rs[i]
			continue
		}
		gone, err := s.terminateStep(ctx, r)
		if err != nil {
			return false, err
		}
		all = all && gone
	}
	if !all || parent == nil {
		return all, nil
	}
	if cd, ok := s.vendors[parent.Vendor].(vendors.ClusterDeleter); ok {
		if err := cd.DeleteCluster(ctx, parent.ID); err != nil && !vendors.IsNotFound(err) {
			return false, err
		}
	}
	return true, nil
}

// nextTry retargets p at the cheapest equivalent offer in stock that it
// has not tried and that its account's caps allow; or, when there is none,
// waits until p's deadline, and fails it after.
func (s *Service) nextTry(ctx context.Context, p store.Procurement) error {
	fo, attempts, _, err := ledger.FailoverOf(p)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	last := attempts[len(attempts)-1]
	if len(attempts) >= fo.MaxAttempts {
		return s.endFailover(ctx, p, fmt.Sprintf("%s; tried %s, the most the procurement allows", ledger.TriedText(last), ledger.Count(len(attempts), "offer")))
	}
	a, err := s.offers.Answer(ctx, p.AccountID, fo.Query)
	if err != nil {
		return fmt.Errorf("equivalent offers of %s: %w", p.OfferID, err)
	}
	read := map[string]time.Time{}
	for _, v := range s.offers.Vendors() {
		if v.ObservedAt != nil {
			read[v.Name] = *v.ObservedAt
		}
	}
	ports, err := s.askedPorts(ctx, p.OfferID)
	if err != nil {
		return err
	}
	var overCap error
	for _, o := range a.Result().Offers {
		_, it, err := s.offers.Resolve(ctx, p.AccountID, o.OfferID)
		if err != nil {
			return fmt.Errorf("equivalent offer %s: %w", o.OfferID, err)
		}
		if tried(attempts, o.Vendor, it, read[o.Vendor]) || !s.opens(o.Vendor, ports) {
			continue
		}
		err = s.retarget(ctx, p, fo, attempts, o, it)
		if errors.Is(err, refusal.ErrForbidden) {
			overCap = err // never above a spend cap: look further
			continue
		}
		return err
	}
	if fo.Until != nil && now.Before(*fo.Until) {
		return s.wait(ctx, p, fo, attempts)
	}
	reason := fmt.Sprintf("%s; no other equivalent offer is in stock", ledger.TriedText(last))
	switch {
	case fo.WaitingSince != nil:
		reason = fmt.Sprintf("%s; waited for capacity from %s until %s, and no equivalent offer came into stock",
			ledger.TriedText(last), fo.WaitingSince.Format(time.RFC3339), fo.Until.Format(time.RFC3339))
	case overCap != nil:
		reason = fmt.Sprintf("%s; the equivalent offers in stock are over the account's caps: %v", ledger.TriedText(last), overCap)
	}
	return s.endFailover(ctx, p, reason)
}

// defaultName matches the name a resource gets when the request names
// none (plan): GPU family, vendor, a random part.
var defaultName = regexp.MustCompile(`^([a-z0-9]+)-([a-z0-9]+)-([0-9a-f]{8})$`)

// renamed is a resource's name after its procurement moved from vendor
// from to vendor to: a name supply made says the new vendor; one the
// renter chose stays.
func renamed(name, from, to string) string {
	m := defaultName.FindStringSubmatch(name)
	if m == nil || m[2] != from {
		return name
	}
	return m[1] + "-" + to + "-" + m[3]
}

// retarget makes o the next try of p: in one transaction, if the account's
// caps allow o in place of what p holds now, the procurement and each of
// its resources move to o's vendor, region, shape and price, and each node
// gets a procure job for the new try.
func (s *Service) retarget(ctx context.Context, p store.Procurement, fo ledger.Failover, attempts []ledger.Attempt, o supplyapi.Offer, it vendors.CatalogItem) error {
	now := s.now().UTC()
	itemJSON, err := json.Marshal(it)
	if err != nil {
		return err
	}
	nodeSpec, clusterSpec, nodes, err := specs(o, it)
	if err != nil {
		return err
	}
	next := p.Attempt + 1
	attempts = append(attempts, newAttempt(o, it, now))
	fo.WaitingSince, fo.NextLook = nil, nil
	msg := fmt.Sprintf("trying %s %s (attempt %d of %d)", o.Vendor, o.VendorRegion, len(attempts), fo.MaxAttempts)
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		owner, err := procuredBy(ctx, tx, p.OfferID)
		if err != nil {
			return err
		}
		if err := s.checkCaps(ctx, tx, p.AccountID, owner, o, p.OfferID); err != nil {
			return err
		}
		_, changed, err := store.ChangeProcurement(ctx, tx, p.OfferID, func(x *store.Procurement) bool {
			if x.Status != store.ProcurementProvisioning || x.Attempt != p.Attempt || (x.Phase != store.PhaseSwitching && x.Phase != store.PhaseWaiting) {
				return false
			}
			if ledger.SetFailover(x, fo, attempts) != nil {
				return false
			}
			x.Vendor, x.Item, x.Attempt, x.Phase, x.UpdatedAt = o.Vendor, itemJSON, next, store.PhaseTrying, now
			return true
		})
		if err != nil {
			return err
		}
		if !changed {
			return fmt.Errorf("retarget procurement %s: it changed: %w", p.OfferID, store.ErrConflict)
		}
		rs, err := tx.ResourcesByOffer(ctx, p.OfferID)
		if err != nil {
			return err
		}
		for _, x := range rs {
			if x.Status != supplyapi.ResourceProvisioning {
				return fmt.Errorf("retarget resource %s: it is %s: %w", x.ID, x.Status, store.ErrConflict)
			}
			x.Name = renamed(x.Name, x.Vendor, o.Vendor)
			x.Vendor, x.VendorRegion, x.Spec, x.PricePerHour = o.Vendor, o.VendorRegion, nodeSpec, o.TotalPricePerHour/float64(nodes)
			if x.ResourceType == store.ResourceTypeCluster {
				x.Spec, x.PricePerHour = clusterSpec, o.TotalPricePerHour
			}
			x.VendorInstanceID, x.ExternalIP, x.InternalIP, x.SSHPort = "", "", "", 0
			x.CreateAttemptedAt, x.ReadyAt, x.LastSyncedAt, x.BillingStartedAt = nil, nil, nil, nil
			x.StatusMessage, x.UpdatedAt = msg, now
			if _, err := tx.UpdateResource(ctx, x); err != nil {
				return err
			}
			if x.ResourceType != store.ResourceTypeCluster {
				if err := tx.Enqueue(ctx, ProcureArgs{ResourceID: x.ID, Attempt: next}, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.offers.MarkTaken(ctx, p.AccountID, o.OfferID); err != nil {
		s.log.WarnContext(ctx, "could not hide a procured single-machine offer", "offer_id", o.OfferID, "err", err)
	}
	s.refreshSpend(ctx, p.AccountID)
	s.log.InfoContext(ctx, "procurement moved to an equivalent offer", "offer_id", p.OfferID, "vendor", o.Vendor,
		"region", o.VendorRegion, "attempt", len(attempts), "gpu_price_per_hour", o.GPUPricePerHour)
	return nil
}

// wait records that no equivalent offer is in stock and when p looks
// again (nextLook).
func (s *Service) wait(ctx context.Context, p store.Procurement, fo ledger.Failover, attempts []ledger.Attempt) error {
	now := s.now().UTC()
	if fo.WaitingSince == nil {
		fo.WaitingSince = &now
	}
	look := nextLook(now, s.offers.NextRead(), *fo.WaitingSince, *fo.Until)
	fo.NextLook = &look
	_, changed, err := store.ChangeProcurement(ctx, s.store, p.OfferID, func(x *store.Procurement) bool {
		if x.Status != store.ProcurementProvisioning || x.Attempt != p.Attempt || (x.Phase != store.PhaseSwitching && x.Phase != store.PhaseWaiting) {
			return false
		}
		if ledger.SetFailover(x, fo, attempts) != nil {
			return false
		}
		x.Phase, x.UpdatedAt = store.PhaseWaiting, now
		return true
	})
	if err != nil {
		return err
	}
	if !changed {
		return nil
	}
	return river.JobSnooze(max(look.Sub(now), 0))
}

// A wait for stock looks again no sooner than a tenth (1/lookBackoff) of
// the time it has waited so far, and no later than maxLookGap, unless a
// catalog read is due later: a vendor whose reads fail stays due for one,
// and without the backoff every waiting procurement would look, and write
// its row, every second until the vendor came back.
const (
	lookBackoff = 10
	minLookGap  = time.Second
	maxLookGap  = 20 * time.Second
)

// nextLook is when a procurement that has waited for stock since since
// looks again, at now: just after the next vendor catalog read (read),
// which is what brings new stock, with a backoff (lookBackoff), rounded up
// to the second the progress shows, and at its deadline at the latest.
func nextLook(now, read, since, until time.Time) time.Time {
	gap := min(max(now.Sub(since)/lookBackoff, minLookGap), maxLookGap)
	look := read.Add(500 * time.Millisecond)
	if soon := now.Add(gap); look.Before(soon) {
		look = soon
	}
	look = look.Add(time.Second - 1).Truncate(time.Second)
	if look.After(until) {
		look = until
	}
	return look.UTC()
}

// endFailover fails p, with every resource still provisioning, because
// no try is left: reason says why.
func (s *Service) endFailover(ctx context.Context, p store.Procurement, reason string) error {
	now := s.now().UTC()
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		return s.failProvisioning(ctx, tx, p.OfferID, reason, supplyapi.AttemptFailed, now, func(store.Resource) string { return reason })
	})
	if err != nil {
		return err
	}
	s.metrics.failures.WithLabelValues(p.Vendor).Inc()
	s.log.WarnContext(ctx, "procurement failed after failing over", "offer_id", p.OfferID, "reason", reason)
	return nil
}

// Cancel is POST /offers/{offer_id}/cancel: it ends a procurement still
// under way, waiting for stock or not, as a forced delete of its resources
// would, and answers its status.
func (s *Service) Cancel(ctx context.Context, accountID int64, offerID uuid.UUID) (supplyapi.OfferStatusResponse, error) {
	p, err := s.store.ProcurementByOffer(ctx, offerID.String())
	if errors.Is(err, store.ErrNotFound) || err == nil && p.AccountID != accountID {
		return supplyapi.OfferStatusResponse{}, refusal.Errorf(refusal.ErrNotFound, "Offer %s has no procurement", offerID)
	}
	if err != nil {
		return supplyapi.OfferStatusResponse{}, fmt.Errorf("cancel: %w", err)
	}
	if p.Status != store.ProcurementProvisioning {
		return supplyapi.OfferStatusResponse{}, refusal.Errorf(refusal.ErrConflict, "The procurement of offer %s is %s already; delete its resources instead", offerID, p.Status)
	}
	rs, err := s.store.ResourcesByOffer(ctx, p.OfferID)
	if err != nil {
		return supplyapi.OfferStatusResponse{}, fmt.Errorf("cancel: %w", err)
	}
	// The first resource is the cluster parent, or the only one: deleting
	// it ends the whole procurement.
	top := rs[0]
	for _, r := range rs {
		if r.ResourceType == store.ResourceTypeCluster {
			top = r
		}
	}
	if _, err := s.deleteResource(ctx, accountID, uuid.MustParse(top.ID), true, causeCancel); err != nil && !errors.Is(err, refusal.ErrConflict) {
		return supplyapi.OfferStatusResponse{}, err
	}
	return s.OfferStatus(ctx, accountID, offerID)
}

// tryStart is when r's current try began: the procurement's last try, or
// the resource's creation.
func tryStart(p store.Procurement, r store.Resource) time.Time {
	if _, attempts, ok, err := ledger.FailoverOf(p); err == nil && ok && len(attempts) > 0 {
		return attempts[len(attempts)-1].At
	}
	return r.CreatedAt
}
