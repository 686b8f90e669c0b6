package provision

import (
	"testing"
	"time"
)

// TestNextLook: a wait for stock looks again just after the next catalog
// read, never before it, with a backoff while reads are overdue (a vendor
// whose reads fail), and at its deadline at the latest.
func TestNextLook(t *testing.T) {
	now := time.Date(2026, 12, 7, 16, 40, 0, 0, time.UTC)
	s := func(d float64) time.Time { return now.Add(time.Duration(d * float64(time.Second))) }
	for _, c := range []struct {
		name                     string
		read, since, until, want time.Time
	}{
		{"the read is due", s(5.2), now, s(300), s(6)},
		{"a read overdue, just started waiting", s(-30), now, s(300), s(1)},
		{"a read overdue, waiting for 100 s", s(-30), s(-100), s(300), s(10)},
		{"a read overdue, waiting for an hour", s(-30), s(-3600), s(300), s(20)},
		{"the read is due after the backoff", s(60), s(-3600), s(300), s(61)},
		{"the deadline is first", s(-30), s(-3600), s(3.5), s(3.5)},
	} {
		if got := nextLook(now, c.read, c.since, c.until); !got.Equal(c.want) {
			t.Errorf("%s: next look at %s, want %s", c.name, got.Sub(now), c.want.Sub(now))
		}
	}
}
