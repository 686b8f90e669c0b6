package standin

import (
	"testing"
	"time"
)

func TestPowerAt(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	boot := 10 * time.Second
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, tt := range []struct {
		name             string
		stopped, started time.Time
		now              time.Time
		want             Power
	}{
		{"never asked", time.Time{}, time.Time{}, at(time.Hour), Unpowered},
		{"stop under way", t0, time.Time{}, at(time.Second), Stopping},
		{"stopped after a fifth of a boot", t0, time.Time{}, at(2 * time.Second), Stopped},
		{"start under way", t0, at(time.Minute), at(time.Minute + 9*time.Second), Starting},
		{"running after a whole boot", t0, at(time.Minute), at(time.Minute + boot), Running},
		{"stopped again after a start", at(2 * time.Minute), at(time.Minute), at(3 * time.Minute), Stopped},
	} {
		if got := PowerAt(tt.stopped, tt.started, tt.now, boot); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
