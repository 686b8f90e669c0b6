package ledger

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// Failover is a procurement's fallback as its row keeps it
// (store.Procurement.Fallback): the workflow writes it, the status shows
// where it is.
type Failover struct {
	// Query finds the equivalent offers: the renter's, or one made from
	// the procured offer; its price cap is always set.
	Query       supplyapi.OfferQuery `json:"query"`
	MaxAttempts int                  `json:"max_attempts"`
	// Until is when waiting for stock ends (nil: no waiting).
	Until *time.Time `json:"until,omitempty"`
	// WaitingSince and NextLook are set while no equivalent is in stock.
	WaitingSince *time.Time `json:"waiting_since,omitempty"`
	NextLook     *time.Time `json:"next_look,omitempty"`
}

// Attempt is one try as the procurement's row keeps it
// (store.Procurement.Attempts): the try as the status shows it, and what
// tells the catalog item apart from the others of its region.
type Attempt struct {
	supplyapi.Attempt
	InstanceType string           `json:"instance_type"`
	Contract     vendors.Contract `json:"contract"`
}

// FailoverOf reads a procurement's fallback and tries; ok is false for a
// procurement without a fallback.
func FailoverOf(p store.Procurement) (fo Failover, attempts []Attempt, ok bool, err error) {
	if len(p.Fallback) == 0 {
		return Failover{}, nil, false, nil
	}
	if err := json.Unmarshal(p.Fallback, &fo); err != nil {
		return Failover{}, nil, false, fmt.Errorf("procurement %s fallback: %w", p.OfferID, err)
	}
	if err := json.Unmarshal(p.Attempts, &attempts); err != nil {
		return Failover{}, nil, false, fmt.Errorf("procurement %s attempts: %w", p.OfferID, err)
	}
	return fo, attempts, true, nil
}

// SetFailover writes fo and attempts into p.
func SetFailover(p *store.Procurement, fo Failover, attempts []Attempt) error {
	var err error
	if p.Fallback, err = json.Marshal(fo); err != nil {
		return err
	}
	p.Attempts, err = json.Marshal(attempts)
	return err
}

// TriedText says how a try ended, for a failure reason and the progress.
func TriedText(a Attempt) string {
	why := a.Outcome
	if a.Reason != nil {
		why = strings.TrimRight(*a.Reason, ". ")
	}
	return fmt.Sprintf("%s at %s %s", why, a.Vendor, a.Region)
}

// Count says n things: "1 offer", "3 offers".
func Count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// failoverProgress says where a procurement with a fallback is, in a sentence,
// or "" when its resources' progress says it best.
func failoverProgress(p store.Procurement) string {
	fo, attempts, ok, err := FailoverOf(p)
	if err != nil || !ok || len(attempts) == 0 || p.Status != store.ProcurementProvisioning {
		return ""
	}
	last := attempts[len(attempts)-1]
	switch p.Phase {
	case store.PhaseSwitching:
		return fmt.Sprintf("%s; removing that try and moving to the next equivalent offer", TriedText(last))
	case store.PhaseWaiting:
		text := fmt.Sprintf("waiting for capacity: none of the %s tried, nor any other equivalent offer, is in stock", Count(len(attempts), "offer"))
		if fo.NextLook != nil {
			text += "; next look at " + fo.NextLook.UTC().Format(time.TimeOnly) + " UTC"
		}
		if fo.Until != nil {
			text += ", giving up at " + fo.Until.UTC().Format(time.TimeOnly) + " UTC"
		}
		return text
	}
	if len(attempts) < 2 {
		return ""
	}
	before := attempts[len(attempts)-2]
	return fmt.Sprintf("%s; trying %s %s (%d of %d)", TriedText(before), last.Vendor, last.Region, len(attempts), fo.MaxAttempts)
}

// attemptsOf is what the status shows of p's tries: nil without a fallback.
func attemptsOf(p store.Procurement) []supplyapi.Attempt {
	_, attempts, ok, err := FailoverOf(p)
	if err != nil || !ok {
		return nil
	}
	out := make([]supplyapi.Attempt, len(attempts))
	for i, a := range attempts {
		out[i] = a.Attempt
	}
	return out
}

// BetweenTries reports whether p's failover job, not its procure jobs,
// moves it on.
func BetweenTries(p store.Procurement) bool {
	return p.Phase == store.PhaseSwitching || p.Phase == store.PhaseWaiting
}
