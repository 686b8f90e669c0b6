package lambda

import "fmt"

// The stand-in's catalog: Lambda's real regions and instance types with
// their list prices (cents per instance-hour) and specs, as Lambda's
// public pricing and API showed them in 2025-2026.

// seedRegions are Lambda's regions with the descriptions GET /regions
// gives.
var seedRegions = []region{
	{"us-west-1", "California, USA"},
	{"us-west-2", "Arizona, USA"},
	{"us-west-3", "Utah, USA"},
	{"us-south-1", "Texas, USA"},
	{"us-south-2", "North Texas, USA"},
	{"us-south-3", "Central Texas, USA"},
	{"us-east-1", "Virginia, USA"},
	{"us-east-2", "Washington DC, USA"},
	{"us-midwest-1", "Illinois, USA"},
	{"europe-central-1", "Germany"},
	{"asia-northeast-1", "Tokyo, Japan"},
	{"asia-northeast-2", "Osaka, Japan"},
	{"asia-south-1", "India"},
	{"me-west-1", "Israel"},
}

// seedType is an instance type and how many units each region holds;
// a region absent from stock never has the type, a 0 is sold out.
type seedType struct {
	t     instanceType
	stock map[string]int
}

func it(name, desc, gpu string, cents, vcpus, mem, storage, gpus int) instanceType {
	return instanceType{Name: name, Description: desc, GPUDescription: gpu, PriceCentsPerHour: cents,
		Specs: instanceTypeSpecs{VCPUs: vcpus, MemoryGiB: mem, StorageGiB: storage, GPUs: gpus}}
}

var seedTypes = []seedType{
	{it("gpu_1x_h100_pcie", "1x H100 (80 GB PCIe)", "H100 (80 GB PCIe)", 249, 26, 200, 1024, 1),
		map[string]int{"us-west-1": 4, "us-east-1": 3, "us-south-1": 2, "europe-central-1": 0}},
	{it("gpu_1x_h100_sxm5", "1x H100 (80 GB SXM5)", "H100 (80 GB SXM5)", 329, 26, 225, 2816, 1),
		map[string]int{"us-south-2": 3, "us-west-3": 2, "us-east-2": 1}},
	{it("gpu_2x_h100_sxm5", "2x H100 (80 GB SXM5)", "H100 (80 GB SXM5)", 658, 52, 450, 5632, 2),
		map[string]int{"us-south-2": 2, "us-west-3": 1}},
	{it("gpu_4x_h100_sxm5", "4x H100 (80 GB SXM5)", "H100 (80 GB SXM5)", 1316, 104, 900, 11264, 4),
		map[string]int{"us-south-2": 1, "us-midwest-1": 0}},
	{it("gpu_8x_h100_sxm5", "8x H100 (80 GB SXM5)", "H100 (80 GB SXM5)", 2392, 208, 1800, 24780, 8),
		map[string]int{"us-south-2": 2, "us-south-3": 1, "us-midwest-1": 1, "asia-northeast-1": 1, "me-west-1": 0}},
	{it("gpu_1x_a100", "1x A100 (40 GB PCIe)", "A100 (40 GB PCIe)", 129, 30, 200, 512, 1),
		map[string]int{"us-west-1": 0, "us-east-1": 0}},
	{it("gpu_1x_a100_sxm4", "1x A100 (40 GB SXM4)", "A100 (40 GB SXM4)", 129, 30, 200, 512, 1),
		map[string]int{"us-east-1": 3, "us-west-2": 2, "asia-south-1": 1, "europe-central-1": 1}},
	{it("gpu_2x_a100", "2x A100 (40 GB SXM4)", "A100 (40 GB SXM4)", 258, 60, 400, 1024, 2),
		map[string]int{"us-east-1": 1, "us-west-2": 0}},
	{it("gpu_8x_a100", "8x A100 (40 GB SXM4)", "A100 (40 GB SXM4)", 1032, 124, 1800, 6144, 8),
		map[string]int{"us-east-1": 1, "us-west-2": 1}},
	{it("gpu_8x_a100_80gb_sxm4", "8x A100 (80 GB SXM4)", "A100 (80 GB SXM4)", 1432, 240, 1800, 20480, 8),
		map[string]int{"us-east-1": 1, "us-midwest-1": 1, "asia-northeast-1": 0}},
	{it("gpu_1x_a10", "1x A10 (24 GB PCIe)", "A10 (24 GB PCIe)", 75, 30, 200, 1400, 1),
		map[string]int{"us-east-1": 6, "us-west-1": 4, "us-south-1": 3, "europe-central-1": 2, "asia-northeast-1": 2, "asia-south-1": 2}},
	{it("gpu_1x_gh200", "1x GH200 (96 GB)", "GH200 (96 GB)", 149, 64, 432, 4096, 1),
		map[string]int{"us-east-2": 0, "us-west-3": 3, "us-east-1": 2}},
	{it("gpu_1x_b200_sxm6", "1x B200 (180 GB SXM6)", "B200 (180 GB SXM6)", 499, 26, 225, 2816, 1),
		map[string]int{"us-south-3": 0}},
	{it("gpu_8x_b200_sxm6", "8x B200 (180 GB SXM6)", "B200 (180 GB SXM6)", 3592, 208, 2900, 22528, 8),
		map[string]int{"us-south-3": 1, "us-midwest-1": 0}},
	{it("gpu_1x_a6000", "1x A6000 (48 GB)", "RTX A6000 (48 GB)", 80, 14, 100, 512, 1),
		map[string]int{"us-west-1": 3, "us-south-1": 2, "europe-central-1": 1, "asia-northeast-2": 1}},
	{it("gpu_2x_a6000", "2x A6000 (48 GB)", "RTX A6000 (48 GB)", 160, 28, 200, 1024, 2),
		map[string]int{"us-west-1": 1, "us-south-1": 1}},
	{it("gpu_4x_a6000", "4x A6000 (48 GB)", "RTX A6000 (48 GB)", 320, 56, 400, 1024, 4),
		map[string]int{"us-west-1": 1}},
	{it("gpu_1x_rtx6000", "1x RTX 6000 (24 GB)", "RTX 6000 (24 GB)", 50, 14, 46, 512, 1),
		map[string]int{"us-south-1": 2, "asia-northeast-2": 1}},
	{it("gpu_8x_v100", "8x Tesla V100 (16 GB)", "Tesla V100 (16 GB)", 440, 88, 448, 5938, 8),
		map[string]int{"us-south-1": 1, "us-west-1": 0}},
}

// maxRegionCopies caps the synthetic regions: Lambda lists every instance
// type in every region, so scaling both would make the listing, and what
// the adapter reads from it, grow with the square of the scale.
const maxRegionCopies = 4

// scaledCatalog returns the catalog multiplied by scale: every region
// gets synthetic siblings "<region>-s2".."-sM" (M = scale, at most
// maxRegionCopies) and every type synthetic price points "<type>_s2"..
// "_sN", each a little dearer, so a benchmark can run on tens of thousands
// of offers.
func scaledCatalog(scale int) ([]region, []seedType) {
	if scale <= 1 {
		return seedRegions, seedTypes
	}
	copies := min(scale, maxRegionCopies)
	var regions []region
	for _, r := range seedRegions {
		regions = append(regions, r)
		for k := 2; k <= copies; k++ {
			regions = append(regions, region{fmt.Sprintf("%s-s%d", r.Name, k), r.Description})
		}
	}
	var types []seedType
	for _, st := range seedTypes {
		for k := 1; k <= scale; k++ {
			t, stock := st.t, map[string]int{}
			if k > 1 {
				t.Name = fmt.Sprintf("%s_s%d", t.Name, k)
				t.PriceCentsPerHour = t.PriceCentsPerHour * (100 + 3*k) / 100
			}
			for r, n := range st.stock {
				stock[r] = n
				for j := 2; j <= copies; j++ {
					stock[fmt.Sprintf("%s-s%d", r, j)] = n
				}
			}
			types = append(types, seedType{t, stock})
		}
	}
	return regions, types
}
