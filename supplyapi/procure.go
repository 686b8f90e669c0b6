package supplyapi

import (
	"time"

	"github.com/google/uuid"
)

// ProcureOfferRequest is the body of POST /procure_offer.
type ProcureOfferRequest struct {
	OfferID      uuid.UUID `json:"offer_id" doc:"An offer returned by POST /get_offers"`
	SSHPublicKey string    `json:"ssh_public_key" minLength:"1" doc:"OpenSSH public key that logs in as root"`
	CloudInit    *string   `json:"cloud_init,omitempty" doc:"cloud-init document (#cloud-config) or script (#!/...), at most 64 KiB"`
	ResourceName *string   `json:"resource_name,omitempty" maxLength:"128" doc:"Name of a single-machine resource"`
	ClusterName  *string   `json:"cluster_name,omitempty" maxLength:"128" doc:"Name of a cluster (cluster offers; generated when absent)"`
	// AutoDeleteAfter is an extension of the Supply API.
	AutoDeleteAfter *Duration `json:"auto_delete_after,omitempty" doc:"Extension: delete the resource (a cluster: all of it) this long after procurement, as DELETE would. Absent: the server's default (none unless configured); null: never"`
	// Fallback is an extension of the Supply API.
	Fallback *Fallback `json:"fallback,omitempty" doc:"Extension: when the vendor refuses for lack of capacity or quota, move this procurement to the next cheapest equivalent offer, and wait for stock until a deadline. Absent: the procurement fails with the vendor's refusal"`
	// VolumeIDs is an extension of the Supply API.
	VolumeIDs []uuid.UUID `json:"volume_ids,omitempty" maxItems:"16" doc:"Extension: volumes (POST /volumes) to attach to the machine; each must be available, of the offer's vendor and vendor_region; a vendor may attach fewer at create (Hyperstack: one), a 422"`
	// OpenPorts is an extension of the Supply API.
	OpenPorts []OpenPort `json:"open_ports,omitempty" maxItems:"64" doc:"Extension: ports to open besides SSH on each machine, at most 64 in all: a number (8888), \"port/protocol\" (\"6006/tcp\", \"53/udp\") or a range (\"9000-9010\", tcp unless \"/udp\" follows). Only vendors with supports_ports; each instance's ports say where each one is"`
}

// Fallback asks a procurement to fail over (ProcureOfferRequest.Fallback).
type Fallback struct {
	Query       *OfferQuery `json:"query,omitempty" doc:"The equivalent offers, as a POST /get_offers query (the JSON form of its YAML). Absent: offers of the procured offer's exact GPU, GPU count, node count, contract and region group, at most 25% dearer per GPU-hour. compute.max_price_per_gpu_hour caps the price per GPU-hour (absent: 25% over the procured offer's)"`
	MaxAttempts *int        `json:"max_attempts,omitempty" minimum:"1" maximum:"20" doc:"How many offers to try in all, the procured one included (default 5)"`
	Until       *Duration   `json:"until,omitempty" doc:"While no equivalent offer is in stock, wait this long from procurement (\"30m\", or seconds; at most 24h), looking again after the vendors' catalog reads. Absent: fail at once"`
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

// Procurement outcomes, as ProcureOfferResponse.Status.
const (
	ProcureInProgress = "provisioning_in_progress"
	ProcureDone       = "procured"
	ProcureFailed     = "failed"
)

// ProcureOfferResponse answers POST /procure_offer.
type ProcureOfferResponse struct {
	OfferID     uuid.UUID   `json:"offer_id"`
	Status      string      `json:"status" enum:"provisioning_in_progress,procured,failed"`
	ProcuredAt  *time.Time  `json:"procured_at"`
	ResourceIDs []uuid.UUID `json:"resource_ids" nullable:"false"`
	Error       *string     `json:"error"`
}

// Procurement status of an offer, as
// OfferStatusResponse.ProcurementStatus.
const (
	ProcurementAvailable  = "available"
	ProcurementStarted    = "provisioning_started"
	ProcurementInProgress = "provisioning_in_progress"
	ProcurementReady      = "ready"
	ProcurementFailed     = "failed"
)

// OfferStatusResponse answers GET /offers/{offer_id}/status and POST
// /offers/{offer_id}/cancel.
type OfferStatusResponse struct {
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
	// Version is the server's own and never part of the answer (zero in
	// what a client decodes). It names the rows the status was rendered
	// from: two statuses of one offer and account with the same non-zero
	// Version are equal, so the server keeps what it made of one (the
	// encoded answer). Zero for a status that may change without a write
	// (an offer not procured expires with the clock).
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
	// Ports is an extension of the Supply API.
	Ports []Port `json:"ports,omitempty" doc:"Extension: one entry per port asked for with open_ports"`
}
