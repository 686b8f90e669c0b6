package hyperstack

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

const testKey = "hs-test-key"

var setup = vendortest.Setup[*StandIn, *Adapter]{Key: testKey, Clock: clockBase, NewStandIn: NewStandIn,
	NewAdapter: func(_ *StandIn, url string, hosts *standin.Hosts, v vendortest.Variant) *Adapter {
		return New(Config{APIKey: v.Key, BaseURL: url + basePath, SSHPort: hosts.Port, HTTP: &http.Client{Timeout: v.Timeout}, RateLimit: 1000, Burst: 100})
	}}

// clockBase starts a stock-drift period: tests run well within it, so
// which items flicker out of stock is fixed (see createRequest).
var clockBase = time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC)

func createRequest(t *testing.T, region, flavor string) vendors.CreateRequest {
	t.Helper()
	if standin.Flicker(0.05, region+"/"+flavor, clockBase) {
		t.Fatalf("%s/%s is flickered out of stock at the test clock: pick another flavor", region, flavor)
	}
	return vendors.CreateRequest{
		ResourceID: uuid.NewString(), InstanceType: flavor, Region: region,
		Contract: vendors.OnDemand, SSHPublicKey: vendortest.PublicKey(t),
	}
}

const vmsPath = "/v1/core/virtual-machines"

// TestSuite runs the vendor suite against the adapter and its stand-in.
func TestSuite(t *testing.T) {
	ctx := context.Background()
	flavors := map[string]seedFlavor{}
	for _, fl := range seedFlavors {
		flavors[fl.name] = fl
	}
	var gpuNames []string
	for _, p := range seedPrices {
		gpuNames = append(gpuNames, p.gpu)
	}
	vendortest.Run(t, vendortest.Kit{
		Start:   func(t *testing.T, o standin.Options) *vendortest.Rig { return setup.Serve(t, o, nil).Rig },
		Clock:   clockBase,
		Request: func(t *testing.T) vendors.CreateRequest { return createRequest(t, "CANADA-1", "n3-A100x1") },
		Create:  vendortest.Call{Method: http.MethodPost, Path: vmsPath},
		Get: func(id string) vendortest.Call {
			return vendortest.Call{Method: http.MethodGet, Path: vmsPath + "/" + id}
		},
		Missing: "424242",
		Ports:   true,
		Volumes: &vendortest.VolumeKit{MountPath: func(v vendors.Volume) string { return vendors.MountPath(v.Name) }, ReportsUse: true},
		Hang:    vendortest.Call{Path: "/v1/pricebook"},

		GPUNames:    gpuNames,
		SomeSoldOut: true,
		CatalogSize: func(_ time.Time, scale int) int {
			n := 0
			for _, flavors := range seedStock {
				n += len(flavors)
			}
			return scale * n
		},
		CatalogItem: func(t *testing.T, it vendors.CatalogItem, now time.Time) {
			fl := flavors[it.InstanceType]
			if it.GPUName != fl.gpu || it.GPUCount != fl.gpuCount || it.VCPUs != fl.cpu || it.MemoryGB != fl.ram {
				t.Errorf("%s/%s: hardware %+v does not match the flavor %+v", it.Region, it.InstanceType, it, fl)
			}
			perGPUHour := 0.0
			for _, p := range seedPrices {
				if p.gpu == fl.gpu {
					perGPUHour = standin.Drift(p.price, 0.03, "hyperstack/"+p.gpu, now)
				}
			}
			if want := roundCents(float64(fl.gpuCount) * perGPUHour); it.PricePerHour != want {
				t.Errorf("%s/%s: price %v per node-hour, want %d × %v = %v", it.Region, it.InstanceType, it.PricePerHour, fl.gpuCount, perGPUHour, want)
			}
			if it.BootDiskGB != fl.disk || it.BootDiskPricePerHour != 0 || it.Contract != vendors.OnDemand || it.Country != regionCountry[it.Region] {
				t.Errorf("%s/%s: boot disk %d GB at %v/h, contract %s, country %s", it.Region, it.InstanceType, it.BootDiskGB, it.BootDiskPricePerHour, it.Contract, it.Country)
			}
			inStock := seedStock[it.Region][it.InstanceType] > 0 && !standin.Flicker(0.05, it.Region+"/"+it.InstanceType, now)
			if it.Available != inStock {
				t.Errorf("%s/%s: available %v stock %d, want in stock %v", it.Region, it.InstanceType, it.Available, it.Stock, inStock)
			}
		},
		ScaledRegion:   "NORWAY-1-s3",
		Country:        New(Config{Logger: slog.New(slog.DiscardHandler)}).country,
		UnknownRegions: []string{"MARS-1", "CANADA-1-sx", "CANADA-1-s"},

		UserData:    true,
		Terminating: vendors.StateTerminating,
		Created:     created,
		Errors: []vendortest.ErrorCase{
			{Name: "sold out", Call: vendortest.Creating(func(t *testing.T) vendors.CreateRequest {
				return createRequest(t, "CANADA-1", "n3-H100x8")
			}), Want: vendors.ErrNoCapacity},
			{Name: "quota", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.(*StandIn).SetVMQuota(1)
				if _, err := r.Vendor.Create(ctx, createRequest(t, "CANADA-1", "n3-A100x1")); err != nil {
					t.Fatal(err)
				}
			}, Call: vendortest.Creating(func(t *testing.T) vendors.CreateRequest {
				return createRequest(t, "CANADA-1", "n3-A100x1")
			}), Want: vendors.ErrQuota},
			{Name: "flavor not in region", Call: vendortest.Creating(func(t *testing.T) vendors.CreateRequest {
				return createRequest(t, "US-1", "n3-RTX-A6000x1")
			}), Want: vendors.ErrInvalid},
		},
		SpendRateLimit: func(t *testing.T, r *vendortest.Rig) {
			r.StandIn.(*StandIn).SetRateLimit(2)
			if _, err := r.Vendor.Catalog(ctx); err != nil { // two requests
				t.Fatal(err)
			}
		},
		Extra: map[string]func(t *testing.T, r *vendortest.Rig){
			"CreateIsIdempotent": func(t *testing.T, r *vendortest.Rig) {
				if n := r.Rec.Count("POST /v1/core/environments") + r.Rec.Count("POST /v1/core/keypairs"); n != 2 {
					t.Errorf("%d environment and key pair imports, want one each", n)
				}
			},
		},
		PageSize: listPageSize,
	})
}

// created checks Hyperstack's create payload as it reached the stand-in,
// and that a VM being created cannot be deleted yet.
func created(t *testing.T, r *vendortest.Rig, req vendors.CreateRequest, in vendors.Instance) {
	si := r.StandIn.(*StandIn)
	if in.Name != vendors.InstanceName(req.ResourceID) || in.State != vendors.StatePending {
		t.Errorf("created instance %+v", in)
	}
	// What reached the stand-in: Hyperstack's create payload.
	var sent map[string]any
	if err := json.Unmarshal(r.Rec.Body("POST /v1/core/virtual-machines"), &sent); err != nil {
		t.Fatal(err)
	}
	userData, _ := sent["user_data"].(string)
	key, _ := userdataKey(req.SSHPublicKey)
	if !strings.Contains(userData, key) || !strings.Contains(userData, "echo renter-script") || !strings.Contains(userData, "disable_root: false") {
		t.Errorf("user_data does not grant root and run the renter's script:\n%s", userData)
	}
	if sent["environment_name"] != "supply-canada-1" || sent["key_name"] != keypairName(key) || sent["image_name"] != DefaultImage ||
		sent["assign_floating_ip"] != true || sent["enable_port_randomization"] != false || sent["count"] != 1.0 {
		t.Errorf("create payload %v", sent)
	}
	if labels, _ := sent["labels"].([]any); len(labels) != 1 || labels[0] != vendors.Tag+"="+req.ResourceID {
		t.Errorf("labels %v", sent["labels"])
	}
	rules, _ := sent["security_rules"].([]any)
	if len(rules) != 1 || rules[0].(map[string]any)["protocol"] != "tcp" || rules[0].(map[string]any)["port_range_min"] != 22.0 {
		t.Errorf("security rules %v", rules)
	}
	si.Mu.Lock()
	kp := si.findKeypair("supply-canada-1", keypairName(key))
	si.Mu.Unlock()
	if kp == nil || kp.PublicKey != key {
		t.Errorf("key pair in the stand-in: %+v", kp)
	}

	// Deleting while it is being created is refused; the refusal is transient.
	if err := r.Vendor.Terminate(context.Background(), in.ID); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("terminate while creating: %v, want ErrTransient", err)
	}
}

// userdataKey is the key as the adapter normalises it.
func userdataKey(key string) (string, error) {
	pk, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " " + comment, nil
}

func TestPageBounds(t *testing.T) {
	tests := []struct {
		query      string
		n          int
		start, end int
	}{
		{"", 5, 0, 5},
		{"page=2&pageSize=2", 5, 2, 4},
		{"page=3&pageSize=2", 5, 4, 5},
		{"page=4&pageSize=2", 5, 5, 5},
		{"page=9223372036854775807&pageSize=9223372036854775807", 5, 5, 5},
		{"page=-1&pageSize=x", 0, 0, 0},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/v1/core/virtual-machines?"+tt.query, nil)
		if start, end, _, _ := page(r, tt.n); start != tt.start || end != tt.end {
			t.Errorf("page(%q, %d) = [%d:%d], want [%d:%d]", tt.query, tt.n, start, end, tt.start, tt.end)
		}
	}
}

// TestCreateWithVolume: the volume travels as volume_name, named for
// supply's id with the owner in its description; cloud-init formats a
// blank disk and mounts it before the renter's part runs; more than one
// volume, or one supply did not make, is refused before any call.
func TestCreateWithVolume(t *testing.T) {
	ctx := context.Background()
	f := setup.Serve(t, standin.Options{}, nil)
	vreq := vendors.VolumeRequest{VolumeID: uuid.NewString(), Owner: vendors.NewOwner(), Region: "CANADA-1", SizeGB: 50}
	vol, err := f.A.CreateVolume(ctx, vreq)
	if err != nil {
		t.Fatal(err)
	}
	var body createVolumePayload
	json.Unmarshal(f.Rec.Body("POST /v1/core/volumes"), &body)
	if body.Name != vendors.InstanceName(vreq.VolumeID) || body.EnvironmentName != "supply-canada-1" || body.Size != 50 || body.VolumeType != volumeType {
		t.Errorf("create volume payload %+v", body)
	}
	if vol.VolumeID != vreq.VolumeID || vol.Owner != vreq.Owner || vol.Region != "CANADA-1" || vol.State != vendors.VolumeAvailable {
		t.Errorf("created volume %+v", vol)
	}
	if p := f.A.VolumePricePerGBMonth("CANADA-1"); p < 0.0706 || p > 0.0707 {
		t.Errorf("price per GB-month %v, want 730 h × 0.000096774", p)
	}

	req := createRequest(t, "CANADA-1", "n3-A100x1")
	req.UserData = "#!/bin/sh\necho renter-script\n"
	req.Volumes = []vendors.Volume{vol}
	if _, err := f.A.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	var sent createPayload
	json.Unmarshal(f.Rec.Body("POST /v1/core/virtual-machines"), &sent)
	if sent.VolumeName != vol.Name {
		t.Errorf("volume_name %q, want %q", sent.VolumeName, vol.Name)
	}
	ours := sent.UserData[strings.Index(sent.UserData, "#cloud-config"):]
	for _, want := range []string{"mkfs.ext4 -q -L " + vendors.VolumeLabel(vol.ID), "mount " + vol.MountPath, "lsblk"} {
		if !strings.Contains(ours, want) {
			t.Errorf("cloud-init lacks %q:\n%s", want, ours)
		}
	}
	var cfg struct {
		BootCmd []string `yaml:"bootcmd"`
	}
	if err := yaml.Unmarshal([]byte(strings.SplitN(ours, "\n--", 2)[0]), &cfg); err != nil || len(cfg.BootCmd) != 1 {
		t.Fatalf("our cloud-config: %v, bootcmd %q", err, cfg.BootCmd)
	}
	if out, err := exec.Command("sh", "-n", "-c", cfg.BootCmd[0]).CombinedOutput(); err != nil {
		t.Errorf("the mount part is not valid sh: %v\n%s", err, out)
	}

	two := createRequest(t, "CANADA-1", "n3-A100x1")
	two.Volumes = []vendors.Volume{vol, vol}
	foreign := createRequest(t, "CANADA-1", "n3-A100x1")
	foreign.Volumes = []vendors.Volume{{ID: "7", Name: "x; rm -rf /"}}
	for name, r := range map[string]vendors.CreateRequest{"two volumes": two, "a volume supply did not make": foreign} {
		if _, err := f.A.Create(ctx, r); !errors.Is(err, vendors.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if info := f.A.Info(); !info.Volumes || info.MaxVolumes != 1 {
		t.Errorf("Info: volumes %v, at most %d; want one volume a VM", info.Volumes, info.MaxVolumes)
	}
}

// TestVolumeStates maps the statuses of Hyperstack's (OpenStack) volumes.
func TestVolumeStates(t *testing.T) {
	for status, want := range map[string]vendors.VolumeState{
		"creating": vendors.VolumeCreating, "available": vendors.VolumeAvailable, "in-use": vendors.VolumeInUse,
		"ATTACHING": vendors.VolumeInUse, "detaching": vendors.VolumeInUse, "deleting": vendors.VolumeDeleting,
		"error": vendors.VolumeAvailable, "something new": vendors.VolumeAvailable,
	} {
		if got := volumeState(status); got != want {
			t.Errorf("%q: %s, want %s", status, got, want)
		}
	}
	attached := toVolume(volumeFields{ID: 3, Name: "data", Status: "available", Attachments: []volumeAttachedTo{{InstanceID: 9}}})
	if attached.State != vendors.VolumeInUse || attached.VolumeID != "" || attached.ID != "3" {
		t.Errorf("a volume not supply's, with an attachment: %+v", attached)
	}
}
