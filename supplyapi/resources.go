package supplyapi

import (
	"time"

	"github.com/google/uuid"
)

// Resource statuses, as ResourceSummary.Status.
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
	Status             string         `json:"status" enum:"provisioning,running,unhealthy,preempted,deleting,deleted,failed,stopping,stopped,starting"`
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
	// Extensions of the Supply API. AccruedCost stays last: the server
	// writes a list's summaries from bytes cut before it (summaryHead).
	Ports       []Port     `json:"ports,omitempty" doc:"Extension: one entry per port asked for with open_ports (a node's own)"`
	DeleteAt    *time.Time `json:"delete_at" doc:"Extension: when the resource is deleted on its own (PATCH /resources/{resource_id} moves it); null: never"`
	AccruedCost float64    `json:"accrued_cost" doc:"Extension: USD billed so far, from when the vendor made the instance until it confirmed it gone (a cluster: its nodes)"`
	// Version is the server's own and never part of the answer, as
	// OfferStatusResponse.Version: two summaries of one resource and
	// account with the same non-zero Version are equal but for
	// AccruedCost. Zero where the summary was not read with a version.
	Version int64 `json:"-"`
}

// AutoDeleteRequest is the body of PATCH /resources/{resource_id}.
type AutoDeleteRequest struct {
	AutoDeleteAfter *Duration `json:"auto_delete_after" required:"true" doc:"Delete the resource (a cluster: all of it) this long from now; null: never"`
}

// Access is how to reach a resource (ResourceSummary.Access).
type Access struct {
	ExternalIP *string `json:"external_ip"`
	InternalIP *string `json:"internal_ip"`
	SSHCommand *string `json:"ssh_command"`
	SSHPort    *int    `json:"ssh_port"`
}

// Spec is what a resource is (ResourceSummary.Spec).
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

// Link joins a cluster and its nodes (ResourceSummary.LinkedResources).
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

// DeleteResourceResponse answers DELETE /resources/{resource_id}.
type DeleteResourceResponse struct {
	ResourceID uuid.UUID `json:"resource_id"`
	Status     string    `json:"status"`
	Message    string    `json:"message"`
}
