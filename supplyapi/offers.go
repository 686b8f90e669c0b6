package supplyapi

import (
	"time"

	"github.com/google/uuid"
)

// Offer is one rentable configuration at one price, as POST /get_offers
// answers it.
type Offer struct {
	OfferID   uuid.UUID `json:"offer_id"`
	GPUType   string    `json:"gpu_type" doc:"Canonical GPU name, e.g. nvidia-h100-sxm5-80gb"`
	GPUFamily string    `json:"gpu_family"`
	// GPUCount is GPUs in the offer: node_count × gpus_per_node for clusters.
	GPUCount     int    `json:"gpu_count"`
	Vendor       string `json:"vendor"`
	Region       string `json:"region" enum:"US,EU,APAC,Other"`
	VendorRegion string `json:"vendor_region"`
	// Country is where the data centre is, when its vendor says: what
	// names a region of the group Other ("CA" for Hyperstack's CANADA-1).
	Country      string `json:"country" doc:"ISO 3166-1 alpha-2 code of the data centre's country; empty when the vendor does not say (an extension of the Supply API)"`
	ContractType string `json:"contract_type" enum:"ondemand,spot"`
	Type         string `json:"type" enum:"vm,container"`
	// GPUPricePerHour is USD per GPU-hour, boot disk included.
	GPUPricePerHour     float64         `json:"gpu_price_per_hour"`
	BootDiskInGB        *int            `json:"boot_disk_in_gb"`
	VCPUCount           *int            `json:"vcpu_count"`
	MemoryInGB          *float64        `json:"memory_in_gb"`
	StorageDetails      []StorageDetail `json:"storage_details" nullable:"false"`
	StoragePricePerHour float64         `json:"storage_price_per_hour"`
	// TotalPricePerHour = GPUPricePerHour × GPUCount + StoragePricePerHour.
	TotalPricePerHour       float64   `json:"total_price_per_hour"`
	CreatedAt               time.Time `json:"created_at"`
	ExpiresAt               time.Time `json:"expires_at"`
	DeploymentType          string    `json:"deployment_type" enum:"single,cluster"`
	NodeCount               *int      `json:"node_count"`
	GPUsPerNode             *int      `json:"gpus_per_node"`
	InfinibandBandwidthGbps *int      `json:"infiniband_bandwidth_gbps"`
	ClusterStorageGB        *int      `json:"cluster_storage_gb"`
	// ObservedAt is when the vendor last confirmed this price and stock.
	ObservedAt time.Time `json:"observed_at"`
}

// StorageDetail is one disk that comes with an offer.
type StorageDetail struct {
	Name            string  `json:"name"`
	SizeGB          int     `json:"size_gb"`
	Type            string  `json:"type"`
	StorageClass    string  `json:"storage_class"`
	VendorClass     string  `json:"vendor_class"`
	VendorRegion    string  `json:"vendor_region"`
	PricePerGBMonth float64 `json:"price_per_gb_month"`
	MonthlyCost     float64 `json:"monthly_cost"`
	HourlyCost      float64 `json:"hourly_cost"`
	Persistent      bool    `json:"persistent"`
}

// Where an offer stands, as OfferDetails.Status and
// OfferStatusResponse.Status.
const (
	OfferAvailable = "available"
	OfferProcured  = "procured"
	OfferFailed    = "failed"
	OfferExpired   = "expired"
)

// OfferDetails is an offer with where it stands, as GET /offers/{offer_id}
// answers it.
type OfferDetails struct {
	Offer
	Status     string     `json:"status" enum:"available,procured,failed,expired"`
	ProcuredAt *time.Time `json:"procured_at"`
}

// OfferQuery is the body of POST /get_offers (YAML or JSON), and the
// equivalent offers of a procurement's Fallback.
type OfferQuery struct {
	Vendor  string             `json:"vendor,omitempty" maxLength:"64" doc:"One vendor slug"`
	Region  string             `json:"region,omitempty" enum:"US,EU,APAC,Other"`
	Compute OfferQueryCompute  `json:"compute"`
	Network *OfferQueryNetwork `json:"network,omitempty"`
	Limit   int                `json:"limit,omitempty" minimum:"1" maximum:"1000" default:"100"`
	// VolumeID is an extension of the Supply API.
	VolumeID *uuid.UUID `json:"volume_id,omitempty" doc:"Extension: only offers the volume can be attached to (its vendor and vendor_region)"`
	// VendorRegion narrows the offers to one vendor region: the API sets
	// it from VolumeID; a client cannot send it.
	VendorRegion string `json:"-"`
}

// OfferQueryCompute is the GPU part of an OfferQuery.
type OfferQueryCompute struct {
	GPUType            string   `json:"gpu_type" minLength:"1" maxLength:"128" doc:"GPU family (H100) or canonical name (nvidia-h100-sxm5-80gb)"`
	GPUCount           int      `json:"gpu_count,omitempty" minimum:"1" maximum:"100000" default:"1"`
	MaxPricePerGPUHour *float64 `json:"max_price_per_gpu_hour,omitempty" exclusiveMinimum:"0"`
	ContractType       string   `json:"contract_type,omitempty" enum:"ondemand,spot"`
	NodeCount          *int     `json:"node_count,omitempty" minimum:"1" maximum:"100000"`
}

// OfferQueryNetwork is the network part of an OfferQuery.
type OfferQueryNetwork struct {
	SupportsCilium *bool `json:"supports_cilium,omitempty"`
}

// OfferResult answers an OfferQuery: the component Result of the OpenAPI
// document.
type OfferResult struct {
	Offers         []Offer        `json:"offers" nullable:"false"`
	TotalCount     int            `json:"total_count"`
	FiltersApplied map[string]any `json:"filters_applied"`
}

// VendorStatus is one configured vendor and the health of its catalog,
// as GET /available_vendors shows it.
type VendorStatus struct {
	Name             string `json:"name"`
	DisplayName      string `json:"display_name"`
	SupportsSpot     bool   `json:"supports_spot"`
	SupportsCilium   bool   `json:"supports_cilium"`
	SupportsClusters bool   `json:"supports_clusters"`
	// SupportsStop: resources can be stopped and started (an extension).
	SupportsStop    bool `json:"supports_stop"`
	SupportsVolumes bool `json:"supports_volumes" doc:"Extension: the vendor has volumes that outlive a machine (POST /volumes)"`
	// SupportsPorts is an extension: open_ports works on its offers.
	SupportsPorts bool `json:"supports_ports"`
	// Status is "healthy" (fresh catalog), "degraded" (serving an older
	// catalog after failed refreshes), "down" (no usable catalog) or
	// "starting" (no refresh has finished yet).
	Status string `json:"status" enum:"healthy,degraded,down,starting"`
	// ObservedAt is when the vendor's catalog was last read successfully.
	ObservedAt *time.Time `json:"observed_at"`
	// Offers is how many catalog items the vendor has now.
	Offers int `json:"offers"`
	// LastError is the last refresh failure, if the last refresh failed.
	LastError string `json:"last_error,omitempty"`
	// Sandbox is true when the vendor is a local stand-in (sandbox mode).
	Sandbox bool `json:"sandbox"`
}

// Procurable reports whether offers of the vendor are served now (its
// catalog is fresh or, degraded, still within the maximum age), so that
// procuring from it can work.
func (v VendorStatus) Procurable() bool { return v.Status == "healthy" || v.Status == "degraded" }
