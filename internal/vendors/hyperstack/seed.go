package hyperstack

import (
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// The stand-in's catalog: Hyperstack's real regions, flavors and GPU
// models, with pricebook values from Hyperstack's public on-demand price
// list (USD per GPU-hour).

// seedRegion is one of Hyperstack's regions.
type seedRegion struct {
	name, country, description string
}

var seedRegions = []seedRegion{
	{"CANADA-1", "Canada", "Montreal, Canada"},
	{"NORWAY-1", "Norway", "Oslo, Norway"},
	{"US-1", "United States", "Minnesota, United States"},
}

// seedPrices is the pricebook: USD per GPU-hour by GPU model.
var seedPrices = []struct {
	gpu   string
	price float64
}{
	{"RTX-A6000", 0.50},
	{"L40", 1.00},
	{"A100-80G-PCIe", 1.35},
	{"A100-80G-PCIe-NVLink", 1.40},
	{"H100-80G-PCIe", 1.90},
	{"H100-80G-PCIe-NVLink", 1.95},
	{"H100-80G-SXM5", 2.40},
	{"H200-141G-SXM5", 3.50},
}

// seedFlavor is a hardware configuration. Disk is the bundled root disk,
// Ephemeral the local scratch disk.
type seedFlavor struct {
	name      string
	gpu       string
	gpuCount  int
	cpu       int
	ram       float64
	disk      int
	ephemeral int
}

var seedFlavors = []seedFlavor{
	{"n3-RTX-A6000x1", "RTX-A6000", 1, 14, 45, 100, 0},
	{"n3-RTX-A6000x2", "RTX-A6000", 2, 28, 90, 100, 0},
	{"n3-RTX-A6000x4", "RTX-A6000", 4, 56, 180, 100, 0},
	{"n3-RTX-A6000x8", "RTX-A6000", 8, 112, 360, 100, 0},
	{"n3-L40x1", "L40", 1, 28, 58, 100, 725},
	{"n3-L40x2", "L40", 2, 56, 116, 100, 1450},
	{"n3-L40x4", "L40", 4, 112, 232, 100, 2900},
	{"n3-L40x8", "L40", 8, 224, 464, 100, 5800},
	{"n3-A100x1", "A100-80G-PCIe", 1, 28, 120, 100, 750},
	{"n3-A100x2", "A100-80G-PCIe", 2, 56, 240, 100, 1500},
	{"n3-A100x4", "A100-80G-PCIe", 4, 112, 480, 100, 3000},
	{"n3-A100x8", "A100-80G-PCIe", 8, 224, 960, 100, 6000},
	{"n3-A100x8-NVLink", "A100-80G-PCIe-NVLink", 8, 252, 1800, 100, 32000},
	{"n3-H100x1", "H100-80G-PCIe", 1, 28, 180, 100, 750},
	{"n3-H100x2", "H100-80G-PCIe", 2, 60, 360, 100, 1500},
	{"n3-H100x4", "H100-80G-PCIe", 4, 124, 720, 100, 3000},
	{"n3-H100x8", "H100-80G-PCIe", 8, 252, 1440, 100, 6000},
	{"n3-H100x8-NVLink", "H100-80G-PCIe-NVLink", 8, 252, 1800, 100, 32000},
	{"n3-H100-SXM5x8", "H100-80G-SXM5", 8, 192, 1800, 100, 32000},
	{"n3-H200x8", "H200-141G-SXM5", 8, 192, 1800, 100, 32000},
}

// seedStock is how many nodes of each flavor a region has; a flavor
// missing from a region is not sold there, and 0 is sold out.
var seedStock = map[string]map[string]int{
	"CANADA-1": {
		"n3-RTX-A6000x1": 40, "n3-RTX-A6000x2": 16, "n3-RTX-A6000x4": 6, "n3-RTX-A6000x8": 2,
		"n3-A100x1": 24, "n3-A100x2": 10, "n3-A100x4": 4, "n3-A100x8": 1,
		"n3-H100x1": 20, "n3-H100x2": 8, "n3-H100x4": 3, "n3-H100x8": 0,
		"n3-H100x8-NVLink": 2,
	},
	"NORWAY-1": {
		"n3-RTX-A6000x1": 12, "n3-RTX-A6000x2": 4,
		"n3-L40x1": 30, "n3-L40x2": 12, "n3-L40x4": 4, "n3-L40x8": 0,
		"n3-A100x1": 8, "n3-A100x8-NVLink": 1,
		"n3-H100x1": 10, "n3-H100x2": 4, "n3-H100-SXM5x8": 3,
	},
	"US-1": {
		"n3-H100x1": 16, "n3-H100x4": 2, "n3-H100x8": 1,
		"n3-H100-SXM5x8": 6, "n3-H200x8": 0,
		"n3-A100x8-NVLink": 2,
	},
}

// offer is one flavor sold in one region.
type offer struct {
	id     int
	region string
	flavor seedFlavor
	stock  int
}

// seedOffers builds the stand-in's offers; scale > 1 adds synthetic
// copies of every region ("CANADA-1-s2", ...) with their own stock, so a
// sandbox can be measured on a catalog of any size.
func seedOffers(scale int) []offer {
	flavors := map[string]seedFlavor{}
	for _, f := range seedFlavors {
		flavors[f.name] = f
	}
	var offers []offer
	for n := 1; n <= max(scale, 1); n++ {
		for _, r := range seedRegions {
			region := r.name
			if n > 1 {
				region = vendors.ScaleCopy(r.name, n)
			}
			for _, f := range seedFlavors {
				stock, sold := seedStock[r.name][f.name]
				if !sold {
					continue
				}
				if n > 1 {
					stock = standin.Spread(stock, region+"/"+f.name)
				}
				offers = append(offers, offer{id: len(offers) + 1, region: region, flavor: flavors[f.name], stock: stock})
			}
		}
	}
	return offers
}
