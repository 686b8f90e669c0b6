package scaleway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/scaleway/scaleway-sdk-go/api/instance/v1"
	"github.com/scaleway/scaleway-sdk-go/scw"
	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

type fixture = vendortest.Fixture[*StandIn, *Adapter]

const (
	testKey     = "scw-test-secret"
	testProject = "fa1e3217-dc80-42ac-85c3-3f034b78b552"
)

var setup = vendortest.Setup[*StandIn, *Adapter]{Key: testKey, Clock: clockBase, NewStandIn: NewStandIn,
	NewAdapter: func(si *StandIn, url string, hosts *standin.Hosts, v vendortest.Variant) *Adapter {
		return New(Config{APIKey: v.Key, ProjectID: testProject, BaseURL: url, SSHPort: hosts.Port,
			Timeout: v.Timeout, RateLimit: 1000, Burst: 100, Zones: si.Zones()})
	}}

// clockBase starts a stock-drift period: tests run well within it, so
// which types flicker out of stock is fixed (see createRequest).
var clockBase = time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC)

func createRequest(t *testing.T, zone, typ string) vendors.CreateRequest {
	t.Helper()
	if standin.Flicker(0.05, zone+"/"+typ, clockBase) {
		t.Fatalf("%s/%s is flickered out of stock at the test clock: pick another type", zone, typ)
	}
	return vendors.CreateRequest{
		ResourceID: uuid.NewString(), InstanceType: typ, Region: zone,
		Contract: vendors.OnDemand, SSHPublicKey: vendortest.PublicKey(t),
	}
}

// TestSuite runs the vendor suite against the adapter and its stand-in.
func TestSuite(t *testing.T) {
	ctx := context.Background()
	a := New(Config{Logger: slog.New(slog.DiscardHandler)})
	types := map[string]seedType{}
	var gpuNames []string
	for _, st := range seedTypes {
		types[st.name] = st
		if st.gpus > 0 {
			gpuNames = append(gpuNames, a.gpuName(st.name, &instance.ServerTypeGPUInfo{GpuName: st.gpuName, GpuMemory: scw.Size(st.gpuMemGB) << 30}))
		}
	}
	diskUSD := roundPrice(DefaultBootDiskGB * blockEURPerGBMonth / hoursPerMonth * DefaultEURToUSD)
	create := func(zone, typ string) func(t *testing.T) vendors.CreateRequest {
		return func(t *testing.T) vendors.CreateRequest { return createRequest(t, zone, typ) }
	}
	vendortest.Run(t, vendortest.Kit{
		Start:   func(t *testing.T, o standin.Options) *vendortest.Rig { return setup.Serve(t, o, nil).Rig },
		Clock:   clockBase,
		Request: create("fr-par-2", "H100-1-80G"),
		Create:  vendortest.Call{Method: http.MethodPost, Path: "/instance/v1/zones/fr-par-2/servers"},
		Get:     func(id string) vendortest.Call { return vendortest.Call{Method: http.MethodGet, Path: serverPath(id)} },
		Missing: "fr-par-2/" + uuid.NewString(),
		Ports:   true,
		Hang:    vendortest.Call{Path: "/instance/v1/zones/fr-par-1/products/servers/availability"},

		GPUNames:    gpuNames,
		SomeSoldOut: true,
		CatalogSize: func(_ time.Time, scale int) int {
			n := 0
			for _, sold := range seedStock {
				for name := range sold {
					if types[name].gpus > 0 {
						n++
					}
				}
			}
			return scale * n
		},
		CatalogItem: func(t *testing.T, it vendors.CatalogItem, now time.Time) {
			st := types[it.InstanceType]
			if it.GPUCount != st.gpus || it.VCPUs != st.cpus || it.MemoryGB != float64(st.ramGiB) {
				t.Errorf("%s/%s: hardware %+v does not match the type %+v", it.Region, it.InstanceType, it, st)
			}
			eur := hourlyPrice(offer{zone: it.Region, typ: st}, now)
			if want := roundPrice(eur*DefaultEURToUSD + diskUSD); it.PricePerHour != want {
				t.Errorf("%s/%s: price %v USD per node-hour, want %v EUR × %v + disk %v = %v", it.Region, it.InstanceType, it.PricePerHour, eur, DefaultEURToUSD, diskUSD, want)
			}
			if it.BootDiskGB != DefaultBootDiskGB || it.BootDiskPricePerHour != diskUSD || diskUSD <= 0 || it.Contract != vendors.OnDemand {
				t.Errorf("%s/%s: boot disk %d GB at %v/h, contract %s", it.Region, it.InstanceType, it.BootDiskGB, it.BootDiskPricePerHour, it.Contract)
			}
			if it.Country != zoneCountry[it.Region] || it.Country == "" {
				t.Errorf("%s: country %q", it.Region, it.Country)
			}
			if _, ok := gpus.GPUs().Lookup(it.GPUName); !ok {
				t.Errorf("%s: GPU name %q is not in the GPU registry", it.InstanceType, it.GPUName)
			}
			inStock := seedStock[it.Region][it.InstanceType] > 0 && !standin.Flicker(0.05, it.Region+"/"+it.InstanceType, now)
			if it.Available != inStock || (it.Stock == 0) != !inStock {
				t.Errorf("%s/%s: available %v stock %d, want in stock %v", it.Region, it.InstanceType, it.Available, it.Stock, inStock)
			}
		},
		ScaledRegion:   "pl-waw-2-s3",
		Country:        a.country,
		UnknownRegions: []string{"us-east-1", "fr-par-2-sx", "fr-par-2-s"},

		UserData:    true,
		Terminating: vendors.StateTerminating,
		Created:     created,
		Errors: []vendortest.ErrorCase{
			{Name: "out of stock", Call: vendortest.Creating(create("fr-par-2", "H100-SXM-8-80G")), Want: vendors.ErrNoCapacity},
			{Name: "quota", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.(*StandIn).SetServerQuota(1)
				if _, err := r.Vendor.Create(ctx, createRequest(t, "fr-par-2", "L4-1-24G")); err != nil {
					t.Fatal(err)
				}
			}, Call: vendortest.Creating(create("fr-par-2", "L4-1-24G")), Want: vendors.ErrQuota},
			{Name: "type not in zone", Call: vendortest.Creating(create("nl-ams-1", "H100-1-80G")), Want: vendors.ErrInvalid},
			{Name: "spot", Call: vendortest.Creating(func(t *testing.T) vendors.CreateRequest {
				req := createRequest(t, "fr-par-2", "L4-1-24G")
				req.Contract = vendors.Spot
				return req
			}), Want: vendors.ErrInvalid},
			{Name: "malformed id", Call: func(t *testing.T, r *vendortest.Rig) error {
				_, err := r.Vendor.Get(ctx, "no-zone")
				return err
			}, Want: vendors.ErrNotFound},
		},
		SpendRateLimit: func(t *testing.T, r *vendortest.Rig) {
			r.StandIn.(*StandIn).SetRateLimit(2)
			r.Vendor.(*Adapter).zones = []string{"fr-par-1"}
			if _, err := r.Vendor.Catalog(ctx); err != nil { // two requests
				t.Fatal(err)
			}
		},
		PageSize: defaultPageSize,
		Extra: map[string]func(t *testing.T, r *vendortest.Rig){
			// The SBS root volume that terminate only detached was deleted too.
			"CreateLifecycle": func(t *testing.T, r *vendortest.Rig) {
				si := r.StandIn.(*StandIn)
				si.Mu.Lock()
				defer si.Mu.Unlock()
				for _, vol := range si.State.Volumes {
					if vol.DeletedAt.IsZero() || r.Rec.Count("DELETE /block/v1alpha1/zones/fr-par-2/volumes/"+vol.ID) != 1 {
						t.Errorf("root volume %s left behind", vol.ID)
					}
				}
			},
			// The retry found the stopped server and finished the launch.
			"CreatedButAnswered500": func(t *testing.T, r *vendortest.Rig) {
				list, err := r.Vendor.List(ctx)
				if err != nil || len(list) != 1 {
					t.Fatalf("List = %+v, %v", list, err)
				}
				vendortest.WaitFor(t, r.Vendor, list[0].ID, vendortest.Running)
			},
		},
	})
}

// created checks what reached the stand-in: a stopped server with our
// tag, block root volume and dynamic IP; its cloud-init as text/plain; a
// poweron; and that a server starting cannot be terminated yet.
func created(t *testing.T, r *vendortest.Rig, req vendors.CreateRequest, in vendors.Instance) {
	si := r.StandIn.(*StandIn)
	if in.Name != vendors.InstanceName(req.ResourceID) || in.State != vendors.StatePending || !strings.HasPrefix(in.ID, "fr-par-2/") {
		t.Errorf("created instance %+v", in)
	}
	si.Mu.Lock()
	srv := si.State.Servers[0]
	userData, vol := srv.UserData["cloud-init"], si.findVolume(srv.VolumeID)
	root := *vol
	tags, dynamicIP, project := srv.Tags, srv.DynamicIP, srv.Project
	si.Mu.Unlock()
	key, _ := normalisedKey(req.SSHPublicKey)
	if !strings.Contains(userData, key) || !strings.Contains(userData, "echo renter-script") || !strings.Contains(userData, "disable_root: false") {
		t.Errorf("cloud-init does not grant root and run the renter's script:\n%s", userData)
	}
	keyFields := strings.Fields(key)
	if len(tags) != 2 || tags[0] != resourceTag(req.ResourceID) || tags[1] != "AUTHORIZED_KEY="+keyFields[0]+"_"+keyFields[1] ||
		!dynamicIP || project != testProject {
		t.Errorf("server tags %v, dynamic IP %v, project %s", tags, dynamicIP, project)
	}
	// The root volume, named after the image by Scaleway, was renamed and
	// tagged after the resource before the server started.
	if root.Name != in.Name || len(root.Tags) != 1 || root.Tags[0] != resourceTag(req.ResourceID) || root.Size != DefaultBootDiskGB*1_000_000_000 {
		t.Errorf("root volume %+v", root)
	}
	path := serverPath(in.ID)
	if ct := r.Rec.ContentType("PATCH " + path + "/user_data/cloud-init"); ct != "text/plain" {
		t.Errorf("user data sent as %q, want text/plain", ct)
	}
	if body := r.Rec.Body("POST " + path + "/action"); string(body) != `{"action":"poweron"}` {
		t.Errorf("action body %s", body)
	}

	// Terminating while it is starting is refused; the refusal is transient.
	if err := r.Vendor.Terminate(context.Background(), in.ID); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("terminate while starting: %v, want ErrTransient", err)
	}
}

// TestHungMetadataIsCutOff: the SDK reads /metadata on its own, without
// the call's context; a hung answer is cut off all the same (not after
// the minute the stand-in hangs), and the listing goes on.
func TestHungMetadataIsCutOff(t *testing.T) {
	f := setup.Serve(t, standin.Options{}, nil)
	f.SI.Faults().Add(standin.Rule{PathPrefix: "/metadata", Delay: time.Minute})
	a := New(Config{APIKey: testKey, BaseURL: f.Srv.URL, Zones: []string{"fr-par-1"}, Timeout: time.Second})
	start := time.Now()
	if _, err := a.List(context.Background()); err != nil || time.Since(start) > 15*time.Second {
		t.Errorf("list with a hung /metadata: %v after %v, want a listing within 15 s", err, time.Since(start))
	}
}

// TestPriceDecimals serves a type priced 0.01375 EUR/h: the SDK decodes
// hourly_price into a float32, whose binary value (0.013749999...) would
// round a cent-hundredth low once converted; the adapter prices the
// decimal Scaleway sent.
func TestPriceDecimals(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Total-Count", "1")
		body := `{"servers": {"L4-1-24G": {"hourly_price": 0.01375, "ncpus": 8, "ram": 51539607552, "gpu": 1, "gpu_info": {"gpu_manufacturer": "NVIDIA", "gpu_name": "L4", "gpu_memory": 25769803776}, "end_of_service": false}}}`
		if strings.HasSuffix(r.URL.Path, "/availability") {
			body = `{"servers": {"L4-1-24G": {"availability": "available"}}}`
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	a := New(Config{APIKey: testKey, BaseURL: srv.URL, Zones: []string{"fr-par-2"}})
	items, err := a.Catalog(context.Background())
	if err != nil || len(items) != 1 {
		t.Fatalf("catalog %+v, %v", items, err)
	}
	diskUSD := roundPrice(DefaultBootDiskGB * blockEURPerGBMonth / hoursPerMonth * DefaultEURToUSD)
	if want := roundPrice(0.01375*DefaultEURToUSD + diskUSD); items[0].PricePerHour != want {
		t.Errorf("price %v USD/h, want %v", items[0].PricePerHour, want)
	}
}

func TestGPUNames(t *testing.T) {
	a := New(Config{Logger: slog.New(slog.DiscardHandler)})
	type gpuInfo = instance.ServerTypeGPUInfo
	tests := []struct {
		typ  string
		info gpuInfo
		want string // canonical registry name
	}{
		{"L4-1-24G", gpuInfo{GpuName: "L4", GpuMemory: 24 << 30}, "nvidia-l4-pcie-24gb"},
		{"L40S-8-48G", gpuInfo{GpuName: "L40S", GpuMemory: 48 << 30}, "nvidia-l40s-pcie-48gb"},
		{"H100-1-80G", gpuInfo{GpuName: "H100-PCIe", GpuMemory: 80 << 30}, "nvidia-h100-pcie-80gb"},
		{"H100-2-80G", gpuInfo{GpuName: "H100", GpuMemory: 80 << 30}, "nvidia-h100-pcie-80gb"},
		{"H100-SXM-8-80G", gpuInfo{GpuName: "H100-SXM", GpuMemory: 80 << 30}, "nvidia-h100-sxm5-80gb"},
		{"H100-SXM-2-80G", gpuInfo{GpuName: "H100", GpuMemory: 80 << 30}, "nvidia-h100-sxm5-80gb"},
		{"GPU-3070-S", gpuInfo{GpuName: "RTX 3070", GpuMemory: 8 << 30}, "nvidia-rtx-3070-pcie-8gb"},
		{"RENDER-S", gpuInfo{GpuName: "P100", GpuMemory: 17179869184}, "nvidia-p100-pcie-16gb"},
	}
	for _, tt := range tests {
		name := a.gpuName(tt.typ, &tt.info)
		g, ok := gpus.GPUs().Lookup(name)
		if !ok || g.Name != tt.want {
			t.Errorf("%s %q → %q → %+v, %v; want %s", tt.typ, tt.info.GpuName, name, g.Name, ok, tt.want)
		}
	}
}

// serverPath is the Instance API path of an instance id "<zone>/<uuid>".
func serverPath(id string) string {
	zone, serverID, _ := strings.Cut(id, "/")
	return "/instance/v1/zones/" + zone + "/servers/" + serverID
}

// normalisedKey is the key as the adapter normalises it.
func normalisedKey(key string) (string, error) {
	pk, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " " + comment, nil
}

func TestOutOfStockLeavesNothingBehind(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: 200 * time.Millisecond}, nil)
	if _, err := f.A.Create(context.Background(), createRequest(t, "fr-par-1", "L4-1-24G")); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Fatalf("create in shortage: %v, want ErrNoCapacity", err)
	}
	entries := f.SI.Instances()
	if len(entries) != 1 || entries[0].State != "deleted" {
		t.Errorf("console after a create in shortage: %+v", entries)
	}
	// The server was deleted; its root volume, once detached, goes with
	// List's sweep.
	waitVolumesDetached(t, f.SI)
	if _, err := f.A.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if entries := f.SI.Instances(); entries[0].Live {
		t.Errorf("a server that could not start still bills: %+v", entries[0])
	}
}

// TestSweepLeavesOtherInstallationsVolumes: the root volume a failed launch
// left behind is swept only by the installation that owns it, never by
// another one sharing the project.
func TestSweepLeavesOtherInstallationsVolumes(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: 200 * time.Millisecond}, nil)
	req := createRequest(t, "fr-par-1", "L4-1-24G")
	req.Owner = vendors.NewOwner()
	if _, err := f.A.Create(context.Background(), req); !errors.Is(err, vendors.ErrNoCapacity) {
		t.Fatalf("create in shortage: %v, want ErrNoCapacity", err)
	}
	// Detached, the volume is one its owner's sweep would delete.
	waitVolumesDetached(t, f.SI)
	if _, err := f.A.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if entries := f.SI.Instances(); len(entries) != 1 || !entries[0].Live {
		t.Fatalf("another installation swept a volume it does not own: %+v", entries)
	}
	f.A.owner = req.Owner
	if _, err := f.A.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if entries := f.SI.Instances(); entries[0].Live {
		t.Errorf("the owner's sweep left its volume billing: %+v", entries[0])
	}
}

// waitVolumesDetached waits until the Block API reads every volume si
// holds as free of its server (available, with a last detach time), as a
// sweep needs it: a sweep that deletes nothing before then proves nothing.
func waitVolumesDetached(t *testing.T, si *StandIn) {
	t.Helper()
	detached := func() bool {
		si.Mu.Lock()
		defer si.Mu.Unlock()
		for _, v := range si.State.Volumes {
			if b := si.volumeView(v, si.Now()); v.DeletedAt.IsZero() && (b.Status != "available" || b.LastDetachedAt == nil) {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(10 * time.Second); !detached(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stand-in's volumes never detached")
		}
	}
}
