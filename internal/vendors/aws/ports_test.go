package aws

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	sdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// TestSecurityGroupOpensExactlyThePorts: an instance asked to open ports
// gets a security group of its own, named and tagged for the resource and
// made once however often Create is called, whose inbound rules open the
// asked ports and SSH (folded into ranges) from anywhere over IPv4 and
// IPv6; the instance launches with it and the operator's groups. EC2
// refuses to delete the group while the instance holds it, after its
// termination too while EC2 lists it (DependencyViolation, a transient
// failure, retried), and deletes it then.
func TestSecurityGroupOpensExactlyThePorts(t *testing.T) {
	f := serve(t, standin.Options{BootTime: 200 * time.Millisecond}, nil, func(c *Config) { c.SecurityGroupIDs = []string{defaultGroup.GroupID} })
	ctx := context.Background()
	req := createRequest(t, "us-east-1", "g5.xlarge")
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
	groups, err := f.A.securityGroups(ctx, "us-east-1", types.Filter{Name: sdk.String("tag-key"), Values: []string{vendors.Tag}})
	if err != nil || len(groups) != 1 || f.Rec.Count("POST /CreateSecurityGroup") != 1 {
		t.Fatalf("security groups: %d, %v, %d creates; want one", len(groups), err, f.Rec.Count("POST /CreateSecurityGroup"))
	}
	g := groups[0]
	resourceID, owner := vendors.ReadMarks(func(key string) string { return tagValue(g.Tags, key) })
	if sdk.ToString(g.GroupName) != vendors.FirewallName(req.Owner, req.ResourceID) || resourceID != req.ResourceID || owner != req.Owner ||
		sdk.ToString(g.VpcId) != defaultVPC {
		t.Errorf("security group %+v, want one named and tagged for the resource in the default VPC", g)
	}
	_, iid, _ := strings.Cut(in.ID, "/")
	launch, _ := f.SI.Launch(iid)
	if want := []string{sdk.ToString(g.GroupId), defaultGroup.GroupID}; !slices.Equal(launch.SecurityGroups, want) {
		t.Errorf("launched with groups %v, want %v (its own, then the operator's)", launch.SecurityGroups, want)
	}
	form, err := url.ParseQuery(string(f.Rec.Body("POST /AuthorizeSecurityGroupIngress")))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 1; form.Has("IpPermissions." + strconv.Itoa(i) + ".IpProtocol"); i++ {
		p := "IpPermissions." + strconv.Itoa(i) + "."
		got = append(got, form.Get(p+"IpProtocol")+" "+form.Get(p+"FromPort")+"-"+form.Get(p+"ToPort")+" "+
			form.Get(p+"IpRanges.1.CidrIp")+" "+form.Get(p+"Ipv6Ranges.1.CidrIpv6"))
	}
	if want := []string{"tcp 22-22 0.0.0.0/0 ::/0", "tcp 8888-8888 0.0.0.0/0 ::/0", "tcp 9000-9001 0.0.0.0/0 ::/0", "udp 5353-5353 0.0.0.0/0 ::/0"}; !slices.Equal(got, want) {
		t.Errorf("rules %q, want %q", got, want)
	}

	vendortest.WaitFor(t, f.A, in.ID, vendortest.Running)
	id := "us-east-1/" + sdk.ToString(g.GroupId)
	if err := f.A.DeleteFirewall(ctx, id); !errors.Is(err, vendors.ErrTransient) {
		t.Errorf("deleting the security group of a running instance: %v, want a transient refusal", err)
	}
	if err := f.A.Terminate(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, f.A, in.ID, func(in vendors.Instance, err error) bool { return err == nil && in.State == vendors.StateTerminated })
	if list, err := f.A.Firewalls(ctx); err != nil || len(list) != 1 || list[0].InUse {
		t.Errorf("firewalls once the instance is terminated: %+v, %v; want one, not in use", list, err)
	}
	// EC2 still lists the instance: DependencyViolation, retried until
	// the instance is gone and the group with it.
	sent := f.Rec.Count("POST /DeleteSecurityGroup")
	if err := f.A.DeleteFirewall(ctx, id); err != nil {
		t.Fatal(err)
	}
	if n := f.Rec.Count("POST /DeleteSecurityGroup") - sent; n < 2 {
		t.Errorf("the group of a terminated instance went at the first DeleteSecurityGroup (%d sent), want DependencyViolation first", n)
	}
	if list, err := f.A.Firewalls(ctx); err != nil || len(list) != 0 {
		t.Errorf("firewalls after deletion: %+v, %v", list, err)
	}
	if err := f.A.DeleteFirewall(ctx, id); err != nil {
		t.Errorf("deleting a deleted group: %v, want nil", err)
	}
}

// TestSecurityGroupFinishedByTheNextCreate: a create cut short after its
// group was made (the rules refused by a fault) leaves the group; the
// next Create finds it by its tag, authorizes the rules and launches,
// and a group that has some rules already gets only the others (EC2
// refuses a whole authorization with one rule it has).
func TestSecurityGroupFinishedByTheNextCreate(t *testing.T) {
	f := serve(t, standin.Options{BootTime: 100 * time.Millisecond}, nil)
	ctx := context.Background()
	req := createRequest(t, "us-east-1", "g5.xlarge")
	req.Ports = []vendors.Port{{Number: 8888, Protocol: vendors.TCP}}
	f.SI.Faults().Add(standin.Rule{Method: http.MethodPost, PathPrefix: "/AuthorizeSecurityGroupIngress", Status: http.StatusServiceUnavailable, Times: 1})
	if _, err := f.A.Create(ctx, req); !errors.Is(err, vendors.ErrTransient) {
		t.Fatalf("create with the rules refused: %v, want transient", err)
	}
	if n := f.Rec.Count("POST /RunInstances"); n != 0 {
		t.Fatalf("launched %d times without the group's rules", n)
	}
	in, err := f.A.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.Rec.Count("POST /CreateSecurityGroup"); n != 1 {
		t.Errorf("CreateSecurityGroup sent %d times, want 1", n)
	}
	up, _ := vendortest.WaitFor(t, f.A, in.ID, vendortest.Running)
	if got := vendortest.Knock(t, up.ExternalIP, 8888, vendors.TCP); !strings.Contains(got, "port 8888/tcp") {
		t.Errorf("8888 answered %q", got)
	}

	have := []types.IpPermission{
		{IpProtocol: sdk.String("tcp"), FromPort: sdk.Int32(22), ToPort: sdk.Int32(22), IpRanges: []types.IpRange{{CidrIp: sdk.String(anywhereIPv4)}}},
		{IpProtocol: sdk.String("tcp"), FromPort: sdk.Int32(8888), ToPort: sdk.Int32(8888), IpRanges: []types.IpRange{{CidrIp: sdk.String(anywhereIPv4)}},
			Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: sdk.String(anywhereIPv6)}}},
	}
	missing := missingPermissions(have, []vendors.Port{{Number: 8888, Protocol: vendors.TCP}, {Number: 53, Protocol: vendors.UDP}})
	if len(missing) != 2 || sdk.ToInt32(missing[0].FromPort) != 22 || missing[0].IpRanges != nil || len(missing[0].Ipv6Ranges) != 1 ||
		sdk.ToString(missing[1].IpProtocol) != "udp" || len(missing[1].IpRanges) != 1 || len(missing[1].Ipv6Ranges) != 1 {
		t.Errorf("missing rules %+v, want SSH over IPv6 and 53/udp over both", missing)
	}
}
