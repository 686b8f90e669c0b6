package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// revocationBound is how soon after DELETE /keys/{id} answers every
// replica must refuse the key.
const revocationBound = time.Second

// TestRevokedKeyRefusedOnEveryReplica: on two replicas of one PostgreSQL
// database, an admin makes a member key over the API, the key rents on
// the other replica, and every event of that procurement names it; the
// admin revokes it on the first replica, and from then on both refuse it
// (401) within a second, though each had just served it.
func TestRevokedKeyRefusedOnEveryReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("replica test skipped in -short mode")
	}
	host := Start(t, store.EngineSQLite, "--sandbox-boot-time", "500ms")
	flags := []string{"--sandbox=false"}
	a := StartConfig(t, Config{Engine: store.EnginePostgres, Flags: flags, Env: host.SandboxEnv(t)})
	b := StartConfig(t, Config{Engine: store.EnginePostgres, DatabaseURL: a.DatabaseURL, Flags: flags, Env: host.SandboxEnv(t)})
	b.Key = a.Key
	a.WaitVendors(t)
	b.WaitVendors(t)

	var key supplyapi.APIKeyInfo
	a.JSON(t, http.MethodPost, "/keys", "application/json", []byte(`{"name":"ci","role":"member","max_gpu_count":4}`), http.StatusCreated, &key)
	if key.Key == "" || key.Role != supplyapi.RoleMember {
		t.Fatalf("POST /keys answered %+v, want a member key with its secret", key)
	}

	o := offerOf(t, b, sharedVendors[0], 0)
	body, _ := json.Marshal(supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: crashKey})
	code, _, out := b.DoKey(t, key.Key, http.MethodPost, "/procure_offer", "application/json", body)
	if code != http.StatusOK {
		t.Fatalf("the member key rents on the second replica: %d %s", code, out)
	}
	waitReady(t, rental{server: b, vendor: o.Vendor, offer: o.OfferID}, time.Minute)
	var page supplyapi.EventPage
	a.JSON(t, http.MethodGet, "/events?resource_id="+o.OfferID.String(), "", nil, http.StatusOK, &page)
	if len(page.Events) == 0 {
		t.Fatal("no events of the procurement")
	}
	for _, ev := range page.Events {
		if ev.Actor == nil || ev.Actor.KeyID != key.ID || ev.Actor.Name != "ci" {
			t.Errorf("event %s names %+v, want key %d (ci)", ev.Type, ev.Actor, key.ID)
		}
	}
	var mine []supplyapi.ResourceSummary
	a.JSON(t, http.MethodGet, fmt.Sprintf("/resources?created_by=%d", key.ID), "", nil, http.StatusOK, &mine)
	var initial []supplyapi.ResourceSummary
	a.JSON(t, http.MethodGet, fmt.Sprintf("/resources?created_by=%d", key.ID+1000), "", nil, http.StatusOK, &initial)
	if len(mine) != 1 || len(initial) != 0 {
		t.Errorf("GET /resources?created_by: %d resources of the member key, %d of an unknown key; want 1 and 0", len(mine), len(initial))
	}

	// Both replicas have the key cached as valid now.
	for _, s := range []*Server{a, b} {
		if code, _, out := s.DoKey(t, key.Key, http.MethodGet, "/resources", "", nil); code != http.StatusOK {
			t.Fatalf("the member key before revocation: %d %s", code, out)
		}
	}
	if code, _, out := a.Do(t, http.MethodDelete, fmt.Sprintf("/keys/%d", key.ID), "", nil); code != http.StatusNoContent {
		t.Fatalf("DELETE /keys/%d: %d %s", key.ID, code, out)
	}
	revoked := time.Now()
	for name, s := range map[string]*Server{"first": a, "second": b} {
		for {
			code, _, out := s.DoKey(t, key.Key, http.MethodGet, "/resources", "", nil)
			if code == http.StatusUnauthorized {
				t.Logf("the %s replica refused the revoked key %s after revocation", name, time.Since(revoked).Round(time.Millisecond))
				break
			}
			if code != http.StatusOK {
				t.Fatalf("the revoked key on the %s replica: %d %s", name, code, out)
			}
			if time.Since(revoked) > revocationBound {
				t.Fatalf("the %s replica still served the revoked key %s after revocation", name, time.Since(revoked).Round(time.Millisecond))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestServerSideKeysHaveRoles: supply keys create makes an admin key unless
// --role says otherwise, with the code POST /keys runs: a viewer made on the
// server's host reads and is refused renting, and it is listed by name.
func TestServerSideKeysHaveRoles(t *testing.T) {
	s := Start(t, store.EngineSQLite)
	viewer := strings.TrimSpace(s.Command(t, "keys", "create", "--account", "default", "--role", "viewer", "--name", "dashboards"))
	if code, _, out := s.DoKey(t, viewer, http.MethodGet, "/resources", "", nil); code != http.StatusOK {
		t.Fatalf("the viewer reads: %d %s", code, out)
	}
	body := []byte(`{"offer_id":"11111111-1111-4111-8111-111111111111","ssh_public_key":"` + crashKey + `"}`)
	if code, _, out := s.DoKey(t, viewer, http.MethodPost, "/procure_offer", "application/json", body); code != http.StatusForbidden ||
		!strings.Contains(string(out), "role is viewer, which lacks member") {
		t.Fatalf("the viewer rents: %d %s, want 403", code, out)
	}
	var keys []supplyapi.APIKeyInfo
	s.JSON(t, http.MethodGet, "/keys", "", nil, http.StatusOK, &keys)
	roles := map[string]string{}
	for _, k := range keys {
		roles[k.Name] = k.Role
	}
	if roles["initial"] != supplyapi.RoleAdmin || roles["dashboards"] != supplyapi.RoleViewer {
		t.Errorf("GET /keys lists %v, want the initial key an admin and dashboards a viewer", roles)
	}
}

// TestOperatorAccountCreatesAccounts: --operator-account names the account
// whose admin keys may create accounts over the API: an admin key of it,
// made on the server's host, creates a team whose first key is that
// team's admin, while the default account's admin key is refused.
func TestOperatorAccountCreatesAccounts(t *testing.T) {
	s := Start(t, store.EngineSQLite, "--operator-account", "operators")
	operator := strings.TrimSpace(s.Command(t, "keys", "create", "--account", "operators", "--name", "operator"))
	body := []byte(`{"name":"newteam","key_name":"first"}`)
	code, _, out := s.DoKey(t, operator, http.MethodPost, "/admin/accounts", "application/json", body)
	var created supplyapi.AccountCreated
	if err := json.Unmarshal(out, &created); code != http.StatusCreated || err != nil || created.Key.Role != supplyapi.RoleAdmin {
		t.Fatalf("POST /admin/accounts with the operator account's admin key: %d %s", code, out)
	}
	code, _, out = s.DoKey(t, created.Key.Key, http.MethodGet, "/keys", "", nil)
	var keys []supplyapi.APIKeyInfo
	if err := json.Unmarshal(out, &keys); code != http.StatusOK || err != nil || len(keys) != 1 || keys[0].Name != "first" {
		t.Errorf("GET /keys with the new team's key: %d %s, want its one key", code, out)
	}
	if code, _, out := s.Do(t, http.MethodPost, "/admin/accounts", "application/json", []byte(`{"name":"other"}`)); code != http.StatusForbidden {
		t.Errorf("POST /admin/accounts with the default account's admin key: %d %s, want 403", code, out)
	}
}
