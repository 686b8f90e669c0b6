package vendors

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestUnplaced: a region the table has is placed, and so is a stand-in's
// scale copy of it; anything else (a name that only looks like a copy
// too) has no country and is warned of once, however often it is asked.
func TestUnplaced(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var u Unplaced
	table := map[string]string{"CANADA-1": "CA", "eu-south-1": "IT"}
	for region, want := range map[string]string{
		"CANADA-1": "CA", ScaleCopy("CANADA-1", 7): "CA", "eu-south-1": "IT", ScaleCopy("eu-south-1", 2): "IT",
		"CANADA-1-sx": "", "CANADA-1-s": "", "MARS-1": "", "-s3": "",
	} {
		for range 3 {
			if got := u.Country(log, table, region, "Test region"); got != want {
				t.Errorf("Country(%q) = %q, want %q", region, got, want)
			}
		}
	}
	if n := strings.Count(logs.String(), "unknown Test region: no country known"); n != 4 {
		t.Errorf("%d warnings, want one for each of the 4 unplaced regions:\n%s", n, logs.String())
	}
}
