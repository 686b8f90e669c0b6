package vendors

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// ScaleCopySep joins a real region and a copy number in a stand-in's
// scaled catalog ("CANADA-1-s7"): ScaleCopy makes such names, RealRegion
// reads them.
const ScaleCopySep = "-s"

// ScaleCopy names the n-th copy of region in a stand-in's scaled catalog.
func ScaleCopy(region string, n int) string { return fmt.Sprintf("%s%s%d", region, ScaleCopySep, n) }

// RealRegion is the region a stand-in's scale copy stands for
// ("CANADA-1-s7": "CANADA-1"), or region itself when it is no copy.
func RealRegion(region string) string {
	i := strings.LastIndex(region, ScaleCopySep)
	if i <= 0 {
		return region
	}
	n := region[i+len(ScaleCopySep):]
	if n == "" || strings.Trim(n, "0123456789") != "" {
		return region
	}
	return region[:i]
}

// Unplaced remembers the regions an adapter could not place in a country
// (ISO 3166-1 alpha-2, which lets an offer in a region of the group Other
// name more than "Other"), so that each is warned of once: such a region
// has no country, since a wrong country is worse than none. The zero
// value is ready.
type Unplaced struct{ warned sync.Map }

// Country is region's country in table, a stand-in's scale copy of a
// region being where the real one is; "" for a region the table lacks,
// warned of on log once as an unknown what ("Lambda region").
func (u *Unplaced) Country(log *slog.Logger, table map[string]string, region, what string) string {
	if c, ok := table[RealRegion(region)]; ok {
		return c
	}
	u.Warn(log, what, region)
	return ""
}

// Warn warns on log, once per region, that what region ("Vast.ai
// location", "Dublin") has no known country.
func (u *Unplaced) Warn(log *slog.Logger, what, region string) {
	if _, warned := u.warned.LoadOrStore(region, true); !warned {
		log.Warn("unknown "+what+": no country known", "region", region)
	}
}
