package verda

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

type fixture struct {
	si    *StandIn
	srv   *httptest.Server
	a     *Adapter
	rec   *vendortest.Recorder
	hosts *standin.Hosts
}

const testSecret = "verda-test-secret"

// config is the adapter configuration pointing at a fixture's server.
func (f *fixture) config() Config {
	return Config{ClientID: "supply-test", ClientSecret: testSecret, BaseURL: f.srv.URL + basePath, SSHPort: f.hosts.Port,
		HTTP: &http.Client{}, Timeout: 2 * time.Second, RateLimit: 1000, Burst: 100}
}

// newFixture serves a stand-in over loopback HTTP and points an adapter
// at it. wrap, when set, goes between the recorder and the stand-in.
func newFixture(t *testing.T, o standin.Options, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	o = vendortest.StandInOptions(o, testSecret, clockBase)
	si, err := NewStandIn(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { si.Close() })
	srv, rec := vendortest.Serve(t, si, wrap)
	f := &fixture{si: si, srv: srv, rec: rec, hosts: o.Hosts}
	f.a = New(f.config())
	return f
}

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

// TestCatalogInStock: the in-stock listing an offer index reads is
// Catalog's available items, the same and in the same order.
func TestCatalogInStock(t *testing.T) {
	f := newFixture(t, standin.Options{Scale: 3}, nil)
	all, err := f.a.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	inStock, err := f.a.CatalogInStock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	available := slices.DeleteFunc(slices.Clone(all), func(it vendors.CatalogItem) bool { return !it.Available })
	if len(available) == 0 || len(available) == len(all) || !reflect.DeepEqual(inStock, available) {
		t.Fatalf("in stock: %d items, want the %d available of %d", len(inStock), len(available), len(all))
	}
}

func TestCatalog(t *testing.T) {
	now := clockBase
	f := newFixture(t, standin.Options{Now: func() time.Time { return now }}, nil)
	items, err := f.a.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	gpuTypes := map[string]seedType{}
	for _, st := range seedTypes {
		if st.gpus > 0 {
			gpuTypes[st.name] = st
		}
	}
	if want := len(seedLocations) * len(gpuTypes) * 2; len(items) != want {
		t.Fatalf("catalog has %d items, want %d (GPU types × locations × two contracts)", len(items), want)
	}
	disk := DefaultOSVolumeGB * 0.2 / hoursPerMonth
	soldOut, spot := 0, 0
	for _, it := range items {
		st, ok := gpuTypes[it.InstanceType]
		if !ok {
			t.Fatalf("%s is not a GPU type", it.InstanceType)
		}
		if it.GPUName != st.gpu || it.GPUCount != st.gpus || it.VCPUs != st.cores || it.MemoryGB != st.memGB {
			t.Errorf("%s/%s: hardware %+v does not match %+v", it.Region, it.InstanceType, it, st)
		}
		base, key, stockKey := st.price, "verda/"+st.name, it.Region+"/"+st.name
		if it.Contract == vendors.Spot {
			base, key, stockKey, spot = st.spot, "verda/spot/"+st.name, stockKey+"/spot", spot+1
		}
		spread := 0.03
		if it.Contract == vendors.Spot {
			spread = 0.05
		}
		if want := roundPrice(standin.Drift(base, spread, key, now) + disk); it.PricePerHour != want {
			t.Errorf("%s/%s %s: price %v, want %v with the boot volume", it.Region, it.InstanceType, it.Contract, it.PricePerHour, want)
		}
		if it.BootDiskGB != DefaultOSVolumeGB || it.BootDiskPricePerHour != roundPrice(disk) {
			t.Errorf("%s/%s: boot disk %d GB at %v/h", it.Region, it.InstanceType, it.BootDiskGB, it.BootDiskPricePerHour)
		}
		if it.Country != regionCountry[it.Region] || it.Country == "" {
			t.Errorf("%s: country %q", it.Region, it.Country)
		}
		idx := spotIndex(it.Contract == vendors.Spot)
		inStock := seedStock[it.Region][st.name][idx] > 0 && !standin.Flicker(0.05, stockKey, now)
		if it.Available != inStock || (it.Stock == 0) == inStock {
			t.Errorf("%s/%s %s: available %v stock %d, want in stock %v", it.Region, it.InstanceType, it.Contract, it.Available, it.Stock, inStock)
		}
		if !it.Available {
			soldOut++
		}
	}
	if soldOut == 0 || spot == 0 {
		t.Errorf("%d sold-out and %d spot items: the seeded catalog should have both", soldOut, spot)
	}
}

func TestGPUNamesResolve(t *testing.T) {
	var missing []string
	for _, st := range seedTypes {
		if st.gpus == 0 {
			continue
		}
		name := gpuName(instanceType{Model: st.model, GPU: gpuSpec{Description: gpuDescription(st), NumberOfGPUs: float64(st.gpus)}})
		if _, ok := gpus.GPUs().Lookup(name); !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("Verda GPU names missing from the GPU registry: %q", missing)
	}
}

func TestScaledCatalog(t *testing.T) {
	f := newFixture(t, standin.Options{Scale: 3}, nil)
	items, err := f.a.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	regions := map[string]bool{}
	for _, it := range items {
		regions[it.Region] = true
		if it.Country == "" {
			t.Errorf("synthetic region %s has no country", it.Region)
		}
	}
	if len(regions) != 3*len(seedLocations) || !regions["ICE-01-s3"] {
		t.Errorf("scaled catalog regions: %v", regions)
	}
}

func TestUnknownRegionHasNoCountry(t *testing.T) {
	a := New(Config{Logger: slog.New(slog.DiscardHandler)})
	for _, region := range []string{"MARS-1", "FIN-01-sx", "FIN-01-s"} {
		if c := a.country(region, ""); c != "" {
			t.Errorf("country(%q) = %q, want empty", region, c)
		}
	}
	if c := a.country("NOR-01", "no"); c != "NO" {
		t.Errorf("a location Verda places itself: %q, want NO", c)
	}
}

func TestCreateLifecycle(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: 400 * time.Millisecond}, nil)
	ctx := context.Background()
	req := createRequest(t, "FIN-03", "1H100.80S.30V", vendors.OnDemand)
	req.UserData = "#!/bin/bash\necho renter-script\n"
	in, err := f.a.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if in.ResourceID != req.ResourceID || in.Name != vendors.InstanceName(req.ResourceID) || in.State != vendors.StatePending {
		t.Errorf("created instance %+v", in)
	}

	// What reached the stand-in: Verda's deploy body, key and script.
	var sent deployRequest
	if err := json.Unmarshal(f.rec.Body("POST /v1/instances"), &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Hostname != vendors.InstanceName(req.ResourceID) || sent.Description != description(req.ResourceID, "") ||
		sent.LocationCode != "FIN-03" || sent.InstanceType != req.InstanceType || sent.Image != DefaultImage || sent.IsSpot ||
		sent.OSVolume.Size != DefaultOSVolumeGB || sent.OSVolume.Name == "" || len(sent.SSHKeyIDs) != 1 || sent.StartupScriptID == "" {
		t.Errorf("deploy body %+v", sent)
	}
	var key sshKey
	json.Unmarshal(f.rec.Body("POST /v1/ssh-keys"), &key)
	normalized := strings.TrimSuffix(req.SSHPublicKey, " renter@test")
	if !strings.HasPrefix(key.Key, normalized) || key.Name != keyName(key.Key) {
		t.Errorf("ssh key sent %+v", key)
	}
	script := f.si.Scripts()[sent.StartupScriptID]
	if !strings.HasPrefix(script, "#!/bin/bash") || !strings.Contains(script, normalized) ||
		!strings.Contains(script, "/root/.ssh/authorized_keys") || !strings.Contains(script, "echo renter-script") {
		t.Errorf("start-up script does not grant root and run the renter's script:\n%s", script)
	}

	// Deleting while it provisions is refused; the refusal is transient.
	if err := f.a.Terminate(ctx, in.ID); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("terminate while provisioning: %v, want ErrTransient", err)
	}

	up, _ := vendortest.WaitFor(t, f.a, in.ID, vendortest.Running)
	if up.ExternalIP == "" || up.SSHPort != f.hosts.Port(up.ExternalIP) || up.SSHPort == 22 || up.Region != "FIN-03" ||
		up.ResourceID != req.ResourceID || up.VendorState != "running" {
		t.Errorf("running instance %+v", up)
	}
	vendortest.LogIn(t, up.ExternalIP, up.SSHPort, req.SSHPublicKey)

	list, err := f.a.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != in.ID {
		t.Errorf("List = %+v, %v", list, err)
	}

	if err := f.a.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := f.a.Get(ctx, in.ID); err != nil || got.State != vendors.StateTerminating {
		t.Errorf("after terminate: %+v, %v", got, err)
	}
	if _, ok := f.si.Scripts()[sent.StartupScriptID]; ok {
		t.Error("the start-up script outlived the instance")
	}
	vendortest.WaitFor(t, f.a, in.ID, vendortest.Gone)
	if err := f.a.Terminate(ctx, in.ID); err != nil {
		t.Errorf("terminating a gone instance: %v, want nil", err)
	}
	if list, err := f.a.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List after deletion = %+v, %v", list, err)
	}
	if entries := f.si.Instances(); len(entries) != 1 || entries[0].Live {
		t.Errorf("console after deletion: %+v", entries)
	}
}

func TestSpotCreateAndStockRunsOut(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second}, nil)
	ctx := context.Background()
	// FIN-02 sells two spot 1H200s.
	for i := range 2 {
		in, err := f.a.Create(ctx, createRequest(t, "FIN-02", "1H200.141S.44V", vendors.Spot))
		if err != nil {
			t.Fatalf("spot create %d: %v", i, err)
		}
		var sent deployRequest
		json.Unmarshal(f.rec.Body("POST /v1/instances"), &sent)
		if !sent.IsSpot || in.ID == "" {
			t.Errorf("spot deploy body %+v", sent)
		}
	}
	_, err := f.a.Create(ctx, createRequest(t, "FIN-02", "1H200.141S.44V", vendors.Spot))
	if !errors.Is(err, vendors.ErrNoCapacity) {
		t.Errorf("third spot create: %v, want ErrNoCapacity", err)
	}
	if len(f.si.Scripts()) != 2 {
		t.Errorf("%d scripts left; the refused create's script should be gone", len(f.si.Scripts()))
	}
	items, err := f.a.Catalog(ctx)
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

func TestCreateIsIdempotent(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second}, nil)
	req := createRequest(t, "FIN-01", "1A100.80S.22V", vendors.OnDemand)
	first, err := f.a.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.a.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || len(f.si.Instances()) != 1 || f.rec.Count("POST /v1/instances") != 1 {
		t.Errorf("second create gave %s (first %s); stand-in holds %d; %d deploys",
			again.ID, first.ID, len(f.si.Instances()), f.rec.Count("POST /v1/instances"))
	}
	if n := f.rec.Count("POST /v1/ssh-keys") + f.rec.Count("POST /v1/scripts"); n != 2 {
		t.Errorf("%d key and script uploads, want one each", n)
	}
}

func TestCreatedButAnswered500(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second}, nil)
	f.si.Faults().Add(standin.Rule{Method: http.MethodPost, PathPrefix: "/v1/instances", Status: 500, AfterHandler: true, Times: 1})
	req := createRequest(t, "FIN-03", "2H100.80S.60V", vendors.OnDemand)
	if _, err := f.a.Create(context.Background(), req); !errors.Is(err, vendors.ErrTransient) {
		t.Fatalf("create answered 500: %v, want ErrTransient", err)
	}
	if n := f.rec.Count("POST /v1/instances"); n != 1 {
		t.Errorf("the deploy POST was sent %d times, want 1", n)
	}
	in, err := f.a.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if in.ResourceID != req.ResourceID || len(f.si.Instances()) != 1 || f.rec.Count("POST /v1/instances") != 1 {
		t.Errorf("retry made a duplicate: %d instances, %d deploys", len(f.si.Instances()), f.rec.Count("POST /v1/instances"))
	}
	if len(f.si.Scripts()) != 1 {
		t.Errorf("%d start-up scripts, want the first attempt's one reused", len(f.si.Scripts()))
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func(f *fixture)
		call  func(t *testing.T, f *fixture) error
		want  error
	}{
		{"sold out", nil, func(t *testing.T, f *fixture) error {
			_, err := f.a.Create(ctx, createRequest(t, "FIN-01", "8H100.80S.176V", vendors.OnDemand))
			return err
		}, vendors.ErrNoCapacity},
		{"balance", func(f *fixture) { f.si.SetBalance(0.5) }, func(t *testing.T, f *fixture) error {
			_, err := f.a.Create(ctx, createRequest(t, "FIN-01", "1A100.80S.22V", vendors.OnDemand))
			return err
		}, vendors.ErrQuota},
		{"type not in location", nil, func(t *testing.T, f *fixture) error {
			_, err := f.a.Create(ctx, createRequest(t, "ICE-01", "1V100.6V", vendors.OnDemand))
			return err
		}, vendors.ErrInvalid},
		{"bad key", nil, func(t *testing.T, f *fixture) error {
			req := createRequest(t, "FIN-01", "1V100.6V", vendors.OnDemand)
			req.SSHPublicKey = "not a key"
			_, err := f.a.Create(ctx, req)
			return err
		}, vendors.ErrInvalid},
		{"auth", nil, func(t *testing.T, f *fixture) error {
			c := f.config()
			c.ClientSecret = "wrong"
			_, err := New(c).Catalog(ctx)
			return err
		}, vendors.ErrAuth},
		{"not found", nil, func(t *testing.T, f *fixture) error {
			_, err := f.a.Get(ctx, uuid.NewString())
			return err
		}, vendors.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, standin.Options{BootTime: time.Second}, nil)
			if tt.setup != nil {
				tt.setup(f)
			}
			err := tt.call(t, f)
			var ve *vendors.Error
			if !errors.As(err, &ve) || vendortest.Kind(err) != tt.want {
				t.Errorf("error %v (%T), want a *vendors.Error of kind %v", err, err, tt.want)
			}
		})
	}
}

func TestRateLimited(t *testing.T) {
	f := newFixture(t, standin.Options{Now: func() time.Time { return clockBase }}, nil)
	if _, err := f.a.List(context.Background()); err != nil { // the token, cached from here on
		t.Fatal(err)
	}
	f.si.SetRateLimit(1)
	if _, err := f.a.List(context.Background()); err != nil { // the minute's one request
		t.Fatal(err)
	}
	id := uuid.NewString()
	_, err := f.a.Get(context.Background(), id)
	if !errors.Is(err, vendors.ErrRateLimited) || vendors.RetryAfter(err) != time.Minute {
		t.Errorf("over the limit: %v (retry after %v), want ErrRateLimited after a minute", err, vendors.RetryAfter(err))
	}
	if n := f.rec.Count("GET /v1/instances/" + id); n != 1 {
		t.Errorf("a minute-long 429 was retried: %d requests", n)
	}
}

func TestTransientRetriedForGetsOnly(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second}, nil)
	in, err := f.a.Create(context.Background(), createRequest(t, "FIN-01", "1V100.6V", vendors.OnDemand))
	if err != nil {
		t.Fatal(err)
	}
	path := "/v1/instances/" + in.ID
	f.si.Faults().Add(standin.Rule{Method: http.MethodGet, PathPrefix: path, Status: 503, Times: 2})
	if _, err := f.a.Get(context.Background(), in.ID); err != nil {
		t.Errorf("Get through two 503s: %v", err)
	}
	if n := f.rec.Count("GET " + path); n != 3 {
		t.Errorf("GET sent %d times, want 3", n)
	}
	f.si.Faults().Add(standin.Rule{Method: http.MethodPost, PathPrefix: "/v1/instances", Status: 500, Times: 1})
	before := f.rec.Count("POST /v1/instances")
	if _, err := f.a.Create(context.Background(), createRequest(t, "FIN-01", "1V100.6V", vendors.OnDemand)); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("create answered 500: %v, want ErrTransient", err)
	}
	if n := f.rec.Count("POST /v1/instances") - before; n != 1 {
		t.Errorf("deploy POST sent %d times, want 1", n)
	}
}

func TestHungStandInTimesOut(t *testing.T) {
	f := newFixture(t, standin.Options{}, nil)
	f.si.Faults().Add(standin.Rule{PathPrefix: "/v1/locations", Delay: time.Minute})
	c := f.config()
	c.Timeout = 150 * time.Millisecond
	start := time.Now()
	_, err := New(c).Catalog(context.Background())
	if elapsed := time.Since(start); !errors.Is(err, vendors.ErrTransient) || elapsed > 3*time.Second {
		t.Errorf("hung vendor: %v after %v, want ErrTransient within 3 s", err, elapsed)
	}
}

func TestTokenCachedAndRenewed(t *testing.T) {
	f := newFixture(t, standin.Options{}, nil)
	ctx := context.Background()
	const tokenPath = "POST /v1/oauth2/token"
	for range 3 {
		if _, err := f.a.List(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.rec.Count(tokenPath); n != 1 {
		t.Errorf("%d token requests for three calls, want 1 (cached)", n)
	}
	var first tokenRequest
	json.Unmarshal(f.rec.Body(tokenPath), &first)
	if first.GrantType != grantClientCredentials || first.ClientID != "supply-test" || first.ClientSecret != testSecret {
		t.Errorf("first token request %+v", first)
	}

	// A revoked token: one 401, one renewal with the refresh token, and
	// the call succeeds.
	f.si.RevokeTokens()
	if _, err := f.a.List(ctx); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	var renewal tokenRequest
	json.Unmarshal(f.rec.Body(tokenPath), &renewal)
	if n := f.rec.Count(tokenPath); n != 2 || renewal.GrantType != grantRefreshToken || f.rec.Count("GET /v1/instances") != 5 {
		t.Errorf("%d token requests (last %+v), %d lists; want 2, a refresh, 5", n, renewal, f.rec.Count("GET /v1/instances"))
	}

	// A token about to expire is renewed before it is used.
	f.si.SetTokenTTL(time.Second)
	f.si.RevokeTokens()
	f.a.List(ctx)
	before := f.rec.Count(tokenPath)
	time.Sleep(900 * time.Millisecond)
	if _, err := f.a.List(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.rec.Count(tokenPath) - before; n != 1 {
		t.Errorf("%d token requests near expiry, want 1", n)
	}
}

func TestPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "verda.json")
	// One clock for both lives of the stand-in, as a real restart has.
	o := standin.Options{APIKey: testSecret, BootTime: 100 * time.Millisecond, StatePath: path, Now: vendortest.Clock(clockBase)}
	f := newFixture(t, o, nil)
	req := createRequest(t, "FIN-03", "1H100.80S.30V", vendors.OnDemand)
	in, err := f.a.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	up, _ := vendortest.WaitFor(t, f.a, in.ID, vendortest.Running)
	f.srv.Close()
	if err := f.si.Close(); err != nil {
		t.Fatal(err)
	}

	o.Hosts = &standin.Hosts{} // a new process
	g := newFixture(t, o, nil)
	again, err := g.a.Get(context.Background(), in.ID)
	if err != nil || again.State != vendors.StateRunning || again.ExternalIP != up.ExternalIP {
		t.Fatalf("after restart: %+v, %v (before: %s)", again, err, up.ExternalIP)
	}
	vendortest.LogIn(t, again.ExternalIP, again.SSHPort, req.SSHPublicKey)
	if len(g.si.Instances()) != 1 || len(g.si.Scripts()) != 1 {
		t.Errorf("restarted stand-in holds %d instances, %d scripts", len(g.si.Instances()), len(g.si.Scripts()))
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

func TestOwnership(t *testing.T) {
	f := newFixture(t, standin.Options{BootTime: time.Second}, nil)
	vendortest.Ownership(t, f.a, createRequest(t, "FIN-01", "1A100.40S.22V", vendors.OnDemand))
}
