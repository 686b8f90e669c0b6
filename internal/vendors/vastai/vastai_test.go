package vastai

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/userdata"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

const testKey = "vast-test-key"

var setup = vendortest.Setup[*StandIn, *Adapter]{Key: testKey, Clock: clockBase, NewStandIn: NewStandIn,
	NewAdapter: func(_ *StandIn, url string, _ *standin.Hosts, v vendortest.Variant) *Adapter {
		return New(Config{APIKey: v.Key, BaseURL: url, RateLimit: rate.Inf, Timeout: v.Timeout, Logger: slog.New(slog.DiscardHandler)})
	}}

// clockBase starts a drift period: tests run well within it, so which
// offers flicker off the market is fixed.
var clockBase = time.Date(2026, 11, 27, 12, 5, 0, 0, time.UTC)

// seeded returns the seeded machine at location with gpu.
func seeded(t *testing.T, gpu, location string) machine {
	t.Helper()
	for _, m := range seedMarket(1) {
		if m.gpu == gpu && m.location == location {
			return m
		}
	}
	t.Fatalf("no seeded %s in %s", gpu, location)
	return machine{}
}

// rentRequest rents the seeded machine with gpu at location.
func rentRequest(t *testing.T, gpu, location string) vendors.CreateRequest {
	t.Helper()
	m := seeded(t, gpu, location)
	if !m.taken && standin.Flicker(flickerShare, askKey(m.askID), clockBase) {
		t.Fatalf("%s in %s flickers off the market at the test clock: pick another", gpu, location)
	}
	return vendors.CreateRequest{
		ResourceID: uuid.NewString(), InstanceType: strconv.FormatInt(m.askID, 10), Region: m.location,
		Contract: vendors.OnDemand, SSHPublicKey: vendortest.PublicKey(t),
	}
}

// searchable says whether supply's search finds a seeded machine at now.
func searchable(m machine, now time.Time) bool {
	return !m.taken && !m.unverified && !m.noDirect && m.reliability >= DefaultMinReliability &&
		m.diskGB >= DefaultDiskGB && !standin.Flicker(flickerShare, askKey(m.askID), now)
}

// TestCatalogStreamReadsWholeAnswers: the catalog, read offer by offer as
// the answer arrives, is what the answers decoded whole (searchResult) make;
// and those answers, which the stand-in writes offer by offer, are what
// encoding searchResult whole writes.
func TestCatalogStreamReadsWholeAnswers(t *testing.T) {
	now := clockBase
	f := setup.Serve(t, standin.Options{Now: func() time.Time { return now }}, nil)
	got, err := f.A.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var want []vendors.CatalogItem
	for _, contract := range []vendors.Contract{vendors.OnDemand, vendors.Spot} {
		var body []byte
		if err := f.A.client.Do(context.Background(), vendors.Request{Op: "search", Method: http.MethodPost, Path: "/api/v0/bundles/", JSON: f.A.search(contract)}, &body); err != nil {
			t.Fatal(err)
		}
		var res searchResult
		vendortest.Encoded(t, body, &res)
		for _, o := range res.Offers {
			if it, ok := f.A.item(o, contract); ok {
				want = append(want, it)
			}
		}
	}
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("streamed %d items, whole answers make %d:\n%+v\n%+v", len(got), len(want), got, want)
	}
	// A search nothing matches answers an empty list.
	q := f.A.search(vendors.OnDemand)
	q.NumGPUs = atLeast(1000)
	var none []byte
	if err := f.A.client.Do(context.Background(), vendors.Request{Op: "search", Method: http.MethodPost, Path: "/api/v0/bundles/", JSON: q}, &none); err != nil {
		t.Fatal(err)
	}
	if string(none) != "{\"offers\":[]}\n" {
		t.Errorf("a search nothing matches answers %q", none)
	}
}

// TestSuite runs the vendor suite against the adapter and its stand-in.
func TestSuite(t *testing.T) {
	ctx := context.Background()
	byAsk := map[string]machine{}
	for _, m := range seedMarket(1) {
		byAsk[strconv.FormatInt(m.askID, 10)] = m
	}
	// The seeded machines' GPUs and the names in Vast's published examples
	// (its search example's "Imaginary RTX 9999" is made up and left out).
	var gpuNames []string
	for _, m := range seedMachines {
		gpuNames = append(gpuNames, gpuName(m.gpu, m.ramGB*1024, m.nvlink))
	}
	for _, name := range []string{"RTX 4090", "RTX A5000", "RTX 3090"} {
		gpuNames = append(gpuNames, gpuName(name, 24*1024, 0))
	}
	rent := func(gpu, location string) func(t *testing.T) vendors.CreateRequest {
		return func(t *testing.T) vendors.CreateRequest { return rentRequest(t, gpu, location) }
	}
	sydney := func(edit func(*vendors.CreateRequest)) func(t *testing.T) vendors.CreateRequest {
		return func(t *testing.T) vendors.CreateRequest {
			req := rentRequest(t, "L4", "Sydney, AU")
			edit(&req)
			return req
		}
	}
	rents := vendortest.Call{Method: http.MethodPut, Path: "/api/v0/asks/", Prefix: true}
	vendortest.Run(t, vendortest.Kit{
		Start:   func(t *testing.T, o standin.Options) *vendortest.Rig { return setup.Serve(t, o, nil).Rig },
		Clock:   clockBase,
		Request: rent("H100 SXM", "Tokyo, JP"),
		Create:  rents,
		Get: func(id string) vendortest.Call {
			return vendortest.Call{Method: http.MethodGet, Path: "/api/v0/instances/" + id + "/"}
		},
		Missing:  "424242",
		Ports:    true,
		Hang:     vendortest.Call{Path: "/api/v0/instances/"},
		HangRead: func(ctx context.Context, v vendors.Vendor) error { _, err := v.Get(ctx, "18000001"); return err },

		GPUNames: gpuNames,
		CatalogSize: func(now time.Time, scale int) int {
			n := 0
			for _, m := range seedMarket(scale) {
				if searchable(m, now) {
					n += 2 // on demand and interruptible
				}
			}
			return n
		},
		CatalogItem: func(t *testing.T, it vendors.CatalogItem, now time.Time) {
			m, ok := byAsk[it.InstanceType]
			if !ok || !searchable(m, now) || it.Extra["ask_id"] != it.InstanceType {
				t.Fatalf("item %+v is not a searchable seeded offer", it)
			}
			if _, ok := gpus.GPUs().Lookup(it.GPUName); !ok || it.GPUCount != m.count || it.VCPUs != m.cores || it.MemoryGB != float64(m.memGB) {
				t.Errorf("%s: hardware %+v does not match %+v", it.InstanceType, it, m)
			}
			machinePart := standin.Drift(m.dph, priceSpread, askKey(m.askID), now)
			if it.Contract == vendors.Spot {
				machinePart = standin.Drift(m.minBid, priceSpread, askKey(m.askID)+"/bid", now)
				if it.Extra["bid"] != strconv.FormatFloat(machinePart, 'f', -1, 64) {
					t.Errorf("%s: spot bid %q, want the minimum bid %v", it.InstanceType, it.Extra["bid"], machinePart)
				}
			}
			disk := m.storage * DefaultDiskGB / hoursPerMonth
			if it.PricePerHour != roundPrice(machinePart+disk) || it.BootDiskPricePerHour != roundPrice(disk) || it.BootDiskGB != DefaultDiskGB {
				t.Errorf("%s %s: price %v (disk %v for %d GB), want %v + %v", it.InstanceType, it.Contract, it.PricePerHour,
					it.BootDiskPricePerHour, it.BootDiskGB, machinePart, disk)
			}
			if _, cc := splitLocation(m.location); it.Country != cc || it.Region != m.location {
				t.Errorf("%s: region %q country %q, want %q", it.InstanceType, it.Region, it.Country, cc)
			}
			if !it.Available || it.Stock != 1 {
				t.Errorf("%s: available %v stock %d, want one machine in stock", it.InstanceType, it.Available, it.Stock)
			}
		},
		ScaledSparse:   true,
		ScaledRegion:   "Texas-s3, US",
		Country:        New(Config{Logger: slog.New(slog.DiscardHandler)}).country,
		UnknownRegions: []string{"California, United States", "", "Atlantis, at"},

		UserData: true,
		Created:  created,
		Errors: []vendortest.ErrorCase{
			{Name: "machine rented by someone else", Call: vendortest.Creating(rent("A100 PCIE", "Ohio, US")), Want: vendors.ErrNoCapacity},
			{Name: "machine already rented by us", Setup: func(t *testing.T, r *vendortest.Rig) {
				if _, err := r.Vendor.Create(ctx, rentRequest(t, "L4", "Sydney, AU")); err != nil {
					t.Fatal(err)
				}
			}, Call: vendortest.Creating(rent("L4", "Sydney, AU")), Want: vendors.ErrNoCapacity},
			{Name: "no such ask", Call: vendortest.Creating(sydney(func(req *vendors.CreateRequest) { req.InstanceType = "99" })), Want: vendors.ErrNoCapacity},
			{Name: "not an ask id", Call: vendortest.Creating(sydney(func(req *vendors.CreateRequest) { req.InstanceType = "gpu_1x_h100" })), Want: vendors.ErrInvalid},
			{Name: "spot without a bid", Call: vendortest.Creating(sydney(func(req *vendors.CreateRequest) { req.Contract = vendors.Spot })), Want: vendors.ErrInvalid},
			{Name: "bid below the minimum", Call: vendortest.Creating(sydney(func(req *vendors.CreateRequest) {
				req.Contract, req.Item.Extra = vendors.Spot, map[string]string{"bid": "0.01"}
			})), Want: vendors.ErrInvalid},
			{Name: "auth on show instance", Call: func(t *testing.T, r *vendortest.Rig) error {
				_, err := r.Adapter(vendortest.Variant{Key: "wrong"}).Get(ctx, "18000001")
				return err
			}, Want: vendors.ErrAuth},
			// Create's 403 (the spec's example: "Offer 1234567 is not your own.
			// Hosts can only rent their own machines.") refuses this offer to
			// this account; the injected answer words it otherwise.
			{Name: "offer refused to this account", Setup: func(t *testing.T, r *vendortest.Rig) {
				r.StandIn.Faults().Add(standin.Rule{Method: http.MethodPut, PathPrefix: "/api/v0/asks/", Status: http.StatusForbidden, Times: 1})
			}, Call: vendortest.Creating(rent("L4", "Sydney, AU")), Want: vendors.ErrNoCapacity},
		},
		Extra: map[string]func(t *testing.T, r *vendortest.Rig){
			"CreateIsIdempotent":    keysAttached,
			"CreatedButAnswered500": keysAttached,
			"Persistence":           keysAttached,
		},
	})
}

// keysAttached checks that the stand-in's one instance has the renter's
// key attached once: not twice by a repeated create, and not lost by a
// retry or a restart.
func keysAttached(t *testing.T, r *vendortest.Rig) {
	si := r.StandIn.(*StandIn)
	entries := si.Instances()
	if len(entries) != 1 {
		t.Fatalf("%d instances, want 1", len(entries))
	}
	if got, _ := si.Rental(entries[0].ID); len(got.SSHKeys) != 1 {
		t.Errorf("keys attached: %q, want one", got.SSHKeys)
	}
}

// created checks the rent and the attached key as they reached the
// stand-in.
func created(t *testing.T, r *vendortest.Rig, req vendors.CreateRequest, in vendors.Instance) {
	if in.Name != vendors.InstanceName(req.ResourceID) || in.State != vendors.StatePending {
		t.Errorf("created instance %+v", in)
	}
	got, ok := r.StandIn.(*StandIn).Rental(in.ID)
	key, _ := userdata.ValidateKey(req.SSHPublicKey)
	if !ok || got.Label != vendors.InstanceName(req.ResourceID) || got.Image != DefaultImage || got.Runtype != "ssh_direct" ||
		got.TargetState != "running" || !got.CancelUnavail || got.Disk != DefaultDiskGB || got.Price != 0 ||
		strconv.FormatInt(got.AskID, 10) != req.InstanceType {
		t.Errorf("rent received: %+v", got)
	}
	if len(got.SSHKeys) != 1 || got.SSHKeys[0] != key {
		t.Errorf("keys attached: %q, want [%q]", got.SSHKeys, key)
	}
	if !strings.Contains(got.Onstart, key) || !strings.Contains(got.Onstart, "echo renter-script") ||
		!strings.Contains(got.Onstart, "/root/.ssh/authorized_keys") {
		t.Errorf("onstart does not grant root and run the renter's script:\n%s", got.Onstart)
	}
}

// TestCatalogSpansRegionsAtVastsPrices: the catalog spans the US, EU and
// APAC, and on demand, Vast's own dph_total for the same disk is the price.
func TestCatalogSpansRegionsAtVastsPrices(t *testing.T) {
	f := setup.Serve(t, standin.Options{Now: func() time.Time { return clockBase }}, nil)
	items, err := f.A.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	countries := map[string]bool{}
	for _, it := range items {
		countries[it.Country] = true
	}
	for _, cc := range []string{"US", "SE", "DE", "JP", "SG"} {
		if !countries[cc] {
			t.Errorf("no offer in %s: the catalog should span the US, EU and APAC", cc)
		}
	}
	// On demand, Vast's own dph_total for the same disk is the price.
	var res searchResult
	q := f.A.search(vendors.OnDemand)
	if err := f.A.client.Do(context.Background(), vendors.Request{Op: "search", Method: http.MethodPost, Path: "/api/v0/bundles/", JSON: q}, &res); err != nil {
		t.Fatal(err)
	}
	prices := map[string]float64{}
	for _, it := range items {
		if it.Contract == vendors.OnDemand {
			prices[it.InstanceType] = it.PricePerHour
		}
	}
	for _, o := range res.Offers {
		if p := prices[strconv.FormatInt(o.ID, 10)]; p != roundPrice(o.DphTotal) {
			t.Errorf("offer %d: price %v, Vast's dph_total %v", o.ID, p, o.DphTotal)
		}
	}
}

// TestKeyAttachedToRunningInstance: a key attached to a running instance
// lets in at once.
func TestKeyAttachedToRunningInstance(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: 100 * time.Millisecond}, nil)
	ctx := context.Background()
	in, err := f.A.Create(ctx, rentRequest(t, "H100 SXM", "Tokyo, JP"))
	if err != nil {
		t.Fatal(err)
	}
	up, _ := vendortest.WaitFor(t, f.A, in.ID, vendortest.Running)
	if up.InternalIP == "" || up.VendorState != "running" || up.CreatedAt.IsZero() {
		t.Errorf("running instance %+v", up)
	}
	later := vendortest.PublicKey(t)
	if err := f.A.attachKey(ctx, in.ID, later); err != nil {
		t.Fatal(err)
	}
	vendortest.LogIn(t, up.ExternalIP, up.SSHPort, later)
}

func TestRentedMachineLeavesTheMarket(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: time.Second}, nil)
	ctx := context.Background()
	req := rentRequest(t, "RTX 4090", "Berlin, DE")
	listed := func() bool {
		items, err := f.A.Catalog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.InstanceType == req.InstanceType {
				return true
			}
		}
		return false
	}
	if !listed() {
		t.Fatal("the machine is not on the market before it is rented")
	}
	in, err := f.A.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if listed() {
		t.Error("a rented machine is still offered")
	}
	if err := f.A.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if !listed() {
		t.Error("the machine did not come back to the market after destroy")
	}
}

func TestAmbiguousGPUNamesMadeSpecific(t *testing.T) {
	tests := []struct {
		name   string
		ramMB  int
		nvlink float64
		want   string // canonical registry name
	}{
		{"A100 SXM4", 81920, 300, "nvidia-a100-sxm4-80gb"},
		{"A100 SXM4", 40960, 300, "nvidia-a100-sxm4-40gb"},
		{"A100 PCIE", 81920, 0, "nvidia-a100-pcie-80gb"},
		{"A100 PCIE", 40960, 0, "nvidia-a100-pcie-40gb"},
		{"H200", 144384, 450, "nvidia-h200-sxm5-141gb"},
		{"H200 NVL", 144384, 0, "nvidia-h200-nvl-141gb"},
		{"Tesla V100", 16384, 150, "nvidia-v100-sxm2-16gb"},
		{"Tesla V100", 32768, 0, "nvidia-v100-pcie-32gb"},
		{"H100 SXM", 81920, 450, "nvidia-h100-sxm5-80gb"},
		{"H100 PCIE", 81920, 0, "nvidia-h100-pcie-80gb"},
	}
	for _, tt := range tests {
		g, ok := gpus.GPUs().Lookup(gpuName(tt.name, tt.ramMB, tt.nvlink))
		if !ok || g.Name != tt.want {
			t.Errorf("%s with %d MB: %q resolves to %q (%v), want %s", tt.name, tt.ramMB, gpuName(tt.name, tt.ramMB, tt.nvlink), g.Name, ok, tt.want)
		}
	}
}

func TestCountry(t *testing.T) {
	a := New(Config{Logger: slog.New(slog.DiscardHandler)})
	tests := map[string]string{
		"Texas, US":     "US",
		"Texas-s3, US":  "US",
		"Hong Kong, HK": "HK",
		"SE":            "SE",
	}
	for loc, want := range tests {
		if got := a.country(loc); got != want {
			t.Errorf("country(%q) = %q, want %q", loc, got, want)
		}
	}
}

func TestSpotCreateBids(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: time.Second}, nil)
	ctx := context.Background()
	items, err := f.A.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := rentRequest(t, "L40S", "Arizona, US")
	for _, it := range items {
		if it.InstanceType == req.InstanceType && it.Contract == vendors.Spot {
			req.Item, req.Contract = it, vendors.Spot
		}
	}
	if req.Contract != vendors.Spot {
		t.Fatal("no spot item for the machine")
	}
	in, err := f.A.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.SI.Rental(in.ID)
	if strconv.FormatFloat(got.Price, 'f', -1, 64) != req.Item.Extra["bid"] || got.Price <= 0 {
		t.Errorf("bid %v, want the catalog's minimum bid %s", got.Price, req.Item.Extra["bid"])
	}
}

func TestRateLimited(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: time.Second}, nil)
	ctx := context.Background()
	req := rentRequest(t, "RTX 3090", "Georgia, US")

	// A rent is never re-sent: the 429 comes back with the adapter's own wait.
	f.SI.Faults().Add(standin.Rule{Method: http.MethodPut, PathPrefix: "/api/v0/asks/", Status: http.StatusTooManyRequests, Times: 1})
	_, err := f.A.Create(ctx, req)
	if !errors.Is(err, vendors.ErrRateLimited) || vendors.RetryAfter(err) != rateLimitWait {
		t.Errorf("rent answered 429: %v (retry after %v), want ErrRateLimited after %v", err, vendors.RetryAfter(err), rateLimitWait)
	}
	if n := f.Rec.CountPrefix("PUT /api/v0/asks/"); n != 1 {
		t.Errorf("the rent was sent %d times after a 429, want 1", n)
	}

	// A read waits and tries again.
	in, err := f.A.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v0/instances/" + in.ID + "/"
	f.SI.Faults().Add(standin.Rule{Method: http.MethodGet, PathPrefix: path, Status: http.StatusTooManyRequests, Times: 1})
	before, start := f.Rec.Count("GET "+path), time.Now()
	if _, err := f.A.Get(ctx, in.ID); err != nil {
		t.Errorf("Get through a 429: %v", err)
	}
	if n := f.Rec.Count("GET "+path) - before; n != 2 || time.Since(start) < rateLimitWait {
		t.Errorf("GET sent %d times within %v, want 2 after waiting %v", n, time.Since(start), rateLimitWait)
	}

	// The stand-in's own per-endpoint limit answers as Vast does.
	f.SI.SetMinInterval(time.Minute)
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		var body []byte
		for range 2 {
			r, _ := http.NewRequest(method, f.Srv.URL+path, nil)
			r.Header.Set("Authorization", "Bearer "+testKey)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" {
				t.Errorf("%s 429 carries a Retry-After", method)
			}
		}
		e := parseError(http.StatusTooManyRequests, nil, body)
		if e.Kind != vendors.ErrRateLimited || e.RetryAfter != rateLimitWait || !strings.Contains(e.Message, "too frequent") {
			t.Errorf("%s second call: %s parsed as %+v", method, body, e)
		}
	}
}

func TestListPaginates(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: time.Second, Scale: 2}, nil)
	ctx := context.Background()
	items, err := f.A.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const want = listPageSize + 5
	made := 0
	for _, it := range items {
		if made == want || it.Contract != vendors.OnDemand {
			continue
		}
		req := vendors.CreateRequest{ResourceID: uuid.NewString(), InstanceType: it.InstanceType, Contract: vendors.OnDemand, SSHPublicKey: vendortest.PublicKey(t)}
		if _, err := f.A.Create(ctx, req); err != nil {
			t.Fatal(err)
		}
		made++
	}
	if made < want {
		t.Fatalf("only %d instances could be made", made)
	}
	// An instance someone made by hand, without supply's label.
	// (A host too unreliable for supply's searches, so it is still free.)
	r, _ := http.NewRequest(http.MethodPut, f.Srv.URL+"/api/v0/asks/"+rentRequest(t, "RTX 3090", "Madrid, ES").InstanceType+"/",
		strings.NewReader(`{"image": "pytorch/pytorch", "label": "notebook", "env": {"-p 8888:8888": "1"}}`))
	r.Header.Set("Authorization", "Bearer "+testKey)
	resp, err := http.DefaultClient.Do(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("rent by hand: %v %v", resp, err)
	}
	resp.Body.Close()
	list, err := f.A.List(ctx)
	if err != nil || len(list) != want {
		t.Fatalf("List found %d of %d instances: %v", len(list), want, err)
	}
	if n := f.Rec.Count("GET /api/v1/instances/"); n < 2 {
		t.Errorf("List read %d pages", n)
	}
}

func TestStateMapping(t *testing.T) {
	str := func(s string) *string { return &s }
	withSSH := ports{"22/tcp": {{HostIP: "0.0.0.0", HostPort: "41022"}}}
	tests := []struct {
		name string
		in   instance
		want vendors.State
	}{
		{"scheduling", instance{IntendedStatus: "running"}, vendors.StatePending},
		{"loading", instance{ActualStatus: str("loading"), IntendedStatus: "running"}, vendors.StatePending},
		{"running without ports yet", instance{ActualStatus: str("running"), PublicIPAddr: "203.0.113.9"}, vendors.StatePending},
		{"running", instance{ActualStatus: str("running"), PublicIPAddr: "203.0.113.9", Ports: withSSH}, vendors.StateRunning},
		{"stopped on request", instance{ActualStatus: str("exited"), IntendedStatus: "stopped", CurState: "stopped"}, vendors.StateStopped},
		{"outbid", instance{ActualStatus: str("exited"), IsBid: true, IntendedStatus: "stopped", CurState: "stopped", NextState: "stopped"}, vendors.StatePreempted},
		{"outbid before start", instance{IsBid: true, IntendedStatus: "stopped", CurState: "stopped", NextState: "stopped"}, vendors.StatePreempted},
		{"exited on its own", instance{ActualStatus: str("exited"), IntendedStatus: "running"}, vendors.StateFailed},
		{"offline", instance{ActualStatus: str("offline"), IntendedStatus: "running"}, vendors.StateFailed},
		{"unknown", instance{ActualStatus: str("unknown"), IntendedStatus: "running"}, vendors.StateFailed},
	}
	for _, tt := range tests {
		if got := state(tt.in); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestSSHPortFromPorts(t *testing.T) {
	a := New(Config{SSHPort: func(string) int { return 2222 }})
	tests := []struct {
		ports string
		want  int
	}{
		{`{"22/tcp": [{"HostIp": "0.0.0.0", "HostPort": "41022"}], "8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "41080"}]}`, 41022},
		{`[22, 8080]`, 22},     // the spec's array form: exposed as is
		{`[8080, 8081]`, 2222}, // no SSH mapping: Config.SSHPort decides
		{`null`, 2222},
	}
	for _, tt := range tests {
		var in instance
		if err := json.Unmarshal([]byte(`{"id": 7, "public_ipaddr": "203.0.113.9", "ports": `+tt.ports+`}`), &in); err != nil {
			t.Fatalf("%s: %v", tt.ports, err)
		}
		if got := a.instance(in).SSHPort; got != tt.want {
			t.Errorf("ports %s: SSH port %d, want %d", tt.ports, got, tt.want)
		}
	}
}

func TestOnstartCompaction(t *testing.T) {
	key := vendortest.PublicKey(t)
	short, err := userdata.StartupScript(key, "#!/bin/bash\necho hi\n")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := compactOnstart(short); err != nil || got != short {
		t.Errorf("a short script was changed: %v", err)
	}

	// A long renter script is packed into a self-extracting line that,
	// run by a real shell, hands bash the original script.
	long, err := userdata.StartupScript(key, "#!/bin/bash\n"+strings.Repeat("echo 'setting up the training job'\n", 600))
	if err != nil {
		t.Fatal(err)
	}
	packed, err := compactOnstart(long)
	if err != nil {
		t.Fatal(err)
	}
	if len(long) <= maxOnstart || len(packed) > maxOnstart {
		t.Fatalf("script of %d bytes packed to %d; Vast's limit is %d", len(long), len(packed), maxOnstart)
	}
	// The stand-in unpacks an onstart as the machine would, for its
	// first boot.
	for onstart, want := range map[string]string{short: short, packed: long} {
		if got := expandOnstart(onstart); got != want {
			t.Errorf("expandOnstart gave %d bytes, want the %d-byte script", len(got), len(want))
		}
	}
	for _, tool := range []string{"bash", "base64", "gunzip", "mktemp"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: cannot run the self-extracting onstart", tool)
		}
	}
	// A stand-in "bash" on PATH prints the script it is asked to run.
	bin := t.TempDir()
	fake := "#!/bin/sh\ncat \"$1\"\nrm -f \"$1\"\n"
	if err := os.WriteFile(filepath.Join(bin, "bash"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	shell, _ := exec.LookPath("bash")
	cmd := exec.Command(shell, "-c", packed)
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin"}
	out, err := cmd.Output()
	if err != nil || string(out) != long {
		t.Errorf("the packed onstart ran %q (%v); want the original %d-byte script", out[:min(len(out), 80)], err, len(long))
	}

	// What cannot fit even compressed is refused.
	noise := make([]byte, 48<<10)
	rand.Read(noise)
	huge, err := userdata.StartupScript(key, "#!/bin/bash\n: "+strings.ToValidUTF8(string(noise), "x")+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compactOnstart(huge); err == nil {
		t.Error("an incompressible 48 KB script was accepted")
	}
}
