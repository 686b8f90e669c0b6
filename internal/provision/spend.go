package provision

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// refreshSpend sets the account's live-spend gauge from the database;
// the reconciler sets every account's each pass.
func (s *Service) refreshSpend(ctx context.Context, accountID int64) {
	live, err := s.store.LiveResourcesOfAccount(ctx, accountID)
	if err == nil {
		var ls supplyapi.LiveSpend
		if ls, err = ledger.LiveSpend(live); err == nil {
			s.metrics.liveSpend.WithLabelValues(strconv.FormatInt(accountID, 10)).Set(ls.HourlyUSD)
			return
		}
	}
	s.log.WarnContext(ctx, "live spend gauge not updated", "account_id", accountID, "err", err)
}

// checkCaps refuses, in tx, a procurement of o by the key keyID (0: none)
// that would take the account over one of its caps, or the key over one
// of its own, or that is from a vendor the key may not rent from. It
// locks the account first, so that of two procurements racing for the
// last of a cap only one passes: the other waits for the first to commit
// its resources and counts them; the key's caps, under the same lock,
// hold across every replica alike. The resources of the procurement
// replacing (if not "") do not count: it is moving from them to o.
func (s *Service) checkCaps(ctx context.Context, tx store.Tx, accountID, keyID int64, o supplyapi.Offer, replacing string) error {
	if err := tx.LockAccount(ctx, accountID); err != nil {
		return err
	}
	acc, err := tx.AccountByID(ctx, accountID)
	if err != nil {
		return err
	}
	var key store.APIKey
	if keyID != 0 {
		if key, err = tx.APIKeyByID(ctx, keyID); err != nil {
			return err
		}
		if !key.AllowsVendor(o.Vendor) {
			return refusal.Errorf(refusal.ErrForbidden, "This API key may rent from %s only, and this offer is from %s. "+
				"Ask for offers from those vendors, or ask an administrator to allow %s", strings.ReplaceAll(key.Vendors, ",", ", "), o.Vendor, o.Vendor)
		}
	}
	accountCapped := acc.MaxHourlyUSD != nil || acc.MaxGPUCount != nil
	keyCapped := key.MaxHourlyUSD != nil || key.MaxGPUCount != nil
	if !accountCapped && !keyCapped {
		return nil
	}
	live, err := tx.LiveResourcesOfAccount(ctx, accountID)
	if err != nil {
		return err
	}
	// A procurement moving to another offer gives up what it holds now.
	live = slices.DeleteFunc(live, func(r store.Resource) bool { return r.OfferID == replacing })
	// The account's volumes bill by the hour too; they are the account's,
	// not a key's, so only the account's cap counts them.
	vols, err := tx.VolumesOfAccount(ctx, accountID)
	if err != nil {
		return err
	}
	if err := overCap("the account's", "its", acc.MaxHourlyUSD, acc.MaxGPUCount, live, ledger.VolumesPerHour(vols), o); err != nil {
		return err
	}
	if !keyCapped {
		return nil
	}
	mine := slices.DeleteFunc(live, func(r store.Resource) bool { return r.CreatedBy != keyID })
	return overCap("this API key's", "the key's", key.MaxHourlyUSD, key.MaxGPUCount, mine, 0, o)
}

// overCap refuses o if it would take live (and volumesPerHour of volumes)
// over capUSD or capGPUs (nil: no cap); whose and its name the owner of
// the caps in the refusal.
func overCap(whose, its string, capUSD *float64, capGPUs *int64, live []store.Resource, volumesPerHour float64, o supplyapi.Offer) error {
	ls, err := ledger.LiveSpend(live)
	if err != nil {
		return err
	}
	ls.HourlyUSD += volumesPerHour
	// A cent's tolerance: prices are floats, and a cap met exactly is not exceeded.
	if capUSD != nil && ls.HourlyUSD+o.TotalPricePerHour > *capUSD+0.005 {
		return refusal.Errorf(refusal.ErrForbidden, "Procuring this offer would exceed %s cap on live hourly spend of $%.2f per hour: "+
			"%s live resources cost $%.2f per hour now and this offer costs $%.2f per hour. Delete a resource or ask an administrator to raise the cap",
			whose, *capUSD, its, ls.HourlyUSD, o.TotalPricePerHour)
	}
	if capGPUs != nil && ls.GPUCount+int64(o.GPUCount) > *capGPUs {
		return refusal.Errorf(refusal.ErrForbidden, "Procuring this offer would exceed %s cap of %d live GPUs: "+
			"%s live resources hold %d GPUs now and this offer has %d (at $%.2f per hour). Delete a resource or ask an administrator to raise the cap",
			whose, *capGPUs, its, ls.GPUCount, o.GPUCount, o.TotalPricePerHour)
	}
	return nil
}

// procuredBy is the key that procured offerID's resources; 0 when none
// was recorded (resources older than keys' roles).
func procuredBy(ctx context.Context, q store.Queries, offerID string) (int64, error) {
	rs, err := q.ResourcesByOffer(ctx, offerID)
	if err != nil || len(rs) == 0 {
		return 0, err
	}
	return rs[0].CreatedBy, nil
}
