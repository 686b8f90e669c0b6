package aws

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	sdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	ptypes "github.com/aws/aws-sdk-go-v2/service/pricing/types"

	"github.com/gpusupply/supply/internal/vendors"
)

// extraZone is the catalog item's Extra key for the availability zone of
// a spot price: the launch is placed there.
const extraZone = "zone"

// Catalog lists every GPU instance type of every configured region that
// sells it, on demand at the Price List price and as spot at the zone
// with the lowest current spot price. EC2 publishes no stock: an item is
// available unless a launch of it was refused for capacity within
// RefusalTTL.
func (a *Adapter) Catalog(ctx context.Context) ([]vendors.CatalogItem, error) {
	diskPrice := round(float64(a.cfg.BootDiskGB) * gp3USDPerGBMonth / hoursPerMonth)
	items := a.sizes.Make()
	var failed error
	for _, region := range a.regions {
		sold, err := a.regionCatalog(ctx, region, diskPrice)
		if err != nil {
			// One region's trouble (not enabled for the account, a
			// throttle, an outage) leaves the others on offer; the
			// catalog fails only when no region answers.
			a.log.WarnContext(ctx, "aws region left out of the catalog", "region", region, "err", err)
			failed = cmp.Or(failed, err)
			continue
		}
		items = append(items, sold...)
	}
	if len(items) == 0 && failed != nil {
		return nil, failed
	}
	return a.sizes.Keep(items), nil
}

// regionCatalog is what region sells: each GPU instance type it offers,
// on demand and as spot where it has a price.
func (a *Adapter) regionCatalog(ctx context.Context, region string, diskPrice float64) ([]vendors.CatalogItem, error) {
	infos, err := a.instanceTypes(ctx, region)
	if err != nil {
		return nil, err
	}
	zones, err := a.offered(ctx, region)
	if err != nil {
		return nil, err
	}
	offered := slices.Sorted(maps.Keys(zones))
	volumeZone, err := a.volumeZone(ctx, region)
	if err != nil {
		return nil, err
	}
	onDemand, err := a.onDemandPrices(ctx, region)
	if err != nil {
		return nil, err
	}
	spot, err := a.spotPrices(ctx, region, offered)
	if err != nil {
		return nil, err
	}
	country := a.country(region)
	var items []vendors.CatalogItem
	for _, name := range offered {
		info, ok := infos[name]
		if !ok {
			continue
		}
		item := a.item(info, region, country, diskPrice)
		// The region's volumes reach an on-demand machine, placed in
		// their zone at launch, where that zone sells the type; a spot
		// machine only where its price's zone is theirs.
		reaches := slices.Contains(zones[name], volumeZone)
		if p, ok := onDemand[name]; ok {
			od := item
			od.Contract, od.PricePerHour = vendors.OnDemand, round(p+diskPrice)
			od.Available = !a.isRefused(name, region, vendors.OnDemand)
			od.NoVolumes = !reaches
			items = append(items, od)
		}
		if p, ok := spot[name]; ok {
			sp := item
			sp.Contract, sp.PricePerHour = vendors.Spot, round(p.price+diskPrice)
			sp.Available = !a.isRefused(name, region, vendors.Spot)
			sp.Extra = map[string]string{extraZone: p.zone}
			sp.NoVolumes = !reaches || p.zone != volumeZone
			items = append(items, sp)
		}
	}
	return items, nil
}

// item is what every contract of an instance type in a region shares.
func (a *Adapter) item(info types.InstanceTypeInfo, region, country string, diskPrice float64) vendors.CatalogItem {
	it := vendors.CatalogItem{
		InstanceType: string(info.InstanceType), Region: region, Country: country,
		BootDiskGB: a.cfg.BootDiskGB, BootDiskPricePerHour: diskPrice, Stock: -1,
	}
	if info.VCpuInfo != nil {
		it.VCPUs = int(sdk.ToInt32(info.VCpuInfo.DefaultVCpus))
	}
	if info.MemoryInfo != nil {
		it.MemoryGB = float64(sdk.ToInt64(info.MemoryInfo.SizeInMiB)) / 1024
	}
	if info.GpuInfo != nil && len(info.GpuInfo.Gpus) > 0 {
		g := info.GpuInfo.Gpus[0]
		it.GPUName = gpuName(string(info.InstanceType), g)
		it.GPUCount = int(sdk.ToInt32(g.Count))
	}
	return it
}

// gpuName is the registry spelling of an instance type's GPU: EC2's name
// ("A10G", "L40S") where the product has one variant, else the name with
// the family's form factor and the memory EC2 reports ("A100 SXM4 40GB").
func gpuName(instanceType string, g types.GpuDeviceInfo) string {
	name := sdk.ToString(g.Name)
	family, _, _ := strings.Cut(instanceType, ".")
	ff, ok := formFactors[family]
	if !ok || g.MemoryInfo == nil {
		return name
	}
	gb := int(math.Round(float64(sdk.ToInt32(g.MemoryInfo.SizeInMiB)) / 1024))
	return fmt.Sprintf("%s %s %dGB", name, ff, gb)
}

func round(usd float64) float64 { return math.Round(usd*10000) / 10000 }

// familyFilter matches the GPU families' instance types.
func familyFilter(name string) []types.Filter {
	values := make([]string, len(gpuFamilies))
	for i, f := range gpuFamilies {
		values[i] = f + ".*"
	}
	return []types.Filter{{Name: sdk.String(name), Values: values}}
}

// fresh returns c's value when it was read within ttl.
func fresh[T any](c cached[T], ok bool, ttl time.Duration, now time.Time) (T, bool) {
	if ok && now.Sub(c.at) < ttl {
		return c.v, true
	}
	var zero T
	return zero, false
}

// instanceTypes are the GPU instance types (those with GpuInfo) region
// has, by name, kept for PriceTTL: a region lists only the types it has,
// so one region's list cannot stand for another's.
func (a *Adapter) instanceTypes(ctx context.Context, region string) (map[string]types.InstanceTypeInfo, error) {
	a.mu.Lock()
	c, ok := a.types[region]
	v, ok := fresh(c, ok, a.cfg.PriceTTL, a.now())
	a.mu.Unlock()
	if ok {
		return v, nil
	}
	out := map[string]types.InstanceTypeInfo{}
	err := a.call(ctx, "describe instance types", a.describe[region], true, func(ctx context.Context) error {
		clear(out)
		pages := ec2.NewDescribeInstanceTypesPaginator(a.ec2[region], &ec2.DescribeInstanceTypesInput{Filters: familyFilter("instance-type")})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, t := range page.InstanceTypes {
				if t.GpuInfo != nil && len(t.GpuInfo.Gpus) > 0 {
					out[string(t.InstanceType)] = t
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.types[region] = cached[map[string]types.InstanceTypeInfo]{out, a.now()}
	a.mu.Unlock()
	return out, nil
}

// offered are the GPU instance types region sells, by name, each with
// the availability zones that sell it, kept for PriceTTL.
func (a *Adapter) offered(ctx context.Context, region string) (map[string][]string, error) {
	a.mu.Lock()
	c, ok := a.offerings[region]
	v, ok := fresh(c, ok, a.cfg.PriceTTL, a.now())
	a.mu.Unlock()
	if ok {
		return v, nil
	}
	out := map[string][]string{}
	err := a.call(ctx, "describe instance type offerings", a.describe[region], true, func(ctx context.Context) error {
		clear(out)
		pages := ec2.NewDescribeInstanceTypeOfferingsPaginator(a.ec2[region], &ec2.DescribeInstanceTypeOfferingsInput{
			LocationType: types.LocationTypeAvailabilityZone, Filters: familyFilter("instance-type"),
		})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, o := range page.InstanceTypeOfferings {
				name := string(o.InstanceType)
				out[name] = append(out[name], sdk.ToString(o.Location))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.offerings[region] = cached[map[string][]string]{out, a.now()}
	a.mu.Unlock()
	return out, nil
}

// priceFilters select, among EC2's products in a region, the Linux GPU
// instances on shared tenancy without pre-installed software, as billed
// when used (not a capacity reservation): one hourly price per type. The
// field names are the Price List's product attributes (GetAttributeValues
// lists them).
func priceFilters(region string) []ptypes.Filter {
	var out []ptypes.Filter
	for _, f := range [][2]string{
		{"regionCode", region},
		{"instanceFamily", "GPU instance"},
		{"operatingSystem", "Linux"},
		{"tenancy", "Shared"},
		{"preInstalledSw", "NA"},
		{"capacitystatus", "Used"},
	} {
		out = append(out, ptypes.Filter{Type: ptypes.FilterTypeTermMatch, Field: sdk.String(f[0]), Value: sdk.String(f[1])})
	}
	return out
}

// priceDocument is the part of a Price List product document (a JSON
// string of GetProducts' PriceList, format aws_v1) the adapter reads. The
// SDK leaves these documents as strings: it has no type for them.
type priceDocument struct {
	Product struct {
		Attributes struct {
			InstanceType string `json:"instanceType"`
		} `json:"attributes"`
	} `json:"product"`
	Terms struct {
		OnDemand map[string]struct {
			PriceDimensions map[string]struct {
				Unit         string            `json:"unit"`
				PricePerUnit map[string]string `json:"pricePerUnit"`
			} `json:"priceDimensions"`
		} `json:"OnDemand"`
	} `json:"terms"`
}

// hourly is the document's on-demand USD per hour, or false.
func (d priceDocument) hourly() (float64, bool) {
	for _, term := range d.Terms.OnDemand {
		for _, dim := range term.PriceDimensions {
			if dim.Unit != "Hrs" {
				continue
			}
			if p, err := strconv.ParseFloat(dim.PricePerUnit["USD"], 64); err == nil && p > 0 {
				return p, true
			}
		}
	}
	return 0, false
}

// onDemandPrices are region's on-demand USD per instance-hour by type,
// from the Price List API, kept for PriceTTL (AWS changes them rarely).
func (a *Adapter) onDemandPrices(ctx context.Context, region string) (map[string]float64, error) {
	a.mu.Lock()
	c, ok := a.prices[region]
	v, ok := fresh(c, ok, a.cfg.PriceTTL, a.now())
	a.mu.Unlock()
	if ok {
		return v, nil
	}
	out := map[string]float64{}
	err := a.call(ctx, "get products", a.priceBucket, true, func(ctx context.Context) error {
		clear(out)
		pages := pricing.NewGetProductsPaginator(a.pricing, &pricing.GetProductsInput{
			ServiceCode: sdk.String("AmazonEC2"), FormatVersion: sdk.String("aws_v1"), Filters: priceFilters(region),
		})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, doc := range page.PriceList {
				var d priceDocument
				if err := json.Unmarshal([]byte(doc), &d); err != nil {
					return fmt.Errorf("read price document: %w", err)
				}
				if p, ok := d.hourly(); ok && d.Product.Attributes.InstanceType != "" {
					out[d.Product.Attributes.InstanceType] = p
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.prices[region] = cached[map[string]float64]{out, a.now()}
	a.mu.Unlock()
	return out, nil
}

// spotPrice is a type's lowest current spot price in a region and the
// zone that has it.
type spotPrice struct {
	price float64
	zone  string
}

// spotPrices are the current spot prices of the offered types in region:
// DescribeSpotPriceHistory from now gives each type and zone's latest
// price; the lowest zone of each type is kept.
func (a *Adapter) spotPrices(ctx context.Context, region string, offered []string) (map[string]spotPrice, error) {
	out := map[string]spotPrice{}
	if len(offered) == 0 {
		return out, nil
	}
	names := make([]types.InstanceType, len(offered))
	for i, n := range offered {
		names[i] = types.InstanceType(n)
	}
	err := a.call(ctx, "describe spot price history", a.describe[region], true, func(ctx context.Context) error {
		clear(out)
		latest := map[[2]string]types.SpotPrice{}
		pages := ec2.NewDescribeSpotPriceHistoryPaginator(a.ec2[region], &ec2.DescribeSpotPriceHistoryInput{
			StartTime: sdk.Time(a.now()), InstanceTypes: names, ProductDescriptions: []string{"Linux/UNIX"},
		})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, p := range page.SpotPriceHistory {
				key := [2]string{string(p.InstanceType), sdk.ToString(p.AvailabilityZone)}
				if old, ok := latest[key]; !ok || sdk.ToTime(p.Timestamp).After(sdk.ToTime(old.Timestamp)) {
					latest[key] = p
				}
			}
		}
		for key, p := range latest {
			price, err := strconv.ParseFloat(sdk.ToString(p.SpotPrice), 64)
			if err != nil || price <= 0 {
				continue
			}
			old, ok := out[key[0]]
			if !ok || price < old.price || price == old.price && key[1] < old.zone {
				out[key[0]] = spotPrice{price, key[1]}
			}
		}
		return nil
	})
	return out, err
}

// refuse remembers a capacity refusal of a type in a region.
func (a *Adapter) refuse(instanceType, region string, contract vendors.Contract) {
	a.mu.Lock()
	a.refused[instanceType+"/"+region+"/"+string(cmp.Or(contract, vendors.OnDemand))] = a.now().Add(a.cfg.RefusalTTL)
	a.mu.Unlock()
}

// isRefused says whether a recent capacity refusal shows the item sold out.
func (a *Adapter) isRefused(instanceType, region string, contract vendors.Contract) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := instanceType + "/" + region + "/" + string(contract)
	until, ok := a.refused[key]
	if ok && !a.now().Before(until) {
		delete(a.refused, key)
		return false
	}
	return ok
}

// image is the AMI region launches: Config.ImageID, or the newest Deep
// Learning AMI of ImageOwner named like ImageName, kept for PriceTTL.
func (a *Adapter) image(ctx context.Context, region string) (image, error) {
	if a.cfg.ImageID != "" {
		return image{a.cfg.ImageID, "/dev/sda1"}, nil
	}
	a.mu.Lock()
	c, ok := a.images[region]
	v, ok := fresh(c, ok, a.cfg.PriceTTL, a.now())
	a.mu.Unlock()
	if ok {
		return v, nil
	}
	var out *ec2.DescribeImagesOutput
	err := a.call(ctx, "describe images", a.describe[region], true, func(ctx context.Context) (err error) {
		out, err = a.ec2[region].DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{ImageOwner}, Filters: []types.Filter{
			{Name: sdk.String("name"), Values: []string{ImageName}},
			{Name: sdk.String("state"), Values: []string{"available"}},
			{Name: sdk.String("architecture"), Values: []string{"x86_64"}},
		}})
		return err
	})
	if err != nil {
		return image{}, err
	}
	var best *types.Image
	for i, im := range out.Images {
		// CreationDate is ISO 8601 in UTC, so strings sort by time.
		if best == nil || sdk.ToString(im.CreationDate) > sdk.ToString(best.CreationDate) {
			best = &out.Images[i]
		}
	}
	if best == nil {
		return image{}, &vendors.Error{Vendor: Name, Op: "describe images", Kind: vendors.ErrInvalid, Message: "no image named " + ImageName + " in " + region}
	}
	img := image{sdk.ToString(best.ImageId), cmp.Or(sdk.ToString(best.RootDeviceName), "/dev/sda1")}
	a.mu.Lock()
	a.images[region] = cached[image]{img, a.now()}
	a.mu.Unlock()
	return img, nil
}

// regionCountries maps EC2's regions to the ISO country of their data
// centres ("Regions and Zones", EC2 user guide).
var regionCountries = map[string]string{
	"us-east-1": "US", "us-east-2": "US", "us-west-1": "US", "us-west-2": "US",
	"ca-central-1": "CA", "ca-west-1": "CA", "mx-central-1": "MX", "sa-east-1": "BR",
	"eu-west-1": "IE", "eu-west-2": "GB", "eu-west-3": "FR", "eu-central-1": "DE", "eu-central-2": "CH",
	"eu-north-1": "SE", "eu-south-1": "IT", "eu-south-2": "ES",
	"ap-northeast-1": "JP", "ap-northeast-2": "KR", "ap-northeast-3": "JP", "ap-southeast-1": "SG",
	"ap-southeast-2": "AU", "ap-southeast-3": "ID", "ap-southeast-4": "AU", "ap-southeast-5": "MY",
	"ap-southeast-7": "TH", "ap-south-1": "IN", "ap-south-2": "IN", "ap-east-1": "HK", "ap-east-2": "TW",
	"me-south-1": "BH", "me-central-1": "AE", "il-central-1": "IL", "af-south-1": "ZA",
}

// country returns the region's ISO country, or "" (logged once) for a
// region the table does not know.
func (a *Adapter) country(region string) string {
	return a.unplaced.Country(a.log, regionCountries, region, "AWS region")
}
