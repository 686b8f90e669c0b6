package ledger

import (
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// TestFailoverProgress holds the progress sentence of a procurement that
// fails over to what the renter reads while it is under way: which try
// ended how and where, and where it is now, with "n of max"; the wait with
// when it looks again and gives up; and nothing of its own once the
// procurement has ended or is on its first try, when its resources'
// progress says it best.
func TestFailoverProgress(t *testing.T) {
	at := time.Date(2026, 12, 7, 16, 40, 0, 0, time.UTC)
	refused := "no capacity: sold out."
	first := Attempt{Attempt: supplyapi.Attempt{Vendor: "lambda", Region: "us-east-1", Outcome: supplyapi.AttemptRefused, Reason: &refused, At: at}}
	second := Attempt{Attempt: supplyapi.Attempt{Vendor: "hyperstack", Region: "US-1", Outcome: supplyapi.AttemptTrying, At: at.Add(time.Second)}}
	look, until := at.Add(90*time.Second), at.Add(30*time.Minute)
	for _, c := range []struct {
		name, status, phase string
		attempts            []Attempt
		waiting             bool
		want                string
	}{
		{"first try", store.ProcurementProvisioning, store.PhaseTrying, []Attempt{{Attempt: supplyapi.Attempt{Vendor: "lambda", Region: "us-east-1", Outcome: supplyapi.AttemptTrying}}}, false,
			""},
		{"removing a refused try", store.ProcurementProvisioning, store.PhaseSwitching, []Attempt{first}, false,
			"no capacity: sold out at lambda us-east-1; removing that try and moving to the next equivalent offer"},
		{"second try", store.ProcurementProvisioning, store.PhaseTrying, []Attempt{first, second}, false,
			"no capacity: sold out at lambda us-east-1; trying hyperstack US-1 (2 of 5)"},
		{"waiting", store.ProcurementProvisioning, store.PhaseWaiting, []Attempt{first}, true,
			"waiting for capacity: none of the 1 offer tried, nor any other equivalent offer, is in stock; next look at 16:41:30 UTC, giving up at 17:10:00 UTC"},
		{"ready", store.ProcurementReady, "", []Attempt{first, second}, false,
			""},
	} {
		t.Run(c.name, func(t *testing.T) {
			fo := Failover{MaxAttempts: 5, Until: &until}
			if c.waiting {
				fo.WaitingSince, fo.NextLook = &at, &look
			}
			p := store.Procurement{OfferID: "o", Status: c.status, Phase: c.phase}
			if err := SetFailover(&p, fo, c.attempts); err != nil {
				t.Fatal(err)
			}
			if got := failoverProgress(p); got != c.want {
				t.Errorf("progress %q, want %q", got, c.want)
			}
		})
	}
}
