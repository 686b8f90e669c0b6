package digitalocean

// The stand-in's catalog: DigitalOcean's GPU Droplet sizes with their
// list prices (USD per Droplet-hour) and specs, as its pricing page and
// GET /v2/sizes showed them in 2025-2026 (gpu-h100x1-80gb at $6.74 as in
// the description's gpu_droplets example), and one CPU size the adapter
// must skip.

// seedRegions are DigitalOcean's regions with their names.
var seedRegions = []regionBody{
	{Name: "New York 1", Slug: "nyc1"},
	{Name: "New York 2", Slug: "nyc2"},
	{Name: "New York 3", Slug: "nyc3"},
	{Name: "Atlanta 1", Slug: "atl1"},
	{Name: "Toronto 1", Slug: "tor1"},
	{Name: "San Francisco 3", Slug: "sfo3"},
	{Name: "Amsterdam 3", Slug: "ams3"},
	{Name: "Frankfurt 1", Slug: "fra1"},
	{Name: "London 1", Slug: "lon1"},
	{Name: "Singapore 1", Slug: "sgp1"},
	{Name: "Bangalore 1", Slug: "blr1"},
	{Name: "Sydney 1", Slug: "syd1"},
}

// seedSize is a size and how many Droplets of it each region holds; a
// region absent from stock never sells it, a 0 is sold out.
type seedSize struct {
	s     sizeBody
	stock map[string]int
}

// gpu is a GPU size: memory and disks in GiB, the GPUs' VRAM each.
func gpu(slug, model string, count, vram, vcpus, memGiB, bootGiB, scratchGiB int, hourly float64) sizeBody {
	s := sizeBody{
		Slug: slug, Memory: memGiB * 1024, VCPUs: vcpus, Disk: bootGiB, Transfer: 15,
		PriceHourly: hourly, PriceMonthly: float64(int(hourly*672*100)) / 100, Description: "GPU Droplet",
		DiskInfo: []diskInfo{{Type: "local", Size: amount{bootGiB, "gib"}}},
		GPUInfo:  &gpuInfo{Count: count, Model: model, VRAM: amount{vram, "gib"}},
	}
	if scratchGiB > 0 {
		s.DiskInfo = append(s.DiskInfo, diskInfo{Type: "scratch", Size: amount{scratchGiB, "gib"}})
	}
	return s
}

var seedSizes = []seedSize{
	{sizeBody{Slug: "s-1vcpu-1gb", Memory: 1024, VCPUs: 1, Disk: 25, Transfer: 1, PriceMonthly: 6, PriceHourly: 0.00893,
		Description: "Basic", DiskInfo: []diskInfo{{Type: "local", Size: amount{25, "gib"}}}},
		map[string]int{"nyc1": 100, "fra1": 100}},
	{gpu("gpu-h100x1-80gb", "nvidia_h100", 1, 80, 20, 240, 720, 5120, 6.74),
		map[string]int{"tor1": 4, "nyc2": 3, "atl1": 2, "ams3": 0}},
	{gpu("gpu-h100x8-640gb", "nvidia_h100", 8, 80, 160, 1920, 2046, 40960, 23.92),
		map[string]int{"tor1": 2, "nyc2": 1, "atl1": 1}},
	{gpu("gpu-h200x1-141gb", "nvidia_h200", 1, 141, 24, 240, 720, 5120, 3.44),
		map[string]int{"atl1": 2, "nyc2": 0}},
	{gpu("gpu-h200x8-1128gb", "nvidia_h200", 8, 141, 192, 1920, 2046, 40960, 27.52),
		map[string]int{"atl1": 1}},
	{gpu("gpu-mi300x1-192gb", "amd_mi300x", 1, 192, 20, 240, 720, 5120, 1.99),
		map[string]int{"atl1": 3, "nyc2": 2}},
	{gpu("gpu-mi300x8-1536gb", "amd_mi300x", 8, 192, 160, 1920, 2046, 40960, 15.92),
		map[string]int{"atl1": 1, "nyc2": 0}},
	{gpu("gpu-l40sx1-48gb", "nvidia_l40s", 1, 48, 8, 64, 500, 0, 1.57),
		map[string]int{"tor1": 3, "ams3": 2, "fra1": 2, "sgp1": 1}},
	{gpu("gpu-4000adax1-20gb", "nvidia_rtx_4000_ada", 1, 20, 8, 32, 500, 0, 0.76),
		map[string]int{"tor1": 6, "nyc2": 4, "ams3": 3, "fra1": 2, "lon1": 2, "blr1": 1, "syd1": 1}},
	{gpu("gpu-6000adax1-48gb", "nvidia_rtx_6000_ada", 1, 48, 8, 64, 500, 0, 1.57),
		map[string]int{"tor1": 2, "nyc2": 2, "ams3": 1}},
}
