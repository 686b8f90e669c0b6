package ledger

import (
	"slices"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/versioned"
	"github.com/gpusupply/supply/supplyapi"
)

// maxCachedStatuses bounds the status cache; past it, entries are dropped
// at random (a dropped entry costs one render on its next poll).
const maxCachedStatuses = 10_000

// statusCache keeps the statuses of procured offers as last rendered, each
// with its account's store.ChangeVersion read before the rows it came
// from. A poll reads the version (one single-row read) and serves the
// entry if the version is the same: no write of the account's procurements
// or resources has committed since, in this process or any other, so the
// rows, and the status rendered from them, are the same. A status depends
// on nothing else (not on the time, nor on the catalog).
type statusCache struct {
	statuses *versioned.Cache[supplyapi.OfferStatusResponse]
}

func newStatusCache() statusCache {
	return statusCache{versioned.New[supplyapi.OfferStatusResponse](maxCachedStatuses)}
}

// get returns the account's status of the offer if it was rendered at
// version; the caller owns the copy.
func (c statusCache) get(offerID uuid.UUID, accountID, version int64) (supplyapi.OfferStatusResponse, bool) {
	st, ok := c.statuses.Get(offerID, accountID, version)
	if ok {
		st.Instances, st.ResourceIDs = slices.Clone(st.Instances), slices.Clone(st.ResourceIDs)
	}
	return st, ok
}

// put keeps st, rendered from rows read after the account's version was
// version. An entry of a later version is kept rather than replaced.
func (c statusCache) put(offerID uuid.UUID, accountID, version int64, st supplyapi.OfferStatusResponse) {
	st.Instances, st.ResourceIDs = slices.Clone(st.Instances), slices.Clone(st.ResourceIDs)
	c.statuses.Put(offerID, accountID, version, st)
}
