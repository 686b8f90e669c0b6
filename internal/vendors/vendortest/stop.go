package vendortest

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// stopStart is the stop-and-start case: for a vendor that says it stops
// instances, one stops (its host stops answering SSH, a second stop is
// refused), starts again (its host answers with the instance's key) and
// bills no more stopped than running; for the others, asking is refused
// (no Stopper, or Info.Stop false, which the API refuses with a 422).
func stopStart(t *testing.T, kit Kit) {
	ctx := context.Background()
	r := kit.Start(t, standin.Options{BootTime: 400 * time.Millisecond})
	st, ok := vendors.CanStop(r.Vendor)
	if !ok {
		if r.Vendor.Info().Stop {
			t.Errorf("%s says it stops instances but has no Stopper", r.Vendor.Name())
		}
		return
	}
	req := kit.Request(t)
	in, err := r.Vendor.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	up, _ := WaitFor(t, r.Vendor, in.ID, Running)
	if p := st.StoppedPricePerHour(req.Item); p < 0 || p > req.Item.PricePerHour {
		t.Errorf("stopped price %v for an item of %v per hour", p, req.Item.PricePerHour)
	}
	PowerRoundTrip(t, r.Vendor, in.ID, func() {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(up.ExternalIP, strconv.Itoa(up.SSHPort)), time.Second); err == nil {
			c.Close()
			t.Errorf("the host of a stopped instance still answers at %s:%d", up.ExternalIP, up.SSHPort)
		}
		if list, err := r.Vendor.List(ctx); err != nil || len(list) != 1 || list[0].State != vendors.StateStopped {
			t.Errorf("List of a stopped instance = %+v, %v; want it, stopped", list, err)
		}
	})
	again, _ := r.Vendor.Get(ctx, in.ID)
	if again.ExternalIP == "" || again.SSHPort != r.Hosts.Port(again.ExternalIP) {
		t.Errorf("started instance %+v", again)
	}
	LogIn(t, again.ExternalIP, again.SSHPort, req.SSHPublicKey)
	if err := st.Stop(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, r.Vendor, in.ID, func(in vendors.Instance, err error) bool { return err == nil && in.State == vendors.StateStopped })
	if err := r.Vendor.Terminate(ctx, in.ID); err != nil {
		t.Fatalf("terminate a stopped instance: %v", err)
	}
	WaitFor(t, r.Vendor, in.ID, Gone)
}

// PowerRoundTrip takes the running instance id of v, a Stopper, through a
// stop and a start, running stopped (when not nil) while it is stopped: a
// start of the running instance and a second stop are refused with
// ErrInvalid. A vendor's wire test runs it behind a Validating handler.
func PowerRoundTrip(t testing.TB, v vendors.Vendor, id string, stopped func()) {
	t.Helper()
	ctx := context.Background()
	st, ok := vendors.CanStop(v)
	if !ok {
		t.Fatalf("%s does not stop instances", v.Name())
	}
	if err := st.Start(ctx, id); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("start of a running instance: %v, want ErrInvalid", err)
	}
	if err := st.Stop(ctx, id); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, v, id, func(in vendors.Instance, err error) bool { return err == nil && in.State == vendors.StateStopped })
	if stopped != nil {
		stopped()
	}
	if err := st.Stop(ctx, id); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("stop of a stopped instance: %v, want ErrInvalid", err)
	}
	if err := st.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, v, id, Running)
}
