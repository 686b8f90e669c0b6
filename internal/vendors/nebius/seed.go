package nebius

import (
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// The stand-in's catalog: Nebius's real regions, platforms and presets,
// with list prices (USD per GPU-hour, on-demand and preemptible) from
// Nebius's public price page. Nebius has no APAC region.

// seedRegion is one of Nebius's regions and the InfiniBand fabric its
// GPU clusters are built on.
type seedRegion struct {
	name, fabric string
}

var seedRegions = []seedRegion{
	{"eu-north1", "fabric-3"},
	{"eu-north2", "fabric-7"},
	{"eu-west1", "fabric-5"},
	{"us-central1", "us-central1-a"},
	{"me-west1", "me-west1-a"},
	{"uk-south1", "uk-south1-a"},
}

// seedPlatform is a compute platform: one GPU model on one host type.
type seedPlatform struct {
	name, human string
	gpuMemoryGB int
	// onDemand and preemptible are USD per GPU-hour (preemptible 0: the
	// platform takes no preemptible VMs); cpuHour prices a CPU-only preset.
	onDemand, preemptible, cpuHour float64
	presets                        []seedPreset
}

type seedPreset struct {
	name                string
	gpus, vcpus, memGiB int
	clustering          bool
}

var seedPlatforms = []seedPlatform{
	{name: "gpu-h100-sxm", human: "NVIDIA® H100 NVLink with Intel Sapphire Rapids", gpuMemoryGB: 80,
		onDemand: 2.95, preemptible: 1.25, presets: []seedPreset{
			{"1gpu-16vcpu-200gb", 1, 16, 200, false},
			{"8gpu-128vcpu-1600gb", 8, 128, 1600, true},
		}},
	{name: "gpu-h200-sxm", human: "NVIDIA® H200 NVLink with Intel Sapphire Rapids", gpuMemoryGB: 141,
		onDemand: 3.50, preemptible: 1.45, presets: []seedPreset{
			{"1gpu-16vcpu-200gb", 1, 16, 200, false},
			{"8gpu-128vcpu-1600gb", 8, 128, 1600, true},
		}},
	{name: "gpu-b200-sxm", human: "NVIDIA® B200 NVLink with Intel Emerald Rapids", gpuMemoryGB: 180,
		onDemand: 5.50, preemptible: 2.40, presets: []seedPreset{
			{"1gpu-20vcpu-224gb", 1, 20, 224, false},
			{"8gpu-160vcpu-1792gb", 8, 160, 1792, true},
		}},
	{name: "gpu-l40s-a", human: "NVIDIA® L40S PCIe with Intel Ice Lake", gpuMemoryGB: 48,
		onDemand: 1.55, presets: []seedPreset{
			{"1gpu-8vcpu-32gb", 1, 8, 32, false},
			{"1gpu-16vcpu-64gb", 1, 16, 64, false},
		}},
	{name: "cpu-d3", human: "Non-GPU AMD EPYC Genoa", cpuHour: 0.012, presets: []seedPreset{
		{"4vcpu-16gb", 0, 4, 16, false},
		{"16vcpu-64gb", 0, 16, 64, false},
	}},
}

// seedStock is how many VMs of each platform/preset a region can start;
// a pair missing from a region is not sold there and 0 is sold out.
var seedStock = map[string]map[string]int{
	"eu-north1": {
		"gpu-h100-sxm/1gpu-16vcpu-200gb": 24, "gpu-h100-sxm/8gpu-128vcpu-1600gb": 12,
		"gpu-h200-sxm/1gpu-16vcpu-200gb": 16, "gpu-h200-sxm/8gpu-128vcpu-1600gb": 8,
		"gpu-l40s-a/1gpu-8vcpu-32gb": 30, "gpu-l40s-a/1gpu-16vcpu-64gb": 0,
		"cpu-d3/4vcpu-16gb": 200, "cpu-d3/16vcpu-64gb": 100,
	},
	"eu-north2": {
		"gpu-h200-sxm/1gpu-16vcpu-200gb": 8, "gpu-h200-sxm/8gpu-128vcpu-1600gb": 16,
		"cpu-d3/4vcpu-16gb": 50,
	},
	"eu-west1": {
		"gpu-h200-sxm/1gpu-16vcpu-200gb": 10, "gpu-h200-sxm/8gpu-128vcpu-1600gb": 6,
		"cpu-d3/4vcpu-16gb": 100,
	},
	"us-central1": {
		"gpu-h200-sxm/1gpu-16vcpu-200gb": 12, "gpu-h200-sxm/8gpu-128vcpu-1600gb": 10,
		"gpu-b200-sxm/1gpu-20vcpu-224gb": 0, "gpu-b200-sxm/8gpu-160vcpu-1792gb": 4,
		"cpu-d3/4vcpu-16gb": 100,
	},
	"me-west1": {
		"gpu-b200-sxm/8gpu-160vcpu-1792gb": 2,
		"cpu-d3/4vcpu-16gb":                40,
	},
	"uk-south1": {
		"gpu-b200-sxm/1gpu-20vcpu-224gb": 6, "gpu-b200-sxm/8gpu-160vcpu-1792gb": 4,
		"cpu-d3/4vcpu-16gb": 40,
	},
}

// diskGiBHour is the price of a GiB-hour of NETWORK_SSD ($0.071 a
// GiB-month over 730 hours).
const diskGiBHour = 0.071 / 730

// offer is one platform/preset sold in one region.
type offer struct {
	region, fabric string
	platform       *seedPlatform
	preset         seedPreset
	stock          int
}

func (o offer) key() string { return o.region + "/" + o.platform.name + "/" + o.preset.name }

// seedOffers builds the stand-in's offers; scale > 1 adds synthetic
// copies of every region ("eu-north1-s2", ...) with their own stock, so
// a sandbox can be measured on a catalog of any size.
func seedOffers(scale int) []offer {
	var offers []offer
	for n := 1; n <= max(scale, 1); n++ {
		for _, r := range seedRegions {
			region := r.name
			if n > 1 {
				region = vendors.ScaleCopy(r.name, n)
			}
			for i := range seedPlatforms {
				p := &seedPlatforms[i]
				for _, pr := range p.presets {
					stock, sold := seedStock[r.name][p.name+"/"+pr.name]
					if !sold {
						continue
					}
					if n > 1 {
						stock = standin.Spread(stock, region+"/"+p.name+"/"+pr.name)
					}
					offers = append(offers, offer{region: region, fabric: r.fabric, platform: p, preset: pr, stock: stock})
				}
			}
		}
	}
	return offers
}
