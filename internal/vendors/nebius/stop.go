package nebius

import (
	"context"

	pb "github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb"

	"github.com/gpusupply/supply/internal/vendors"
)

var _ vendors.Stopper = (*Adapter)(nil)

// Stop powers the VM off: InstanceService.Stop ("Stops a running VM
// instance"). The VM goes STOPPING, then STOPPED with spec.stopped set,
// its boot disk kept.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	return a.power(ctx, id, pb.InstanceStatus_RUNNING, func(ctx context.Context) error {
		_, err := a.instances.Stop(ctx, &pb.StopInstanceRequest{Id: id})
		return err
	})
}

// Start boots a stopped VM again: InstanceService.Start ("Starts a
// stopped VM instance"). It may come back on another host, at another
// public address.
func (a *Adapter) Start(ctx context.Context, id string) error {
	return a.power(ctx, id, pb.InstanceStatus_STOPPED, func(ctx context.Context) error {
		_, err := a.instances.Start(ctx, &pb.StartInstanceRequest{Id: id})
		return err
	})
}

// power sends a power call for a VM in state from. Nebius documents no
// refusal of a call the VM's state does not allow (its FAILED_PRECONDITION
// also means "another operation is running", which is transient), so the
// VM's state is read first and any other is refused as ErrInvalid, as
// vendors.Stopper asks.
func (a *Adapter) power(ctx context.Context, id string, from pb.InstanceStatus_InstanceState, call func(context.Context) error) error {
	if a.dialErr != nil {
		return a.dialErr
	}
	vm, err := a.instances.Get(ctx, &pb.GetInstanceRequest{Id: id})
	if err != nil {
		return err
	}
	if st := vm.GetStatus().GetState(); st != from {
		return a.invalid("power", "instance "+id+" is "+st.String()+", not "+from.String())
	}
	return call(ctx)
}

// StoppedPricePerHour is Nebius's rule for a stopped VM: a VM that
// powers itself off "could be restarted and billed accordingly", to be
// stopped "via API or UI" instead (InstanceSpec.recovery_policy), so a
// stopped VM's compute is not billed; its boot disk, a disk of its own
// (DiskService), is billed on.
func (a *Adapter) StoppedPricePerHour(item vendors.CatalogItem) float64 {
	return item.BootDiskPricePerHour
}
