package provision

import (
	"context"
	"slices"
	"strconv"

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

// checkCaps refuses, in tx, a procurement of o that would take the
// account over one of its caps. It locks the account first, so that of
// two procurements racing for the last of a cap only one passes: the
// other waits for the first to commit its resources and counts them. The
// resources of the procurement replacing (if not "") do not count: it is
// moving from them to o.
func (s *Service) checkCaps(ctx context.Context, tx store.Tx, accountID int64, o supplyapi.Offer, replacing string) error {
	if err := tx.LockAccount(ctx, accountID); err != nil {
		return err
	}
	acc, err := tx.AccountByID(ctx, accountID)
	if err != nil || acc.MaxHourlyUSD == nil && acc.MaxGPUCount == nil {
		return err
	}
	live, err := tx.LiveResourcesOfAccount(ctx, accountID)
	if err != nil {
		return err
	}
	// A procurement moving to another offer gives up what it holds now.
	live = slices.DeleteFunc(live, func(r store.Resource) bool { return r.OfferID == replacing })
	ls, err := ledger.LiveSpend(live)
	if err != nil {
		return err
	}
	vols, err := tx.VolumesOfAccount(ctx, accountID)
	if err != nil {
		return err
	}
	ls.HourlyUSD += ledger.VolumesPerHour(vols)
	// A cent's tolerance: prices are floats, and a cap met exactly is not exceeded.
	if capUSD := acc.MaxHourlyUSD; capUSD != nil && ls.HourlyUSD+o.TotalPricePerHour > *capUSD+0.005 {
		return refusal.Errorf(refusal.ErrForbidden, "Procuring this offer would exceed the account's cap on live hourly spend of $%.2f per hour: "+
			"its live resources cost $%.2f per hour now and this offer costs $%.2f per hour. Delete a resource or ask an administrator to raise the cap",
			*capUSD, ls.HourlyUSD, o.TotalPricePerHour)
	}
	if capGPUs := acc.MaxGPUCount; capGPUs != nil && ls.GPUCount+int64(o.GPUCount) > *capGPUs {
		return refusal.Errorf(refusal.ErrForbidden, "Procuring this offer would exceed the account's cap of %d live GPUs: "+
			"its live resources hold %d GPUs now and this offer has %d (at $%.2f per hour). Delete a resource or ask an administrator to raise the cap",
			*capGPUs, ls.GPUCount, o.GPUCount, o.TotalPricePerHour)
	}
	return nil
}
