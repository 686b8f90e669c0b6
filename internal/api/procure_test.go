package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/ledger"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/supplyapi"
)

// provisionService is a ProvisionService that answers every call with its
// current answers and records the last call that reached it. The mutex
// matters: handlers run on the server's goroutines.
type provisionService struct {
	mu      sync.Mutex
	answers provisionAnswers
	last    provisionCall
}

// provisionAnswers is what the fake answers; err, when set, is every
// method's error.
type provisionAnswers struct {
	err       error
	procured  supplyapi.ProcureOfferResponse
	status    supplyapi.OfferStatusResponse
	resources []supplyapi.ResourceSummary
	resource  supplyapi.ResourceSummary
	deleted   supplyapi.DeleteResourceResponse
	account   supplyapi.AccountInfo
	usage     supplyapi.Usage
}

// provisionCall is what a handler passed to the service.
type provisionCall struct {
	method    string
	accountID int64
	key       string
	req       supplyapi.ProcureOfferRequest
	id        uuid.UUID
	filter    ledger.ResourceFilter
	flag      bool // force_refresh or force
	patch     supplyapi.AutoDeleteRequest
	usage     ledger.UsageQuery
}

func (s *provisionService) answer(a provisionAnswers) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = a
}

func (s *provisionService) call(c provisionCall) provisionAnswers {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = c
	return s.answers
}

func (s *provisionService) lastCall() provisionCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func (s *provisionService) Procure(_ context.Context, accountID int64, key string, req supplyapi.ProcureOfferRequest) (supplyapi.ProcureOfferResponse, error) {
	a := s.call(provisionCall{method: "Procure", accountID: accountID, key: key, req: req})
	return a.procured, a.err
}

func (s *provisionService) SetAutoDelete(_ context.Context, accountID int64, id uuid.UUID, req supplyapi.AutoDeleteRequest) (supplyapi.ResourceSummary, error) {
	a := s.call(provisionCall{method: "SetAutoDelete", accountID: accountID, id: id, patch: req})
	return a.resource, a.err
}

func (s *provisionService) Account(_ context.Context, accountID int64) (supplyapi.AccountInfo, error) {
	a := s.call(provisionCall{method: "Account", accountID: accountID})
	return a.account, a.err
}

func (s *provisionService) Usage(_ context.Context, accountID int64, q ledger.UsageQuery) (supplyapi.Usage, error) {
	a := s.call(provisionCall{method: "Usage", accountID: accountID, usage: q})
	return a.usage, a.err
}

func (s *provisionService) OfferStatus(_ context.Context, accountID int64, offerID uuid.UUID) (supplyapi.OfferStatusResponse, error) {
	a := s.call(provisionCall{method: "OfferStatus", accountID: accountID, id: offerID})
	return a.status, a.err
}

func (s *provisionService) Resources(_ context.Context, accountID int64, f ledger.ResourceFilter) ([]supplyapi.ResourceSummary, error) {
	a := s.call(provisionCall{method: "Resources", accountID: accountID, filter: f})
	return slices.Clone(a.resources), a.err
}

func (s *provisionService) Resource(_ context.Context, accountID int64, id uuid.UUID, forceRefresh bool) (supplyapi.ResourceSummary, error) {
	a := s.call(provisionCall{method: "Resource", accountID: accountID, id: id, flag: forceRefresh})
	return a.resource, a.err
}

func (s *provisionService) Delete(_ context.Context, accountID int64, id uuid.UUID, force bool) (supplyapi.DeleteResourceResponse, error) {
	a := s.call(provisionCall{method: "Delete", accountID: accountID, id: id, flag: force})
	return a.deleted, a.err
}

func (s *provisionService) Cancel(_ context.Context, accountID int64, offerID uuid.UUID) (supplyapi.OfferStatusResponse, error) {
	a := s.call(provisionCall{method: "Cancel", accountID: accountID, id: offerID})
	return a.status, a.err
}

// Fixed values, so that expected bodies can be written out in full.
var (
	t0      = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t1      = t0.Add(90 * time.Second)
	offerID = uuid.MustParse("11111111-1111-4111-8111-111111111111")
	resID   = uuid.MustParse("22222222-2222-4222-8222-222222222222")
	nodeID  = uuid.MustParse("33333333-3333-4333-8333-333333333333")
)

const sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0m8Kp4bS9yQ0v2iJ9Xq5mDk7n8s2xQ0n5pZ3c4e5f6 alice@example"

func (ts *testServer) procure(t testing.TB, body, idempotencyKey string) response {
	t.Helper()
	req := ts.newRequest(t, http.MethodPost, "/procure_offer", "application/json", body, "Bearer "+ts.key)
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	return ts.send(t, req)
}

func TestProcureOffer(t *testing.T) {
	ts := newTestServer(t, 0)
	body := `{"offer_id":"` + offerID.String() + `","ssh_public_key":"` + sshKey + `",
		"cloud_init":"#cloud-config\npackages: [htop]\n","resource_name":"train"}`

	t.Run("accepted", func(t *testing.T) {
		ts.provision.answer(provisionAnswers{procured: supplyapi.ProcureOfferResponse{OfferID: offerID, Status: supplyapi.ProcureInProgress}})
		wantJSON(t, ts.procure(t, body, "retry-1"), 200,
			`{"offer_id":"11111111-1111-4111-8111-111111111111","status":"provisioning_in_progress","procured_at":null,"resource_ids":[],"error":null}`)
		c := ts.provision.lastCall()
		if c.method != "Procure" || c.accountID != testAccount || c.key != "retry-1" {
			t.Fatalf("call %+v, want Procure for account %d with key retry-1", c, testAccount)
		}
		r := c.req
		if r.OfferID != offerID || r.SSHPublicKey != sshKey || r.CloudInit == nil || *r.CloudInit != "#cloud-config\npackages: [htop]\n" ||
			r.ResourceName == nil || *r.ResourceName != "train" || r.ClusterName != nil {
			t.Fatalf("request reached the service as %+v", r)
		}
	})

	t.Run("finished, no idempotency key", func(t *testing.T) {
		ts.provision.answer(provisionAnswers{procured: supplyapi.ProcureOfferResponse{
			OfferID: offerID, Status: supplyapi.ProcureDone, ProcuredAt: &t1, ResourceIDs: []uuid.UUID{resID, nodeID},
		}})
		wantJSON(t, ts.procure(t, body, ""), 200, `{"offer_id":"11111111-1111-4111-8111-111111111111","status":"procured",
			"procured_at":"2026-01-02T03:05:35Z","resource_ids":["22222222-2222-4222-8222-222222222222","33333333-3333-4333-8333-333333333333"],"error":null}`)
		if c := ts.provision.lastCall(); c.key != "" {
			t.Fatalf("idempotency key %q reached the service, want none", c.key)
		}
	})

	t.Run("failed", func(t *testing.T) {
		ts.provision.answer(provisionAnswers{procured: supplyapi.ProcureOfferResponse{
			OfferID: offerID, Status: supplyapi.ProcureFailed, Error: new("vendor is out of capacity"),
		}})
		wantJSON(t, ts.procure(t, body, ""), 200, `{"offer_id":"11111111-1111-4111-8111-111111111111","status":"failed",
			"procured_at":null,"resource_ids":[],"error":"vendor is out of capacity"}`)
	})
}

func TestProcureOfferInvalid(t *testing.T) {
	ts := newTestServer(t, 0)
	valid := `{"offer_id":"` + offerID.String() + `","ssh_public_key":"` + sshKey + `"}`
	tests := []struct {
		name, body, key string
		want            string
	}{
		{"missing ssh_public_key", `{"offer_id":"11111111-1111-4111-8111-111111111111"}`, "",
			`{"detail":[{"type":"missing","loc":["body","ssh_public_key"],"msg":"Field required","input":{"offer_id":"11111111-1111-4111-8111-111111111111"}}]}`},
		{"missing offer_id", `{"ssh_public_key":"k"}`, "",
			`{"detail":[{"type":"missing","loc":["body","offer_id"],"msg":"Field required","input":{"ssh_public_key":"<ssh_public_key: 1 byte, not echoed>"}}]}`},
		{"offer_id not a uuid", `{"offer_id":"offer-1","ssh_public_key":"k"}`, "",
			`{"detail":[{"type":"uuid_parsing","loc":["body","offer_id"],"msg":"Input should be a valid UUID, invalid character: expected an optional prefix of ` +
				"`urn:uuid:`" + ` followed by [0-9a-fA-F-], found ` + "`o`" + ` at 1","input":"offer-1",
				"ctx":{"error":"invalid character: expected an optional prefix of ` + "`urn:uuid:`" + ` followed by [0-9a-fA-F-], found ` + "`o`" + ` at 1"}}]}`},
		{"offer_id not a string", `{"offer_id":7,"ssh_public_key":"k"}`, "",
			`{"detail":[{"type":"string_type","loc":["body","offer_id"],"msg":"Input should be a valid string","input":7}]}`},
		{"empty ssh_public_key", `{"offer_id":"11111111-1111-4111-8111-111111111111","ssh_public_key":""}`, "",
			`{"detail":[{"type":"string_too_short","loc":["body","ssh_public_key"],"msg":"String should have at least 1 character","input":"<ssh_public_key: 0 bytes, not echoed>","ctx":{"min_length":1}}]}`},
		{"malformed JSON", `{"offer_id": }`, "",
			`{"detail":[{"type":"json_invalid","loc":["body",13],"msg":"JSON decode error","input":{},"ctx":{"error":"invalid character '}' looking for beginning of value"}}]}`},
		{"no body", "", "",
			`{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}`},
		{"idempotency key too long", valid, strings.Repeat("k", 256),
			`{"detail":[{"type":"string_too_long","loc":["header","Idempotency-Key"],"msg":"String should have at most 255 characters","input":"` +
				strings.Repeat("k", 256) + `","ctx":{"max_length":255}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.provision.answer(provisionAnswers{})
			wantJSON(t, ts.procure(t, tt.body, tt.key), 422, tt.want)
			if c := ts.provision.lastCall(); c.method != "" {
				t.Fatalf("an invalid request reached the service: %+v", c)
			}
		})
	}
}

func TestOfferStatus(t *testing.T) {
	ts := newTestServer(t, 0)
	path := "/offers/" + offerID.String() + "/status"

	t.Run("not started", func(t *testing.T) {
		ts.provision.answer(provisionAnswers{status: supplyapi.OfferStatusResponse{
			OfferID: offerID, Status: "available", CreatedAt: t0, ProcurementStatus: supplyapi.ProcurementAvailable, Progress: "0/1 instances running",
		}})
		wantJSON(t, ts.get(t, path), 200, `{"offer_id":"11111111-1111-4111-8111-111111111111","status":"available",
			"created_at":"2026-01-02T03:04:05Z","procurement_status":"available","instances":[],"resource_ids":[],
			"progress":"0/1 instances running","failure_reason":null,"procured_at":null}`)
		if c := ts.provision.lastCall(); c.method != "OfferStatus" || c.id != offerID || c.accountID != testAccount {
			t.Fatalf("call %+v", c)
		}
	})

	t.Run("ready", func(t *testing.T) {
		ts.provision.answer(provisionAnswers{status: supplyapi.OfferStatusResponse{
			OfferID: offerID, Status: "procured", CreatedAt: t0, ProcurementStatus: supplyapi.ProcurementReady,
			Instances: []supplyapi.InstanceInfo{
				{ResourceID: resID, Name: "train", Status: "running", ExternalIP: new("203.0.113.7"), InternalIP: new("10.0.0.2"),
					SSHCommand: new("ssh root@203.0.113.7"), SSHPort: new(22)},
				{ResourceID: nodeID, Name: "train-1", Status: "provisioning"},
			},
			ResourceIDs: []uuid.UUID{resID, nodeID}, Progress: "1/2 instances running", ProcuredAt: &t1,
		}})
		wantJSON(t, ts.get(t, path), 200, `{"offer_id":"11111111-1111-4111-8111-111111111111","status":"procured",
			"created_at":"2026-01-02T03:04:05Z","procurement_status":"ready","instances":[
				{"resource_id":"22222222-2222-4222-8222-222222222222","name":"train","status":"running","external_ip":"203.0.113.7",
				 "internal_ip":"10.0.0.2","ssh_command":"ssh root@203.0.113.7","ssh_port":22},
				{"resource_id":"33333333-3333-4333-8333-333333333333","name":"train-1","status":"provisioning","external_ip":null,
				 "internal_ip":null,"ssh_command":null,"ssh_port":null}],
			"resource_ids":["22222222-2222-4222-8222-222222222222","33333333-3333-4333-8333-333333333333"],
			"progress":"1/2 instances running","failure_reason":null,"procured_at":"2026-01-02T03:05:35Z"}`)
	})

	t.Run("not a uuid", func(t *testing.T) {
		wantJSON(t, ts.get(t, "/offers/42/status"), 422, `{"detail":[{"type":"uuid_parsing","loc":["path","offer_id"],
			"msg":"Input should be a valid UUID, invalid length: expected length 32 for simple format, found 2",
			"input":"42","ctx":{"error":"invalid length: expected length 32 for simple format, found 2"}}]}`)
	})
}

// TestProvisionErrors checks that every operation maps the service's errors
// to the same statuses, with the service's sentence as the detail.
func TestProvisionErrors(t *testing.T) {
	ts := newTestServer(t, 0)
	procureBody := `{"offer_id":"` + offerID.String() + `","ssh_public_key":"` + sshKey + `"}`
	operations := []struct{ method, path, body string }{
		{http.MethodPost, "/procure_offer", procureBody},
		{http.MethodGet, "/offers/" + offerID.String() + "/status", ""},
		{http.MethodGet, "/resources", ""},
		{http.MethodGet, "/resources/" + resID.String(), ""},
		{http.MethodDelete, "/resources/" + resID.String(), ""},
	}
	errs := []struct {
		name   string
		err    error
		status int
		want   string
	}{
		{"not found", &refusal.Error{Kind: refusal.ErrNotFound, Detail: "Offer not found"}, 404, `{"detail":"Offer not found"}`},
		{"gone", &refusal.Error{Kind: refusal.ErrGone, Detail: "Offer expired at 2026-01-02T03:34:05Z"}, 410,
			`{"detail":"Offer expired at 2026-01-02T03:34:05Z"}`},
		{"conflict", &refusal.Error{Kind: refusal.ErrConflict, Detail: "Offer is already procured"}, 409,
			`{"detail":"Offer is already procured"}`},
		{"rejected field", &offers.QueryError{Loc: []any{"body", "ssh_public_key"}, Type: "value_error",
			Msg: "Value error, not an OpenSSH public key", Input: "ssh-rsa nope"}, 422,
			`{"detail":[{"type":"value_error","loc":["body","ssh_public_key"],"msg":"Value error, not an OpenSSH public key","input":"<ssh_public_key: 12 bytes, not echoed>"}]}`},
		{"anything else", errors.New("database is on fire"), 500, `{"detail":"Internal Server Error"}`},
	}
	for _, op := range operations {
		for _, e := range errs {
			t.Run(op.method+" "+op.path+" "+e.name, func(t *testing.T) {
				ts.provision.answer(provisionAnswers{err: e.err})
				r := ts.do(t, op.method, op.path, "application/json", op.body, "Bearer "+ts.key)
				wantJSON(t, r, e.status, e.want)
			})
		}
	}
	if rec := ts.log.waitFor(t, "procure offer"); !strings.Contains(rec["error"].(string), "database is on fire") {
		t.Errorf("the 500's cause is not logged: %v", rec)
	}
}

func TestProvisionNeedsKey(t *testing.T) {
	ts := newTestServer(t, 0)
	for _, op := range []struct{ method, path string }{
		{http.MethodPost, "/procure_offer"},
		{http.MethodGet, "/offers/" + offerID.String() + "/status"},
		{http.MethodGet, "/resources"},
		{http.MethodGet, "/resources/" + resID.String()},
		{http.MethodDelete, "/resources/" + resID.String()},
	} {
		r := ts.do(t, op.method, op.path, "application/json", "{}", "")
		wantJSON(t, r, http.StatusUnauthorized, `{"detail":"Not authenticated"}`)
		if c := ts.provision.lastCall(); c.method != "" {
			t.Fatalf("%s %s without a key reached the service: %+v", op.method, op.path, c)
		}
	}
}
