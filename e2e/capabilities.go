package e2e

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// capability reads one capability of a vendor as GET /available_vendors
// says it.
type capability func(supplyapi.VendorStatus) bool

var (
	stops      capability = func(v supplyapi.VendorStatus) bool { return v.SupportsStop }
	hasVolumes capability = func(v supplyapi.VendorStatus) bool { return v.SupportsVolumes }
	opensPorts capability = func(v supplyapi.VendorStatus) bool { return v.SupportsPorts }
)

// readmeColumns are the capability table's columns, after the vendor's.
var readmeColumns = map[string]int{"supports_stop": 1, "supports_volumes": 2, "supports_ports": 3}

// requireDocumented fails unless vs, the server's vendors, say of the
// capability named (supports_stop, supports_volumes, supports_ports)
// what the README's "### Capabilities" table says: "yes" in the vendor's
// cell, or not. The table is what a renter reads; a vendor missing from
// it, or a row of a vendor the server does not have, fails too.
func requireDocumented(t *testing.T, vs []supplyapi.VendorStatus, name string, c capability) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, found := strings.Cut(string(text), "\n### Capabilities\n")
	if !found {
		t.Fatal("README.md has no ### Capabilities section")
	}
	want := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		vendor := strings.Trim(strings.TrimSpace(cells[1]), "`")
		want[vendor] = strings.HasPrefix(strings.TrimSpace(cells[1+readmeColumns[name]]), "yes")
	}
	got := map[string]bool{}
	for _, v := range vs {
		got[v.Name] = c(v)
	}
	if !maps.Equal(got, want) {
		t.Errorf("%s by vendor: the server says %v, the README's table %v", name, got, want)
	}
	if names := slices.Sorted(maps.Keys(want)); !slices.Equal(names, slices.Sorted(slices.Values(vendors.Slugs))) {
		t.Errorf("the README's capability table has rows for %v, want one for each of %v", names, vendors.Slugs)
	}
}
