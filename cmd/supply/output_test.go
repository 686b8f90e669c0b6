package main

import (
	"testing"
	"time"
	"unicode/utf8"
)

// TestLiveLineFitsTheTerminal: on a terminal the progress line is cut to
// its width, so that redrawing it never wraps; elsewhere it is whole.
func TestLiveLineFitsTheTerminal(t *testing.T) {
	t.Parallel()
	waiting := "waiting for capacity: 0 of 3 matching offers in stock; next look at 16:42:10 UTC, giving up at 18:40:00 UTC"
	pr := &progress{p: &printer{}, start: time.Now(), state: "provisioning", info: waiting}
	for _, c := range []struct {
		cols int
		want string
	}{
		{0, "provisioning · " + waiting + " · 0s"},
		{200, "provisioning · " + waiting + " · 0s"},
		{80, "provisioning · waiting for capacity: 0 of 3 matching offers in stock; nex… · 0s"},
		{21, "provisioning · 0s"},
	} {
		got := pr.text(false, c.cols)
		if got != c.want {
			t.Errorf("%d columns: %q, want %q", c.cols, got, c.want)
		}
		if n := utf8.RuneCountInString(got); c.cols > 0 && n >= c.cols {
			t.Errorf("%d columns: the line has %d", c.cols, n)
		}
	}
}
