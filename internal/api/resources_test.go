package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// clusterResource has every field set; vmResource leaves every optional one
// empty.
var (
	clusterResource = supplyapi.ResourceSummary{
		ResourceID: resID, ResourceType: "cluster", Vendor: "nebius", VendorRegion: "eu-north1", Status: supplyapi.ResourceRunning,
		CreatedAt: t0, Name: "train", StatusMessage: new("2/2 nodes running"),
		Access: supplyapi.Access{ExternalIP: new("203.0.113.7"), InternalIP: new("10.0.0.2"), SSHCommand: new("ssh root@203.0.113.7"), SSHPort: new(22)},
		Spec: supplyapi.Spec{GPUType: "nvidia-h100-sxm5-80gb", GPUCount: 16, VCPUCount: new(256), MemoryInGB: new(3200.0),
			BootDiskInGB: new(200), ContractType: "ondemand", InstanceType: "gpu-h100-sxm.8gpu", NodeCount: new(2)},
		LinkedResources: []supplyapi.Link{{ResourceID: nodeID, ResourceType: "vm", Status: supplyapi.ResourceRunning,
			LinkType: "cluster_node", LinkedSince: t0, Name: "train-0"}},
		OfferHistory:       []supplyapi.OfferHistory{{OfferID: offerID, OfferType: "cluster", Role: "primary", CreatedAt: t0}},
		PricingTotalHourly: 47.5, ValidFrom: t0, ValidTo: &t1, LastSyncedAt: &t1, DeleteAt: &t1, AccruedCost: 12.3456,
	}
	clusterJSON = `{"resource_id":"22222222-2222-4222-8222-222222222222","resource_type":"cluster","vendor":"nebius",
		"vendor_region":"eu-north1","status":"running","created_at":"2026-01-02T03:04:05Z","name":"train",
		"status_message":"2/2 nodes running",
		"access":{"external_ip":"203.0.113.7","internal_ip":"10.0.0.2","ssh_command":"ssh root@203.0.113.7","ssh_port":22},
		"spec":{"gpu_type":"nvidia-h100-sxm5-80gb","gpu_count":16,"vcpu_count":256,"memory_in_gb":3200,"boot_disk_in_gb":200,
			"contract_type":"ondemand","instance_type":"gpu-h100-sxm.8gpu","node_count":2},
		"linked_resources":[{"resource_id":"33333333-3333-4333-8333-333333333333","resource_type":"vm","status":"running",
			"link_type":"cluster_node","linked_since":"2026-01-02T03:04:05Z","name":"train-0","linked_until":null}],
		"offer_history":[{"offer_id":"11111111-1111-4111-8111-111111111111","offer_type":"cluster","role":"primary",
			"created_at":"2026-01-02T03:04:05Z"}],
		"pricing_total_hourly":47.5,"valid_from":"2026-01-02T03:04:05Z","valid_to":"2026-01-02T03:05:35Z",
		"last_synced_at":"2026-01-02T03:05:35Z","delete_at":"2026-01-02T03:05:35Z","accrued_cost":12.3456}`

	vmResource = supplyapi.ResourceSummary{
		ResourceID: nodeID, ResourceType: "vm", Vendor: "lambda", VendorRegion: "us-east-1", Status: supplyapi.ResourceProvisioning,
		CreatedAt: t0, Name: "dev", Spec: supplyapi.Spec{GPUType: "nvidia-a100-pcie-40gb", GPUCount: 1, ContractType: "ondemand",
			InstanceType: "gpu_1x_a100"},
		PricingTotalHourly: 1.29, ValidFrom: t0,
	}
	vmJSON = `{"resource_id":"33333333-3333-4333-8333-333333333333","resource_type":"vm","vendor":"lambda",
		"vendor_region":"us-east-1","status":"provisioning","created_at":"2026-01-02T03:04:05Z","name":"dev","status_message":null,
		"access":{"external_ip":null,"internal_ip":null,"ssh_command":null,"ssh_port":null},
		"spec":{"gpu_type":"nvidia-a100-pcie-40gb","gpu_count":1,"vcpu_count":null,"memory_in_gb":null,"boot_disk_in_gb":null,
			"contract_type":"ondemand","instance_type":"gpu_1x_a100"},
		"linked_resources":[],"offer_history":[],
		"pricing_total_hourly":1.29,"valid_from":"2026-01-02T03:04:05Z","valid_to":null,"last_synced_at":null,
		"delete_at":null,"accrued_cost":0}`
)

func TestListResources(t *testing.T) {
	ts := newTestServer(t, 0)
	ts.provision.answer(provisionAnswers{resources: []supplyapi.ResourceSummary{clusterResource, vmResource}})

	wantJSON(t, ts.get(t, "/resources"), 200, "["+clusterJSON+","+vmJSON+"]")
	c := ts.provision.lastCall()
	if c.method != "Resources" || c.accountID != testAccount || c.filter.OfferID != nil || c.filter.Status != "" {
		t.Fatalf("unfiltered list reached the service as %+v", c)
	}

	ts.get(t, "/resources?offer_id="+offerID.String()+"&status=deleted")
	if f := ts.provision.lastCall().filter; f.OfferID == nil || *f.OfferID != offerID || f.Status != supplyapi.ResourceDeleted {
		t.Fatalf("filter reached the service as %+v", f)
	}

	ts.provision.answer(provisionAnswers{})
	wantJSON(t, ts.get(t, "/resources"), 200, `[]`)
}

func TestListResourcesInvalid(t *testing.T) {
	ts := newTestServer(t, 0)
	tests := []struct{ name, query, want string }{
		{"offer_id not a uuid", "?offer_id=123", `{"detail":[{"type":"uuid_parsing","loc":["query","offer_id"],
			"msg":"Input should be a valid UUID, invalid length: expected length 32 for simple format, found 3","input":"123",
			"ctx":{"error":"invalid length: expected length 32 for simple format, found 3"}}]}`},
		{"unknown status", "?status=sleeping", `{"detail":[{"type":"enum","loc":["query","status"],
			"msg":"Input should be 'provisioning', 'running', 'unhealthy', 'preempted', 'deleting', 'deleted', 'failed', 'stopping', 'stopped' or 'starting'","input":"sleeping",
			"ctx":{"expected":"'provisioning', 'running', 'unhealthy', 'preempted', 'deleting', 'deleted', 'failed', 'stopping', 'stopped' or 'starting'"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantJSON(t, ts.get(t, "/resources"+tt.query), 422, tt.want)
			if c := ts.provision.lastCall(); c.method != "" {
				t.Fatalf("an invalid request reached the service: %+v", c)
			}
		})
	}
}

func TestGetResource(t *testing.T) {
	ts := newTestServer(t, 0)
	ts.provision.answer(provisionAnswers{resource: vmResource})
	tests := []struct {
		query        string
		forceRefresh bool
	}{
		{"", false},
		{"?force_refresh=true", true},
		{"?force_refresh=false", false},
	}
	for _, tt := range tests {
		wantJSON(t, ts.get(t, "/resources/"+nodeID.String()+tt.query), 200, vmJSON)
		if c := ts.provision.lastCall(); c.method != "Resource" || c.accountID != testAccount || c.id != nodeID || c.flag != tt.forceRefresh {
			t.Fatalf("%q reached the service as %+v, want force_refresh %v", tt.query, c, tt.forceRefresh)
		}
	}

	wantJSON(t, ts.get(t, "/resources/"+resID.String()+"?force_refresh=soon"), 422, `{"detail":[{"type":"bool_parsing",
		"loc":["query","force_refresh"],"msg":"Input should be a valid boolean, unable to interpret input","input":"soon"}]}`)
	wantJSON(t, ts.get(t, "/resources/res-1"), 422, `{"detail":[{"type":"uuid_parsing","loc":["path","resource_id"],
		"msg":"Input should be a valid UUID, invalid character: expected an optional prefix of `+"`urn:uuid:`"+` followed by [0-9a-fA-F-], found `+"`r`"+` at 1",
		"input":"res-1","ctx":{"error":"invalid character: expected an optional prefix of `+"`urn:uuid:`"+` followed by [0-9a-fA-F-], found `+"`r`"+` at 1"}}]}`)
}

func TestDeleteResource(t *testing.T) {
	ts := newTestServer(t, 0)
	ts.provision.answer(provisionAnswers{deleted: supplyapi.DeleteResourceResponse{
		ResourceID: resID, Status: supplyapi.ResourceDeleting, Message: "Termination requested; the resource is deleted once the vendor confirms",
	}})
	want := `{"resource_id":"22222222-2222-4222-8222-222222222222","status":"deleting",
		"message":"Termination requested; the resource is deleted once the vendor confirms"}`
	for _, tt := range []struct {
		query string
		force bool
	}{{"", false}, {"?force=true", true}, {"?force=1", true}} {
		r := ts.do(t, http.MethodDelete, "/resources/"+resID.String()+tt.query, "", "", "Bearer "+ts.key)
		wantJSON(t, r, 200, want)
		if c := ts.provision.lastCall(); c.method != "Delete" || c.accountID != testAccount || c.id != resID || c.flag != tt.force {
			t.Fatalf("%q reached the service as %+v, want force %v", tt.query, c, tt.force)
		}
	}

	r := ts.do(t, http.MethodDelete, "/resources/"+resID.String()+"?force=please", "", "", "Bearer "+ts.key)
	wantJSON(t, r, 422, `{"detail":[{"type":"bool_parsing","loc":["query","force"],
		"msg":"Input should be a valid boolean, unable to interpret input","input":"please"}]}`)
}

func TestListResourcesPaging(t *testing.T) {
	ts := newTestServer(t, 0)
	page := []supplyapi.ResourceSummary{clusterResource, vmResource}
	ts.provision.answer(provisionAnswers{resources: page})

	// A full page names the next one; its cursor is the last resource's.
	r := ts.get(t, "/resources?limit=2&status=running")
	wantJSON(t, r, 200, "["+clusterJSON+","+vmJSON+"]")
	if c := ts.provision.lastCall(); c.filter.Limit != 2 || c.filter.After != (store.ResourceCursor{}) || c.filter.Status != "running" {
		t.Fatalf("first page reached the service as %+v", c.filter)
	}
	cursor := ledger.NextCursor(vmResource)
	if link := r.header.Get("Link"); link != `</resources?after=`+cursor+`&limit=2&status=running>; rel="next"` {
		t.Fatalf("Link %q", link)
	}
	r = ts.get(t, "/resources?limit=2&status=running&after="+cursor)
	if c := ts.provision.lastCall(); r.status != 200 || c.filter.After.ID != nodeID.String() || !c.filter.After.CreatedAt.Equal(t0) {
		t.Fatalf("next page: %d, reached the service as %+v", r.status, c.filter)
	}
	// A page that is not full is the last; no limit, no paging.
	for _, path := range []string{"/resources?limit=3", "/resources"} {
		if r := ts.get(t, path); r.status != 200 || r.header.Get("Link") != "" {
			t.Errorf("%s: %d, Link %q", path, r.status, r.header.Get("Link"))
		}
	}
	if c := ts.provision.lastCall(); c.filter.Limit != 0 {
		t.Errorf("no limit reached the service as %d", c.filter.Limit)
	}

	for _, path := range []string{
		"/resources?limit=2&after=bm90LWEtY3Vyc29y", "/resources?limit=2&after=%25", "/resources?after=" + cursor,
		"/resources?limit=0", "/resources?limit=1001", "/resources?limit=x",
	} {
		if r := ts.get(t, path); r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `"loc":["query",`) {
			t.Errorf("%s: %d %s, want a 422 about the query", path, r.status, r.body)
		}
	}
}
