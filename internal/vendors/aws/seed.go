package aws

import "fmt"

// The stand-in's catalog: EC2's GPU instance types with their hardware as
// DescribeInstanceTypes reports it, their us-east-1 on-demand list prices
// (USD per instance-hour, Amazon EC2 On-Demand pricing, 2025-2026), and
// the regions and zones that sell them.

// seedRegion is a region, its zones, and how its prices compare with
// us-east-1's.
type seedRegion struct {
	name  string
	zones []string
	price float64
}

var seedRegions = []seedRegion{
	{"us-east-1", []string{"a", "b", "c", "d", "f"}, 1},
	{"us-east-2", []string{"a", "b", "c"}, 1},
	{"us-west-2", []string{"a", "b", "c", "d"}, 1},
	{"eu-west-1", []string{"a", "b", "c"}, 1.1},
	{"eu-central-1", []string{"a", "b", "c"}, 1.17},
	{"eu-north-1", []string{"a", "b", "c"}, 1.05},
	{"ap-northeast-1", []string{"a", "c", "d"}, 1.26},
	{"ap-southeast-2", []string{"a", "b", "c"}, 1.24},
}

// seedType is an instance type, its on-demand price in us-east-1 and its
// stock per region: a region absent from stock does not sell the type, a
// 0 is sold out.
type seedType struct {
	name          string
	vcpus         int32
	memoryMiB     int64
	gpu           string
	gpus          int32
	gpuMemoryMiB  int32
	onDemandPrice float64
	stock         map[string]int
}

var seedTypes = []seedType{
	{"g4dn.xlarge", 4, 16384, "T4", 1, 16384, 0.526,
		map[string]int{"us-east-1": 8, "us-east-2": 4, "us-west-2": 6, "eu-west-1": 4, "eu-central-1": 3, "eu-north-1": 2, "ap-northeast-1": 3, "ap-southeast-2": 2}},
	{"g4dn.12xlarge", 48, 196608, "T4", 4, 16384, 3.912,
		map[string]int{"us-east-1": 2, "us-west-2": 2, "eu-west-1": 1}},
	{"g5.xlarge", 4, 16384, "A10G", 1, 24576, 1.006,
		map[string]int{"us-east-1": 6, "us-east-2": 3, "us-west-2": 4, "eu-west-1": 3, "eu-central-1": 2, "eu-north-1": 1, "ap-northeast-1": 2, "ap-southeast-2": 1}},
	{"g5.12xlarge", 48, 196608, "A10G", 4, 24576, 5.672,
		map[string]int{"us-east-1": 2, "us-west-2": 1, "eu-west-1": 1}},
	{"g5.48xlarge", 192, 786432, "A10G", 8, 24576, 16.288,
		map[string]int{"us-east-1": 1, "us-west-2": 1}},
	{"g6.xlarge", 4, 16384, "L4", 1, 22888, 0.8048,
		map[string]int{"us-east-1": 6, "us-east-2": 3, "us-west-2": 3, "eu-west-1": 2, "eu-central-1": 2, "eu-north-1": 2, "ap-northeast-1": 1, "ap-southeast-2": 1}},
	{"g6.48xlarge", 192, 786432, "L4", 8, 22888, 13.3504,
		map[string]int{"us-east-1": 1, "us-west-2": 1}},
	{"g6e.xlarge", 4, 32768, "L40S", 1, 45776, 1.861,
		map[string]int{"us-east-1": 4, "us-east-2": 2, "us-west-2": 2, "eu-central-1": 1, "eu-north-1": 1, "ap-northeast-1": 1}},
	{"g6e.48xlarge", 192, 1572864, "L40S", 8, 45776, 30.13118,
		map[string]int{"us-east-1": 1, "us-west-2": 0}},
	{"p4d.24xlarge", 96, 1179648, "A100", 8, 40960, 21.96,
		map[string]int{"us-east-1": 1, "us-west-2": 1, "eu-west-1": 0, "eu-central-1": 1, "ap-northeast-1": 1}},
	{"p4de.24xlarge", 96, 1179648, "A100", 8, 81920, 27.44705,
		map[string]int{"us-east-1": 1, "us-west-2": 0}},
	{"p5.4xlarge", 16, 262144, "H100", 1, 81920, 4.326,
		map[string]int{"us-east-1": 4, "us-east-2": 2, "us-west-2": 2, "eu-north-1": 1, "ap-northeast-1": 1}},
	{"p5.48xlarge", 192, 2097152, "H100", 8, 81920, 55.04,
		map[string]int{"us-east-1": 1, "us-east-2": 1, "us-west-2": 1, "eu-north-1": 0, "ap-northeast-1": 1, "ap-southeast-2": 0}},
	{"p5e.48xlarge", 192, 2097152, "H200", 8, 144384, 60.0,
		map[string]int{"us-east-2": 1, "us-west-2": 0}},
	{"p5en.48xlarge", 192, 2097152, "H200", 8, 144384, 63.296,
		map[string]int{"us-east-1": 1, "us-east-2": 1, "us-west-2": 1, "ap-northeast-1": 0}},
	{"p6-b200.48xlarge", 192, 2097152, "B200", 8, 184320, 113.9328,
		map[string]int{"us-east-1": 0, "us-west-2": 1}},
}

// maxRegionCopies caps the synthetic regions of a scaled catalog.
const maxRegionCopies = 4

// scaledRegions returns the regions multiplied by scale: every region
// gets synthetic siblings "<region>-s2".."-sM" (M = scale, at most
// maxRegionCopies) selling what it sells, so a benchmark can run on
// many more offers.
func scaledRegions(scale int) []seedRegion {
	if scale <= 1 {
		return seedRegions
	}
	var out []seedRegion
	for _, r := range seedRegions {
		out = append(out, r)
		for k := 2; k <= min(scale, maxRegionCopies); k++ {
			out = append(out, seedRegion{fmt.Sprintf("%s-s%d", r.name, k), r.zones, r.price})
		}
	}
	return out
}

// seedRegionOf is the seed region a synthetic one copies.
func seedRegionOf(region string) string {
	for _, r := range seedRegions {
		if len(region) > len(r.name) && region[:len(r.name)] == r.name && region[len(r.name)] == '-' {
			return r.name
		}
	}
	return region
}
