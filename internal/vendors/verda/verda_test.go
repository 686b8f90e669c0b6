package verda

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

type fixture = vendortest.Fixture[*StandIn, *Adapter]

const testSecret = "verda-test-secret"

var setup = vendortest.Setup[*StandIn, *Adapter]{Key: testSecret, Clock: clockBase, NewStandIn: NewStandIn,
	NewAdapter: func(_ *StandIn, url string, hosts *standin.Hosts, v vendortest.Variant) *Adapter {
		return New(Config{ClientID: "supply-test", ClientSecret: v.Key, BaseURL: url + basePath, SSHPort: hosts.Port,
			HTTP: &http.Client{}, Timeout: v.Timeout, RateLimit: 1000, Burst: 100})
	}}

// clockBase starts a stock-drift period: tests run well within it, so
// which items flicker out of stock is fixed (see createRequest).
var clockBase = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func createRequest(t *testing.T, location, typ string, contract vendors.Contract) vendors.CreateRequest {
	t.Helper()
	key := location + "/" + typ
	if contract == vendors.Spot {
		key += "/spot"
	}
	if standin.Flicker(0.05, key, clockBase) {
		t.Fatalf("%s is flickered out of stock at the test clock: pick another type", key)
	}
	return vendors.CreateRequest{
		ResourceID: uuid.NewString(), InstanceType: typ, Region: location,
		Contract: contract, SSHPublicKey: vendortest.PublicKey(t),
	}
}

// TestSuite runs the vendor suite against the adapter and its stand-in.
func TestSuite(t *testing.T) {
	gpuTypes := map[string]seedType{}
	var gpuNames []string
	for _, st := range seedTypes {
		if st.gpus > 0 {
			gpuTypes[st.name] = st
			gpuNames = append(gpuNames, gpuName(instanceType{Model: st.model, GPU: gpuSpec{Description: gpuDescription(st), NumberOfGPUs: float64(st.gpus)}}))
		}
	}
	onDemand := func(location, typ string) func(t *testing.T) vendors.CreateRequest {
		return func(t *testing.T) vendors.CreateRequest { return createRequest(t, location, typ, vendors.OnDemand) }
	}
	vendortest.Run(t, vendortest.Kit{
		Volumes: &vendortest.VolumeKit{MountPath: func(v vendors.Volume) string { return vendors.MountPath(v.Name) }, ReportsUse: true},
		Start:   func(t *testing.T, o standin.Options) *vendortest.Rig { return setup.Serve(t, o, nil).Rig },
		Clock:   clockBase,
		Request: onDemand("FIN-03", "1H100.80S.30V"),
		Create:  vendortest.Call{Method: http.MethodPost, Path: "/v1/instances"},
		Get: func(id string) vendortest.Call {
			return vendortest.Call{Method: http.MethodGet, Path: "/v1/instances/" + id}
		},
		Missing: uuid.NewString(),
		Hang:    vendortest.Call{Path: "/v1/locations"},

		GPUNames:    gpuNames,
		SomeSoldOut: true,
		CatalogSize: func(_ time.Time, scale int) int { return scale * len(seedLocations) * len(gpuTypes) * 2 },
		CatalogItem: func(t *testing.T, it vendors.CatalogItem, now time.Time) {
			st, ok := gpuTypes[it.InstanceType]
			if !ok {
				t.Fatalf("%s is not a GPU type", it.InstanceType)
			}
			if it.GPUName != st.gpu || it.GPUCount != st.gpus || it.VCPUs != st.cores || it.MemoryGB != st.memGB {
				t.Errorf("%s/%s: hardware %+v does not match %+v", it.Region, it.InstanceType, it, st)
			}
			base, key, stockKey, spread := st.price, "verda/"+st.name, it.Region+"/"+st.name, 0.03
			if it.Contract == vendors.Spot {
				base, key, stockKey, spread = st.spot, "verda/spot/"+st.name, stockKey+"/spot", 0.05
			}
			disk := DefaultOSVolumeGB * 0.2 / hoursPerMonth
			if want := roundPrice(standin.Drift(base, spread, key, now) + disk); it.PricePerHour != want {
				t.Errorf("%s/%s %s: price %v, want %v with the boot volume", it.Region, it.InstanceType, it.Contract, it.PricePerHour, want)
			}
			if it.BootDiskGB != DefaultOSVolumeGB || it.BootDiskPricePerHour != roundPrice(disk) || it.Country != regionCountry[it.Region] {
				t.Errorf("%s/%s: boot disk %d GB at %v/h, country %s", it.Region, it.InstanceType, it.BootDiskGB, it.BootDiskPricePerHour, it.Country)
			}
			inStock := seedStock[it.Region][st.name][spotIndex(it.Contract == vendors.Spot)] > 0 && !standin.Flicker(0.05, stockKey, now)
			if it.Available != inStock {
				t.Errorf("%s/%s %s: available %v stock %d, want in stock %v", it.Region, it.InstanceType, it.Contract, it.Available, it.Stock, inStock)
			}
		},
		ScaledRegion: "ICE-01-s3",
		Country: func(region string) string {
			return New(Config{Logger: slog.New(slog.DiscardHandler)}).country(region, "")
		},
		UnknownRegions: []string{"MARS-1", "FIN-01-sx", "FIN-01-s"},

		UserData:    true,
		Terminating: vendors.StateTerminating,
		Created:     created,
		Errors: []vendortest.ErrorCase{
			{Name: "sold out", Call: vendortest.Creating(onDemand("FIN-01", "8H100.80S.176V")), Want: vendors.ErrNoCapacity},
			{Name: "balance", Setup: func(t *testing.T, r *vendortest.Rig) { r.StandIn.(*StandIn).SetBalance(0.5) },
				Call: vendortest.Creating(onDemand("FIN-01", "1A100.80S.22V")), Want: vendors.ErrQuota},
			{Name: "type not in location", Call: vendortest.Creating(onDemand("ICE-01", "1V100.6V")), Want: vendors.ErrInvalid},
		},
		SpendRateLimit: func(t *testing.T, r *vendortest.Rig) {
			if _, err := r.Vendor.List(context.Background()); err != nil { // the token, cached from here on
				t.Fatal(err)
			}
			r.StandIn.(*StandIn).SetRateLimit(1)
			if _, err := r.Vendor.List(context.Background()); err != nil { // the minute's one request
				t.Fatal(err)
			}
		},
		Extra: map[string]func(t *testing.T, r *vendortest.Rig){
			"CreateIsIdempotent": func(t *testing.T, r *vendortest.Rig) {
				if n := r.Rec.Count("POST /v1/ssh-keys") + r.Rec.Count("POST /v1/scripts"); n != 2 {
					t.Errorf("%d key and script uploads, want one each", n)
				}
			},
			"CreateLifecycle":       scripts(0),
			"CreatedButAnswered500": scripts(1),
			"Persistence":           scripts(1),
		},
	})
}

// scripts checks that the stand-in holds n start-up scripts: one an
// instance, none left by a retry or a refusal.
func scripts(n int) func(t *testing.T, r *vendortest.Rig) {
	return func(t *testing.T, r *vendortest.Rig) {
		if got := len(r.StandIn.(*StandIn).Scripts()); got != n {
			t.Errorf("%d start-up scripts, want %d", got, n)
		}
	}
}

// created checks Verda's deploy body, key and script as they reached the
// stand-in, and that an instance being provisioned cannot be deleted yet.
func created(t *testing.T, r *vendortest.Rig, req vendors.CreateRequest, in vendors.Instance) {
	si := r.StandIn.(*StandIn)
	if in.Name != vendors.InstanceName(req.ResourceID) || in.State != vendors.StatePending {
		t.Errorf("created instance %+v", in)
	}
	// What reached the stand-in: Verda's deploy body, key and script.
	var sent deployRequest
	if err := json.Unmarshal(r.Rec.Body("POST /v1/instances"), &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Hostname != vendors.InstanceName(req.ResourceID) || sent.Description != description(req.ResourceID, "") ||
		sent.LocationCode != "FIN-03" || sent.InstanceType != req.InstanceType || sent.Image != DefaultImage || sent.IsSpot ||
		sent.OSVolume.Size != DefaultOSVolumeGB || sent.OSVolume.Name == "" || len(sent.SSHKeyIDs) != 1 || sent.StartupScriptID == "" {
		t.Errorf("deploy body %+v", sent)
	}
	var key sshKey
	json.Unmarshal(r.Rec.Body("POST /v1/ssh-keys"), &key)
	normalized := strings.TrimSuffix(req.SSHPublicKey, " renter@test")
	if !strings.HasPrefix(key.Key, normalized) || key.Name != keyName(key.Key) {
		t.Errorf("ssh key sent %+v", key)
	}
	script := si.Scripts()[sent.StartupScriptID]
	if !strings.HasPrefix(script, "#!/bin/bash") || !strings.Contains(script, normalized) ||
		!strings.Contains(script, "/root/.ssh/authorized_keys") || !strings.Contains(script, "echo renter-script") {
		t.Errorf("start-up script does not grant root and run the renter's script:\n%s", script)
	}

	// Deleting while it provisions is refused; the refusal is transient.
	if err := r.Vendor.Terminate(context.Background(), in.ID); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("terminate while provisioning: %v, want ErrTransient", err)
	}
}

// TestVerdaPlacesLocation: a location Verda places itself needs no table.
func TestVerdaPlacesLocation(t *testing.T) {
	if c := New(Config{Logger: slog.New(slog.DiscardHandler)}).country("NOR-01", "no"); c != "NO" {
		t.Errorf("a location Verda places itself: %q, want NO", c)
	}
}

func TestSpotCreateAndStockRunsOut(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: time.Second}, nil)
	ctx := context.Background()
	// FIN-02 sells two spot 1H200s.
	for i := range 2 {
		in, err := f.A.Create(ctx, createRequest(t, "FIN-02", "1H200.141S.44V", vendors.Spot))
		if err != nil {
			t.Fatalf("spot create %d: %v", i, err)
		}
		var sent deployRequest
		json.Unmarshal(f.Rec.Body("POST /v1/instances"), &sent)
		if !sent.IsSpot || in.ID == "" {
			t.Errorf("spot deploy body %+v", sent)
		}
	}
	_, err := f.A.Create(ctx, createRequest(t, "FIN-02", "1H200.141S.44V", vendors.Spot))
	if !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("third spot create: %v, want ErrNoCapacity", err)
	}
	if len(f.SI.Scripts()) != 2 {
		t.Errorf("%d scripts left; the refused create's script should be gone", len(f.SI.Scripts()))
	}
	items, err := f.A.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if it.Region == "FIN-02" && it.InstanceType == "1H200.141S.44V" {
			if want := it.Contract == vendors.OnDemand; it.Available != want {
				t.Errorf("%s after the spot stock ran out: available %v, want %v", it.Contract, it.Available, want)
			}
		}
	}
}

func TestTokenCachedAndRenewed(t *testing.T) {
	f := setup.Serve(t, standin.Options{}, nil)
	ctx := context.Background()
	const tokenPath = "POST /v1/oauth2/token"
	for range 3 {
		if _, err := f.A.List(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.Rec.Count(tokenPath); n != 1 {
		t.Errorf("%d token requests for three calls, want 1 (cached)", n)
	}
	var first tokenRequest
	json.Unmarshal(f.Rec.Body(tokenPath), &first)
	if first.GrantType != grantClientCredentials || first.ClientID != "supply-test" || first.ClientSecret != testSecret {
		t.Errorf("first token request %+v", first)
	}

	// A revoked token: one 401, one renewal with the refresh token, and
	// the call succeeds.
	f.SI.RevokeTokens()
	if _, err := f.A.List(ctx); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	var renewal tokenRequest
	json.Unmarshal(f.Rec.Body(tokenPath), &renewal)
	if n := f.Rec.Count(tokenPath); n != 2 || renewal.GrantType != grantRefreshToken || f.Rec.Count("GET /v1/instances") != 5 {
		t.Errorf("%d token requests (last %+v), %d lists; want 2, a refresh, 5", n, renewal, f.Rec.Count("GET /v1/instances"))
	}

	// A token about to expire is renewed before it is used.
	f.SI.SetTokenTTL(time.Second)
	f.SI.RevokeTokens()
	f.A.List(ctx)
	before := f.Rec.Count(tokenPath)
	time.Sleep(900 * time.Millisecond)
	if _, err := f.A.List(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.Rec.Count(tokenPath) - before; n != 1 {
		t.Errorf("%d token requests near expiry, want 1", n)
	}
}

func TestStateMapping(t *testing.T) {
	ip := "203.0.113.7"
	tests := []struct {
		status string
		ip     *string
		want   vendors.State
	}{
		{"new", nil, vendors.StatePending},
		{"ordered", nil, vendors.StatePending},
		{"provisioning", nil, vendors.StatePending},
		{"validating", nil, vendors.StatePending},
		{"restoring", nil, vendors.StatePending},
		{"running", nil, vendors.StatePending},
		{"running", &ip, vendors.StateRunning},
		{"offline", &ip, vendors.StateStopped},
		{"starting hibernation", nil, vendors.StateStopped},
		{"hibernating", nil, vendors.StateStopped},
		{"deleting", nil, vendors.StateTerminating},
		{"discontinued", nil, vendors.StateTerminating},
		{"notfound", nil, vendors.StateTerminated},
		{"error", nil, vendors.StateFailed},
		{"no_capacity", nil, vendors.StateFailed},
	}
	for _, tt := range tests {
		if got := state(instance{Status: tt.status, IP: tt.ip}); got != tt.want {
			t.Errorf("state(%q, ip %v) = %s, want %s", tt.status, tt.ip != nil, got, tt.want)
		}
	}
}

func TestCreateAnswerForms(t *testing.T) {
	const id = "08458253-6954-4964-aec3-4084f509e05d"
	for _, body := range []string{id, id + "\n", `"` + id + `"`, `{"id":"` + id + `","status":"ordered"}`} {
		if got, err := plainID([]byte(body)); err != nil || got != id {
			t.Errorf("plainID(%q) = %q, %v", body, got, err)
		}
	}
	for _, body := range []string{"", "{}", `{"status":"ordered"}`} {
		if got, err := plainID([]byte(body)); err == nil {
			t.Errorf("plainID(%q) = %q, want an error", body, got)
		}
	}
}

func TestPricesAsNumbersOrStrings(t *testing.T) {
	var got struct{ A, B, C, D flexFloat }
	if err := json.Unmarshal([]byte(`{"A": 2.29, "B": "2.29", "C": "", "D": null}`), &got); err != nil {
		t.Fatal(err)
	}
	if got.A != 2.29 || got.B != 2.29 || got.C != 0 || got.D != 0 {
		t.Errorf("decoded %+v", got)
	}
	if err := json.Unmarshal([]byte(`{"A": "cheap"}`), &got); err == nil {
		t.Error(`"cheap" decoded as a price`)
	}
}

// TestVolumeMountedByStartupScript: an instance deployed with a volume
// gets it through existing_volumes, and its start-up script (valid bash)
// formats and mounts it at the volume's MountPath as root, before the
// renter's part; a volume supply did not make is refused before anything
// is sent.
func TestVolumeMountedByStartupScript(t *testing.T) {
	f := setup.Serve(t, standin.Options{}, nil)
	ctx := context.Background()
	vol, err := f.A.CreateVolume(ctx, vendors.VolumeRequest{VolumeID: uuid.NewString(), Owner: vendors.NewOwner(), Region: "FIN-03", SizeGB: 10})
	if err != nil {
		t.Fatal(err)
	}
	var made deployVolume
	json.Unmarshal(f.Rec.Body("POST /v1/volumes"), &made)
	if made.Size != minVolumeGB || made.Type != osVolumeType || made.LocationCode != "FIN-03" || made.Name != vol.Name {
		t.Errorf("create volume body %+v, want %d GB of NVMe in FIN-03 named %s", made, minVolumeGB, vol.Name)
	}
	req := createRequest(t, "FIN-03", "1H100.80S.30V", vendors.OnDemand)
	req.UserData = "#!/bin/sh\necho renter-script\n"
	req.Volumes = []vendors.Volume{vol}
	if _, err := f.A.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	var sent deployRequest
	json.Unmarshal(f.Rec.Body("POST /v1/instances"), &sent)
	if len(sent.ExistingVolumes) != 1 || sent.ExistingVolumes[0] != vol.ID {
		t.Errorf("existing_volumes %v, want [%s]", sent.ExistingVolumes, vol.ID)
	}
	script := f.SI.Scripts()[sent.StartupScriptID]
	mount := strings.Index(script, "mount "+vol.MountPath)
	if mount < 0 || !strings.Contains(script, "mkfs.ext4 -q -L "+vendors.VolumeLabel(vol.ID)) || mount > strings.Index(script, "echo renter-script") {
		t.Errorf("the start-up script does not format and mount %s before the renter's part:\n%s", vol.MountPath, script)
	}
	if out, err := exec.Command("bash", "-n", "-c", script).CombinedOutput(); err != nil {
		t.Errorf("the start-up script is not valid bash: %v\n%s", err, out)
	}

	foreign := req
	foreign.ResourceID = uuid.NewString()
	foreign.Volumes = []vendors.Volume{{ID: uuid.NewString(), Name: "x; rm -rf /"}}
	if _, err := f.A.Create(ctx, foreign); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("a volume supply did not make: %v, want ErrInvalid", err)
	}
}
