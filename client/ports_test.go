package client_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gpusupply/supply/internal/vendors/vendortest"
	"github.com/gpusupply/supply/supplyapi"
)

// TestOpenPorts: a Go client asks for ports with OpenPorts and finds each
// where its instance's ports say; an entry the server cannot read is a
// 422 Error naming it.
func TestOpenPorts(t *testing.T) {
	_, c := startServer(t, "--sandbox-boot-time", "1s")
	ctx := context.Background()
	res, err := c.GetOffers(ctx, supplyapi.OfferQuery{Vendor: "runpod", Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}, Limit: 1})
	if err != nil || len(res.Offers) != 1 {
		t.Fatalf("a RunPod offer: %+v, %v", res, err)
	}
	o := res.Offers[0]
	_, err = c.Procure(ctx, supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: sshKey,
		OpenPorts: []supplyapi.OpenPort{supplyapi.PortText("8888/udp")}}, "")
	if e := requireStatus(t, err, http.StatusUnprocessableEntity); !strings.Contains(e.Error(), "tcp ports only") {
		t.Errorf("UDP at RunPod: %v", e)
	}
	req := supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: sshKey,
		OpenPorts: []supplyapi.OpenPort{supplyapi.PortNumber(8888), supplyapi.PortText("6006/tcp")}}
	if _, err := c.Procure(ctx, req, ""); err != nil {
		t.Fatal(err)
	}
	st, err := c.WaitReady(ctx, o.OfferID, nil)
	if err != nil || len(st.Instances) != 1 || len(st.Instances[0].Ports) != 2 {
		t.Fatalf("WaitReady = %+v, %v", st, err)
	}
	for _, p := range st.Instances[0].Ports {
		if p.Host == nil || p.PublicPort == nil {
			t.Fatalf("port %+v not placed", p)
		}
		if got := vendortest.Knock(t, *p.Host, *p.PublicPort, p.Protocol); !strings.Contains(got, fmt.Sprintf("port %d/%s", p.Port, p.Protocol)) {
			t.Errorf("%d at %s:%d answered %q", p.Port, *p.Host, *p.PublicPort, got)
		}
	}
}
