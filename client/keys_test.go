package client_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/supplyapi"
)

// TestTeams: an admin (the initial key, of the operator account) makes a
// member key capped at one GPU and a viewer key; the member rents one GPU
// and is refused a second, the viewer is refused renting, the admin lifts
// the cap and revokes the key, sets the account's caps and creates an
// account, all through the client.
func TestTeams(t *testing.T) {
	s, admin := startServer(t, "--operator-account", "default")
	ctx := context.Background()
	one := int64(1)
	mk, err := admin.CreateKey(ctx, supplyapi.APIKeyRequest{Name: "ci", Role: supplyapi.RoleMember, MaxGPUCount: &one})
	if err != nil || !strings.HasPrefix(mk.Key, "sk_supply_") {
		t.Fatalf("CreateKey: %+v, %v", mk, err)
	}
	member := client.New(s.URL, mk.Key)
	if _, err := member.Procure(ctx, supplyapi.ProcureOfferRequest{OfferID: cheapest(t, member).OfferID, SSHPublicKey: sshKey}, ""); err != nil {
		t.Fatalf("the member rents its first GPU: %v", err)
	}
	_, err = member.Procure(ctx, supplyapi.ProcureOfferRequest{OfferID: cheapest(t, member).OfferID, SSHPublicKey: sshKey}, "")
	if e := requireStatus(t, err, http.StatusForbidden); !strings.Contains(e.Detail, "this API key's cap of 1 live GPUs") {
		t.Errorf("the member's second GPU: %v", e)
	}
	if mine, err := admin.Resources(ctx, client.ResourceFilter{CreatedBy: mk.ID}); err != nil || len(mine) != 1 {
		t.Errorf("resources created by the member key: %d, %v; want 1", len(mine), err)
	}
	if k, err := admin.UpdateKey(ctx, mk.ID, supplyapi.APIKeyRequest{}, "max_gpu_count"); err != nil || k.MaxGPUCount != nil || k.Name != "ci" {
		t.Errorf("UpdateKey clearing the cap: %+v, %v", k, err)
	}

	vk, err := admin.CreateKey(ctx, supplyapi.APIKeyRequest{Name: "dashboards", Role: supplyapi.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	viewer := client.New(s.URL, vk.Key)
	_, err = viewer.Procure(ctx, supplyapi.ProcureOfferRequest{OfferID: cheapest(t, viewer).OfferID, SSHPublicKey: sshKey}, "")
	if e := requireStatus(t, err, http.StatusForbidden); !strings.Contains(e.Detail, "role is viewer, which lacks member") {
		t.Errorf("the viewer rents: %v", e)
	}
	_, err = viewer.Keys(ctx)
	requireStatus(t, err, http.StatusForbidden)

	if err := admin.RevokeKey(ctx, mk.ID); err != nil {
		t.Fatal(err)
	}
	requireStatus(t, admin.RevokeKey(ctx, mk.ID), http.StatusNotFound)
	usd := 25.0
	if l, err := admin.SetAccountLimits(ctx, supplyapi.AccountLimitsRequest{MaxHourlyUSD: &usd}, "max_hourly_usd"); err != nil ||
		l.MaxHourlyUSD == nil || *l.MaxHourlyUSD != usd || l.MaxGPUCount != nil {
		t.Errorf("SetAccountLimits: %+v, %v", l, err)
	}
	acc, err := admin.CreateAccount(ctx, supplyapi.AccountRequest{Name: "research", KeyName: "lead"})
	if err != nil || acc.Key.Role != supplyapi.RoleAdmin {
		t.Fatalf("CreateAccount: %+v, %v", acc, err)
	}
	if ks, err := client.New(s.URL, acc.Key.Key).Keys(ctx); err != nil || len(ks) != 1 || ks[0].Name != "lead" {
		t.Errorf("the new account's keys: %+v, %v", ks, err)
	}
}
