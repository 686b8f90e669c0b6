package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/aws"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// TestCapacityRefusals takes away the stock of one item of each vendor
// through the capacity ledger: the vendor's real adapter, against its
// stand-in, no longer lists the item as available and has its create
// refused as vendors.ErrNoCapacity (the stand-in answering in the vendor's
// own words); with one unit given back the item is listed again, one
// create succeeds and the next, of another resource, is refused.
func TestCapacityRefusals(t *testing.T) {
	t.Parallel()
	sb, _ := startSandbox(t, Options{DataDir: t.TempDir(), BootTime: 300 * time.Millisecond, SteadyStock: true})
	key := vendortest.PublicKey(t)
	for _, a := range sb.Vendors() {
		t.Run(a.Name(), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			it := stockedItem(t, sb, a)
			sel := selectionOf(a.Name(), it)
			create := func() error {
				_, err := a.Create(ctx, vendors.CreateRequest{ResourceID: uuid.NewString(), Owner: "0123456789ab",
					InstanceType: it.InstanceType, Region: it.Region, Contract: it.Contract, SSHPublicKey: key, Item: it})
				return err
			}
			setFree(t, sb, sel, 0)
			if listsStock(a) && listedAvailable(t, a, it) {
				t.Errorf("%s %s is still listed as available with no units free", it.InstanceType, it.Region)
			}
			if err := create(); !errors.Is(err, vendors.ErrNoCapacity) {
				t.Fatalf("create with no units free: %v, want ErrNoCapacity", err)
			}
			if !listsStock(a) && listedAvailable(t, a, it) {
				t.Errorf("%s %s is still listed as available after a capacity refusal", it.InstanceType, it.Region)
			}

			setFree(t, sb, sel, 1)
			if listsStock(a) && !listedAvailable(t, a, it) {
				t.Errorf("%s %s is not listed as available with a unit free", it.InstanceType, it.Region)
			}
			if err := create(); err != nil {
				t.Fatalf("create with a unit free: %v", err)
			}
			if err := create(); !errors.Is(err, vendors.ErrNoCapacity) {
				t.Fatalf("a second create with one unit free: %v, want ErrNoCapacity", err)
			}
			if got := sb.Capacity().List(sel); len(got) != 1 || got[0].Free != 0 {
				t.Errorf("after the unit was rented the ledger shows %+v, want it with 0 free", got)
			}
		})
	}
}

// listsStock says whether a's catalog follows the stand-in's stock. EC2
// publishes none: an AWS item is shown sold out only for a while after a
// launch of it was refused (aws.TestCapacityRefusalShowsSoldOut).
func listsStock(a vendors.Vendor) bool { return a.Name() != aws.Name }

// stockedItem is the first single-node on-demand item a's catalog lists
// as available, of which the ledger has at least two units free, so that
// taking away all but one changes what is free.
func stockedItem(t *testing.T, sb *Sandbox, a vendors.Vendor) vendors.CatalogItem {
	t.Helper()
	items, err := a.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if !it.Available || it.Nodes > 1 || it.Contract != vendors.OnDemand {
			continue
		}
		stock := sb.Capacity().List(selectionOf(a.Name(), it))
		if len(stock) == 1 && stock[0].Free >= 1 && (stock[0].Free >= 2 || a.Name() == "vastai") {
			return it // a Vast.ai offer is one machine: 1 is all it ever has
		}
	}
	t.Fatalf("%s lists no single-node on-demand item in stock", a.Name())
	return vendors.CatalogItem{}
}

func selectionOf(vendor string, it vendors.CatalogItem) standin.Selection {
	return standin.Selection{Vendor: vendor, Region: it.Region, Contract: string(it.Contract), InstanceType: it.InstanceType}
}

// setFree sets the units free of the one item sel picks.
func setFree(t *testing.T, sb *Sandbox, sel standin.Selection, free int) {
	t.Helper()
	got, err := sb.Capacity().Set(sel, free)
	if err != nil || len(got) != 1 || got[0].Free != free {
		t.Fatalf("set %s free=%d: %+v, %v; want that one item with %d free", sel, free, got, err, free)
	}
}

// listedAvailable reads a's catalog and says whether it lists it (by
// instance type, region, contract and nodes) as available.
func listedAvailable(t *testing.T, a vendors.Vendor, it vendors.CatalogItem) bool {
	t.Helper()
	items, err := a.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(items, func(x vendors.CatalogItem) bool { return x.Available && sameItem(x, it) })
}

func sameItem(a, b vendors.CatalogItem) bool {
	return a.InstanceType == b.InstanceType && a.Region == b.Region && a.Contract == b.Contract && max(a.Nodes, 1) == max(b.Nodes, 1)
}

// TestCapacityEndpoints drives GET and POST /capacity of the hosts
// service as a test or demo would, with the endpoints file's URL and key:
// every vendor's items are listed under the names their adapters' catalogs
// use, a change answers how many items it changed and empties the
// adapter's catalog of them, bad bodies are JSON 4xx, a wrong key is 401,
// and what was taken away stays so across a restart.
func TestCapacityEndpoints(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	sb, err := Start(Options{DataDir: dataDir, BootTime: time.Second, SteadyStock: true})
	if err != nil {
		t.Fatal(err)
	}
	env := readEndpoints(t, filepath.Join(dataDir, "sandbox", EndpointsFile))["lambda"]
	url, key := env["SUPPLY_SANDBOX_HOSTS_URL"]+"/capacity", env["SUPPLY_LAMBDA_API_KEY"]

	var all []standin.Stock
	call(t, http.MethodGet, url, key, "", http.StatusOK, &all)
	for _, a := range sb.Vendors() {
		items, err := a.Catalog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		listed := 0
		for _, it := range items {
			if !it.Available || it.Nodes > 1 {
				continue
			}
			listed++
			if listsStock(a) && !slices.ContainsFunc(all, func(s standin.Stock) bool {
				return s.Vendor == a.Name() && s.InstanceType == it.InstanceType && s.Region == it.Region &&
					s.Contract == string(it.Contract) && s.NodeCount == 1 && s.GPUCount == it.GPUCount && s.Free > 0
			}) {
				t.Errorf("%s's catalog lists %s %s %s in stock; GET /capacity has no such item with units free",
					a.Name(), it.InstanceType, it.Region, it.Contract)
			}
		}
		if listed == 0 {
			t.Errorf("%s's catalog lists nothing in stock", a.Name())
		}
	}

	const region = "us-east-1"
	var inRegion []standin.Stock
	call(t, http.MethodGet, url+"?vendor=lambda&region="+region, key, "", http.StatusOK, &inRegion)
	if len(inRegion) < 2 {
		t.Fatalf("lambda sells %d items in %s, want several", len(inRegion), region)
	}
	var changed struct {
		Changed int             `json:"changed"`
		Items   []standin.Stock `json:"items"`
	}
	call(t, http.MethodPost, url, key, `{"vendor":"lambda","region":"`+region+`","free":0}`, http.StatusOK, &changed)
	if changed.Changed != len(inRegion) || len(changed.Items) != len(inRegion) {
		t.Errorf("POST changed %d items (%d shown), want every one of the %d in %s", changed.Changed, len(changed.Items), len(inRegion), region)
	}
	lambdaInRegion := func(sb *Sandbox) []string {
		i := slices.IndexFunc(sb.Vendors(), func(v vendors.Vendor) bool { return v.Name() == "lambda" })
		items, err := sb.Vendors()[i].Catalog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, it := range items {
			if it.Available && it.Region == region {
				names = append(names, it.InstanceType)
			}
		}
		return names
	}
	if got := lambdaInRegion(sb); len(got) > 0 {
		t.Errorf("lambda's catalog still lists %v in %s", got, region)
	}

	// A 422 says where each problem is, as FastAPI does ("body.free");
	// the other refusals say why in a sentence.
	for _, tc := range []struct {
		name, key, body string
		status          int
		loc             string
	}{
		{"not JSON", key, `{"vendor":`, http.StatusUnprocessableEntity, "body"},
		{"not an object", key, `[{"vendor":"lambda","region":"us-east-1","free":0}]`, http.StatusUnprocessableEntity, "body"},
		{"two objects", key, `{"vendor":"lambda","region":"us-east-1","free":0} {}`, http.StatusUnprocessableEntity, "body"},
		{"no free", key, `{"vendor":"lambda","region":"us-east-1"}`, http.StatusUnprocessableEntity, "body.free"},
		{"no region", key, `{"vendor":"lambda","free":0}`, http.StatusUnprocessableEntity, "body.region"},
		{"negative free", key, `{"vendor":"lambda","region":"us-east-1","free":-1}`, http.StatusUnprocessableEntity, "body.free"},
		{"free not a number", key, `{"vendor":"lambda","region":"us-east-1","free":"1"}`, http.StatusUnprocessableEntity, "body.free"},
		{"unknown contract", key, `{"vendor":"lambda","region":"us-east-1","contract":"reserved","free":1}`, http.StatusUnprocessableEntity, "body.contract"},
		{"unknown field", key, `{"vendor":"lambda","region":"us-east-1","free":1,"gpu":"H100"}`, http.StatusUnprocessableEntity, "body.gpu"},
		{"unknown vendor", key, `{"vendor":"nosuchcloud","region":"us-east-1","free":0}`, http.StatusNotFound, ""},
		{"unknown region", key, `{"vendor":"lambda","region":"mars-1","free":0}`, http.StatusNotFound, ""},
		{"wrong key", "wrong", `{"vendor":"lambda","region":"us-east-1","free":1}`, http.StatusUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var answer struct {
				Detail json.RawMessage `json:"detail"`
			}
			call(t, http.MethodPost, url, tc.key, tc.body, tc.status, &answer)
			var sentence string
			var problems []struct {
				Loc []string `json:"loc"`
				Msg string   `json:"msg"`
			}
			switch {
			case tc.loc == "" && (json.Unmarshal(answer.Detail, &sentence) != nil || sentence == ""):
				t.Errorf("detail %s, want a sentence", answer.Detail)
			case tc.loc != "" && (json.Unmarshal(answer.Detail, &problems) != nil || len(problems) != 1 ||
				strings.Join(problems[0].Loc, ".") != tc.loc || problems[0].Msg == ""):
				t.Errorf("detail %s, want one problem at %s", answer.Detail, tc.loc)
			}
		})
	}
	call(t, http.MethodGet, url, "wrong", "", http.StatusUnauthorized, nil)

	// The ledger is kept with the stand-ins' state: after a restart
	// Lambda is still sold out there.
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	sb, err = Start(Options{DataDir: dataDir, BootTime: time.Second, SteadyStock: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if got := lambdaInRegion(sb); len(got) > 0 {
		t.Errorf("after a restart lambda's catalog lists %v in %s again", got, region)
	}
}

// call sends a request with key as bearer, fails the test unless it is
// answered status in JSON, and decodes the answer into out (if not nil).
func call(t *testing.T, method, url, key, body string, status int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s %s %s: %d %s (%v), want %d in JSON", method, url, body, resp.StatusCode, raw, err, status)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(fmt.Errorf("%s %s: %w", method, url, err))
		}
	}
}
