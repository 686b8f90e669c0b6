package offers

import (
	"errors"
	"time"
)

// ErrNotFound: no offer with that id exists for the caller's account.
var ErrNotFound = errors.New("offer not found")

// QueryError is a query that is well-formed but asks for something that
// does not exist (an unknown GPU type). The API answers it as a 422 at
// Loc, like any other validation failure.
type QueryError struct {
	// Loc is the path of the offending field, e.g. ["body","compute","gpu_type"].
	Loc []any
	// Type is the pydantic-style error type ("value_error").
	Type  string
	Msg   string
	Input any
}

func (e *QueryError) Error() string { return e.Msg }

// VendorStatus is one configured vendor and the health of its catalog,
// as GET /available_vendors shows it.
type VendorStatus struct {
	Name             string `json:"name"`
	DisplayName      string `json:"display_name"`
	SupportsSpot     bool   `json:"supports_spot"`
	SupportsCilium   bool   `json:"supports_cilium"`
	SupportsClusters bool   `json:"supports_clusters"`
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
