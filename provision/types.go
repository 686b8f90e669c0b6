package provision

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/offers"
	"github.com/gpusupply/supply/store"
)

// Errors the API maps to statuses. Each is wrapped with a sentence the
// client reads as the response's detail.
var (
	// ErrNotFound: no such offer or resource for this account (404).
	ErrNotFound = errors.New("not found")
	// ErrGone: the offer expired before it was procured (410).
	ErrGone = errors.New("gone")
	// ErrConflict: the request does not fit the current state (409).
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the account may not do this, e.g. a spend cap (403).
	ErrForbidden = errors.New("forbidden")
)

// ProcureRequest is the body of POST /procure_offer.
type ProcureRequest struct {
	OfferID      uuid.UUID `json:"offer_id" doc:"An offer returned by POST /get_offers"`
	SSHPublicKey string    `json:"ssh_public_key" minLength:"1" doc:"OpenSSH public key that logs in as root"`
	CloudInit    *string   `json:"cloud_init,omitempty" doc:"cloud-init document (#cloud-config) or script (#!/...), at most 64 KiB"`
	ResourceName *string   `json:"resource_name,omitempty" maxLength:"128" doc:"Name of a single-machine resource"`
	ClusterName  *string   `json:"cluster_name,omitempty" maxLength:"128" doc:"Name of a cluster (cluster offers; generated when absent)"`
	// AutoDeleteAfter is an extension of the Supply API.
	AutoDeleteAfter *Duration `json:"auto_delete_after,omitempty" doc:"Extension: delete the resource (a cluster: all of it) this long after procurement, as DELETE would. Absent: the server's default (none unless configured); null: never"`
	// Fallback is an extension of the Supply API.
	Fallback *Fallback `json:"fallback,omitempty" doc:"Extension: when the vendor refuses for lack of capacity or quota, move this procurement to the next cheapest equivalent offer, and wait for stock until a deadline. Absent: the procurement fails with the vendor's refusal"`
}

// Fallback asks a procurement to fail over (ProcureRequest.Fallback).
type Fallback struct {
	Query       *offers.Query `json:"query,omitempty" doc:"The equivalent offers, as a POST /get_offers query (the JSON form of its YAML). Absent: offers of the procured offer's exact GPU, GPU count, node count, contract and region group, at most 25% dearer per GPU-hour. compute.max_price_per_gpu_hour caps the price per GPU-hour (absent: 25% over the procured offer's)"`
	MaxAttempts *int          `json:"max_attempts,omitempty" minimum:"1" maximum:"20" doc:"How many offers to try in all, the procured one included (default 5)"`
	Until       *Duration     `json:"until,omitempty" doc:"While no equivalent offer is in stock, wait this long from procurement (\"30m\", or seconds; at most 24h), looking again after the vendors' catalog reads. Absent: fail at once"`
}

// Attempt outcomes, as Attempt.Outcome.
const (
	AttemptTrying    = "trying"
	AttemptRefused   = "refused"
	AttemptNoAnswer  = "no_answer"
	AttemptFailed    = "failed"
	AttemptReady     = "ready"
	AttemptCancelled = "cancelled"
)

// Attempt is one offer a procurement with a fallback tried.
type Attempt struct {
	OfferID         uuid.UUID `json:"offer_id" doc:"The offer tried (the procured one first)"`
	Vendor          string    `json:"vendor"`
	Region          string    `json:"region" doc:"The vendor's region, as vendor_region"`
	GPUPricePerHour float64   `json:"gpu_price_per_hour"`
	Outcome         string    `json:"outcome" enum:"trying,refused,no_answer,failed,ready,cancelled" doc:"refused: the vendor refused for capacity or quota; no_answer: the create got no answer in time (what it may have made was removed)"`
	Reason          *string   `json:"reason" doc:"Why the try ended, in the vendor's classified words"`
	At              time.Time `json:"at" doc:"When the try began"`
}

// Procurement outcomes, as ProcureResponse.Status.
const (
	ProcureInProgress = "provisioning_in_progress"
	ProcureDone       = "procured"
	ProcureFailed     = "failed"
)

// ProcureResponse answers POST /procure_offer.
type ProcureResponse struct {
	OfferID     uuid.UUID   `json:"offer_id"`
	Status      string      `json:"status" enum:"provisioning_in_progress,procured,failed"`
	ProcuredAt  *time.Time  `json:"procured_at"`
	ResourceIDs []uuid.UUID `json:"resource_ids" nullable:"false"`
	Error       *string     `json:"error"`
}

// Procurement status of an offer, as OfferStatus.ProcurementStatus.
const (
	StatusAvailable  = "available"
	StatusStarted    = "provisioning_started"
	StatusInProgress = "provisioning_in_progress"
	StatusReady      = "ready"
	StatusFailed     = "failed"
)

// OfferStatus answers GET /offers/{offer_id}/status.
type OfferStatus struct {
	OfferID           uuid.UUID      `json:"offer_id"`
	Status            string         `json:"status" enum:"available,procured,failed,expired"`
	CreatedAt         time.Time      `json:"created_at"`
	ProcurementStatus string         `json:"procurement_status" enum:"available,provisioning_started,provisioning_in_progress,ready,failed"`
	Instances         []InstanceInfo `json:"instances" nullable:"false"`
	ResourceIDs       []uuid.UUID    `json:"resource_ids" nullable:"false"`
	Progress          string         `json:"progress"`
	FailureReason     *string        `json:"failure_reason"`
	ProcuredAt        *time.Time     `json:"procured_at"`
	// Attempts is an extension of the Supply API.
	Attempts []Attempt `json:"attempts,omitempty" doc:"Extension, for a procurement with a fallback: every offer tried, in order; the last is the current one"`
	// Version names the rows the status was rendered from: two statuses of
	// one offer and account with the same non-zero Version are equal, so
	// a caller may keep what it made of one (the API keeps the encoded
	// answer). Zero for a status that may change without a write (an offer
	// not procured expires with the clock). Never part of the answer.
	Version int64 `json:"-"`
}

// InstanceInfo is one machine of a procured offer.
type InstanceInfo struct {
	ResourceID uuid.UUID `json:"resource_id"`
	Name       string    `json:"name"`
	Status     string    `json:"status"`
	ExternalIP *string   `json:"external_ip"`
	InternalIP *string   `json:"internal_ip"`
	SSHCommand *string   `json:"ssh_command"`
	SSHPort    *int      `json:"ssh_port"`
}

// Resource statuses.
const (
	ResourceProvisioning = "provisioning"
	ResourceRunning      = "running"
	ResourceUnhealthy    = "unhealthy"
	ResourcePreempted    = "preempted"
	ResourceDeleting     = "deleting"
	ResourceDeleted      = "deleted"
	ResourceFailed       = "failed"
)

// ResourceSummary is a resource as GET /resources and
// GET /resources/{resource_id} return it.
type ResourceSummary struct {
	ResourceID         uuid.UUID      `json:"resource_id"`
	ResourceType       string         `json:"resource_type" enum:"vm,container,cluster"`
	Vendor             string         `json:"vendor"`
	VendorRegion       string         `json:"vendor_region"`
	Status             string         `json:"status" enum:"provisioning,running,unhealthy,preempted,deleting,deleted,failed"`
	CreatedAt          time.Time      `json:"created_at"`
	Name               string         `json:"name"`
	StatusMessage      *string        `json:"status_message"`
	Access             Access         `json:"access"`
	Spec               Spec           `json:"spec"`
	LinkedResources    []Link         `json:"linked_resources" nullable:"false"`
	OfferHistory       []OfferHistory `json:"offer_history" nullable:"false"`
	PricingTotalHourly float64        `json:"pricing_total_hourly"`
	ValidFrom          time.Time      `json:"valid_from"`
	ValidTo            *time.Time     `json:"valid_to"`
	LastSyncedAt       *time.Time     `json:"last_synced_at"`
	// Extensions of the Supply API.
	DeleteAt    *time.Time `json:"delete_at" doc:"Extension: when the resource is deleted on its own (PATCH /resources/{resource_id} moves it); null: never"`
	AccruedCost float64    `json:"accrued_cost" doc:"Extension: USD billed so far, from when the vendor made the instance until it confirmed it gone (a cluster: its nodes)"`
	// Version names the rows the summary was rendered from, as
	// OfferStatus.Version does: two summaries of one resource and account
	// with the same non-zero Version are equal but for AccruedCost. Zero
	// where the summary was not read with a version. Never part of the
	// answer.
	Version int64 `json:"-"`
}

// AutoDeleteRequest is the body of PATCH /resources/{resource_id}.
type AutoDeleteRequest struct {
	AutoDeleteAfter *Duration `json:"auto_delete_after" required:"true" doc:"Delete the resource (a cluster: all of it) this long from now; null: never"`
}

// Access is how to reach a resource.
type Access struct {
	ExternalIP *string `json:"external_ip"`
	InternalIP *string `json:"internal_ip"`
	SSHCommand *string `json:"ssh_command"`
	SSHPort    *int    `json:"ssh_port"`
}

// Spec is what a resource is.
type Spec struct {
	GPUType      string   `json:"gpu_type"`
	GPUCount     int      `json:"gpu_count"`
	VCPUCount    *int     `json:"vcpu_count"`
	MemoryInGB   *float64 `json:"memory_in_gb"`
	BootDiskInGB *int     `json:"boot_disk_in_gb"`
	ContractType string   `json:"contract_type"`
	InstanceType string   `json:"instance_type"`
	NodeCount    *int     `json:"node_count,omitempty"`
}

// Link joins a cluster and its nodes.
type Link struct {
	ResourceID   uuid.UUID  `json:"resource_id"`
	ResourceType string     `json:"resource_type"`
	Status       string     `json:"status"`
	LinkType     string     `json:"link_type" enum:"cluster_node,cluster"`
	LinkedSince  time.Time  `json:"linked_since"`
	Name         string     `json:"name"`
	LinkedUntil  *time.Time `json:"linked_until"`
}

// OfferHistory records which offer a resource came from.
type OfferHistory struct {
	OfferID   uuid.UUID `json:"offer_id"`
	OfferType string    `json:"offer_type"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// DeleteResponse answers DELETE /resources/{resource_id}.
type DeleteResponse struct {
	ResourceID uuid.UUID `json:"resource_id"`
	Status     string    `json:"status"`
	Message    string    `json:"message"`
}

// ResourceFilter narrows GET /resources.
type ResourceFilter struct {
	OfferID *uuid.UUID
	Status  string
	// Limit, when above 0, pages the list: at most Limit resources,
	// those after After (see store.Queries.ListResources).
	Limit int
	After store.ResourceCursor
}

// Error is a refusal the client should read: Kind (ErrNotFound, ErrGone,
// ErrConflict) picks the HTTP status and Detail is the sentence shown.
type Error struct {
	Kind   error
	Detail string
}

func (e *Error) Error() string { return e.Detail }

// Unwrap lets errors.Is match the Kind.
func (e *Error) Unwrap() error { return e.Kind }

func refuse(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}
