package vastai

import (
	"fmt"
	"strings"
)

// The stand-in's marketplace: machines of the kinds Vast.ai lists, with
// GPU names as Vast spells them, hosts in the US, Canada, Europe and
// Asia-Pacific, and prices in the ranges its search showed in 2025-2026
// (USD per machine-hour; storage in USD per GB-month).

// seedMachine is one host machine offered whole.
type seedMachine struct {
	gpu      string
	count    int
	ramGB    int     // per GPU
	nvlink   float64 // NVLink GB/s; 0 without
	cores    int
	memGB    int
	diskGB   float64
	dph      float64 // dph_base, the on-demand machine price
	minBid   float64
	storage  float64 // storage_cost
	location string
	// reliability below the adapter's floor, an unverified host or no
	// direct port keep a machine out of supply's searches; taken
	// machines are rented by someone else and not listed at all.
	reliability float64
	unverified  bool
	noDirect    bool
	taken       bool
}

var seedMachines = []seedMachine{
	// United States and Canada.
	{gpu: "H100 SXM", count: 8, ramGB: 80, nvlink: 450, cores: 192, memGB: 2048, diskGB: 7000, dph: 16.0, minBid: 10.4, storage: 0.20, location: "Texas, US", reliability: 0.998},
	{gpu: "H100 SXM", count: 1, ramGB: 80, cores: 24, memGB: 256, diskGB: 900, dph: 2.2, minBid: 1.4, storage: 0.20, location: "Virginia, US", reliability: 0.995},
	{gpu: "H100 PCIE", count: 1, ramGB: 80, cores: 32, memGB: 192, diskGB: 1500, dph: 1.75, minBid: 1.1, storage: 0.15, location: "California, US", reliability: 0.992},
	{gpu: "H100 NVL", count: 2, ramGB: 94, nvlink: 300, cores: 64, memGB: 512, diskGB: 3000, dph: 4.4, minBid: 2.9, storage: 0.15, location: "Utah, US", reliability: 0.99},
	{gpu: "H200", count: 8, ramGB: 141, nvlink: 450, cores: 224, memGB: 2048, diskGB: 14000, dph: 26.4, minBid: 18.0, storage: 0.25, location: "Texas, US", reliability: 0.997},
	{gpu: "B200", count: 8, ramGB: 180, nvlink: 900, cores: 224, memGB: 2048, diskGB: 28000, dph: 36.0, minBid: 24.0, storage: 0.25, location: "Oregon, US", reliability: 0.996},
	{gpu: "A100 SXM4", count: 1, ramGB: 80, cores: 30, memGB: 240, diskGB: 1000, dph: 1.05, minBid: 0.6, storage: 0.15, location: "Washington, US", reliability: 0.99},
	{gpu: "A100 SXM4", count: 8, ramGB: 40, nvlink: 300, cores: 128, memGB: 1024, diskGB: 6000, dph: 6.0, minBid: 3.8, storage: 0.12, location: "Nevada, US", reliability: 0.985},
	{gpu: "A100 PCIE", count: 1, ramGB: 80, cores: 16, memGB: 128, diskGB: 800, dph: 0.95, minBid: 0.55, storage: 0.12, location: "Ohio, US", reliability: 0.99, taken: true},
	{gpu: "RTX 4090", count: 1, ramGB: 24, cores: 16, memGB: 64, diskGB: 500, dph: 0.35, minBid: 0.2, storage: 0.10, location: "Florida, US", reliability: 0.98},
	{gpu: "RTX 4090", count: 4, ramGB: 24, cores: 48, memGB: 256, diskGB: 2000, dph: 1.4, minBid: 0.85, storage: 0.10, location: "Illinois, US", reliability: 0.985},
	{gpu: "RTX 5090", count: 2, ramGB: 32, cores: 32, memGB: 128, diskGB: 1000, dph: 1.3, minBid: 0.8, storage: 0.12, location: "New York, US", reliability: 0.99},
	{gpu: "RTX 3090", count: 1, ramGB: 24, cores: 12, memGB: 32, diskGB: 400, dph: 0.2, minBid: 0.11, storage: 0.08, location: "Georgia, US", reliability: 0.97},
	{gpu: "L40S", count: 1, ramGB: 48, cores: 24, memGB: 128, diskGB: 800, dph: 0.85, minBid: 0.5, storage: 0.12, location: "Arizona, US", reliability: 0.99},
	{gpu: "Tesla V100", count: 8, ramGB: 16, nvlink: 150, cores: 64, memGB: 512, diskGB: 2000, dph: 1.6, minBid: 0.9, storage: 0.08, location: "Quebec, CA", reliability: 0.975},
	{gpu: "RTX A6000", count: 2, ramGB: 48, cores: 32, memGB: 256, diskGB: 1500, dph: 0.9, minBid: 0.5, storage: 0.10, location: "Ontario, CA", reliability: 0.99},
	{gpu: "RTX PRO 6000 WS", count: 1, ramGB: 96, cores: 32, memGB: 256, diskGB: 1500, dph: 1.1, minBid: 0.7, storage: 0.12, location: "Quebec, CA", reliability: 0.99},
	// Europe.
	{gpu: "H100 SXM", count: 8, ramGB: 80, nvlink: 450, cores: 192, memGB: 2048, diskGB: 7000, dph: 17.6, minBid: 11.0, storage: 0.22, location: "Stockholm, SE", reliability: 0.997},
	{gpu: "H100 PCIE", count: 2, ramGB: 80, cores: 48, memGB: 384, diskGB: 2000, dph: 3.8, minBid: 2.3, storage: 0.15, location: "Amsterdam, NL", reliability: 0.99},
	{gpu: "RTX 4090", count: 2, ramGB: 24, cores: 32, memGB: 128, diskGB: 1000, dph: 0.75, minBid: 0.42, storage: 0.10, location: "Berlin, DE", reliability: 0.985},
	{gpu: "RTX 4090", count: 8, ramGB: 24, cores: 64, memGB: 512, diskGB: 4000, dph: 2.8, minBid: 1.7, storage: 0.10, location: "Warsaw, PL", reliability: 0.98, unverified: true},
	{gpu: "A100 PCIE", count: 1, ramGB: 40, cores: 16, memGB: 96, diskGB: 600, dph: 0.7, minBid: 0.4, storage: 0.12, location: "Paris, FR", reliability: 0.99},
	{gpu: "L40S", count: 4, ramGB: 48, cores: 64, memGB: 512, diskGB: 3000, dph: 3.4, minBid: 2.0, storage: 0.12, location: "Oslo, NO", reliability: 0.99},
	{gpu: "RTX 6000Ada", count: 1, ramGB: 48, cores: 16, memGB: 128, diskGB: 800, dph: 0.75, minBid: 0.45, storage: 0.10, location: "Prague, CZ", reliability: 0.985},
	{gpu: "H200 NVL", count: 1, ramGB: 141, cores: 32, memGB: 256, diskGB: 2000, dph: 2.9, minBid: 1.9, storage: 0.20, location: "Frankfurt, DE", reliability: 0.995, taken: true},
	{gpu: "RTX 3090", count: 2, ramGB: 24, cores: 16, memGB: 64, diskGB: 500, dph: 0.42, minBid: 0.22, storage: 0.08, location: "Madrid, ES", reliability: 0.90},
	// Asia-Pacific.
	{gpu: "H100 SXM", count: 1, ramGB: 80, cores: 24, memGB: 256, diskGB: 900, dph: 2.6, minBid: 1.7, storage: 0.22, location: "Tokyo, JP", reliability: 0.995},
	{gpu: "RTX 4090", count: 1, ramGB: 24, cores: 16, memGB: 64, diskGB: 500, dph: 0.38, minBid: 0.22, storage: 0.10, location: "Seoul, KR", reliability: 0.98},
	{gpu: "A100 SXM4", count: 4, ramGB: 80, nvlink: 300, cores: 64, memGB: 512, diskGB: 3000, dph: 4.8, minBid: 3.0, storage: 0.15, location: "Singapore, SG", reliability: 0.99},
	{gpu: "RTX 4090", count: 2, ramGB: 24, cores: 24, memGB: 128, diskGB: 1000, dph: 0.8, minBid: 0.45, storage: 0.10, location: "Taipei, TW", reliability: 0.98},
	{gpu: "L4", count: 1, ramGB: 24, cores: 8, memGB: 48, diskGB: 400, dph: 0.4, minBid: 0.22, storage: 0.12, location: "Sydney, AU", reliability: 0.99},
	{gpu: "Tesla T4", count: 1, ramGB: 16, cores: 8, memGB: 32, diskGB: 300, dph: 0.15, minBid: 0.08, storage: 0.08, location: "Mumbai, IN", reliability: 0.97},
	{gpu: "Tesla V100", count: 1, ramGB: 32, cores: 8, memGB: 64, diskGB: 400, dph: 0.3, minBid: 0.16, storage: 0.08, location: "Hong Kong, HK", reliability: 0.97},
	{gpu: "RTX A5000", count: 1, ramGB: 24, cores: 12, memGB: 64, diskGB: 400, dph: 0.25, minBid: 0.14, storage: 0.08, location: "Osaka, JP", reliability: 0.98, noDirect: true},
	{gpu: "RTX 4080S", count: 1, ramGB: 16, cores: 12, memGB: 48, diskGB: 400, dph: 0.22, minBid: 0.12, storage: 0.08, location: "Bangkok, TH", reliability: 0.975},
}

// machine is a seeded machine with its marketplace ids.
type machine struct {
	seedMachine
	askID     int64
	machineID int64
	hostID    int64
}

// seedMarket builds the stand-in's machines; scale > 1 adds synthetic
// copies of every machine in sibling locations ("Texas-s2, US"), each a
// little dearer, so a sandbox can be measured on tens of thousands of
// offers.
func seedMarket(scale int) []machine {
	var out []machine
	for k := 1; k <= max(scale, 1); k++ {
		for i, m := range seedMachines {
			n := int64((k-1)*len(seedMachines) + i)
			mc := machine{seedMachine: m, askID: 21000000 + n*1013, machineID: 40000 + n*7, hostID: 100000 + n*13}
			if k > 1 {
				city, cc := splitLocation(m.location)
				mc.location = fmt.Sprintf("%s-s%d, %s", city, k, cc)
				f := 1 + 0.03*float64(k)
				mc.dph, mc.minBid = m.dph*f, m.minBid*f
			}
			out = append(out, mc)
		}
	}
	return out
}

// splitLocation splits "City, CC".
func splitLocation(loc string) (city, cc string) {
	i := strings.LastIndex(loc, ",")
	if i < 0 {
		return loc, ""
	}
	return loc[:i], strings.TrimSpace(loc[i+1:])
}
