package verda

import (
	"fmt"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// The stand-in's catalog: Verda's real locations and instance types, with
// on-demand and spot prices in the ranges of Verda's public price list
// (USD per instance-hour, volumes billed apart).

// seedLocation is one of Verda's data centres.
type seedLocation struct {
	code, name, country string
}

var seedLocations = []seedLocation{
	{"FIN-01", "Finland 1", "FI"},
	{"FIN-02", "Finland 2", "FI"},
	{"FIN-03", "Finland 3", "FI"},
	{"ICE-01", "Iceland 1", "IS"},
}

// seedType is an instance type: the GPU as Verda describes it, its count,
// and the machine around it.
type seedType struct {
	name     string
	model    string
	gpu      string // per GPU, as in "1x H100 SXM5 80GB"
	gpus     int
	gpuMemGB float64 // per GPU
	cores    int
	memGB    float64
	price    float64 // on demand
	spot     float64
}

var seedTypes = []seedType{
	{"1H100.80S.30V", "H100", "H100 SXM5 80GB", 1, 80, 30, 120, 2.29, 1.15},
	{"2H100.80S.60V", "H100", "H100 SXM5 80GB", 2, 80, 60, 240, 4.58, 2.30},
	{"4H100.80S.120V", "H100", "H100 SXM5 80GB", 4, 80, 120, 480, 9.16, 4.60},
	{"8H100.80S.176V", "H100", "H100 SXM5 80GB", 8, 80, 176, 1480, 18.32, 9.20},
	{"1H200.141S.44V", "H200", "H200 SXM5 141GB", 1, 141, 44, 185, 2.99, 1.49},
	{"8H200.141S.176V", "H200", "H200 SXM5 141GB", 8, 141, 176, 1450, 23.92, 11.92},
	{"8B200.180S.240V", "B200", "B200 SXM6 180GB", 8, 180, 240, 1800, 31.92, 15.92},
	{"1A100.80S.22V", "A100", "A100 SXM4 80GB", 1, 80, 22, 120, 1.29, 0.65},
	{"8A100.80S.176V", "A100", "A100 SXM4 80GB", 8, 80, 176, 960, 10.32, 5.20},
	{"1A100.40S.22V", "A100", "A100 SXM4 40GB", 1, 40, 22, 120, 0.73, 0.37},
	{"1L40S.20V", "L40S", "L40S 48GB", 1, 48, 20, 60, 0.91, 0.46},
	{"1RTX6000ADA.10V", "RTX6000 Ada", "RTX 6000 Ada 48GB", 1, 48, 10, 60, 0.99, 0.50},
	{"1A6000.10V", "A6000", "RTX A6000 48GB", 1, 48, 10, 60, 0.49, 0.25},
	{"1V100.6V", "V100", "Tesla V100 16GB", 1, 16, 6, 23, 0.39, 0.20},
	{"CPU.4V.16G", "CPU", "", 0, 0, 4, 16, 0.03, 0.015},
}

// seedStock is how many instances of a type a location can start, on
// demand and as spot; a type missing from a location is not sold there,
// and 0 is sold out.
var seedStock = map[string]map[string][2]int{
	"FIN-01": {
		"1H100.80S.30V": {12, 6}, "2H100.80S.60V": {5, 2}, "4H100.80S.120V": {2, 1}, "8H100.80S.176V": {0, 0},
		"1A100.80S.22V": {8, 4}, "8A100.80S.176V": {1, 0}, "1A100.40S.22V": {6, 3},
		"1RTX6000ADA.10V": {10, 5}, "1A6000.10V": {8, 4}, "1V100.6V": {20, 10}, "CPU.4V.16G": {50, 50},
	},
	"FIN-02": {
		"1H200.141S.44V": {6, 2}, "8H200.141S.176V": {1, 0}, "8B200.180S.240V": {1, 0}, "1L40S.20V": {10, 6},
	},
	"FIN-03": {
		"1H100.80S.30V": {20, 10}, "2H100.80S.60V": {8, 4}, "4H100.80S.120V": {4, 2}, "8H100.80S.176V": {2, 1},
		"1H200.141S.44V": {4, 2}, "8H200.141S.176V": {0, 0}, "8B200.180S.240V": {2, 1}, "1L40S.20V": {6, 3},
	},
	"ICE-01": {
		"1H100.80S.30V": {4, 2}, "8H100.80S.176V": {1, 0}, "1A100.80S.22V": {4, 2}, "8A100.80S.176V": {0, 0},
		"1RTX6000ADA.10V": {6, 3},
	},
}

// seedVolumePrices are USD per GB-month.
var seedVolumePrices = []volumeType{
	{Type: osVolumeType, Price: volumeTypePrice{PricePerMonthPerGB: 0.2, Currency: "usd"}},
	{Type: "HDD", Price: volumeTypePrice{PricePerMonthPerGB: 0.05, Currency: "usd"}},
}

// seedImages are the images the stand-in can boot.
var seedImages = []string{DefaultImage, "ubuntu-24.04-cuda-12.8", "ubuntu-22.04-cuda-12.4-docker"}

// offer is one instance type sold in one location.
type offer struct {
	location string
	country  string
	t        seedType
	// stock is indexed by spot (0: on demand, 1: spot).
	stock [2]int
}

// seedOffers builds the stand-in's offers; scale > 1 adds synthetic
// copies of every location ("FIN-01-s2", ...) with their own stock, so a
// sandbox can be measured on a catalog of any size.
func seedOffers(scale int) ([]offer, []location) {
	var offers []offer
	var locations []location
	for n := 1; n <= max(scale, 1); n++ {
		for _, l := range seedLocations {
			code, name := l.code, l.name
			if n > 1 {
				code, name = vendors.ScaleCopy(l.code, n), fmt.Sprintf("%s (copy %d)", l.name, n)
			}
			locations = append(locations, location{Code: code, Name: name, CountryCode: l.country})
			for _, t := range seedTypes {
				stock, sold := seedStock[l.code][t.name]
				if !sold {
					continue
				}
				if n > 1 {
					stock = [2]int{standin.Spread(stock[0], code+"/"+t.name), standin.Spread(stock[1], code+"/spot/"+t.name)}
				}
				offers = append(offers, offer{location: code, country: l.country, t: t, stock: stock})
			}
		}
	}
	return offers, locations
}
