package mcpserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/supplyapi"
)

// Defaults of the tools.
const (
	// defaultAutoDelete is how long a rented machine lives unless the call
	// says otherwise: an agent that forgets it does not pay for days.
	defaultAutoDelete = "4h"
	// defaultOffers and maxOffers bound what find_offers answers: enough
	// to choose from, little enough for a model's context.
	defaultOffers = 10
	maxOffers     = 50
	// defaultWait and maxWait bound one wait_until_ready call.
	defaultWait = 10 * time.Minute
	maxWait     = 30 * time.Minute
)

// never is what auto_delete_after takes to keep a machine until deleted.
const never = "never"

type tools struct{ b Backend }

func (t tools) list() []tool {
	return []tool{
		newTool(t.b, &mcp.Tool{Name: "find_offers", Annotations: readOnly("Find GPU offers"),
			Description: "Find rentable GPU machines across every vendor, cheapest per GPU-hour first. Answers each offer's offer_id " +
				"(what rent and offer_details take), GPU, vendor, region, contract and price. Offer ids stay valid for a few minutes: " +
				"search again rather than reuse an old one."}, t.findOffers),
		newTool(t.b, &mcp.Tool{Name: "offer_details", Annotations: readOnly("Offer details"),
			Description: "One offer by its offer_id: its GPU, price, CPU, memory and disk, and whether it is still available, " +
				"procured, failed or expired."}, t.offerDetails),
		newTool(t.b, &mcp.Tool{Name: "rent", Annotations: additive("Rent a GPU machine", true),
			Description: "Rent a GPU machine (billed per hour until deleted): the offer offer_id, or, without one, the cheapest offer " +
				"matching gpu_type (and gpu_count, region, vendor, contract_type). max_price_per_gpu_hour is required: nothing " +
				"dearer is rented, also when the vendor has no capacity and the rental fails over to the next cheapest equivalent " +
				"offer. The machine is deleted on its own after auto_delete_after (default 4h; \"never\" keeps it until " +
				"delete_machine). idempotency_key must be a fresh unique string per intended rental: calling again with the same " +
				"key and arguments answers the first rental instead of renting twice. The account's and the key's spend caps " +
				"hold. Answers at once, while the machine starts: then call wait_until_ready with the offer_id."}, t.rent),
		newTool(t.b, &mcp.Tool{Name: "wait_until_ready", Annotations: readOnly("Wait until a rented machine is ready"),
			Description: "Wait until the machines of a rental (rent's offer_id) run and accept SSH, sending progress " +
				"notifications meanwhile, and answer the ssh command of each (\"ssh root@...\"). Stops waiting after " +
				"timeout_seconds (default 600) without stopping the rental: call it again to keep waiting."}, t.waitUntilReady),
		newTool(t.b, &mcp.Tool{Name: "list_machines", Annotations: readOnly("List machines"),
			Description: "The account's machines, newest first, with status, GPU, price per hour, cost so far, ssh command and " +
				"when each is deleted on its own. Deleted and failed ones only with include_ended."}, t.listMachines),
		newTool(t.b, &mcp.Tool{Name: "machine_details", Annotations: readOnly("Machine details"),
			Description: "One machine by its resource_id, as the vendor reports it now."}, t.machineDetails),
		newTool(t.b, &mcp.Tool{Name: "extend_auto_delete", Annotations: additive("Move a machine's auto-delete time", true),
			Description: "Set when a machine is deleted on its own: delete_after from now (\"2h\", \"90m\"). Use it to keep a " +
				"machine longer than rent's auto_delete_after."}, t.extendAutoDelete),
		newTool(t.b, &mcp.Tool{Name: "cancel_auto_delete", Annotations: additive("Keep a machine until deleted", true),
			Description: "Keep a machine until delete_machine is called: it is no longer deleted on its own, and bills until then."},
			t.cancelAutoDelete),
		newTool(t.b, &mcp.Tool{Name: "delete_machine", Annotations: destructive("Delete a machine"),
			Description: "Delete a machine and everything on its disks, for good; billing stops once the vendor confirms. force " +
				"also deletes one still starting."}, t.deleteMachine),
		newTool(t.b, &mcp.Tool{Name: "account_usage", Annotations: readOnly("Account usage and limits"),
			Description: "What the account's machines cost over the last days (per vendor), what runs now and costs per hour, and " +
				"the spend caps of the account and of this API key, which no rental may exceed."}, t.accountUsage),
	}
}

// offerView is an offer trimmed to what a model needs to choose.
type offerView struct {
	OfferID         string   `json:"offer_id"`
	GPUType         string   `json:"gpu_type"`
	GPUCount        int      `json:"gpu_count"`
	Vendor          string   `json:"vendor"`
	Region          string   `json:"region" jsonschema:"Region group: US, EU, APAC or Other"`
	VendorRegion    string   `json:"vendor_region"`
	ContractType    string   `json:"contract_type" jsonschema:"ondemand, or spot (the vendor may take it back at any time)"`
	PricePerGPUHour float64  `json:"price_per_gpu_hour" jsonschema:"USD per GPU-hour"`
	TotalPerHour    float64  `json:"total_price_per_hour" jsonschema:"USD per hour for the whole offer"`
	VCPUs           *int     `json:"vcpus,omitempty"`
	MemoryGB        *float64 `json:"memory_gb,omitempty"`
	BootDiskGB      *int     `json:"boot_disk_gb,omitempty"`
	NodeCount       *int     `json:"node_count,omitempty" jsonschema:"Nodes of a cluster offer"`
	ExpiresAt       string   `json:"expires_at" jsonschema:"When the offer id stops being valid"`
}

func viewOffer(o supplyapi.Offer) offerView {
	return offerView{OfferID: o.OfferID.String(), GPUType: o.GPUType, GPUCount: o.GPUCount, Vendor: o.Vendor, Region: o.Region,
		VendorRegion: o.VendorRegion, ContractType: o.ContractType, PricePerGPUHour: o.GPUPricePerHour, TotalPerHour: o.TotalPricePerHour,
		VCPUs: o.VCPUCount, MemoryGB: o.MemoryInGB, BootDiskGB: o.BootDiskInGB, NodeCount: o.NodeCount, ExpiresAt: stamp(o.ExpiresAt)}
}

// offerFilter is the part of a get_offers query a model may set.
type offerFilter struct {
	GPUType      string `json:"gpu_type,omitempty" jsonschema:"GPU family (H100, A100, L40S, RTX4090...) or canonical name (nvidia-h100-sxm5-80gb)"`
	GPUCount     int    `json:"gpu_count,omitempty" jsonschema:"GPUs in the machine (default 1)"`
	Region       string `json:"region,omitempty" jsonschema:"Only this region group: US, EU, APAC or Other"`
	Vendor       string `json:"vendor,omitempty" jsonschema:"Only this vendor (its slug, e.g. lambda, runpod)"`
	ContractType string `json:"contract_type,omitempty" jsonschema:"ondemand or spot (cheaper, but the vendor may take it back at any time)"`
	NodeCount    *int   `json:"node_count,omitempty" jsonschema:"Nodes of a cluster (absent: single machines and clusters alike)"`
}

func (f offerFilter) query(maxPrice *float64, limit int) supplyapi.OfferQuery {
	return supplyapi.OfferQuery{Vendor: f.Vendor, Region: f.Region, Limit: limit, Compute: supplyapi.OfferQueryCompute{
		GPUType: f.GPUType, GPUCount: f.GPUCount, MaxPricePerGPUHour: maxPrice, ContractType: f.ContractType, NodeCount: f.NodeCount}}
}

type findOffersArgs struct {
	offerFilter
	MaxPricePerGPUHour *float64 `json:"max_price_per_gpu_hour,omitempty" jsonschema:"Only offers at most this many USD per GPU-hour"`
	Limit              int      `json:"limit,omitempty" jsonschema:"At most this many offers (default 10, at most 50)"`
}

type findOffersResult struct {
	Offers     []offerView `json:"offers"`
	TotalCount int         `json:"total_count" jsonschema:"Offers that match, of which the cheapest are listed"`
}

func (tools) findOffers(ctx context.Context, c *client.Client, _ *mcp.CallToolRequest, in findOffersArgs) (findOffersResult, error) {
	if in.GPUType == "" {
		return findOffersResult{}, errors.New("gpu_type is required: a GPU family such as H100, A100 or L40S")
	}
	limit := in.Limit
	if limit <= 0 {
		limit = defaultOffers
	}
	res, err := c.GetOffers(ctx, in.query(in.MaxPricePerGPUHour, min(limit, maxOffers)))
	if err != nil {
		return findOffersResult{}, err
	}
	out := findOffersResult{Offers: []offerView{}, TotalCount: res.TotalCount}
	for _, o := range res.Offers {
		out.Offers = append(out.Offers, viewOffer(o))
	}
	return out, nil
}

type offerIDArgs struct {
	OfferID string `json:"offer_id" jsonschema:"An offer_id from find_offers (or rent)"`
}

type offerDetailsResult struct {
	offerView
	Status string `json:"status" jsonschema:"available, procured, failed or expired"`
}

func (tools) offerDetails(ctx context.Context, c *client.Client, _ *mcp.CallToolRequest, in offerIDArgs) (offerDetailsResult, error) {
	id, err := parseID("offer_id", in.OfferID)
	if err != nil {
		return offerDetailsResult{}, err
	}
	d, err := c.Offer(ctx, id)
	if err != nil {
		return offerDetailsResult{}, err
	}
	return offerDetailsResult{offerView: viewOffer(d.Offer), Status: d.Status}, nil
}

type rentArgs struct {
	OfferID string `json:"offer_id,omitempty" jsonschema:"The offer to rent, from find_offers; absent: the cheapest offer matching gpu_type and the other filters"`
	offerFilter
	MaxPricePerGPUHour float64 `json:"max_price_per_gpu_hour" jsonschema:"Required: the most to pay, in USD per GPU-hour; no offer dearer is rented, failover included"`
	IdempotencyKey     string  `json:"idempotency_key" jsonschema:"Required: a fresh unique string (a UUID) per intended rental; the same key with the same arguments never rents twice"`
	AutoDeleteAfter    string  `json:"auto_delete_after,omitempty" jsonschema:"Delete the machine this long after renting (\"4h\", \"90m\", \"1h30m\"; default 4h); \"never\" keeps it until delete_machine"`
	Name               string  `json:"name,omitempty" jsonschema:"A name for the machine (a short suffix from idempotency_key is added)"`
	SSHPublicKey       string  `json:"ssh_public_key,omitempty" jsonschema:"OpenSSH public key that logs in as root (default: the user's own, when the server knows it)"`
	NoFallback         bool    `json:"no_fallback,omitempty" jsonschema:"Rent this offer or nothing: no failover to the next cheapest equivalent offer when its vendor has no capacity"`
	MaxAttempts        *int    `json:"max_attempts,omitempty" jsonschema:"Offers to try in all, the first included (default 5)"`
	WaitForStock       string  `json:"wait_for_stock,omitempty" jsonschema:"While no matching offer is in stock, keep looking this long (\"30m\", at most 24h)"`
}

type rentResult struct {
	OfferID   string    `json:"offer_id" jsonschema:"Pass it to wait_until_ready"`
	Status    string    `json:"status" jsonschema:"provisioning_in_progress or procured"`
	Machines  []machine `json:"machines"`
	DeleteAt  string    `json:"delete_at,omitempty" jsonschema:"When the machine is deleted on its own (RFC 3339); absent: never"`
	Deletion  string    `json:"deletion" jsonschema:"When the machine will be deleted, in words"`
	NextStep  string    `json:"next_step"`
	Repeated  bool      `json:"repeated,omitempty" jsonschema:"True when an earlier call with this idempotency_key rented it: nothing new was rented"`
	CostLimit string    `json:"cost_limit"`
}

func (t tools) rent(ctx context.Context, c *client.Client, _ *mcp.CallToolRequest, in rentArgs) (rentResult, error) {
	maxPrice := in.MaxPricePerGPUHour
	switch {
	case !(maxPrice > 0) || math.IsInf(maxPrice, 0):
		return rentResult{}, errors.New("max_price_per_gpu_hour is required: the most to pay per GPU-hour, in USD, e.g. 3.5")
	case in.IdempotencyKey == "":
		return rentResult{}, errors.New("idempotency_key is required: a fresh unique string (a UUID) for this rental, the same one when retrying it")
	case in.OfferID == "" && in.GPUType == "":
		return rentResult{}, errors.New("give offer_id (from find_offers), or gpu_type to rent the cheapest matching offer")
	}
	req, err := t.procureRequest(in)
	if err != nil {
		return rentResult{}, err
	}
	var q supplyapi.OfferQuery
	if in.OfferID != "" {
		if q, err = offerQuery(ctx, c, in, maxPrice); err != nil {
			return rentResult{}, err
		}
		req.OfferID, _ = uuid.Parse(in.OfferID)
	} else {
		if in.ContractType == "" {
			// Spot machines may vanish under the agent: only when asked.
			in.ContractType = "ondemand"
		}
		q = in.query(&maxPrice, 0)
		if req.OfferID, err = cheapest(ctx, c, in.offerFilter, q); err != nil {
			return rentResult{}, err
		}
	}
	if !in.NoFallback {
		req.Fallback = &supplyapi.Fallback{Query: &q, MaxAttempts: in.MaxAttempts}
		if in.WaitForStock != "" {
			req.Fallback.Until = supplyapi.DurationText(in.WaitForStock)
		}
	}
	out := rentResult{CostLimit: fmt.Sprintf("at most $%.2f per GPU-hour", maxPrice)}
	res, err := c.Procure(ctx, req, in.IdempotencyKey)
	switch {
	case reusedKey(err):
		// A retry that found another offer (ids change each second):
		// the rental of the first call carries the key's name.
		res, err = rentalNamed(ctx, c, *req.ResourceName)
		out.Repeated = true
	case err == nil && res.Status == supplyapi.ProcureFailed:
		return rentResult{}, &client.FailedError{OfferID: res.OfferID, Reason: deref(res.Error)}
	}
	if err != nil {
		return rentResult{}, err
	}
	out.OfferID, out.Status = res.OfferID.String(), res.Status
	for _, id := range res.ResourceIDs {
		r, err := c.Resource(ctx, id, false)
		if err != nil {
			return rentResult{}, err
		}
		out.Machines = append(out.Machines, viewMachine(r))
	}
	if len(out.Machines) > 0 {
		out.DeleteAt, out.Deletion = out.Machines[0].DeleteAt, out.Machines[0].Deletion
	}
	out.NextStep = fmt.Sprintf("Call wait_until_ready with offer_id %s for the ssh command; delete_machine when done.", out.OfferID)
	return out, nil
}

// procureRequest is the request of a rent call, but for the offer.
func (t tools) procureRequest(in rentArgs) (supplyapi.ProcureOfferRequest, error) {
	key := in.SSHPublicKey
	if key == "" {
		key = t.b.SSHPublicKey
	}
	if key == "" {
		return supplyapi.ProcureOfferRequest{}, errors.New("ssh_public_key is required: the OpenSSH public key (ssh-ed25519 AAAA...) that logs in as root")
	}
	name := in.Name
	if name == "" {
		name = "agent"
	}
	// The suffix finds the rental again when a retry rents another offer.
	sum := sha256.Sum256([]byte(in.IdempotencyKey))
	name += "-" + hex.EncodeToString(sum[:4])
	req := supplyapi.ProcureOfferRequest{SSHPublicKey: key, ResourceName: &name}
	switch in.AutoDeleteAfter {
	case never:
		req.AutoDeleteAfter = &supplyapi.Duration{}
	case "":
		req.AutoDeleteAfter = supplyapi.DurationText(defaultAutoDelete)
	default:
		req.AutoDeleteAfter = supplyapi.DurationText(in.AutoDeleteAfter)
	}
	return req, nil
}

// offerQuery checks that the offer of in is within maxPrice, and answers
// the offers equivalent to it at that price, to fail over to.
func offerQuery(ctx context.Context, c *client.Client, in rentArgs, maxPrice float64) (supplyapi.OfferQuery, error) {
	id, err := parseID("offer_id", in.OfferID)
	if err != nil {
		return supplyapi.OfferQuery{}, err
	}
	d, err := c.Offer(ctx, id)
	if err != nil {
		return supplyapi.OfferQuery{}, err
	}
	if d.GPUPricePerHour > maxPrice {
		return supplyapi.OfferQuery{}, fmt.Errorf("offer %s costs $%.2f per GPU-hour, more than max_price_per_gpu_hour $%.2f: nothing was rented",
			id, d.GPUPricePerHour, maxPrice)
	}
	return supplyapi.OfferQuery{Region: d.Region, Compute: supplyapi.OfferQueryCompute{GPUType: d.GPUType, GPUCount: d.GPUCount,
		MaxPricePerGPUHour: &maxPrice, ContractType: d.ContractType, NodeCount: d.NodeCount}}, nil
}

// cheapest is the cheapest offer of q; when there is none, the error says
// what the cheapest without the price cap costs.
func cheapest(ctx context.Context, c *client.Client, f offerFilter, q supplyapi.OfferQuery) (uuid.UUID, error) {
	q.Limit = 1
	res, err := c.GetOffers(ctx, q)
	if err != nil {
		return uuid.Nil, err
	}
	if len(res.Offers) > 0 {
		return res.Offers[0].OfferID, nil
	}
	any, err := c.GetOffers(ctx, f.query(nil, 1))
	if err != nil {
		return uuid.Nil, err
	}
	if len(any.Offers) == 0 {
		return uuid.Nil, fmt.Errorf("no %s offer matches these filters: nothing was rented", f.GPUType)
	}
	return uuid.Nil, fmt.Errorf("no %s offer at or below $%.2f per GPU-hour: the cheapest matching costs $%.2f; nothing was rented",
		f.GPUType, *q.Compute.MaxPricePerGPUHour, any.Offers[0].GPUPricePerHour)
}

// reusedKey reports whether err is the API's refusal of an
// Idempotency-Key used before with another request.
func reusedKey(err error) bool {
	var e *client.Error
	if !errors.As(err, &e) {
		return false
	}
	for _, v := range e.Validation {
		if len(v.Loc) == 2 && v.Loc[0] == "header" && v.Loc[1] == "Idempotency-Key" {
			return true
		}
	}
	return false
}

// rentalNamed is the procurement whose machine is named name, newest first.
func rentalNamed(ctx context.Context, c *client.Client, name string) (supplyapi.ProcureOfferResponse, error) {
	rs, err := c.Resources(ctx, client.ResourceFilter{})
	if err != nil {
		return supplyapi.ProcureOfferResponse{}, err
	}
	for _, r := range rs {
		if r.Name == name && len(r.OfferHistory) > 0 {
			return supplyapi.ProcureOfferResponse{OfferID: r.OfferHistory[0].OfferID, Status: supplyapi.ProcureInProgress,
				ResourceIDs: []uuid.UUID{r.ResourceID}}, nil
		}
	}
	return supplyapi.ProcureOfferResponse{}, errors.New("this idempotency_key was used before with other arguments: use a fresh one for a new rental")
}

type waitArgs struct {
	OfferID        string `json:"offer_id" jsonschema:"The offer_id rent answered"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty" jsonschema:"Stop waiting after this many seconds (default 600, at most 1800); the rental goes on"`
}

type waitResult struct {
	Ready    bool      `json:"ready"`
	Status   string    `json:"status" jsonschema:"The procurement's status: provisioning_started, provisioning_in_progress, ready"`
	Progress string    `json:"progress,omitempty"`
	SSH      string    `json:"ssh,omitempty" jsonschema:"The ssh command of the (first) machine, e.g. ssh root@203.0.113.7"`
	Machines []machine `json:"machines"`
	NextStep string    `json:"next_step"`
}

func (tools) waitUntilReady(ctx context.Context, c *client.Client, req *mcp.CallToolRequest, in waitArgs) (waitResult, error) {
	id, err := parseID("offer_id", in.OfferID)
	if err != nil {
		return waitResult{}, err
	}
	wait := defaultWait
	if in.TimeoutSeconds > 0 {
		wait = min(time.Duration(in.TimeoutSeconds)*time.Second, maxWait)
	}
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	p := progress{req: req}
	st, err := c.WaitProcurement(waitCtx, id, client.WaitHooks{
		OnChange: func(st supplyapi.OfferStatusResponse) {
			p.notify(ctx, fmt.Sprintf("%s: %s", st.ProcurementStatus, st.Progress))
		},
		OnAttempt: func(n int, a supplyapi.Attempt) {
			p.notify(ctx, fmt.Sprintf("offer %d (%s %s at $%.2f per GPU-hour): %s %s", n, a.Vendor, a.Region, a.GPUPricePerHour, a.Outcome, deref(a.Reason)))
		},
	})
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		return waitResult{Status: st.ProcurementStatus, Progress: st.Progress, Machines: []machine{},
			NextStep: fmt.Sprintf("Still starting after %s; the rental goes on: call wait_until_ready again.", wait)}, nil
	}
	if err != nil {
		return waitResult{}, err
	}
	out := waitResult{Ready: true, Status: st.ProcurementStatus, Progress: st.Progress, Machines: []machine{}}
	for _, in := range st.Instances {
		r, err := c.Resource(ctx, in.ResourceID, false)
		if err != nil {
			return waitResult{}, err
		}
		m := viewMachine(r)
		if m.SSH == "" {
			m.SSH = deref(in.SSHCommand)
		}
		out.Machines = append(out.Machines, m)
		if out.SSH == "" {
			out.SSH = m.SSH
		}
	}
	out.NextStep = "Log in with the ssh command; delete_machine when done."
	if len(out.Machines) > 0 {
		out.NextStep += " " + out.Machines[0].Deletion
	}
	return out, nil
}

// progress sends the progress notifications of one call, when its
// client asked for them (with a progress token).
type progress struct {
	req *mcp.CallToolRequest
	n   float64
}

func (p *progress) notify(ctx context.Context, message string) {
	token := p.req.Params.GetProgressToken()
	if token == nil || p.req.Session == nil {
		return
	}
	p.n++
	// A notification that cannot be sent must not end the wait.
	_ = p.req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: token, Progress: p.n, Message: message})
}

// machine is a resource trimmed to what a model needs.
type machine struct {
	ResourceID    string  `json:"resource_id"`
	Name          string  `json:"name"`
	Status        string  `json:"status" jsonschema:"provisioning, running, deleting, deleted, failed..."`
	StatusMessage string  `json:"status_message,omitempty"`
	Vendor        string  `json:"vendor"`
	VendorRegion  string  `json:"vendor_region"`
	GPUType       string  `json:"gpu_type"`
	GPUCount      int     `json:"gpu_count"`
	ContractType  string  `json:"contract_type"`
	PricePerHour  float64 `json:"price_per_hour" jsonschema:"USD per hour, all GPUs"`
	CostSoFar     float64 `json:"cost_so_far" jsonschema:"USD billed so far"`
	SSH           string  `json:"ssh,omitempty"`
	CreatedAt     string  `json:"created_at"`
	DeleteAt      string  `json:"delete_at,omitempty" jsonschema:"When it is deleted on its own; absent: never"`
	Deletion      string  `json:"deletion" jsonschema:"When it will be deleted, in words"`
	OfferID       string  `json:"offer_id,omitempty"`
}

func viewMachine(r supplyapi.ResourceSummary) machine {
	m := machine{ResourceID: r.ResourceID.String(), Name: r.Name, Status: r.Status, StatusMessage: deref(r.StatusMessage), Vendor: r.Vendor,
		VendorRegion: r.VendorRegion, GPUType: r.Spec.GPUType, GPUCount: r.Spec.GPUCount, ContractType: r.Spec.ContractType,
		PricePerHour: r.PricingTotalHourly, CostSoFar: r.AccruedCost, SSH: deref(r.Access.SSHCommand), CreatedAt: stamp(r.CreatedAt)}
	if len(r.OfferHistory) > 0 {
		m.OfferID = r.OfferHistory[0].OfferID.String()
	}
	switch {
	case r.Status == supplyapi.ResourceDeleted || r.Status == supplyapi.ResourceDeleting:
		m.Deletion = "It is " + r.Status + "."
	case r.DeleteAt != nil:
		m.DeleteAt = stamp(*r.DeleteAt)
		m.Deletion = fmt.Sprintf("It will be deleted on its own at %s (in %s); extend_auto_delete keeps it longer.",
			m.DeleteAt, time.Until(*r.DeleteAt).Round(time.Minute))
	default:
		m.Deletion = "It will NOT be deleted on its own: it bills until delete_machine."
	}
	return m
}

type listArgs struct {
	IncludeEnded bool `json:"include_ended,omitempty" jsonschema:"Also list deleted and failed machines"`
}

type listResult struct {
	Machines []machine `json:"machines"`
}

func (tools) listMachines(ctx context.Context, c *client.Client, _ *mcp.CallToolRequest, in listArgs) (listResult, error) {
	rs, err := c.Resources(ctx, client.ResourceFilter{})
	if err != nil {
		return listResult{}, err
	}
	out := listResult{Machines: []machine{}}
	for _, r := range rs {
		if in.IncludeEnded || !ended(r.Status) {
			out.Machines = append(out.Machines, viewMachine(r))
		}
	}
	return out, nil
}

func ended(status string) bool {
	return status == supplyapi.ResourceDeleted || status == supplyapi.ResourceFailed
}

type resourceIDArgs struct {
	ResourceID string `json:"resource_id" jsonschema:"A machine's resource_id (from rent or list_machines)"`
}

func (tools) machineDetails(ctx context.Context, c *client.Client, _ *mcp.CallToolRequest, in resourceIDArgs) (machine, error) {
	id, err := parseID("resource_id", in.ResourceID)
	if err != nil {
		return machine{}, err
	}
	r, err := c.Resource(ctx, id, false)
	if err != nil {
		return machine{}, err
	}
	return viewMachine(r), nil
}

type extendArgs struct {
	resourceIDArgs
	DeleteAfter string `json:"delete_after" jsonschema:"Delete it this long from now: \"2h\", \"90m\", \"1h30m\""`
}

func (tools) extendAutoDelete(ctx context.Context, c *client.Client, _ *mcp.CallToolRequest, in extendArgs) (machine, error) {
	if in.DeleteAfter == "" || in.DeleteAfter == never {
		return machine{}, errors.New(`delete_after is required ("2h", "90m"); to keep the machine until deleted, call cancel_auto_delete`)
	}
	return setAutoDelete(ctx, c, in.ResourceID, supplyapi.DurationText(in.DeleteAfter))
}

func (tools) cancelAutoDelete(ctx context.Context, c *client.Client, _ *mcp.CallToolRequest, in resourceIDArgs) (machine, error) {
	return setAutoDelete(ctx, c, in.ResourceID, nil)
}

func setAutoDelete(ctx context.Context, c *client.Client, resourceID string, after *supplyapi.Duration) (machine, error) {
	id, err := parseID("resource_id", resourceID)
	if err != nil {
		return machine{}, err
	}
	r, err := c.SetAutoDelete(ctx, id, after)
	if err != nil {
		return machine{}, err
	}
	return viewMachine(r), nil
}

type deleteArgs struct {
	resourceIDArgs
	Force bool `json:"force,omitempty" jsonschema:"Also delete a machine that is still starting, cancelling its start"`
}

type deleteResult struct {
	ResourceID string `json:"resource_id"`
	Status     string `json:"status"`
	Message    string `json:"message"`
}

func (tools) deleteMachine(ctx context.Context, c *client.Client, _ *mcp.CallToolRequest, in deleteArgs) (deleteResult, error) {
	id, err := parseID("resource_id", in.ResourceID)
	if err != nil {
		return deleteResult{}, err
	}
	r, err := c.Delete(ctx, id, in.Force)
	if err != nil {
		return deleteResult{}, err
	}
	return deleteResult{ResourceID: r.ResourceID.String(), Status: r.Status, Message: r.Message}, nil
}

type usageArgs struct {
	Days int `json:"days,omitempty" jsonschema:"How many days back to count the cost (default 30)"`
}

type usageResult struct {
	Days            int                    `json:"days"`
	TotalCost       float64                `json:"total_cost" jsonschema:"USD billed over those days"`
	ByVendor        []supplyapi.UsageGroup `json:"by_vendor"`
	LiveHourly      float64                `json:"live_hourly_usd" jsonschema:"What the live machines cost per hour now"`
	LiveGPUs        int64                  `json:"live_gpus"`
	LiveMachines    int                    `json:"live_machines"`
	AccountMaxUSD   *float64               `json:"account_max_hourly_usd,omitempty" jsonschema:"The account's cap on live spend per hour; absent: none"`
	AccountMaxGPUs  *int64                 `json:"account_max_gpus,omitempty" jsonschema:"The account's cap on live GPUs; absent: none"`
	KeyRole         string                 `json:"key_role" jsonschema:"admin, member or viewer (read only)"`
	KeyMaxUSD       *float64               `json:"key_max_hourly_usd,omitempty" jsonschema:"This key's cap on the live spend per hour of what it rented; absent: none"`
	KeyMaxGPUs      *int64                 `json:"key_max_gpus,omitempty" jsonschema:"This key's cap on the live GPUs of what it rented; absent: none"`
	KeyVendors      []string               `json:"key_vendors,omitempty" jsonschema:"The only vendors this key may rent from; absent: all"`
	HeadroomPerHour *float64               `json:"account_headroom_hourly_usd,omitempty" jsonschema:"How much more per hour the account may rent now"`
}

func (tools) accountUsage(ctx context.Context, c *client.Client, _ *mcp.CallToolRequest, in usageArgs) (usageResult, error) {
	days := in.Days
	if days <= 0 {
		days = 30
	}
	acc, err := c.Account(ctx)
	if err != nil {
		return usageResult{}, err
	}
	u, err := c.Usage(ctx, time.Now().AddDate(0, 0, -days), time.Time{}, supplyapi.GroupByVendor)
	if err != nil {
		return usageResult{}, err
	}
	me, err := c.Me(ctx)
	if err != nil {
		return usageResult{}, err
	}
	out := usageResult{Days: days, TotalCost: u.TotalCost, ByVendor: u.Groups, LiveHourly: acc.Live.HourlyUSD, LiveGPUs: acc.Live.GPUCount,
		LiveMachines: acc.Live.Resources, AccountMaxUSD: acc.Limits.MaxHourlyUSD, AccountMaxGPUs: acc.Limits.MaxGPUCount,
		KeyRole: me.Role, KeyMaxUSD: me.MaxHourlyUSD, KeyMaxGPUs: me.MaxGPUCount, KeyVendors: me.Vendors}
	if acc.Limits.MaxHourlyUSD != nil {
		out.HeadroomPerHour = ptr(max(0, *acc.Limits.MaxHourlyUSD-acc.Live.HourlyUSD))
	}
	return out, nil
}

func parseID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, fmt.Errorf("%s %q is not an id: ids look like %s", field, s, uuid.Nil)
	}
	return id, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
