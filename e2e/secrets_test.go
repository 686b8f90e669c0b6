package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// TestLogsHoldNoSecret runs a whole rental on every vendor at debug level,
// the second server's real adapters authenticating to the first one's
// sandbox with the keys in its endpoints.json: offers, a procurement with
// an SSH key and a start-up script that carries a private key, ready,
// delete, deleted, plus a request with a wrong API key. Neither server's
// logs hold any key it used: API keys, vendor keys and secrets, the Nebius
// service account's private key, the private key in the script.
func TestLogsHoldNoSecret(t *testing.T) {
	a := Start(t, store.EngineSQLite, "--sandbox-boot-time", "500ms", "--log-level", "debug")
	env := a.SandboxEnv(t)
	b := StartConfig(t, Config{Engine: store.EngineSQLite, Flags: []string{"--sandbox=false", "--log-level", "debug"}, Env: env})
	a.WaitVendors(t)
	b.WaitVendors(t)

	const wrongKey = "sk_wrongwrongwrongwrongwrongwrong1234"
	if code, _, _ := b.DoKey(t, wrongKey, http.MethodGet, "/resources", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("a wrong key: %d, want 401", code)
	}
	const privateMarker = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
	script := "#!/bin/sh\ncat > /root/.ssh/id_ed25519 <<'KEY'\n-----BEGIN OPENSSH PRIVATE KEY-----\n" + privateMarker + "\n-----END OPENSSH PRIVATE KEY-----\nKEY\n"

	want := map[uuid.UUID]string{}
	for _, v := range vendors.Slugs {
		o := offerOf(t, b, v, 0)
		body, _ := json.Marshal(supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: crashKey, CloudInit: &script})
		var resp supplyapi.ProcureOfferResponse
		b.JSON(t, http.MethodPost, "/procure_offer", "application/json", body, http.StatusOK, &resp)
		for _, id := range resp.ResourceIDs {
			want[id] = supplyapi.ResourceRunning
		}
	}
	got := waitSettled(t, b, want, 2*time.Minute)
	for id, status := range got {
		if status != supplyapi.ResourceRunning {
			delete(want, id) // out of stock: failed cleanly, nothing to delete
			continue
		}
		b.JSON(t, http.MethodDelete, "/resources/"+id.String(), "", nil, http.StatusOK, nil)
		want[id] = supplyapi.ResourceDeleted
	}
	if len(want) < len(vendors.Slugs)-1 {
		t.Fatalf("only %d of %d rentals ran", len(want), len(vendors.Slugs))
	}
	waitSettled(t, b, want, 2*time.Minute)

	secrets := map[string]string{"server A's API key": a.Key, "server B's API key": b.Key, "the wrong API key": wrongKey, "the script's private key": privateMarker}
	for _, kv := range env {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasSuffix(name, "_API_KEY"), strings.HasSuffix(name, "_SECRET"), strings.HasSuffix(name, "_SECRET_ACCESS_KEY"),
			strings.HasSuffix(name, "_TOKEN"):
			secrets[name] = value
		case name == "SUPPLY_NEBIUS_PRIVATE_KEY_FILE":
			pem, err := os.ReadFile(value)
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(string(pem), "\n") {
				if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
					secrets[name+" line "+strconv.Itoa(i)] = line
				}
			}
		}
	}
	if len(secrets) < 4+len(vendors.Slugs) {
		t.Fatalf("only %d secrets found in endpoints.json: %v", len(secrets)-4, env)
	}
	logs := map[string]string{"server A": a.Stderr(), "server B": b.Stderr()}
	for server, out := range logs {
		if lines := strings.Count(out, "\n"); lines < 50 {
			t.Fatalf("%s logged too little to tell (%d lines)", server, lines)
		}
		for what, secret := range secrets {
			if secret != "" && strings.Contains(out, secret) {
				t.Errorf("%s logged %s", server, what)
			}
		}
		for _, generic := range []string{"PRIVATE KEY", "Bearer "} {
			if strings.Contains(out, generic) {
				t.Errorf("%s logged %q", server, generic)
			}
		}
	}
}
