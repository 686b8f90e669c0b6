package vultr

import (
	"maps"
	"slices"
)

// The stand-in's catalog: Vultr's regions as GET /regions answers them
// (the recorded answer in vendor-specs/vultr/recorded/vultr-php
// v2-get-regions.json, with Mumbai, Johannesburg and Tel Aviv opened
// since), and Cloud GPU plans as Vultr's pricing pages list them in
// 2025-2026, with integer monthly costs (the description's monthly_cost
// is an integer).

var seedRegions = []regionWire{
	{"ams", "Amsterdam", "NL", "Europe", []string{"ddos_protection", "block_storage_storage_opt"}},
	{"atl", "Atlanta", "US", "North America", []string{"ddos_protection"}},
	{"bom", "Mumbai", "IN", "Asia", []string{"ddos_protection"}},
	{"cdg", "Paris", "FR", "Europe", []string{"ddos_protection"}},
	{"dfw", "Dallas", "US", "North America", []string{"ddos_protection"}},
	{"ewr", "New Jersey", "US", "North America", []string{"ddos_protection", "block_storage_high_perf"}},
	{"fra", "Frankfurt", "DE", "Europe", []string{"ddos_protection"}},
	{"icn", "Seoul", "KR", "Asia", []string{"ddos_protection"}},
	{"jnb", "Johannesburg", "ZA", "Africa", []string{}},
	{"lax", "Los Angeles", "US", "North America", []string{"ddos_protection", "block_storage_high_perf"}},
	{"lhr", "London", "GB", "Europe", []string{"ddos_protection"}},
	{"mel", "Melbourne", "AU", "Australia", []string{}},
	{"nrt", "Tokyo", "JP", "Asia", []string{"ddos_protection", "block_storage_high_perf"}},
	{"ord", "Chicago", "US", "North America", []string{"ddos_protection"}},
	{"sea", "Seattle", "US", "North America", []string{"ddos_protection"}},
	{"sgp", "Singapore", "SG", "Asia", []string{"ddos_protection"}},
	{"sjc", "Silicon Valley", "US", "North America", []string{"ddos_protection"}},
	{"syd", "Sydney", "AU", "Australia", []string{"ddos_protection", "block_storage_high_perf"}},
	{"tlv", "Tel Aviv", "IL", "Asia", []string{}},
	{"yto", "Toronto", "CA", "North America", []string{"ddos_protection"}},
}

// seedPlan is a plan and how many each region holds; its locations are
// the regions of stock, a 0 is sold out there.
type seedPlan struct {
	plan  planWire
	stock map[string]int
}

func vcg(id string, vcpus, ramMB, disk, bandwidth, monthly int, gpuType string, vram int, stock map[string]int) seedPlan {
	return seedPlan{planWire{ID: id, VCPUCount: vcpus, RAM: ramMB, Disk: disk, DiskCount: 1, Bandwidth: bandwidth,
		MonthlyCost: monthly, Type: planType, Locations: slices.Sorted(maps.Keys(stock)), GPUVRAM: vram, GPUType: gpuType}, stock}
}

var seedPlans = []seedPlan{
	// Slices of a shared GPU, which the adapter leaves out.
	vcg("vcg-a16-2c-8g-4vram", 2, 8192, 70, 2000, 86, "NVIDIA_A16", 4, map[string]int{"ewr": 8, "fra": 4}),
	vcg("vcg-a100-1c-6g-4vram", 1, 6144, 70, 1000, 90, "NVIDIA_A100", 4, map[string]int{"ewr": 6, "sjc": 4}),
	vcg("vcg-a40-2c-10g-4vram", 2, 10240, 90, 1000, 98, "NVIDIA_A40", 4, map[string]int{"ord": 3}),
	// Whole GPUs.
	vcg("vcg-a16-6c-64g-16vram", 6, 65536, 350, 6000, 344, "NVIDIA_A16", 16, map[string]int{"ewr": 4, "fra": 2, "sgp": 1}),
	vcg("vcg-a16-24c-256g-64vram", 24, 262144, 1200, 10000, 1376, "NVIDIA_A16", 64, map[string]int{"ewr": 1, "fra": 0}),
	vcg("vcg-a40-24c-120g-48vram", 24, 122880, 1400, 10000, 1176, "NVIDIA_A40", 48, map[string]int{"ord": 2, "ams": 1}),
	vcg("vcg-a100-12c-120g-80vram", 12, 122880, 1400, 10000, 1750, "NVIDIA_A100", 80, map[string]int{"ewr": 3, "sjc": 2, "ams": 1, "nrt": 0}),
	vcg("vcg-a100-96c-960g-640vram", 96, 983040, 11200, 20000, 14000, "NVIDIA_A100", 640, map[string]int{"ewr": 1, "sjc": 0}),
	vcg("vcg-l40s-16c-180g-48vram", 16, 184320, 1200, 10000, 1128, "NVIDIA_L40S", 48, map[string]int{"ewr": 4, "lax": 3, "ord": 2, "ams": 2, "lhr": 1, "nrt": 1, "bom": 1}),
	vcg("vcg-l40s-64c-720g-192vram", 64, 737280, 4800, 20000, 4512, "NVIDIA_L40S", 192, map[string]int{"ewr": 1, "lax": 1}),
	vcg("vcg-h100-24c-240g-80vram", 24, 245760, 2600, 15000, 2009, "NVIDIA_H100", 80, map[string]int{"ewr": 2, "sea": 1, "fra": 1, "syd": 0}),
	vcg("vcg-h100-192c-1920g-640vram", 192, 1966080, 20800, 30000, 16074, "NVIDIA_H100", 640, map[string]int{"sea": 1, "atl": 1, "fra": 0, "sgp": 0}),
	vcg("vcg-gh200-72c-480g-96vram", 72, 491520, 4000, 15000, 1344, "NVIDIA_GH200", 96, map[string]int{"ord": 1, "dfw": 0}),
	vcg("vcg-mi300x-192c-2048g-1536vram", 192, 2097152, 25600, 30000, 12902, "AMD_MI300X", 1536, map[string]int{"ord": 1, "dfw": 0, "jnb": 0}),
}
