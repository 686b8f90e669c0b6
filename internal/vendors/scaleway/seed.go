package scaleway

import (
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// The stand-in's catalog: Scaleway's real GPU commercial types, with the
// shapes, EUR hourly prices and GPU names its products/servers answers
// carried in 2025–2026, sold in the zones that really have them.

// seedType is one commercial type.
type seedType struct {
	name     string
	gpuName  string // gpu_info.gpu_name as Scaleway spells it; "" for CPU types
	gpus     int
	gpuMemGB int
	cpus     int
	ramGiB   int64
	eurHour  float64
	// localDiskGB is the largest local volume allowed (0: block only).
	localDiskGB int64
}

var seedTypes = []seedType{
	{"L4-1-24G", "L4", 1, 24, 8, 48, 0.7875, 0},
	{"L4-2-24G", "L4", 2, 24, 16, 96, 1.575, 0},
	{"L4-4-24G", "L4", 4, 24, 32, 192, 3.15, 0},
	{"L4-8-24G", "L4", 8, 24, 64, 384, 6.3, 0},
	{"L40S-1-48G", "L40S", 1, 48, 8, 96, 1.4, 0},
	{"L40S-2-48G", "L40S", 2, 48, 16, 192, 2.8, 0},
	{"L40S-4-48G", "L40S", 4, 48, 32, 384, 5.6, 0},
	{"L40S-8-48G", "L40S", 8, 48, 64, 768, 11.2, 0},
	{"H100-1-80G", "H100-PCIe", 1, 80, 24, 240, 2.73, 0},
	{"H100-2-80G", "H100-PCIe", 2, 80, 48, 480, 5.46, 0},
	{"H100-SXM-2-80G", "H100-SXM", 2, 80, 32, 240, 6.018, 0},
	{"H100-SXM-4-80G", "H100-SXM", 4, 80, 64, 480, 11.61, 0},
	{"H100-SXM-8-80G", "H100-SXM", 8, 80, 128, 960, 25.3308, 0},
	{"GPU-3070-S", "RTX 3070", 1, 8, 8, 16, 0.98, 0},
	{"RENDER-S", "P100", 1, 16, 10, 42, 1.221, 400},
	// CPU types are in the same answer; the adapter leaves them out.
	{"DEV1-S", "", 0, 0, 2, 2, 0.008976, 20},
	{"POP2-HM-8C-64G", "", 0, 0, 8, 64, 0.5, 0},
}

// seedZones are the zones the stand-in serves, in order.
var seedZones = []string{"fr-par-1", "fr-par-2", "nl-ams-1", "pl-waw-2"}

// seedStock is how many servers of each type a zone can start; a type
// missing from a zone is not sold there, and 0 is sold out ("shortage").
// fr-par-1's L4 shortage is what Scaleway's own recording shows.
var seedStock = map[string]map[string]int{
	"fr-par-1": {
		"L4-1-24G": 0, "L4-2-24G": 0, "L4-4-24G": 0, "L4-8-24G": 0,
		"RENDER-S": 6, "DEV1-S": 100, "POP2-HM-8C-64G": 50,
	},
	"fr-par-2": {
		"L4-1-24G": 20, "L4-2-24G": 8, "L4-4-24G": 4, "L4-8-24G": 2,
		"L40S-1-48G": 12, "L40S-2-48G": 6, "L40S-4-48G": 3, "L40S-8-48G": 1,
		"H100-1-80G": 8, "H100-2-80G": 4,
		"H100-SXM-2-80G": 3, "H100-SXM-4-80G": 1, "H100-SXM-8-80G": 0,
		"GPU-3070-S": 10, "RENDER-S": 4, "DEV1-S": 100,
	},
	"nl-ams-1": {
		"L4-1-24G": 10, "L4-2-24G": 4, "L40S-1-48G": 6, "L40S-2-48G": 2,
		"DEV1-S": 100,
	},
	"pl-waw-2": {
		"L4-1-24G": 8, "L4-4-24G": 0, "L40S-1-48G": 4,
		"H100-1-80G": 6, "H100-2-80G": 2, "DEV1-S": 100,
	},
}

// offer is one type sold in one zone.
type offer struct {
	zone  string
	typ   seedType
	stock int
}

// seedOffers builds the stand-in's offers; scale > 1 adds synthetic copies
// of every zone ("fr-par-2-s2", ...) with their own stock and prices a
// little apart, so a sandbox can be measured on a catalog of any size.
func seedOffers(scale int) []offer {
	var offers []offer
	for n := 1; n <= max(scale, 1); n++ {
		for _, zone := range seedZones {
			name := zone
			if n > 1 {
				name = vendors.ScaleCopy(zone, n)
			}
			for _, t := range seedTypes {
				stock, sold := seedStock[zone][t.name]
				if !sold {
					continue
				}
				if n > 1 {
					stock = standin.Spread(stock, name+"/"+t.name)
					t.eurHour = roundPrice(t.eurHour * (1 + 0.02*float64(n-1)))
				}
				offers = append(offers, offer{zone: name, typ: t, stock: stock})
			}
		}
	}
	return offers
}
