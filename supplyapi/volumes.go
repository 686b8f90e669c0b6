package supplyapi

import (
	"time"

	"github.com/google/uuid"
)

// Volume event types: a volume's events carry the volume (as GET
// /volumes/{id} shows it) and its id as the event's resource_id.
const (
	EventVolumeCreated   = "volume.created"   // recorded, before any vendor call
	EventVolumeAvailable = "volume.available" // the vendor made it
	EventVolumeFailed    = "volume.failed"    // the vendor refused it
	EventVolumeDeleting  = "volume.deleting"
	EventVolumeDeleted   = "volume.deleted" // the vendor confirmed it gone
	EventVolumeGone      = "volume.gone"    // the vendor no longer has it, and no one here deleted it
)

// Volume statuses, as Volume.Status.
const (
	VolumeCreating  = "creating"
	VolumeAvailable = "available"
	VolumeAttached  = "attached"
	VolumeDeleting  = "deleting"
	VolumeDeleted   = "deleted"
	VolumeFailed    = "failed"
	VolumeGone      = "gone"
)

// VolumeRequest is the body of POST /volumes: where the volume goes (a
// vendor and its region, or the place of an offer), its size and name.
type VolumeRequest struct {
	Vendor  string     `json:"vendor,omitempty" maxLength:"64" doc:"The vendor's slug (with region; or give offer_id)"`
	Region  string     `json:"region,omitempty" maxLength:"128" doc:"The vendor's own region, as offers show it in vendor_region"`
	OfferID *uuid.UUID `json:"offer_id,omitempty" doc:"Put the volume where this offer is (instead of vendor and region)"`
	SizeGB  int        `json:"size_gb" minimum:"1" maximum:"100000" doc:"Size in GB; billed at the vendor's price per GB-month"`
	Name    string     `json:"name" minLength:"1" maxLength:"128" doc:"A name for the volume"`
}

// Volume is a volume as GET /volumes/{id} shows it.
type Volume struct {
	ID           uuid.UUID `json:"id"`
	Name         string    `json:"name"`
	Vendor       string    `json:"vendor"`
	VendorRegion string    `json:"vendor_region"`
	SizeGB       int64     `json:"size_gb"`
	Status       string    `json:"status" enum:"creating,available,attached,deleting,deleted,failed,gone"`
	// StatusMessage says more of the status (a refusal, a deletion under way).
	StatusMessage string `json:"status_message"`
	MountPath     string `json:"mount_path" doc:"Where a machine it is attached to shows it, as the vendor says (empty until the vendor has made it)"`
	// AttachedTo is the resource the volume is attached to while it is.
	AttachedTo      *uuid.UUID `json:"attached_to" doc:"The resource the volume is attached to, while it is"`
	PricePerGBMonth float64    `json:"price_per_gb_month" doc:"The vendor's price, USD per GB for a month of 730 hours"`
	PricePerHour    float64    `json:"price_per_hour" doc:"size_gb × price_per_gb_month / 730"`
	AccruedCost     float64    `json:"accrued_cost" doc:"USD billed so far, from when the vendor made the volume until it confirmed it gone"`
	CreatedAt       time.Time  `json:"created_at"`
	DeletedAt       *time.Time `json:"deleted_at"`
}
