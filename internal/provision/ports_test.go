package provision_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
	"github.com/gpusupply/supply/supplyapi"
)

// openPorts is open_ports as a client sends it in JSON.
func openPorts(t *testing.T, js string) []supplyapi.OpenPort {
	t.Helper()
	var out []supplyapi.OpenPort
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenPorts: ports asked at procurement are open on the machine once
// it is ready, where each instance's ports say (the port itself on a
// Lambda VM behind its own firewall ruleset, a Scaleway server or an EC2
// instance behind its own security group, RunPod's or Vast.ai's mapping on
// a container); a port not asked for is closed; the firewall goes with the
// machine (EC2's once it lets go of it, a while after the instance).
func TestOpenPorts(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			e := newEnv(t, engine, nil)
			ctx := context.Background()
			for _, c := range []struct {
				vendor, ports string
				want          []string
			}{
				{"lambda", `[8888, "6006/tcp", "9000-9002", "5353/udp"]`, []string{"8888/tcp", "6006/tcp", "9000/tcp", "9001/tcp", "9002/tcp", "5353/udp"}},
				{"runpod", `[8888, "8888/tcp"]`, []string{"8888/tcp"}},
				{"vastai", `["8888", "53/udp"]`, []string{"8888/tcp", "53/udp"}},
				{"hyperstack", `["7000-7001/udp"]`, []string{"7000/udp", "7001/udp"}},
				{"scaleway", `["8888", "9000-9001"]`, []string{"8888/tcp", "9000/tcp", "9001/tcp"}},
				{"aws", `["8888", "5353/udp"]`, []string{"8888/tcp", "5353/udp"}},
			} {
				o := e.offer(c.vendor, "H100")
				resp := e.procure(o, func(r *supplyapi.ProcureOfferRequest) { r.OpenPorts = openPorts(t, c.ports) })
				st := e.waitStatus(o.OfferID, "ready", ready)
				in := st.Instances[0]
				if len(in.Ports) != len(c.want) {
					t.Fatalf("%s: ports %+v, want %v", c.vendor, in.Ports, c.want)
				}
				for i, p := range in.Ports {
					if got := fmt.Sprintf("%d/%s", p.Port, p.Protocol); got != c.want[i] || p.Host == nil || *p.Host != *in.ExternalIP || p.PublicPort == nil {
						t.Fatalf("%s: port %d is %+v, want %s on %s", c.vendor, i, p, c.want[i], *in.ExternalIP)
					}
					if mapped := *p.PublicPort != p.Port; mapped != (c.vendor == "runpod" || c.vendor == "vastai") {
						t.Errorf("%s: %s at public port %d", c.vendor, c.want[i], *p.PublicPort)
					}
					if got := vendortest.Knock(t, *p.Host, *p.PublicPort, p.Protocol); !strings.Contains(got, "port "+c.want[i]) {
						t.Errorf("%s: %s answered %q", c.vendor, c.want[i], got)
					}
				}
				if conn, err := net.Dial("tcp", *in.ExternalIP+":8889"); err == nil {
					conn.Close()
					t.Errorf("%s: port 8889 is open, never asked for", c.vendor)
				}
				sum, err := e.svc.Resource(ctx, 1, resp.ResourceIDs[0], false)
				if err != nil || len(sum.Ports) != len(c.want) || *sum.Ports[0].PublicPort != *in.Ports[0].PublicPort {
					t.Errorf("%s: resource ports %+v, %v", c.vendor, sum.Ports, err)
				}
				if _, err := e.svc.Delete(ctx, 1, resp.ResourceIDs[0], false); err != nil {
					t.Fatal(err)
				}
				if sum := e.waitResource(resp.ResourceIDs[0], supplyapi.ResourceDeleted); len(sum.Ports) != len(c.want) || sum.Ports[0].Host != nil {
					t.Errorf("%s: a deleted resource's ports %+v, want them listed with no host", c.vendor, sum.Ports)
				}
			}
			for _, vendor := range []string{"lambda", "scaleway", "aws"} {
				fws, err := e.vendors[vendor].(vendors.Firewalls).Firewalls(ctx)
				if err != nil || len(fws) != 0 {
					t.Errorf("%s firewalls after the machine was deleted: %+v, %v", vendor, fws, err)
				}
			}
		})
	}
}

// TestOpenPortsRefused: a bad entry, too many ports, or ports at a vendor
// that cannot open them (or not of that protocol) are 422s at request
// time naming the field, and nothing is procured.
func TestOpenPortsRefused(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	ctx := context.Background()
	lambda, runpod, verda := e.offer("lambda", "H100"), e.offer("runpod", "H100"), e.offer("verda", "H100")
	for _, c := range []struct {
		offer      supplyapi.Offer
		ports, loc string
		msg        string
	}{
		{lambda, `[0]`, "[body open_ports 0]", "out of range"},
		{lambda, `[22, 65536]`, "[body open_ports 1]", "out of range"},
		{lambda, `["http"]`, "[body open_ports 0]", "a port must be"},
		{lambda, `[8.5]`, "[body open_ports 0]", "a port must be"},
		{lambda, `[true]`, "[body open_ports 0]", "a port must be"},
		{lambda, `["80/icmp"]`, "[body open_ports 0]", "only tcp and udp"},
		{lambda, `["9010-9000"]`, "[body open_ports 0]", "ends before it starts"},
		{lambda, `["1000-2000"]`, "[body open_ports 0]", "more than 64 ports"},
		{lambda, `["1000-1040", "2000-2040"]`, "[body open_ports]", "more than 64 ports"},
		{verda, `[8888]`, "[body open_ports]", "Verda (formerly DataCrunch) does not open ports"},
		{runpod, `["5353/udp"]`, "[body open_ports]", "RunPod opens tcp ports only"},
	} {
		_, err := e.svc.Procure(ctx, 1, "", supplyapi.ProcureOfferRequest{OfferID: c.offer.OfferID, SSHPublicKey: testKey, OpenPorts: openPorts(t, c.ports)})
		var qe *offers.QueryError
		if !errors.As(err, &qe) || fmt.Sprint(qe.Loc) != c.loc || !strings.Contains(qe.Msg, c.msg) {
			t.Errorf("%s at %s: %v, want a 422 at %s saying %q", c.ports, c.offer.Vendor, err, c.loc, c.msg)
		}
	}
	if n := len(e.live("")); n != 0 {
		t.Errorf("%d machines made by refused procurements", n)
	}
}

// TestReconcilerDeletesLeakedRuleset: a ruleset made for a machine whose
// launch was refused is ours and unused; the reconciler deletes it.
func TestReconcilerDeletesLeakedRuleset(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	ctx := context.Background()
	si, _ := e.sb.StandIn("lambda")
	si.Faults().Add(standin.Rule{Method: http.MethodPost, PathPrefix: "/api/v1/instance-operations/launch", Status: http.StatusBadRequest,
		Message: "Invalid request data.", Times: 1})
	o := e.offer("lambda", "H100")
	e.procure(o, func(r *supplyapi.ProcureOfferRequest) { r.OpenPorts = openPorts(t, `[8888]`) })
	e.waitStatus(o.OfferID, "failed", failed)
	fw := e.vendors["lambda"].(vendors.Firewalls)
	if fws, err := fw.Firewalls(ctx); err != nil || len(fws) != 1 {
		t.Fatalf("rulesets after the refused launch: %+v, %v; want the one made for it", fws, err)
	}
	if err := e.svc.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if fws, err := fw.Firewalls(ctx); err != nil || len(fws) != 0 {
		t.Errorf("rulesets after a reconcile: %+v, %v; want none", fws, err)
	}
}

// TestFailoverKeepsToVendorsThatOpenPorts: a procurement with open_ports
// whose offer is sold out fails over only to vendors that open ports,
// never to an equivalent, even the cheapest in stock, that would leave
// them closed.
func TestFailoverKeepsToVendorsThatOpenPorts(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	opens := map[string]bool{}
	for name, v := range e.vendors {
		opens[name] = v.Info().Ports
	}
	query := supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100", GPUCount: 1, ContractType: "ondemand"}, Limit: 1000}
	res, err := e.index.Search(context.Background(), 1, query)
	if err != nil {
		t.Fatal(err)
	}
	all := res.Offers
	closed := slices.IndexFunc(all, func(o supplyapi.Offer) bool { return !opens[o.Vendor] })
	if closed < 1 || !opens[all[0].Vendor] {
		t.Skipf("no H100 offer of a vendor without ports after one with them")
	}
	// Everything that opens ports and is cheaper than the first offer that
	// does not is sold: without the rule, that one is the next try.
	for _, o := range all[:closed] {
		e.takeAway(o, 0)
	}
	high := 1000.0
	query.Compute.MaxPricePerGPUHour = &high
	e.procure(all[0], func(r *supplyapi.ProcureOfferRequest) {
		r.Fallback = &supplyapi.Fallback{Query: &query, MaxAttempts: new(20)}
		r.OpenPorts = openPorts(t, `[8888]`)
	})
	st := e.waitStatus(all[0].OfferID, "settled", func(st supplyapi.OfferStatusResponse) bool { return ready(st) || failed(st) })
	if len(st.Attempts) < 2 {
		t.Fatalf("attempts %+v, want the refusal and more", st.Attempts)
	}
	for _, a := range st.Attempts {
		if !opens[a.Vendor] {
			t.Errorf("tried %s, which opens no ports: %+v", a.Vendor, st.Attempts)
		}
	}
}
