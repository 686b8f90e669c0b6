package vendors

import "context"

// Stopper is implemented by a Vendor whose description has a stop and a
// start for an instance: a stopped instance keeps its disk (and its id)
// and stops billing as the vendor's rule says, and a start boots it again,
// maybe at another address. Both return once the vendor accepted the
// request; callers poll Get for StateStopped, or StateRunning with an
// address, before calling it done. Info.Stop says the same up front.
type Stopper interface {
	// Stop asks the vendor to power the instance off. A refusal because
	// the instance is not running wraps ErrInvalid.
	Stop(ctx context.Context, id string) error
	// Start asks the vendor to power the stopped instance on. A vendor
	// that cannot give the instance its GPU back refuses with an error
	// wrapping ErrNoCapacity.
	Start(ctx context.Context, id string) error
	// StoppedPricePerHour is what the vendor bills per hour for a stopped
	// node of item, by its own rule for a stopped machine (the adapter
	// quotes it): item.PricePerHour where the vendor says nothing of a
	// stopped machine billing less, the disk's share where it bills
	// only the disk.
	StoppedPricePerHour(item CatalogItem) float64
}

// CanStop reports whether v stops and starts instances, and returns its
// Stopper.
func CanStop(v Vendor) (Stopper, bool) {
	s, ok := v.(Stopper)
	return s, ok && v.Info().Stop
}
