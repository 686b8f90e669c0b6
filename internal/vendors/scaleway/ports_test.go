package scaleway

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/scaleway/scaleway-sdk-go/api/instance/v1"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// TestSecurityGroupOpensExactlyThePorts: a server asked to open ports gets
// a security group of its own, made once however often Create is called,
// that drops inbound packets but the asked ports and SSH (folded into
// ranges); the group cannot be deleted while its server lives, and can
// once the server is gone.
func TestSecurityGroupOpensExactlyThePorts(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: 200 * time.Millisecond}, nil)
	ctx := context.Background()
	req := createRequest(t, "fr-par-2", "H100-1-80G")
	req.Owner = vendors.NewOwner()
	req.Ports = []vendors.Port{{Number: 8888, Protocol: vendors.TCP}, {Number: 9001, Protocol: vendors.TCP},
		{Number: 9000, Protocol: vendors.TCP}, {Number: 5353, Protocol: vendors.UDP}}
	in, err := f.A.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := f.A.Create(ctx, req); err != nil || again.ID != in.ID {
		t.Fatalf("Create again: %+v, %v; want %s", again, err, in.ID)
	}
	groups, err := f.A.securityGroups(ctx, "fr-par-2", nil)
	if err != nil || len(groups) != 1 {
		t.Fatalf("security groups: %d, %v; want one", len(groups), err)
	}
	g := groups[0]
	resourceID, owner := vendors.ReadMarkText(g.Tags)
	if g.Name != vendors.FirewallName(req.Owner, req.ResourceID) || resourceID != req.ResourceID || owner != req.Owner ||
		g.InboundDefaultPolicy != instance.SecurityGroupPolicyDrop || !g.Stateful || len(g.Servers) != 1 || g.Servers[0].ID != in.ID[len("fr-par-2/"):] {
		t.Errorf("security group %+v, want one named and tagged for the resource, dropping inbound, holding the server", g)
	}
	var created instance.CreateServerRequest
	if err := json.Unmarshal(f.Rec.Body("POST /instance/v1/zones/fr-par-2/servers"), &created); err != nil || created.SecurityGroup == nil || *created.SecurityGroup != g.ID {
		t.Errorf("the server was created with security_group %v (%v), want %s", created.SecurityGroup, err, g.ID)
	}
	var set instance.SetSecurityGroupRulesRequest
	if err := json.Unmarshal(f.Rec.Body("PUT /instance/v1/zones/fr-par-2/security_groups/"+g.ID+"/rules"), &set); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range set.Rules {
		to := uint32(0)
		if r.DestPortTo != nil {
			to = *r.DestPortTo
		}
		if r.Direction != instance.SecurityGroupRuleDirectionInbound || r.Action != instance.SecurityGroupRuleActionAccept || r.IPRange.String() != "0.0.0.0/0" {
			t.Errorf("rule %+v: want inbound accept from anywhere", r)
		}
		got = append(got, string(r.Protocol)+" "+itoa(*r.DestPortFrom)+"-"+itoa(to))
	}
	if want := []string{"TCP 22-0", "TCP 8888-0", "TCP 9000-9001", "UDP 5353-0"}; !slices.Equal(got, want) {
		t.Errorf("rules %q, want %q", got, want)
	}

	vendortest.WaitFor(t, f.A, in.ID, vendortest.Running)
	id := "fr-par-2/" + g.ID
	if err := f.A.DeleteFirewall(ctx, id); err == nil {
		t.Error("deleting the security group of a live server: nil, want a refusal")
	}
	if err := f.A.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, f.A, in.ID, vendortest.Gone)
	if err := f.A.DeleteFirewall(ctx, id); err != nil {
		t.Fatal(err)
	}
	if list, err := f.A.Firewalls(ctx); err != nil || len(list) != 0 {
		t.Errorf("firewalls after deletion: %+v, %v", list, err)
	}
	if err := f.A.DeleteFirewall(ctx, id); err != nil {
		t.Errorf("deleting a deleted group: %v, want nil", err)
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }
