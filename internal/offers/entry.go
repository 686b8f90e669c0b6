package offers

import (
	"math"
	"strings"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// Entry is one offerable catalog item, priced and named the way the API
// shows it. A vendor's entries are persisted together as a catalog
// snapshot; an offer id points at one entry of one snapshot.
//
// An entry keeps its item, its answer JSON and what answers are sorted and
// filtered by, not the Offer itself: Offer makes that from the item when a
// caller wants it as a value. The strings it keeps are shared (the vendor's
// name, the GPU registry's names, the region groups), so an entry costs
// its item and its JSON.
type Entry struct {
	// Item is what the vendor listed; procurement launches from it.
	Item vendors.CatalogItem
	// enc is the offer's JSON for answers, made once when the entry is made.
	enc encoded

	vendorName, gpuType, gpuFamily, region string
	containers                             bool
	// gpuCount is the offer's GPUs; nodes is 0 for one machine.
	gpuCount, nodes      int
	gpuPrice, totalPrice float64
}

const hoursPerMonth = 730

// price rounds a USD amount to a tenth of a cent-per-hour's hundredth, so
// that sums shown to a client add up the way they read.
func price(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// newEntry prices and names a catalog item of a known GPU, and returns the
// Offer it made to do so (to be encoded: making one allocates).
func newEntry(vendor vendors.Info, gpu gpus.GPU, it vendors.CatalogItem) (*Entry, supplyapi.Offer) {
	e := &Entry{Item: it, vendorName: vendor.Name, containers: vendor.Containers, gpuType: gpu.Name, gpuFamily: gpu.Family}
	o := e.Offer()
	e.region, e.gpuCount, e.gpuPrice, e.totalPrice = o.Region, o.GPUCount, o.GPUPricePerHour, o.TotalPricePerHour
	if o.NodeCount != nil {
		e.nodes = *o.NodeCount
	}
	return e, o
}

// Offer is the entry as the API shows it, without its per-query fields
// (id, created_at, expires_at, observed_at).
func (e *Entry) Offer() supplyapi.Offer {
	it := &e.Item
	nodes := max(it.Nodes, 1)
	perNode := max(it.GPUCount, 1)
	o := supplyapi.Offer{
		GPUType:         e.gpuType,
		GPUFamily:       e.gpuFamily,
		GPUCount:        nodes * perNode,
		Vendor:          e.vendorName,
		Region:          string(gpus.GroupOf(it.Country)),
		VendorRegion:    it.Region,
		Country:         strings.ToUpper(strings.TrimSpace(it.Country)),
		ContractType:    string(it.Contract),
		Type:            "vm",
		GPUPricePerHour: price(it.PricePerHour / float64(perNode)),
		DeploymentType:  "single",
		StorageDetails:  []supplyapi.StorageDetail{},
	}
	if e.containers {
		o.Type = "container"
	}
	if it.BootDiskGB > 0 {
		o.BootDiskInGB = ptr(it.BootDiskGB)
		class := "bundled"
		if it.BootDiskPricePerHour > 0 {
			class = "billed"
		}
		o.StorageDetails = append(o.StorageDetails, supplyapi.StorageDetail{
			Name:            "boot",
			SizeGB:          it.BootDiskGB,
			Type:            "boot",
			StorageClass:    "ssd",
			VendorClass:     class,
			VendorRegion:    it.Region,
			PricePerGBMonth: price(it.BootDiskPricePerHour * hoursPerMonth / float64(it.BootDiskGB)),
			MonthlyCost:     price(it.BootDiskPricePerHour * hoursPerMonth),
			HourlyCost:      price(it.BootDiskPricePerHour),
			Persistent:      false,
		})
	}
	if it.VCPUs > 0 {
		o.VCPUCount = ptr(it.VCPUs)
	}
	if it.MemoryGB > 0 {
		o.MemoryInGB = ptr(it.MemoryGB)
	}
	if nodes > 1 {
		o.DeploymentType = "cluster"
		o.NodeCount = ptr(nodes)
		o.GPUsPerNode = ptr(perNode)
		o.InfinibandBandwidthGbps = ptr(it.InfinibandGbps)
		o.ClusterStorageGB = ptr(it.ClusterStorageGB)
	}
	// The boot disk is already inside the GPU price (the contract wants
	// one honest per-GPU number); storage_price_per_hour is what comes on
	// top, which no catalog item carries yet.
	o.TotalPricePerHour = price(o.GPUPricePerHour * float64(o.GPUCount))
	return o
}

func ptr[T any](v T) *T { return &v }
