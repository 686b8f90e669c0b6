package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/internal/apikeys"
	"github.com/gpusupply/supply/internal/events"
	"github.com/gpusupply/supply/internal/keys"
	"github.com/gpusupply/supply/internal/mcpserver"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/supplyapi"
)

// teamSessions stands in for the console's sessions: the matrix sends
// keys, never cookies, and needs only that the session routes exist.
type teamSessions struct{ st store.Store }

func (teamSessions) Authenticate(context.Context, string, string, bool) (apikeys.Key, int64, error) {
	return apikeys.Key{}, 0, ErrNoSession
}

func (s teamSessions) List(ctx context.Context, accountID int64) ([]store.Session, error) {
	return s.st.ActiveSessions(ctx, accountID, time.Now())
}

func (s teamSessions) Revoke(ctx context.Context, accountID, id int64) error {
	return s.st.DeleteSession(ctx, accountID, id)
}

type noSandboxInstances struct{}

func (noSandboxInstances) Instances() []standin.ConsoleEntry { return nil }

// teamServer is a test API whose keys, caps, events and sessions live in a
// real store, with a key of each kind the matrix tries.
type teamServer struct {
	*testServer
	st   store.Store
	keys *keys.Service
	// secrets holds a key of each role, an expired and a revoked one,
	// and an admin key of the operator account, by kind.
	secrets map[string]string
	ids     map[string]int64
}

// matrixKinds are the kinds of key the matrix tries, all of testAccount,
// and the role each acts with ("" for keys that must be refused as
// unknown). The operator's key, of another account, has a test of its own.
var matrixKinds = []struct {
	kind string
	role roles.Role
}{
	{"admin", roles.Admin}, {"member", roles.Member}, {"viewer", roles.Viewer}, {"expired", ""}, {"revoked", ""},
}

func newTeamServer(t *testing.T, engine string) *teamServer {
	t.Helper()
	st := storetest.Open(t, engine)
	ctx := t.Context()
	// The fakes answer for testAccount only: make it, and an operator
	// account after it.
	for i := int64(1); i <= testAccount; i++ {
		if _, err := st.EnsureAccount(ctx, fmt.Sprintf("account%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	ops, err := st.EnsureAccount(ctx, "operators")
	if err != nil {
		t.Fatal(err)
	}
	ts := &teamServer{st: st, keys: keys.New(st), secrets: map[string]string{}, ids: map[string]int64{}}
	for kind, spec := range map[string]struct {
		account int64
		role    roles.Role
	}{"operator": {ops.ID, roles.Admin}, "admin": {testAccount, roles.Admin}, "member": {testAccount, roles.Member},
		"viewer": {testAccount, roles.Viewer}, "revoked": {testAccount, roles.Admin}} {
		k, err := ts.keys.Create(ctx, spec.account, supplyapi.APIKeyRequest{Name: kind, Role: string(spec.role)})
		if err != nil {
			t.Fatal(err)
		}
		ts.secrets[kind], ts.ids[kind] = k.Key, k.ID
	}
	// An expiry in the past cannot be asked for: write it to the store.
	secret, prefix, hash, err := apikeys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	if _, err := st.CreateAPIKey(ctx, store.APIKey{AccountID: testAccount, Prefix: prefix, Hash: hash, Role: string(roles.Admin), ExpiresAt: &past}); err != nil {
		t.Fatal(err)
	}
	ts.secrets["expired"] = secret
	if err := ts.keys.Revoke(ctx, testAccount, ts.ids["revoked"]); err != nil {
		t.Fatal(err)
	}
	ts.testServer = newTestServerWith(t, 1, func(c *Config) {
		c.Auth = apikeys.NewAuthenticator(ts.keys.Lookup, time.Minute)
		c.Keys, c.OperatorAccount, c.Sessions, c.Volumes = ts.keys, ops.ID, teamSessions{st}, noVolumes{}
		c.Events = events.New(events.Config{Store: st, AllowPrivate: true})
	})
	RegisterSandbox(ts.api, noSandboxInstances{})
	RegisterMCP(ts.api, mcpserver.Handler(ts.api.Handler(), "test"))
	return ts
}

// matrixCall is a request that an operation answers with ok when the key's
// role allows it. path and body may make what the request acts on (a key
// to revoke, a webhook to delete) and are called once per request.
type matrixCall struct {
	path func(t *testing.T, ts *teamServer) string
	body func(t *testing.T, ts *teamServer) string
	ok   int
}

func fixed(s string) func(*testing.T, *teamServer) string {
	return func(*testing.T, *teamServer) string { return s }
}

// matrixCalls has a request for every operation that needs a key, by
// "METHOD path" as registered: TestRoleMatrix fails for an operation
// missing here, so a new endpoint must say how it answers each role.
func matrixCalls() map[string]matrixCall {
	newKey := func(t *testing.T, ts *teamServer) string {
		k, err := ts.keys.Create(t.Context(), testAccount, supplyapi.APIKeyRequest{Name: "throwaway"})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("/keys/%d", k.ID)
	}
	webhook := func(t *testing.T, ts *teamServer) string {
		w, err := ts.api.cfg.Events.CreateWebhook(t.Context(), testAccount, "http://127.0.0.1:9/hook", nil)
		if err != nil {
			t.Fatal(err)
		}
		return "/webhooks/" + w.ID
	}
	session := func(t *testing.T, ts *teamServer) string {
		now := time.Now()
		s, err := ts.st.CreateSession(t.Context(), store.Session{TokenHash: apikeys.Hash(fmt.Sprint(now.UnixNano())), AccountID: testAccount,
			APIKeyID: ts.ids["admin"], CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("/sessions/%d", s.ID)
	}
	account := func(*testing.T, *teamServer) string {
		return fmt.Sprintf(`{"name":"team-%d"}`, time.Now().UnixNano())
	}
	get := matrixCall{ok: http.StatusOK}
	with := func(path string, ok int) matrixCall { return matrixCall{path: fixed(path), ok: ok} }
	return map[string]matrixCall{
		"GET /available_gpus":      get,
		"GET /available_vendors":   get,
		"GET /available_regions":   get,
		"GET /available_contracts": get,
		"POST /get_offers":         {body: fixed(`{"compute":{"gpu_type":"H100"}}`), ok: http.StatusOK},
		"GET /offers/{offer_id}":   {path: func(_ *testing.T, ts *teamServer) string { return "/offers/" + ts.offers.known.String() }, ok: http.StatusOK},
		"POST /procure_offer": {body: fixed(fmt.Sprintf(`{"offer_id":%q,"ssh_public_key":%q}`, offerID, sshKey)),
			ok: http.StatusOK},
		"GET /offers/{offer_id}/status":       with("/offers/"+offerID.String()+"/status", http.StatusOK),
		"POST /offers/{offer_id}/cancel":      with("/offers/"+offerID.String()+"/cancel", http.StatusOK),
		"GET /resources":                      get,
		"GET /resources/{resource_id}":        with("/resources/"+resID.String(), http.StatusOK),
		"DELETE /resources/{resource_id}":     with("/resources/"+resID.String(), http.StatusOK),
		"POST /resources/{resource_id}/stop":  with("/resources/"+resID.String()+"/stop", http.StatusOK),
		"POST /resources/{resource_id}/start": with("/resources/"+resID.String()+"/start", http.StatusOK),
		// noVolumes holds none and makes none: past the role check, a
		// create is its 409 and one volume its 404.
		"POST /volumes":               {body: fixed(`{"vendor":"lambda","region":"us-east-1","size_gb":10,"name":"data"}`), ok: http.StatusConflict},
		"GET /volumes":                get,
		"GET /volumes/{volume_id}":    with("/volumes/"+resID.String(), http.StatusNotFound),
		"DELETE /volumes/{volume_id}": with("/volumes/"+resID.String(), http.StatusNotFound),
		"PATCH /resources/{resource_id}": {path: fixed("/resources/" + resID.String()), body: fixed(`{"auto_delete_after":"1h"}`),
			ok: http.StatusOK},
		"GET /account":                  get,
		"GET /usage":                    get,
		"GET /events":                   get,
		"POST /webhooks":                {body: fixed(`{"url":"http://127.0.0.1:9/hook"}`), ok: http.StatusCreated},
		"GET /webhooks":                 get,
		"DELETE /webhooks/{webhook_id}": {path: webhook, ok: http.StatusNoContent},
		"GET /webhooks/{webhook_id}/deliveries": {path: func(t *testing.T, ts *teamServer) string { return webhook(t, ts) + "/deliveries" },
			ok: http.StatusOK},
		"GET /sessions":                 {ok: http.StatusOK},
		"DELETE /sessions/{session_id}": {path: session, ok: http.StatusNoContent},
		"GET /sandbox/instances":        get,
		"POST /keys":                    {body: fixed(`{"name":"ci","role":"viewer"}`), ok: http.StatusCreated},
		"GET /keys":                     get,
		"GET /keys/{key_id}":            {path: newKey, ok: http.StatusOK},
		"GET /keys/me":                  get,
		// Past the role check, the transport refuses a request that does not
		// accept an event stream (mcp_test.go sends one that does).
		"POST /mcp":             {body: fixed(`{"jsonrpc":"2.0","id":1,"method":"ping"}`), ok: http.StatusBadRequest},
		"PATCH /keys/{key_id}":  {path: newKey, body: fixed(`{"name":"renamed"}`), ok: http.StatusOK},
		"DELETE /keys/{key_id}": {path: newKey, ok: http.StatusNoContent},
		"GET /account/limits":   get,
		"PATCH /account/limits": {body: fixed(`{"max_gpu_count":8}`), ok: http.StatusOK},
		"POST /admin/accounts":  {body: account, ok: http.StatusCreated},
	}
}

// registeredOperations are the operations of a that need a key.
func registeredOperations(a *API) []*huma.Operation {
	var ops []*huma.Operation
	for _, item := range a.huma.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op != nil && len(op.Security) > 0 {
				ops = append(ops, op)
			}
		}
	}
	slices.SortFunc(ops, func(a, b *huma.Operation) int { return strings.Compare(a.Path+a.Method, b.Path+b.Method) })
	return ops
}

// matrixRoles is the role each operation must declare, as the README's
// table says: a table of its own, so that an operation declared with the
// wrong role fails TestRoleMatrix as surely as one not enforced.
var matrixRoles = map[string]roles.Role{
	"GET /available_gpus": roles.Viewer, "GET /available_vendors": roles.Viewer, "GET /available_regions": roles.Viewer,
	"GET /available_contracts": roles.Viewer, "POST /get_offers": roles.Viewer, "GET /offers/{offer_id}": roles.Viewer,
	"GET /offers/{offer_id}/status": roles.Viewer, "GET /resources": roles.Viewer, "GET /resources/{resource_id}": roles.Viewer,
	"GET /account": roles.Viewer, "GET /usage": roles.Viewer, "GET /events": roles.Viewer, "GET /sandbox/instances": roles.Viewer,
	"GET /volumes": roles.Viewer, "GET /volumes/{volume_id}": roles.Viewer, "GET /keys/me": roles.Viewer, "POST /mcp": roles.Viewer,

	"POST /procure_offer": roles.Member, "POST /offers/{offer_id}/cancel": roles.Member,
	"DELETE /resources/{resource_id}": roles.Member, "PATCH /resources/{resource_id}": roles.Member,
	"POST /resources/{resource_id}/stop": roles.Member, "POST /resources/{resource_id}/start": roles.Member,
	"POST /volumes": roles.Member, "DELETE /volumes/{volume_id}": roles.Member,

	"POST /webhooks": roles.Admin, "GET /webhooks": roles.Admin, "DELETE /webhooks/{webhook_id}": roles.Admin,
	"GET /webhooks/{webhook_id}/deliveries": roles.Admin, "GET /sessions": roles.Admin, "DELETE /sessions/{session_id}": roles.Admin,
	"POST /keys": roles.Admin, "GET /keys": roles.Admin, "GET /keys/{key_id}": roles.Admin, "PATCH /keys/{key_id}": roles.Admin,
	"DELETE /keys/{key_id}": roles.Admin, "GET /account/limits": roles.Admin, "PATCH /account/limits": roles.Admin,

	"POST /admin/accounts": roles.Operator,
}

// TestRoleMatrix calls every operation that needs a key with a key of each
// role, an expired and a revoked key, on both engines: a
// role that includes the operation's gets its answer, one that does not a
// 403 naming both roles, and the expired and revoked keys a 401. Every
// operation must declare its role and have a request in matrixCalls.
func TestRoleMatrix(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			ts := newTeamServer(t, engine)
			calls := matrixCalls()
			ops := registeredOperations(ts.api)
			if len(ops) != len(calls) {
				t.Errorf("%d operations need a key, the matrix has %d requests", len(ops), len(calls))
			}
			for _, op := range ops {
				name := op.Method + " " + op.Path
				need, _ := op.Metadata[roleKey].(roles.Role)
				if need == "" {
					t.Errorf("%s declares no role", name)
					continue
				}
				if want := matrixRoles[name]; need != want {
					t.Errorf("%s declares role %q, want %q (matrixRoles, and the README's table)", name, need, want)
				}
				call, ok := calls[name]
				if !ok {
					t.Errorf("%s (needs %s) has no request in matrixCalls", name, need)
					continue
				}
				for _, k := range matrixKinds {
					path, body := op.Path, ""
					if call.path != nil {
						path = call.path(t, ts)
					}
					if call.body != nil {
						body = call.body(t, ts)
					}
					contentType := ""
					if body != "" {
						contentType = "application/json"
					}
					r := ts.do(t, op.Method, path, contentType, body, "Bearer "+ts.secrets[k.kind])
					want := call.ok
					switch {
					case k.role == "":
						want = http.StatusUnauthorized
					case !k.role.Includes(need):
						want = http.StatusForbidden
					}
					if r.status != want {
						t.Errorf("%s with the %s key: %d %s, want %d", name, k.kind, r.status, r.body, want)
						continue
					}
					if want == http.StatusForbidden {
						var detail struct{ Detail string }
						_ = json.Unmarshal(r.body, &detail)
						if !strings.Contains(detail.Detail, string(k.role)) || !strings.Contains(detail.Detail, string(need)) && need != roles.Operator {
							t.Errorf("%s with the %s key: 403 %q names not the key's role and the one it lacks", name, k.kind, detail.Detail)
						}
					}
				}
			}
		})
	}
}

// TestOperatorCreatesAccounts: an admin key of the operator account creates
// an account, whose first key is an admin of it and nothing more.
func TestOperatorCreatesAccounts(t *testing.T) {
	ts := newTeamServer(t, store.EngineSQLite)
	r := ts.do(t, http.MethodPost, "/admin/accounts", "application/json", `{"name":"newteam","key_name":"first"}`, "Bearer "+ts.secrets["operator"])
	var created supplyapi.AccountCreated
	if err := json.Unmarshal(r.body, &created); r.status != http.StatusCreated || err != nil || created.Key.Role != "admin" || created.Key.Key == "" {
		t.Fatalf("POST /admin/accounts: %d %s", r.status, r.body)
	}
	if r := ts.do(t, http.MethodPost, "/admin/accounts", "application/json", `{"name":"newteam"}`, "Bearer "+ts.secrets["operator"]); r.status != http.StatusConflict {
		t.Errorf("the same name again: %d %s, want 409", r.status, r.body)
	}
	r = ts.do(t, http.MethodGet, "/keys", "", "", "Bearer "+created.Key.Key)
	var list []supplyapi.APIKeyInfo
	if err := json.Unmarshal(r.body, &list); r.status != http.StatusOK || err != nil || len(list) != 1 || list[0].Name != "first" || list[0].Key != "" {
		t.Errorf("GET /keys with the new account's key: %d %s, want its one key, without the secret", r.status, r.body)
	}
	if r := ts.do(t, http.MethodPost, "/admin/accounts", "application/json", `{"name":"other"}`, "Bearer "+created.Key.Key); r.status != http.StatusForbidden {
		t.Errorf("POST /admin/accounts with the new account's admin key: %d %s, want 403", r.status, r.body)
	}
}

// TestOperationWithoutRoleRefusesEveryone: an operation registered with no
// role is served to no key, not to every key.
func TestOperationWithoutRoleRefusesEveryone(t *testing.T) {
	ts := newTeamServer(t, store.EngineSQLite)
	huma.Register(ts.api.huma, operation("", "undeclared", http.MethodGet, "/undeclared", tagAccount, "An operation with no role"),
		func(context.Context, *struct{}) (*struct{}, error) { return nil, nil })
	r := ts.do(t, http.MethodGet, "/undeclared", "", "", "Bearer "+ts.secrets["operator"])
	if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "declares no role") {
		t.Fatalf("an operation without a role, with the operator's key: %d %s, want 403", r.status, r.body)
	}
}

// TestKeysAPI: an admin makes, lists, changes and revokes keys over the
// API and sets the account's caps; what a client gets wrong is a 422 in
// FastAPI's shape, and a PATCH changes only the fields it sends.
func TestKeysAPI(t *testing.T) {
	ts := newTeamServer(t, store.EngineSQLite)
	admin := "Bearer " + ts.secrets["admin"]
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	r := ts.do(t, http.MethodPost, "/keys", "application/json",
		`{"name":"ci","role":"member","max_gpu_count":1,"vendors":["runpod"],"expires_at":"`+future+`"}`, admin)
	var made supplyapi.APIKeyInfo
	if err := json.Unmarshal(r.body, &made); r.status != http.StatusCreated || err != nil || !strings.HasPrefix(made.Key, "sk_supply_") ||
		made.Role != "member" || *made.MaxGPUCount != 1 || made.MaxHourlyUSD != nil || !slices.Equal(made.Vendors, []string{"runpod"}) ||
		made.ExpiresAt == nil || made.LastUsedAt != nil {
		t.Fatalf("POST /keys: %d %s", r.status, r.body)
	}
	path := fmt.Sprintf("/keys/%d", made.ID)

	// The new key works, and its use is noted.
	if r := ts.do(t, http.MethodGet, fmt.Sprintf("/resources?created_by=%d", made.ID), "", "", "Bearer "+made.Key); r.status != http.StatusOK ||
		ts.provision.lastCall().filter.CreatedBy != made.ID {
		t.Fatalf("GET /resources?created_by with the new key: %d %s, filter %+v", r.status, r.body, ts.provision.lastCall().filter)
	}
	var got supplyapi.APIKeyInfo
	r = ts.do(t, http.MethodGet, path, "", "", admin)
	if err := json.Unmarshal(r.body, &got); r.status != http.StatusOK || err != nil || got.Key != "" || got.LastUsedAt == nil || got.Name != "ci" {
		t.Fatalf("GET %s: %d %s, want the key without its secret, last used", path, r.status, r.body)
	}

	// PATCH: the cap cleared, the rest as it was.
	r = ts.do(t, http.MethodPatch, path, "application/json", `{"max_gpu_count":null,"role":"viewer"}`, admin)
	if err := json.Unmarshal(r.body, &got); r.status != http.StatusOK || err != nil || got.MaxGPUCount != nil || got.Role != "viewer" ||
		got.Name != "ci" || !slices.Equal(got.Vendors, []string{"runpod"}) || got.ExpiresAt == nil {
		t.Fatalf("PATCH %s: %d %s", path, r.status, r.body)
	}
	// The cached member is a viewer on this replica at once.
	procure := fmt.Sprintf(`{"offer_id":%q,"ssh_public_key":%q}`, offerID, sshKey)
	if r := ts.do(t, http.MethodPost, "/procure_offer", "application/json", procure, "Bearer "+made.Key); r.status != http.StatusForbidden {
		t.Errorf("the key made a viewer, renting at once: %d %s, want 403", r.status, r.body)
	}

	for _, c := range []struct{ method, path, body, loc string }{
		{http.MethodPost, "/keys", `{"role":"owner"}`, "role"},
		{http.MethodPost, "/keys", `{"max_gpu_count":-1}`, "max_gpu_count"},
		{http.MethodPost, "/keys", `{"expires_at":"2001-01-01T00:00:00Z"}`, "expires_at"},
		{http.MethodPost, "/keys", `{"vendors":["Run Pod"]}`, "vendors"},
		{http.MethodPost, "/keys", `{"colour":"red"}`, "colour"},
		{http.MethodPatch, path, `{"name":"a\u001b[31mred"}`, "name"},
		{http.MethodPatch, "/account/limits", `{"max_hourly_usd":-5}`, "max_hourly_usd"},
		{http.MethodPost, "/admin/accounts", `{"name":""}`, "name"},
	} {
		auth := admin
		if c.path == "/admin/accounts" {
			auth = "Bearer " + ts.secrets["operator"]
		}
		r := ts.do(t, c.method, c.path, "application/json", c.body, auth)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `"loc":["body","`+c.loc+`"]`) {
			t.Errorf("%s %s %s: %d %s, want 422 at body.%s", c.method, c.path, c.body, r.status, r.body, c.loc)
		}
	}

	// The account's caps: each PATCH changes what it names.
	wantJSON(t, ts.do(t, http.MethodPatch, "/account/limits", "application/json", `{"max_hourly_usd":10}`, admin), http.StatusOK,
		`{"max_hourly_usd":10,"max_gpu_count":null}`)
	wantJSON(t, ts.do(t, http.MethodPatch, "/account/limits", "application/json", `{"max_gpu_count":3}`, admin), http.StatusOK,
		`{"max_hourly_usd":10,"max_gpu_count":3}`)
	wantJSON(t, ts.do(t, http.MethodGet, "/account/limits", "", "", admin), http.StatusOK, `{"max_hourly_usd":10,"max_gpu_count":3}`)

	// Revoked: gone from the list, 404 to change again.
	if r := ts.do(t, http.MethodDelete, path, "", "", admin); r.status != http.StatusNoContent {
		t.Fatalf("DELETE %s: %d %s", path, r.status, r.body)
	}
	if r := ts.do(t, http.MethodGet, "/resources", "", "", "Bearer "+made.Key); r.status != http.StatusUnauthorized {
		t.Errorf("the revoked key, cached a minute, at once on this replica: %d %s, want 401", r.status, r.body)
	}
	if r := ts.do(t, http.MethodDelete, path, "", "", admin); r.status != http.StatusNotFound {
		t.Errorf("DELETE %s again: %d %s, want 404", path, r.status, r.body)
	}
	var list []supplyapi.APIKeyInfo
	r = ts.do(t, http.MethodGet, "/keys", "", "", admin)
	if err := json.Unmarshal(r.body, &list); err != nil || slices.ContainsFunc(list, func(k supplyapi.APIKeyInfo) bool { return k.ID == made.ID }) {
		t.Errorf("GET /keys after revoking %d: %s", made.ID, r.body)
	}
}
