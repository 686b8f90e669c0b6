package ledger

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gpusupply/supply/internal/store"
)

// StopSpan is one stop of a node: from when its vendor confirmed it
// stopped to when its vendor accepted the start (To nil: still stopped),
// billed at PricePerHour, the vendor's rate for a stopped machine.
type StopSpan struct {
	From         time.Time  `json:"from"`
	To           *time.Time `json:"to"`
	PricePerHour float64    `json:"price_per_hour"`
}

// Stops reads a resource's stops (store.Resource.Stops).
func Stops(r store.Resource) ([]StopSpan, error) {
	if len(r.Stops) == 0 {
		return nil, nil
	}
	var spans []StopSpan
	if err := json.Unmarshal(r.Stops, &spans); err != nil {
		return nil, fmt.Errorf("resource %s stops: %w", r.ID, err)
	}
	return spans, nil
}

// OpenStop records on r that it stopped at from, billed from then at
// pricePerHour.
func OpenStop(r *store.Resource, from time.Time, pricePerHour float64) error {
	spans, err := Stops(*r)
	if err != nil {
		return err
	}
	return setStops(r, append(spans, StopSpan{From: from, PricePerHour: pricePerHour}))
}

// CloseStop records on r that its stop ended at to (its vendor accepted
// the start): it is billed in full again from then.
func CloseStop(r *store.Resource, to time.Time) error {
	spans, err := Stops(*r)
	if err != nil {
		return err
	}
	if n := len(spans); n > 0 && spans[n-1].To == nil {
		spans[n-1].To = &to
	}
	return setStops(r, spans)
}

func setStops(r *store.Resource, spans []StopSpan) error {
	b, err := json.Marshal(spans)
	if err != nil {
		return fmt.Errorf("resource %s stops: %w", r.ID, err)
	}
	r.Stops = b
	return nil
}

// stoppedSavings is what r's stops take off its full price over the
// billed stretch [start, end): the difference between its price and the
// stopped rate, for the time it was stopped within it. Stops that cannot
// be read save nothing: the cost shown is never less than billed.
func stoppedSavings(r store.Resource, start, end time.Time) float64 {
	spans, err := Stops(r)
	if err != nil {
		return 0
	}
	saved := 0.0
	for _, sp := range spans {
		to := end
		if sp.To != nil {
			to = earlier(*sp.To, end)
		}
		if from := later(sp.From, start); to.After(from) {
			saved += (r.PricePerHour - sp.PricePerHour) * to.Sub(from).Hours()
		}
	}
	return saved
}

// hourlyNow is what a node bills per hour now: its stopped rate while it
// is stopped, its price otherwise.
func hourlyNow(r store.Resource) float64 {
	spans, err := Stops(r)
	if n := len(spans); err == nil && n > 0 && spans[n-1].To == nil {
		return spans[n-1].PricePerHour
	}
	return r.PricePerHour
}
