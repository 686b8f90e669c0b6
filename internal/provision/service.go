package provision

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/gpusupply/supply/internal/actor"
	"github.com/gpusupply/supply/internal/events"
	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/printable"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/userdata"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// Offers is what procurement needs from the offer index: what the
// ledger reads of it, and what procuring an offer needs.
type Offers interface {
	ledger.Offers
	Resolve(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.Offer, vendors.CatalogItem, error)
	MarkTaken(ctx context.Context, accountID int64, id uuid.UUID) error
	// MarkRefused hides an item its vendor has just refused for lack of
	// capacity, from every renter, until the vendor's next catalog read.
	MarkRefused(vendor string, item vendors.CatalogItem)
	// NextRead is when some vendor's catalog is next read.
	NextRead() time.Time
	// Vendors says, among other things, when each vendor's catalog was
	// last read.
	Vendors() []supplyapi.VendorStatus
}

// Config configures a Service.
type Config struct {
	// Owner is this installation's id (vendors.ValidOwner): every
	// instance created carries it, and the reconciler acts only on
	// instances that carry it.
	Owner   string
	Store   store.Store
	Offers  Offers
	Vendors []vendors.Vendor
	Logger  *slog.Logger
	// Metrics receives the service's metrics (nil: not registered).
	Metrics prometheus.Registerer
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// PollInterval is how often a booting or terminating instance is
	// looked at (default 1s): readiness is noticed within about that.
	PollInterval time.Duration
	// ProvisionTimeout fails a procurement whose instance is not
	// reachable by then, and cleans up (default 20m).
	ProvisionTimeout time.Duration
	// SyncAfter is how stale a resource may be before GET re-syncs it
	// with the vendor (default 30s).
	SyncAfter time.Duration
	// DeleteWarnAfter flags a deletion that keeps failing (default 1h).
	DeleteWarnAfter time.Duration
	// CreateGrace is how long after a create attempt an instance may
	// still appear at the vendor; deleting a resource whose instance
	// cannot be found waits this long before calling it gone (default
	// 2m; the reconciler catches anything later still).
	CreateGrace time.Duration
	// CreateSettle is how long a vendor may take to list an instance
	// whose create request it had received when the caller gave up on it:
	// once a create attempt is known to be over (its step ended, or its
	// process died and the job was taken over) the clean-up waits only
	// this long, not the rest of CreateGrace (default 30s).
	CreateSettle time.Duration
	// ReconcileEvery is the reconciler's period (default 1m).
	ReconcileEvery time.Duration
	// StepTimeout bounds one step of a job, one or two vendor calls
	// (default 90s); it must be shorter than the store's JobRescueAfter.
	StepTimeout time.Duration
	// Probe checks that an instance is reachable (default: an SSH
	// banner on ip:port).
	Probe func(ctx context.Context, ip string, port int) error
	// DefaultAutoDelete deletes a resource this long after procurement
	// when the request does not say (0: never).
	DefaultAutoDelete time.Duration
	// MaxAutoDelete is the longest auto_delete_after a request may ask
	// for (default DefaultMaxAutoDelete).
	MaxAutoDelete time.Duration
	// Events receives an event for every change of a procurement or
	// resource (nil: a Log over Store with default settings).
	Events *events.Log
	// IdempotencyWait is how long a request waits for an earlier one
	// with the same Idempotency-Key to finish before it is told the key
	// is still in progress (default 5s).
	IdempotencyWait time.Duration
}

// Service is procurement and resource management: the API calls it, and
// its River workers do the vendor work in the background. Its reads
// (OfferStatus, Resources, Account, Usage, offer Details and Answer) are
// the embedded Ledger's, so that the API has one service to call.
type Service struct {
	*ledger.Ledger
	cfg     Config
	store   store.Store
	events  *events.Log
	offers  Offers
	vendors map[string]vendors.Vendor
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics

	foreignMu   sync.Mutex
	foreignSeen map[string]bool // vendor/instance ids of foreign instances already logged
	// inflight serialises the requests of one Idempotency-Key.
	inflight keyGate
}

// New builds a Service. Register its workers (Workers) and periodic jobs
// (PeriodicJobs) with the store's River client.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.ProvisionTimeout <= 0 {
		cfg.ProvisionTimeout = 20 * time.Minute
	}
	if cfg.SyncAfter <= 0 {
		cfg.SyncAfter = 30 * time.Second
	}
	if cfg.DeleteWarnAfter <= 0 {
		cfg.DeleteWarnAfter = time.Hour
	}
	if cfg.CreateGrace <= 0 {
		cfg.CreateGrace = 2 * time.Minute
	}
	if cfg.CreateSettle <= 0 {
		cfg.CreateSettle = 30 * time.Second
	}
	if cfg.StepTimeout <= 0 {
		cfg.StepTimeout = 90 * time.Second
	}
	if cfg.ReconcileEvery <= 0 {
		cfg.ReconcileEvery = time.Minute
	}
	if cfg.Probe == nil {
		cfg.Probe = ProbeSSH
	}
	if cfg.MaxAutoDelete <= 0 {
		cfg.MaxAutoDelete = DefaultMaxAutoDelete
	}
	if cfg.IdempotencyWait <= 0 {
		cfg.IdempotencyWait = 5 * time.Second
	}
	if cfg.Events == nil {
		cfg.Events = events.New(events.Config{Store: cfg.Store, Logger: cfg.Logger})
	}
	s := &Service{
		Ledger: ledger.New(ledger.Config{Store: cfg.Store, Offers: cfg.Offers, Now: cfg.Now}),
		cfg:    cfg, events: cfg.Events, offers: cfg.Offers, vendors: map[string]vendors.Vendor{},
		log: cfg.Logger, now: cfg.Now, metrics: newMetrics(cfg.Metrics), foreignSeen: map[string]bool{},
	}
	s.store = recordingStore{Store: cfg.Store, s: s}
	for _, v := range cfg.Vendors {
		s.vendors[v.Name()] = v
	}
	return s
}

// Procure is POST /procure_offer: it validates, then in one transaction
// records the procurement, its resources and the jobs that create them,
// and answers before any vendor is called.
func (s *Service) Procure(ctx context.Context, accountID int64, idempotencyKey string, req supplyapi.ProcureOfferRequest) (supplyapi.ProcureOfferResponse, error) {
	key, err := userdata.ValidateKey(req.SSHPublicKey)
	if err != nil {
		return supplyapi.ProcureOfferResponse{}, fieldError("ssh_public_key", "Value error, ssh_public_key "+err.Error(), req.SSHPublicKey)
	}
	cloudInit := deref(req.CloudInit)
	kind, err := userdata.Classify(cloudInit)
	if err != nil {
		return supplyapi.ProcureOfferResponse{}, fieldError("cloud_init", "Value error, "+err.Error(), cloudInit)
	}
	if i := strings.IndexByte(cloudInit, 0); i >= 0 {
		// cloud-init, shells and the vendors' APIs stop reading at a NUL,
		// or refuse it: what runs would not be what was sent.
		return supplyapi.ProcureOfferResponse{}, fieldError("cloud_init", fmt.Sprintf("Value error, cloud_init contains a NUL byte at offset %d", i), cloudInit)
	}
	for _, name := range []struct {
		field string
		value *string
	}{{"resource_name", req.ResourceName}, {"cluster_name", req.ClusterName}} {
		// Names are printed by consoles and the CLI: no escape sequences,
		// carriage returns or right-to-left overrides.
		if err := printable.Check(deref(name.value)); err != nil {
			return supplyapi.ProcureOfferResponse{}, fieldError(name.field, "Value error, "+name.field+" "+err.Error(), deref(name.value))
		}
	}
	autoDeleteAfter, err := s.autoDeleteAfter(req.AutoDeleteAfter, s.cfg.DefaultAutoDelete)
	if err != nil {
		return supplyapi.ProcureOfferResponse{}, err
	}
	ports, err := parsePorts(req.OpenPorts)
	if err != nil {
		return supplyapi.ProcureOfferResponse{}, err
	}
	var reqHash string
	if idempotencyKey != "" {
		reqHash = requestHash(req)
		leave, err := s.inflight.enter(ctx, fmt.Sprint(accountID)+"\x00"+idempotencyKey, s.cfg.IdempotencyWait)
		if err != nil {
			return supplyapi.ProcureOfferResponse{}, err
		}
		defer leave()
		if resp, ok, err := s.replay(ctx, accountID, idempotencyKey, reqHash); ok || err != nil {
			return resp, err
		}
	}

	offer, item, err := s.offers.Resolve(ctx, accountID, req.OfferID)
	if errors.Is(err, offers.ErrNotFound) {
		return supplyapi.ProcureOfferResponse{}, refusal.Errorf(refusal.ErrNotFound, "Offer %s not found", req.OfferID)
	}
	if err != nil {
		return supplyapi.ProcureOfferResponse{}, fmt.Errorf("procure: %w", err)
	}
	if p, err := s.store.ProcurementByOffer(ctx, req.OfferID.String()); err == nil {
		// Another replica may have just procured it for this very key.
		if idempotencyKey != "" {
			if resp, ok, rerr := s.replay(ctx, accountID, idempotencyKey, reqHash); ok || rerr != nil {
				return resp, rerr
			}
		}
		return supplyapi.ProcureOfferResponse{}, refusal.Errorf(refusal.ErrConflict, "Offer %s was already procured (procurement %s)", req.OfferID, p.Status)
	} else if !errors.Is(err, store.ErrNotFound) {
		return supplyapi.ProcureOfferResponse{}, fmt.Errorf("procure: %w", err)
	}
	now := s.now().UTC()
	if !now.Before(offer.ExpiresAt) {
		return supplyapi.ProcureOfferResponse{}, refusal.Errorf(refusal.ErrGone, "Offer %s expired at %s; ask for offers again", req.OfferID, offer.ExpiresAt.Format(time.RFC3339))
	}
	vendor, ok := s.vendors[offer.Vendor]
	if !ok {
		return supplyapi.ProcureOfferResponse{}, refusal.Errorf(refusal.ErrConflict, "Vendor %s is not available now; ask for offers again", offer.Vendor)
	}
	// Known now, so refused now rather than failing in the background.
	if info := vendor.Info(); kind == userdata.CloudConfig && info.Containers && !info.CloudInit {
		return supplyapi.ProcureOfferResponse{}, fieldError("cloud_init", fmt.Sprintf(
			"Value error, %s instances are containers and do not run cloud-init: send a #!/ shell script instead of #cloud-config",
			info.DisplayName), cloudInit)
	}
	if err := checkPorts(vendor.Info(), vendor, ports, req.OpenPorts); err != nil {
		return supplyapi.ProcureOfferResponse{}, err
	}

	if err := s.checkVolumeIDs(ctx, accountID, offer, item, req); err != nil {
		return supplyapi.ProcureOfferResponse{}, err
	}
	p, resources, err := s.plan(now, accountID, offer, item, key, cloudInit, req)
	if err != nil {
		return supplyapi.ProcureOfferResponse{}, err
	}
	if req.Fallback != nil {
		fo, attempts, err := s.planFailover(ctx, accountID, offer, item, req.Fallback, now)
		if err != nil {
			return supplyapi.ProcureOfferResponse{}, err
		}
		if err := ledger.SetFailover(&p, fo, attempts); err != nil {
			return supplyapi.ProcureOfferResponse{}, err
		}
		p.Phase = store.PhaseTrying
	}
	deleteAt := deleteAtAfter(now, autoDeleteAfter)
	// The key that procures is the one whose caps the resources count
	// against, and whom their events name.
	who, _ := actor.From(ctx)
	for i := range resources {
		resources[i].DeleteAt, resources[i].CreatedBy = deleteAt, who.KeyID
	}
	resp := supplyapi.ProcureOfferResponse{OfferID: req.OfferID, Status: supplyapi.ProcureInProgress, ProcuredAt: &now, ResourceIDs: []uuid.UUID{}}
	for _, r := range resources {
		resp.ResourceIDs = append(resp.ResourceIDs, uuid.MustParse(r.ID))
	}
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		if err := s.checkCaps(ctx, tx, accountID, who.KeyID, offer, ""); err != nil {
			return err
		}
		if err := tx.InsertProcurement(ctx, p); err != nil {
			return err
		}
		if err := s.attachVolumes(ctx, tx, accountID, req.VolumeIDs, resources[0].ID); err != nil {
			return err
		}
		if deleteAt != nil {
			// The first resource is the cluster parent, or the only one:
			// deleting it deletes the whole procurement.
			if err := tx.Enqueue(ctx, AutoDeleteArgs{ResourceID: resources[0].ID, At: *deleteAt}, nil); err != nil {
				return err
			}
		}
		for _, r := range resources {
			if err := tx.InsertResource(ctx, r); err != nil {
				return err
			}
			if err := insertPorts(ctx, tx, r, ports); err != nil {
				return err
			}
			if r.ResourceType != store.ResourceTypeCluster {
				if err := tx.Enqueue(ctx, ProcureArgs{ResourceID: r.ID}, nil); err != nil {
					return err
				}
			}
		}
		if idempotencyKey == "" {
			return nil
		}
		body, err := json.Marshal(resp)
		if err != nil {
			return err
		}
		return tx.InsertIdempotencyRecord(ctx, store.IdempotencyRecord{AccountID: accountID, Key: idempotencyKey, RequestHash: reqHash, Response: body, CreatedAt: now})
	})
	if errors.Is(err, store.ErrConflict) {
		// A concurrent request won: the same key replays its answer, a
		// second procurement of the offer is refused.
		if idempotencyKey != "" {
			if resp, ok, rerr := s.replay(ctx, accountID, idempotencyKey, reqHash); ok || rerr != nil {
				return resp, rerr
			}
		}
		return supplyapi.ProcureOfferResponse{}, refusal.Errorf(refusal.ErrConflict, "Offer %s was already procured", req.OfferID)
	}
	if errors.Is(err, refusal.ErrConflict) || errors.Is(err, refusal.ErrNotFound) {
		return supplyapi.ProcureOfferResponse{}, err // a volume not available to attach
	}
	if errors.Is(err, refusal.ErrForbidden) {
		s.log.InfoContext(ctx, "procurement refused: over a cap, or outside the key's vendors", "offer_id", req.OfferID, "account_id", accountID, "reason", err)
		return supplyapi.ProcureOfferResponse{}, err
	}
	if err != nil {
		return supplyapi.ProcureOfferResponse{}, fmt.Errorf("procure: %w", err)
	}
	if err := s.offers.MarkTaken(ctx, accountID, req.OfferID); err != nil {
		s.log.WarnContext(ctx, "could not hide a procured single-machine offer", "offer_id", req.OfferID, "err", err)
	}
	// The first resource is the one a client follows: the node, or a
	// cluster's parent.
	annotate(ctx, resources[0])
	s.metrics.procurements.WithLabelValues(offer.Vendor).Inc()
	s.refreshSpend(ctx, accountID)
	s.log.InfoContext(ctx, "procurement accepted", "offer_id", req.OfferID, "vendor", offer.Vendor, "resources", len(resources), "account_id", accountID)
	return resp, nil
}

// replay answers a repeated Idempotency-Key: the first answer for the
// same request, a 422 for a different one.
func (s *Service) replay(ctx context.Context, accountID int64, key, reqHash string) (supplyapi.ProcureOfferResponse, bool, error) {
	rec, err := s.store.IdempotencyRecord(ctx, accountID, key)
	if errors.Is(err, store.ErrNotFound) {
		return supplyapi.ProcureOfferResponse{}, false, nil
	}
	if err != nil {
		return supplyapi.ProcureOfferResponse{}, false, fmt.Errorf("idempotency key: %w", err)
	}
	if rec.RequestHash != reqHash {
		return supplyapi.ProcureOfferResponse{}, false, &offers.QueryError{Loc: []any{"header", "Idempotency-Key"}, Type: "value_error",
			Msg: "Value error, this Idempotency-Key was already used with a different request", Input: key}
	}
	var resp supplyapi.ProcureOfferResponse
	if err := json.Unmarshal(rec.Response, &resp); err != nil {
		return supplyapi.ProcureOfferResponse{}, false, fmt.Errorf("idempotency key: %w", err)
	}
	return resp, true, nil
}

func requestHash(req supplyapi.ProcureOfferRequest) string {
	b, _ := json.Marshal(req)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// plan makes the rows of a procurement: one resource per node, plus a
// cluster parent for multi-node offers.
func (s *Service) plan(now time.Time, accountID int64, o supplyapi.Offer, item vendors.CatalogItem, key, cloudInit string, req supplyapi.ProcureOfferRequest) (store.Procurement, []store.Resource, error) {
	offerJSON, err := json.Marshal(o)
	if err != nil {
		return store.Procurement{}, nil, err
	}
	itemJSON, err := json.Marshal(item)
	if err != nil {
		return store.Procurement{}, nil, err
	}
	nodeSpec, clusterSpec, nodes, err := specs(o, item)
	if err != nil {
		return store.Procurement{}, nil, err
	}
	clusterName := ""
	if nodes > 1 {
		clusterName = deref(req.ClusterName)
		if clusterName == "" {
			clusterName = "cluster-" + shortID()
		}
	}
	p := store.Procurement{
		OfferID: o.OfferID.String(), AccountID: accountID, Vendor: o.Vendor, Offer: offerJSON, Item: itemJSON,
		SSHPublicKey: key, CloudInit: cloudInit, ClusterName: clusterName, Status: store.ProcurementProvisioning,
		CreatedAt: now, UpdatedAt: now,
	}
	nodeType := o.Type
	perNode := o.TotalPricePerHour / float64(nodes)
	base := store.Resource{
		AccountID: accountID, OfferID: p.OfferID, Vendor: o.Vendor, VendorRegion: o.VendorRegion,
		Status: supplyapi.ResourceProvisioning, Spec: nodeSpec, CreatedAt: now, UpdatedAt: now,
	}
	var out []store.Resource
	parentID := ""
	if nodes > 1 {
		parent := base
		parent.ID, parent.ResourceType, parent.Name, parent.PricePerHour = uuid.NewString(), store.ResourceTypeCluster, clusterName, o.TotalPricePerHour
		parent.Spec = clusterSpec
		parentID = parent.ID
		out = append(out, parent)
	}
	for i := range nodes {
		r := base
		r.ID, r.ResourceType, r.NodeIndex, r.ParentID, r.PricePerHour = uuid.NewString(), nodeType, i, parentID, perNode
		switch {
		case nodes > 1:
			r.Name = fmt.Sprintf("%s-node-%d", clusterName, i)
		case deref(req.ResourceName) != "":
			r.Name = deref(req.ResourceName)
		default:
			r.Name = fmt.Sprintf("%s-%s-%s", strings.ToLower(strings.ReplaceAll(o.GPUFamily, " ", "")), o.Vendor, shortID())
		}
		out = append(out, r)
	}
	return p, out, nil
}

// specs are the JSON specs of o's resources: each node's, and a
// cluster's parent's (nil for a single machine), and how many nodes o has.
func specs(o supplyapi.Offer, item vendors.CatalogItem) (node, cluster []byte, nodes int, err error) {
	nodes = 1
	if o.NodeCount != nil && *o.NodeCount > 1 {
		nodes = *o.NodeCount
	}
	spec := supplyapi.Spec{
		GPUType: o.GPUType, GPUCount: o.GPUCount / nodes, VCPUCount: o.VCPUCount, MemoryInGB: o.MemoryInGB,
		BootDiskInGB: o.BootDiskInGB, ContractType: o.ContractType, InstanceType: item.InstanceType,
	}
	if node, err = json.Marshal(spec); err != nil || nodes == 1 {
		return node, nil, nodes, err
	}
	spec.GPUCount, spec.NodeCount = o.GPUCount, &nodes
	cluster, err = json.Marshal(spec)
	return node, cluster, nodes, err
}

func fieldError(field, msg string, input any) error {
	return &offers.QueryError{Loc: []any{"body", field}, Type: "value_error", Msg: msg, Input: input}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func shortID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// uniqueArgs makes a job unique per its arguments while it is waiting or
// running, but lets the same job be enqueued again once it has finished.
var uniqueArgs = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}}
