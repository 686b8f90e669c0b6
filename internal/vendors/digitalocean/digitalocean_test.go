package digitalocean

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

const testToken = "dop_v1_test"

type fixture = vendortest.Fixture[*StandIn, *Adapter]

// clockBase starts a stock-drift period in which the test items are in
// stock.
var clockBase = time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC)

// pageSize is the adapter's per_page in tests: small, so that List pages.
const pageSize = 4

func serve(t *testing.T, o standin.Options) *fixture {
	t.Helper()
	s := vendortest.Setup[*StandIn, *Adapter]{Key: testToken, Clock: clockBase, NewStandIn: NewStandIn,
		NewAdapter: func(_ *StandIn, url string, hosts *standin.Hosts, v vendortest.Variant) *Adapter {
			return New(Config{Token: v.Key, BaseURL: url, RateLimit: rate.Inf, PageSize: pageSize, Timeout: v.Timeout, SSHPort: hosts.Port})
		}}
	return s.Serve(t, o, nil)
}

// request is a fresh create request for size in region.
func request(t *testing.T, size, region string) vendors.CreateRequest {
	t.Helper()
	return vendors.CreateRequest{
		ResourceID: uuid.NewString(), Owner: "0123456789ab", InstanceType: size, Region: region,
		Contract: vendors.OnDemand, SSHPublicKey: vendortest.PublicKey(t),
		Item: vendors.CatalogItem{InstanceType: size, Region: region, Extra: map[string]string{"image": nvidiaImage}},
	}
}

// inStock is the request the suite creates with: an RTX 4000 Ada in
// Toronto, which the seed stocks six of and which is not flickered out at
// clockBase.
func inStock(t *testing.T) vendors.CreateRequest {
	t.Helper()
	if standin.Flicker(0.05, "gpu-4000adax1-20gb/tor1", clockBase) {
		t.Fatal("gpu-4000adax1-20gb/tor1 is flickered out of stock at the test clock: pick another")
	}
	return request(t, "gpu-4000adax1-20gb", "tor1")
}

// TestSuite runs the vendor suite against the adapter and its stand-in.
func TestSuite(t *testing.T) {
	ctx := context.Background()
	var gpuNames []string
	for _, z := range seedSizes {
		if z.s.GPUInfo != nil {
			gpuNames = append(gpuNames, fmt.Sprintf("%s_%dgb", z.s.GPUInfo.Model, z.s.GPUInfo.VRAM.Amount))
		}
	}
	countries := map[string]string{"tor1": "CA", "nyc2": "US", "atl1": "US", "ams3": "NL", "fra1": "DE", "lon1": "GB", "sgp1": "SG", "blr1": "IN", "syd1": "AU"}
	const missing = "999999"
	vendortest.Run(t, vendortest.Kit{
		Start:   func(t *testing.T, o standin.Options) *vendortest.Rig { return serve(t, o).Rig },
		Volumes: &vendortest.VolumeKit{MountPath: func(v vendors.Volume) string { return mountPath(v.Name) }, ReportsUse: true},
		Clock:   clockBase,
		Request: inStock,
		Create:  vendortest.Call{Method: http.MethodPost, Path: "/v2/droplets"},
		Get: func(id string) vendortest.Call {
			return vendortest.Call{Method: http.MethodGet, Path: "/v2/droplets/" + id}
		},
		Missing:  missing,
		Ports:    true,
		Hang:     vendortest.Call{Method: http.MethodGet, Path: "/v2/sizes"},
		GPUNames: gpuNames,
		// A size lists only the regions that can create it now: nothing
		// sold out is listed, and nothing says how many.
		StockUnknown: true,
		CatalogItem: func(t *testing.T, it vendors.CatalogItem, _ time.Time) {
			if !it.Available || it.Stock != -1 || it.Contract != vendors.OnDemand || it.GPUCount == 0 || it.Extra["image"] == "" {
				t.Errorf("%s/%s: %+v", it.InstanceType, it.Region, it)
			}
			if c, ok := countries[it.Region]; !ok || it.Country != c {
				t.Errorf("%s: country %q, want %q", it.Region, it.Country, c)
			}
			switch it.InstanceType {
			case "gpu-h100x8-640gb":
				if it.GPUName != "nvidia_h100_80gb" || it.GPUCount != 8 || it.VCPUs != 160 || it.MemoryGB != 1920 || it.BootDiskGB != 2046 || it.PricePerHour != 23.92 {
					t.Errorf("gpu-h100x8-640gb mapped as %+v", it)
				}
			case "gpu-mi300x1-192gb":
				if it.Extra["image"] != amdImage {
					t.Errorf("MI300X boots %q, want %q", it.Extra["image"], amdImage)
				}
			case "s-1vcpu-1gb":
				t.Error("a CPU size is in the GPU catalog")
			}
			if it.Region == "ams3" && it.InstanceType == "gpu-h100x1-80gb" {
				t.Error("gpu-h100x1-80gb listed in ams3, where it is sold out")
			}
		},
		Country:        New(Config{Logger: slog.New(slog.DiscardHandler)}).country,
		UnknownRegions: []string{"mars1", "nyc9"},
		UserData:       true,
		Created:        created,
		PageSize:       pageSize,
		SpendRateLimit: func(t *testing.T, r *vendortest.Rig) {
			// The catalog reads the sizes in pages of pageSize.
			r.StandIn.(*StandIn).SetRateLimit((len(seedSizes) + pageSize - 1) / pageSize)
			if _, err := r.Vendor.Catalog(ctx); err != nil {
				t.Fatal(err)
			}
		},
		Errors: []vendortest.ErrorCase{
			{Name: "capacity", Call: vendortest.Creating(func(t *testing.T) vendors.CreateRequest {
				return request(t, "gpu-h100x1-80gb", "ams3")
			}), Want: vendors.ErrNoCapacity},
			{Name: "droplet limit", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.(*StandIn).SetDropletLimit(1)
				if _, err := r.Vendor.Create(ctx, inStock(t)); err != nil {
					t.Fatal(err)
				}
			}, Call: vendortest.Creating(inStock), Want: vendors.ErrQuota},
			{Name: "unknown size", Call: vendortest.Creating(func(t *testing.T) vendors.CreateRequest {
				return request(t, "gpu-b900x1-1tb", "tor1")
			}), Want: vendors.ErrInvalid},
			{Name: "unknown region", Call: vendortest.Creating(func(t *testing.T) vendors.CreateRequest {
				return request(t, "gpu-4000adax1-20gb", "mars1")
			}), Want: vendors.ErrInvalid},
		},
		Extra: map[string]func(t *testing.T, r *vendortest.Rig){
			"CreateIsIdempotent": func(t *testing.T, r *vendortest.Rig) {
				if n := r.Rec.Count("POST /v2/account/keys"); n != 1 {
					t.Errorf("key imported %d times, want 1", n)
				}
			},
		},
	})
}

// created checks the create body, its key, tags and user data, as they
// reached the stand-in.
func created(t *testing.T, r *vendortest.Rig, req vendors.CreateRequest, in vendors.Instance) {
	if in.State != vendors.StatePending || in.Name != vendors.InstanceName(req.ResourceID) || in.Owner != req.Owner {
		t.Errorf("created %+v", in)
	}
	got, ok := r.StandIn.(*StandIn).Created(in.ID)
	if !ok {
		t.Fatalf("stand-in has no Droplet %s", in.ID)
	}
	if len(got.PublicKeys) != 1 || got.PublicKeys[0] != strings.TrimSpace(req.SSHPublicKey) {
		t.Errorf("Droplet keys %q, want %q", got.PublicKeys, req.SSHPublicKey)
	}
	for _, want := range []string{"supply-resource:" + req.ResourceID, "supply-installation:" + req.Owner} {
		if !slices.Contains(got.Tags, want) {
			t.Errorf("tags %q lack %q", got.Tags, want)
		}
	}
	if got.Image != nvidiaImage || got.Size != req.InstanceType || got.Region != req.Region {
		t.Errorf("created %+v", got)
	}
	keyMaterial := strings.Fields(req.SSHPublicKey)[1]
	for _, want := range []string{"multipart/mixed", "disable_root: false", keyMaterial, "echo renter-script"} {
		if !strings.Contains(got.UserData, want) {
			t.Errorf("user data lacks %q:\n%s", want, got.UserData)
		}
	}
}

// TestKindOf: the status and id decide, and a 422 its words.
func TestKindOf(t *testing.T) {
	for _, c := range []struct {
		status      int
		id, message string
		want        error
	}{
		{401, "unauthorized", "Unable to authenticate you.", vendors.ErrAuth},
		{403, "forbidden", "You do not have access for the attempted action.", vendors.ErrAuth},
		{404, "not_found", "The resource you were accessing could not be found.", vendors.ErrNotFound},
		{429, "too_many_requests", "API rate limit exceeded.", vendors.ErrRateLimited},
		{500, "server_error", "Server Error", vendors.ErrTransient},
		{422, "unprocessable_entity", "Size is not available in this region.", vendors.ErrNoCapacity},
		{422, "unprocessable_entity", "Region is not available", vendors.ErrNoCapacity},
		{422, "unprocessable_entity", "creating this/these droplet(s) will exceed your droplet limit", vendors.ErrQuota},
		{422, "unprocessable_entity", "You specified an invalid size for Droplet creation.", vendors.ErrInvalid},
		{422, "unprocessable_entity", "request payload validation failed", vendors.ErrInvalid},
	} {
		if got := kindOf(c.status, c.id, c.message); got != c.want {
			t.Errorf("%d %s %q: %v, want %v", c.status, c.id, c.message, got, c.want)
		}
	}
}
