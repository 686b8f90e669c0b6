// Package offers keeps every vendor's catalog in memory and answers offer
// queries from it: filtering, sorting and pricing happen here, never on a
// vendor's time.
package offers

import (
	"time"

	"github.com/google/uuid"
)

// Offer is one rentable configuration at one price, as the API returns it.
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

// Status values of an offer.
const (
	StatusAvailable = "available"
	StatusProcured  = "procured"
	StatusFailed    = "failed"
	StatusExpired   = "expired"
)

// Details is an offer with where it stands: the API's OfferDetails.
type Details struct {
	Offer
	Status     string     `json:"status" enum:"available,procured,failed,expired"`
	ProcuredAt *time.Time `json:"procured_at"`
}

// Query is the body of POST /get_offers.
type Query struct {
	Vendor  string   `json:"vendor,omitempty" maxLength:"64" doc:"One vendor slug"`
	Region  string   `json:"region,omitempty" enum:"US,EU,APAC,Other"`
	Compute Compute  `json:"compute"`
	Network *Network `json:"network,omitempty"`
	Limit   int      `json:"limit,omitempty" minimum:"1" maximum:"1000" default:"100"`
}

// Compute is the GPU part of a Query.
type Compute struct {
	GPUType            string   `json:"gpu_type" minLength:"1" maxLength:"128" doc:"GPU family (H100) or canonical name (nvidia-h100-sxm5-80gb)"`
	GPUCount           int      `json:"gpu_count,omitempty" minimum:"1" maximum:"100000" default:"1"`
	MaxPricePerGPUHour *float64 `json:"max_price_per_gpu_hour,omitempty" exclusiveMinimum:"0"`
	ContractType       string   `json:"contract_type,omitempty" enum:"ondemand,spot"`
	NodeCount          *int     `json:"node_count,omitempty" minimum:"1" maximum:"100000"`
}

// Network is the network part of a Query.
type Network struct {
	SupportsCilium *bool `json:"supports_cilium,omitempty"`
}

// Result answers a Query.
type Result struct {
	Offers         []Offer        `json:"offers" nullable:"false"`
	TotalCount     int            `json:"total_count"`
	FiltersApplied map[string]any `json:"filters_applied"`
}
