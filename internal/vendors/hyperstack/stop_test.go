package hyperstack

import (
	"context"
	"errors"
	"testing"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// stopStart takes the running VM id through Stop_VM and Start_VM, with a
// refused start of a running VM and a refused stop of a stopped one, for
// a test that checks each request and answer against the description.
func stopStart(t *testing.T, a *Adapter, id string) {
	t.Helper()
	ctx := context.Background()
	if err := a.Start(ctx, id); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("start of a running VM: %v, want ErrInvalid", err)
	}
	if err := a.Stop(ctx, id); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, a, id, func(in vendors.Instance, err error) bool { return err == nil && in.State == vendors.StateStopped })
	if err := a.Stop(ctx, id); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("stop of a stopped VM: %v, want ErrInvalid", err)
	}
	if err := a.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, a, id, vendortest.Running)
}
