package runpod

import (
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// The stand-in's catalog: RunPod's real data centres, GPU type ids and
// list prices (USD per GPU-hour, secure and community cloud), with a stock
// of free GPUs per GPU type, cloud and data centre.

// seedDataCenter is one of RunPod's data centres.
type seedDataCenter struct {
	id, name, region string
}

var seedDataCenters = []seedDataCenter{
	{"US-KS-2", "US Kansas 2", "NORTH_AMERICA"},
	{"US-TX-3", "US Texas 3", "NORTH_AMERICA"},
	{"US-GA-1", "US Georgia 1", "NORTH_AMERICA"},
	{"US-CA-2", "US California 2", "NORTH_AMERICA"},
	{"US-IL-1", "US Illinois 1", "NORTH_AMERICA"},
	{"CA-MTL-1", "Canada Montreal 1", "NORTH_AMERICA"},
	{"EU-RO-1", "Europe Romania 1", "EUROPE"},
	{"EU-SE-1", "Europe Sweden 1", "EUROPE"},
	{"EU-NL-1", "Europe Netherlands 1", "EUROPE"},
	{"EU-CZ-1", "Europe Czechia 1", "EUROPE"},
	{"EUR-IS-1", "Europe Iceland 1", "EUROPE"},
	{"AP-JP-1", "Asia Pacific Japan 1", "ASIA"},
	{"OC-AU-1", "Oceania Australia 1", "OCEANIA"},
}

// seedGPU is a GPU type. A zero price means the cloud does not sell it.
type seedGPU struct {
	id, name, pool, maker string
	memory                int
	secure, community     float64
	maxSecure, maxComm    int
}

var seedGPUs = []seedGPU{
	{"NVIDIA B200", "B200", "", "NVIDIA", 180, 5.99, 0, 8, 0},
	{"NVIDIA H200", "H200 SXM", "HOPPER_141", "NVIDIA", 141, 3.59, 0, 8, 0},
	{"NVIDIA H100 80GB HBM3", "H100 SXM", "ADA_80_PRO", "NVIDIA", 80, 2.69, 2.49, 8, 8},
	{"NVIDIA H100 PCIe", "H100 PCIe", "ADA_80_PRO", "NVIDIA", 80, 2.39, 1.99, 8, 4},
	{"NVIDIA H100 NVL", "H100 NVL", "", "NVIDIA", 94, 2.79, 2.59, 8, 2},
	{"NVIDIA A100-SXM4-80GB", "A100 SXM", "AMPERE_80", "NVIDIA", 80, 1.74, 1.39, 8, 8},
	{"NVIDIA A100 80GB PCIe", "A100 PCIe", "AMPERE_80", "NVIDIA", 80, 1.64, 1.19, 8, 4},
	{"NVIDIA L40S", "L40S", "ADA_48_PRO", "NVIDIA", 48, 0.86, 0.79, 8, 4},
	{"NVIDIA RTX 6000 Ada Generation", "RTX 6000 Ada", "ADA_48_PRO", "NVIDIA", 48, 0.77, 0.74, 8, 4},
	{"NVIDIA RTX A6000", "RTX A6000", "AMPERE_48", "NVIDIA", 48, 0.49, 0.33, 8, 8},
	{"NVIDIA GeForce RTX 4090", "RTX 4090", "ADA_24", "NVIDIA", 24, 0.44, 0.31, 8, 4},
	{"NVIDIA GeForce RTX 5090", "RTX 5090", "BLACKWELL_32", "NVIDIA", 32, 0.94, 0.69, 8, 4},
	{"AMD Instinct MI300X OAM", "MI300X", "", "AMD", 192, 2.49, 0, 8, 0},
}

// seedStock is free GPUs by GPU id, cloud and data centre; a data centre
// missing from a GPU's cloud does not sell it there, and 0 is sold out.
var seedStock = map[string]map[string]map[string]int{
	"NVIDIA B200": {cloudSecure: {"US-TX-3": 16, "EU-RO-1": 0}},
	"NVIDIA H200": {cloudSecure: {"US-KS-2": 24, "EU-SE-1": 8, "AP-JP-1": 8}},
	"NVIDIA H100 80GB HBM3": {
		cloudSecure:    {"US-KS-2": 40, "US-GA-1": 24, "CA-MTL-1": 16, "EU-RO-1": 32, "EU-SE-1": 0, "AP-JP-1": 8, "OC-AU-1": 8},
		cloudCommunity: {"US-CA-2": 8, "EU-CZ-1": 4},
	},
	"NVIDIA H100 PCIe": {
		cloudSecure:    {"US-TX-3": 12, "EU-NL-1": 6},
		cloudCommunity: {"US-IL-1": 4, "EUR-IS-1": 2},
	},
	"NVIDIA H100 NVL":       {cloudSecure: {"EU-RO-1": 8}, cloudCommunity: {"US-CA-2": 2}},
	"NVIDIA A100-SXM4-80GB": {cloudSecure: {"US-KS-2": 16, "EU-RO-1": 8}, cloudCommunity: {"US-IL-1": 8}},
	"NVIDIA A100 80GB PCIe": {
		cloudSecure:    {"US-GA-1": 12, "CA-MTL-1": 8, "EU-SE-1": 4},
		cloudCommunity: {"US-CA-2": 6, "EU-CZ-1": 4, "AP-JP-1": 0},
	},
	"NVIDIA L40S": {
		cloudSecure:    {"US-KS-2": 24, "EU-RO-1": 16, "OC-AU-1": 4},
		cloudCommunity: {"US-IL-1": 8},
	},
	"NVIDIA RTX 6000 Ada Generation": {cloudSecure: {"US-TX-3": 8, "EU-NL-1": 8}, cloudCommunity: {"EUR-IS-1": 4}},
	"NVIDIA RTX A6000": {
		cloudSecure:    {"US-GA-1": 16, "EU-SE-1": 8},
		cloudCommunity: {"US-CA-2": 12, "EU-CZ-1": 8, "AP-JP-1": 4},
	},
	"NVIDIA GeForce RTX 4090": {
		cloudSecure:    {"US-KS-2": 32, "EU-RO-1": 24, "EU-SE-1": 16},
		cloudCommunity: {"US-CA-2": 16, "US-IL-1": 8, "EU-CZ-1": 12, "EUR-IS-1": 8, "AP-JP-1": 4},
	},
	"NVIDIA GeForce RTX 5090": {cloudSecure: {"US-TX-3": 16, "EU-RO-1": 0}, cloudCommunity: {"EU-CZ-1": 4}},
	"AMD Instinct MI300X OAM": {cloudSecure: {"US-TX-3": 8}},
}

// offering is one GPU type sold in one cloud in one data centre.
type offering struct {
	gpu   seedGPU
	cloud string
	dc    string
	// region is the data centre's continental region.
	region string
	// stock is free GPUs before any pod is placed.
	stock int
}

// seedOfferings builds the stand-in's offerings; scale > 1 adds synthetic
// copies of every data centre with their own stock, so a sandbox can be
// measured on a catalog of any size.
func seedOfferings(scale int) []offering {
	var out []offering
	for n := 1; n <= max(scale, 1); n++ {
		for _, dc := range seedDataCenters {
			id := dc.id
			if n > 1 {
				id = vendors.ScaleCopy(dc.id, n)
			}
			for _, g := range seedGPUs {
				for _, cloud := range []string{cloudSecure, cloudCommunity} {
					stock, sold := seedStock[g.id][cloud][dc.id]
					if !sold {
						continue
					}
					if n > 1 {
						stock = standin.Spread(stock, id+"/"+g.id+"/"+cloud)
					}
					out = append(out, offering{gpu: g, cloud: cloud, dc: id, region: dc.region, stock: stock})
				}
			}
		}
	}
	return out
}

// listPrice is a GPU's price per GPU-hour in a cloud (0: not sold there).
func (g seedGPU) listPrice(cloud string) float64 {
	if cloud == cloudCommunity {
		return g.community
	}
	return g.secure
}

// maxCount is a GPU's largest pod in a cloud.
func (g seedGPU) maxCount(cloud string) int {
	if cloud == cloudCommunity {
		return g.maxComm
	}
	return g.maxSecure
}
