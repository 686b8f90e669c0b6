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
		c.Keys, c.OperatorAccount, c.Sessions = ts.keys, ops.ID, teamSessions{st}
		c.Events = events.New(events.Config{Store: st, AllowPrivate: true})
	})
	RegisterSandbox(ts.api, noSandboxInstances{})
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
		"GET /offers/{offer_id}/status":   with("/offers/"+offerID.String()+"/status", http.StatusOK),
		"POST /offers/{offer_id}/cancel":  with("/offers/"+offerID.String()+"/cancel", http.StatusOK),
		"GET /resources":                  get,
		"GET /resources/{resource_id}":    with("/resources/"+resID.String(), http.StatusOK),
		"DELETE /resources/{resource_id}": with("/resources/"+resID.String(), http.StatusOK),
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
		"PATCH /keys/{key_id}":          {path: newKey, body: fixed(`{"name":"renamed"}`), ok: http.StatusOK},
		"DELETE /keys/{key_id}":         {path: newKey, ok: http.StatusNoContent},
		"GET /account/limits":           get,
		"PATCH /account/limits":         {body: fixed(`{"max_gpu_count":8}`), ok: http.StatusOK},
		"POST /admin/accounts":          {body: account, ok: http.StatusCreated},
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
