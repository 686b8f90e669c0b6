package vultr

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vultr/govultr/v3"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

const testKey = "test-api-key"

type fixture = vendortest.Fixture[*StandIn, *Adapter]

// clockBase starts a quiet stretch of stock drift: the items tests name
// are in stock at it.
var clockBase = time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC)

// setup serves a stand-in made with o over loopback HTTP and points an
// adapter at it.
func setup(t testing.TB, o standin.Options, logger *slog.Logger) *fixture {
	t.Helper()
	s := vendortest.Setup[*StandIn, *Adapter]{Key: testKey, Clock: clockBase, NewStandIn: NewStandIn,
		NewAdapter: func(_ *StandIn, url string, hosts *standin.Hosts, v vendortest.Variant) *Adapter {
			return New(Config{APIKey: v.Key, BaseURL: url, RateLimit: rate.Inf, Timeout: v.Timeout, SSHPort: hosts.Port,
				Logger: cmp.Or(logger, slog.New(slog.DiscardHandler))})
		}}
	return s.Serve(t, o, nil)
}

// request is a fresh create request for plan in region.
func request(t testing.TB, plan, region string) vendors.CreateRequest {
	t.Helper()
	if standin.Flicker(0.05, plan+"/"+region, clockBase) {
		t.Fatalf("%s/%s is flickered out of stock at the test clock: pick another", plan, region)
	}
	return vendors.CreateRequest{
		ResourceID: uuid.NewString(), InstanceType: plan, Region: region, Contract: vendors.OnDemand,
		SSHPublicKey: vendortest.PublicKey(t), Item: vendors.CatalogItem{InstanceType: plan, Region: region, PricePerHour: 1128.0 / hoursPerMonth},
	}
}

const l40s = "vcg-l40s-16c-180g-48vram"

func l40sRequest(t *testing.T) vendors.CreateRequest { return request(t, l40s, "lax") }

// wholePlans are the seed's plans of whole GPUs, which the catalog lists.
func wholePlans() []seedPlan {
	return slices.DeleteFunc(slices.Clone(seedPlans), func(p seedPlan) bool {
		_, g, _ := gpu(p.plan.GPUType)
		_, ok := gpuCount(p.plan.GPUVRAM, g.MemoryGB)
		return !ok
	})
}

// TestSuite runs the vendor suite against the adapter and its stand-in.
func TestSuite(t *testing.T) {
	ctx := context.Background()
	var gpuNames []string
	for _, p := range seedPlans {
		name, _, _ := gpu(p.plan.GPUType)
		gpuNames = append(gpuNames, name)
	}
	regionCountry := map[string]string{}
	for _, r := range seedRegions {
		regionCountry[r.ID] = r.Country
	}
	const missing = "cb676a46-66fd-4dfb-b839-443f2e6c0b60" // the description's example id
	vendortest.Run(t, vendortest.Kit{
		Start:   func(t *testing.T, o standin.Options) *vendortest.Rig { return setup(t, o, nil).Rig },
		Clock:   clockBase,
		Request: l40sRequest,
		Create:  vendortest.Call{Method: http.MethodPost, Path: apiPrefix + "/instances"},
		Get: func(id string) vendortest.Call {
			return vendortest.Call{Method: http.MethodGet, Path: apiPrefix + "/instances/" + id}
		},
		Missing:  missing,
		Ports:    true,
		Volumes:  &vendortest.VolumeKit{MountPath: func(v vendors.Volume) string { return vendors.MountPath(v.Name) }, ReportsUse: true},
		Hang:     vendortest.Call{Method: http.MethodGet, Path: apiPrefix + "/instances/"},
		HangRead: func(ctx context.Context, v vendors.Vendor) error { _, err := v.Get(ctx, missing); return err },

		GPUNames:     gpuNames,
		SomeSoldOut:  true,
		StockUnknown: true,
		CatalogSize: func(time.Time, int) int {
			n := 0
			for _, p := range wholePlans() {
				n += len(p.plan.Locations)
			}
			return n
		},
		CatalogItem: func(t *testing.T, it vendors.CatalogItem, _ time.Time) {
			if it.Contract != vendors.OnDemand || it.Stock != -1 || it.Country != regionCountry[it.Region] {
				t.Errorf("%s/%s: contract %q stock %d country %q", it.InstanceType, it.Region, it.Contract, it.Stock, it.Country)
			}
			if strings.HasSuffix(it.InstanceType, "-4vram") {
				t.Errorf("%s: a slice of a GPU is listed", it.InstanceType)
			}
			switch it.InstanceType {
			case "vcg-h100-192c-1920g-640vram":
				g, _ := gpus.GPUs().Lookup(it.GPUName)
				if g.Name != "nvidia-h100-sxm5-80gb" || it.GPUCount != 8 || it.VCPUs != 192 || it.MemoryGB != 1920 || it.BootDiskGB != 20800 {
					t.Errorf("8x H100 plan mapped as %+v (GPU %s)", it, g.Name)
				}
				// $16,074 a month at Vultr's 672 billed hours.
				if math.Abs(it.PricePerHour-23.92) > 0.01 {
					t.Errorf("8x H100 at %v per hour, want 23.92", it.PricePerHour)
				}
			case "vcg-a16-24c-256g-64vram":
				if g, _ := gpus.GPUs().Lookup(it.GPUName); g.Name != "nvidia-a16-pcie-16gb" || it.GPUCount != 4 {
					t.Errorf("4x A16 plan mapped as %+v", it)
				}
			case "vcg-mi300x-192c-2048g-1536vram":
				if g, _ := gpus.GPUs().Lookup(it.GPUName); g.Family != "MI300X" || it.GPUCount != 8 || it.Available != (it.Region == "ord") {
					t.Errorf("MI300X plan mapped as %+v", it)
				}
			}
			if it.Region == "jnb" && it.Available {
				t.Errorf("%s available in jnb, where nothing is in stock", it.InstanceType)
			}
		},

		UserData: true,
		Created:  created,
		Errors: []vendortest.ErrorCase{
			{Name: "capacity", Call: vendortest.Creating(func(t *testing.T) vendors.CreateRequest {
				return request(t, "vcg-h100-24c-240g-80vram", "syd")
			}), Want: vendors.ErrNoCapacity},
			{Name: "quota", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.(*StandIn).SetQuota(1)
				if _, err := r.Vendor.Create(ctx, l40sRequest(t)); err != nil {
					t.Fatal(err)
				}
			}, Call: vendortest.Creating(l40sRequest), Want: vendors.ErrQuota},
			{Name: "unknown plan", Call: vendortest.Creating(func(t *testing.T) vendors.CreateRequest {
				return request(t, "vcg-z100-1c-1g-1vram", "ewr")
			}), Want: vendors.ErrInvalid},
			{Name: "rate limited", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.(*StandIn).SetRateLimit(1)
			}, Call: func(t *testing.T, r *vendortest.Rig) error {
				// The look-up for the tag spends the second's one request;
				// a create is never repeated, so its 429 comes back.
				_, err := r.Vendor.Create(ctx, l40sRequest(t))
				if d := vendors.RetryAfter(err); d != time.Second {
					t.Errorf("RetryAfter %v, want Vultr's 1 s", d)
				}
				return err
			}, Want: vendors.ErrRateLimited},
		},
		Extra: map[string]func(t *testing.T, r *vendortest.Rig){
			"CreateIsIdempotent": func(t *testing.T, r *vendortest.Rig) {
				if n := r.Rec.Count("POST " + apiPrefix + "/ssh-keys"); n != 1 {
					t.Errorf("key registered %d times, want 1", n)
				}
			},
		},
	})
}

// created checks the create as it reached the stand-in: plan, region,
// Ubuntu, the renter's key by id, tags, label and the user data.
func created(t *testing.T, r *vendortest.Rig, req vendors.CreateRequest, in vendors.Instance) {
	if in.State != vendors.StatePending || in.Name != vendors.InstanceName(req.ResourceID) {
		t.Errorf("created %+v", in)
	}
	got, ok := r.StandIn.(*StandIn).Received(in.ID)
	if !ok {
		t.Fatalf("stand-in has no instance %s", in.ID)
	}
	if got.Plan != req.InstanceType || got.Region != req.Region || got.OsID != DefaultOSID || got.Label != in.Name || got.Hostname != in.Name {
		t.Errorf("created with %+v", got)
	}
	if len(got.PublicKeys) != 1 || got.PublicKeys[0] != req.SSHPublicKey {
		t.Errorf("root keys %q, want the renter's", got.PublicKeys)
	}
	if !slices.Contains(got.Tags, vendors.Tag+"="+req.ResourceID) || !slices.Contains(got.Tags, listTag) {
		t.Errorf("tags %q", got.Tags)
	}
	for _, want := range []string{"multipart/mixed", "disable_root: false", strings.Fields(req.SSHPublicKey)[1], "echo renter-script"} {
		if !strings.Contains(got.UserData, want) {
			t.Errorf("user data lacks %q:\n%s", want, got.UserData)
		}
	}
}

// TestListPages: List follows meta.links.next through every page of
// GET /instances.
func TestListPages(t *testing.T) {
	f := setup(t, standin.Options{BootTime: time.Hour}, nil)
	ctx := context.Background()
	f.SI.Mu.Lock()
	const n = perPage + 7
	for i := range n {
		id := uuid.NewString()
		f.SI.State.Instances[id] = &record{ID: id, Plan: l40s, Region: "ewr", Label: vendors.InstanceName(id),
			Tags: append(vendors.MarkText(id, ""), listTag), CreatedAt: clockBase, BootedAt: clockBase.Add(time.Duration(i))}
	}
	f.SI.Mu.Unlock()
	list, err := f.A.List(ctx)
	if err != nil || len(list) != n {
		t.Fatalf("List found %d of %d: %v", len(list), n, err)
	}
	if pages := f.Rec.Count("GET " + apiPrefix + "/instances"); pages != 2 {
		t.Errorf("List read %d pages, want 2", pages)
	}
}

// TestGPUCount: the count is the plan's VRAM over one GPU's, and a slice
// of a GPU is no count at all.
func TestGPUCount(t *testing.T) {
	for _, c := range []struct {
		vram, per, want int
		ok              bool
	}{
		{80, 80, 1, true}, {640, 80, 8, true}, {64, 16, 4, true}, {1536, 192, 8, true},
		{4, 80, 0, false}, {120, 80, 0, false}, {0, 80, 0, false}, {80, 0, 0, false},
	} {
		if got, ok := gpuCount(c.vram, c.per); got != c.want || ok != c.ok {
			t.Errorf("gpuCount(%d, %d) = %d, %v; want %d, %v", c.vram, c.per, got, ok, c.want, c.ok)
		}
	}
}

// TestUnknownGPUPassedOn: a gpu_type the registry does not know reaches
// the catalog under its own name with no count, for the offer index to
// log and count; a fraction of a GPU is logged once and left out.
func TestUnknownGPUPassedOn(t *testing.T) {
	var logs bytes.Buffer
	a := New(Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	name, count, ok := a.gpus(planOf("vcg-x9-8c-64g-96vram", "NVIDIA_X9", 96))
	if name != "NVIDIA_X9" || count != 0 || !ok {
		t.Errorf("unknown GPU: %q %d %v", name, count, ok)
	}
	for range 2 {
		if _, _, ok := a.gpus(planOf("vcg-a100-1c-6g-4vram", "NVIDIA_A100", 4)); ok {
			t.Errorf("a 4 GB slice of an A100 is listed")
		}
	}
	if n := strings.Count(logs.String(), "fraction of a GPU"); n != 1 {
		t.Errorf("%d log lines for one slice plan, want 1:\n%s", n, logs.String())
	}
}

// TestUnplacedRegion: a plan location GET /regions does not list has no
// country (so the catalog puts it in Other), logged once.
func TestUnplacedRegion(t *testing.T) {
	var logs bytes.Buffer
	a := New(Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	known := map[string]string{"ewr": "US"}
	if c := a.country(known, "ewr"); c != "US" {
		t.Errorf("ewr: %q", c)
	}
	for range 2 {
		if c := a.country(known, "mars"); c != "" {
			t.Errorf("mars: %q, want none", c)
		}
	}
	if gpus.GroupOf("") != gpus.Other {
		t.Errorf("no country is group %s, want Other", gpus.GroupOf(""))
	}
	if n := strings.Count(logs.String(), "no country known"); n != 1 {
		t.Errorf("%d warnings, want 1", n)
	}
}

// TestStatus maps Vultr's three status fields.
func TestStatus(t *testing.T) {
	a := New(Config{})
	for _, c := range []struct {
		status, power, server, ip string
		want                      vendors.State
	}{
		{"pending", "running", "none", noIP, vendors.StatePending},
		{"active", "running", "installingbooting", "192.0.2.1", vendors.StatePending},
		{"active", "running", "ok", noIP, vendors.StatePending},
		{"active", "running", "ok", "192.0.2.1", vendors.StateRunning},
		{"active", "stopped", "ok", "192.0.2.1", vendors.StateStopped},
		{"suspended", "stopped", "locked", "192.0.2.1", vendors.StateFailed},
		{"resizing", "running", "ok", "192.0.2.1", vendors.StatePending},
	} {
		in := a.instance(instanceOf(c.status, c.power, c.server, c.ip))
		if in.State != c.want {
			t.Errorf("%s/%s/%s: %s, want %s", c.status, c.power, c.server, in.State, c.want)
		}
	}
}

// TestRefusals classifies Vultr's refusal words.
func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   error
	}{
		{400, `{"error":"Plan is not available in the selected region","status":400}`, vendors.ErrNoCapacity},
		{400, `{"error":"Unable to create server: You have reached the maximum number of instances for your account (limit 5).","status":400}`, vendors.ErrQuota},
		{400, `{"error":"Invalid plan chosen.","status":400}`, vendors.ErrInvalid},
		{401, `{"error":"Invalid API token.","status":401}`, vendors.ErrAuth},
		{404, `{"error":"Invalid instance-id.","status":404}`, vendors.ErrNotFound},
		{429, `{"error":"Rate limit exceeded.","status":429}`, vendors.ErrRateLimited},
		{503, `<html>bad gateway</html>`, vendors.ErrTransient},
	} {
		if got := kindOf(nil, c.status, []byte(c.body)); got != c.want {
			t.Errorf("%d %s: %v, want %v", c.status, c.body, got, c.want)
		}
	}
}

func planOf(id, gpuType string, vram int) govultr.Plan {
	return govultr.Plan{ID: id, Type: planType, GPUType: gpuType, GPUVRAM: vram, MonthlyCost: 1000, Locations: []string{"ewr"}}
}

func instanceOf(status, power, server, ip string) govultr.Instance {
	return govultr.Instance{ID: uuid.NewString(), Status: status, PowerStatus: power, ServerStatus: server, MainIP: ip}
}

// TestReadRidesRateLimit: a read answered 429 with Retry-After: 1 is
// sent again after the second Vultr asks for, and succeeds.
func TestReadRidesRateLimit(t *testing.T) {
	f := setup(t, standin.Options{BootTime: time.Second}, nil)
	ctx := context.Background()
	in, err := f.A.Create(ctx, l40sRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	f.SI.SetRateLimit(1)
	get := "GET " + apiPrefix + "/instances/" + in.ID
	start := time.Now()
	for range 2 {
		if _, err := f.A.Get(ctx, in.ID); err != nil {
			t.Fatal(err)
		}
	}
	if n, took := f.Rec.Count(get), time.Since(start); n != 3 || took < 900*time.Millisecond {
		t.Errorf("two Gets: %d requests in %v, want 3 (one refused, sent again a second later)", n, took)
	}
}

// TestUnknownLocationSoldOut: a plan location whose availability Vultr
// answers 404 is listed sold out; the rest of the catalog stands.
func TestUnknownLocationSoldOut(t *testing.T) {
	f := setup(t, standin.Options{}, nil)
	f.SI.Faults().Add(standin.Rule{Method: http.MethodGet, PathPrefix: apiPrefix + "/regions/ewr/availability", Status: http.StatusNotFound})
	items, err := f.A.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ewr, elsewhere := 0, 0
	for _, it := range items {
		switch {
		case it.Region == "ewr" && it.Available:
			t.Errorf("%s available in ewr, whose availability is 404", it.InstanceType)
		case it.Region == "ewr":
			ewr++
		case it.Available:
			elsewhere++
		}
	}
	if ewr == 0 || elsewhere == 0 {
		t.Errorf("%d ewr items, %d available elsewhere", ewr, elsewhere)
	}
}

// TestBlocksAttachedLate: a create with a block sends cloud-init that
// waits for it where the description says a mounted block shows
// (/dev/disk/by-id/virtio-<mount_id>) and mounts it at its label's path,
// and attaches nothing itself; AttachVolumes attaches it live (in
// progress, then done, then skipped), and refuses a block another
// instance has. A block supply did not make is refused at create.
func TestBlocksAttachedLate(t *testing.T) {
	f := setup(t, standin.Options{BootTime: 100 * time.Millisecond}, nil)
	ctx := context.Background()
	vol, err := f.A.CreateVolume(ctx, vendors.VolumeRequest{VolumeID: uuid.NewString(), Owner: vendors.NewOwner(), Region: "lax", SizeGB: 10})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.A.block(ctx, vol.ID)
	if err != nil || b.MountID == "" {
		t.Fatalf("block %+v, %v; want a mount_id", b, err)
	}
	f.SI.Mu.Lock()
	made := *f.SI.State.Blocks[vol.ID]
	f.SI.Mu.Unlock()
	if made.BlockType != blockType || made.Label != vendors.OwnedName(vol.Owner, vol.VolumeID) {
		t.Errorf("block made as %+v, want type %s labelled with supply's marks", made, blockType)
	}
	req := l40sRequest(t)
	req.Volumes = []vendors.Volume{vol}
	in, err := f.A.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := f.SI.Received(in.ID)
	dev := "/dev/disk/by-id/virtio-" + b.MountID
	if !strings.Contains(sent.UserData, "until [ -b "+dev+" ]") || !strings.Contains(sent.UserData, "mount "+vendors.MountPath(vol.Name)) {
		t.Errorf("user data does not wait for %s and mount it at %s:\n%s", dev, vendors.MountPath(vol.Name), sent.UserData)
	}
	if got, _ := f.A.GetVolume(ctx, vol.ID); got.State != vendors.VolumeAvailable {
		t.Errorf("the block after create: %s, want available (attached only once the instance runs)", got.State)
	}
	vendortest.WaitFor(t, f.A, in.ID, vendortest.Running)
	for i, want := range []bool{false, true, true} {
		if done, err := f.A.AttachVolumes(ctx, in.ID, req.Volumes); done != want || err != nil {
			t.Errorf("attach call %d: done %v, %v; want %v", i+1, done, err, want)
		}
	}
	if n := f.Rec.Count("POST " + apiPrefix + "/blocks/" + vol.ID + "/attach"); n != 1 {
		t.Errorf("%d attach requests, want 1", n)
	}
	other, err := f.A.Create(ctx, l40sRequest(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.A.AttachVolumes(ctx, other.ID, req.Volumes); !errors.Is(err, vendors.ErrInvalid) || !strings.Contains(err.Error(), "another instance") {
		t.Errorf("attaching a block another instance has: %v, want a refusal saying so", err)
	}
	foreign := l40sRequest(t)
	foreign.Volumes = []vendors.Volume{{ID: vol.ID, Name: "x; rm -rf /"}}
	if _, err := f.A.Create(ctx, foreign); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("a block supply did not make: %v, want a refusal", err)
	}
}
