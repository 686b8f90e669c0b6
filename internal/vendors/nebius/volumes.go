package nebius

import (
	"context"
	"fmt"
	"regexp"

	"github.com/gpusupply/supply/internal/vendors"
	pb "github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb"
)

// Volumes on Nebius are compute disks (DiskService): made empty in a
// region's project, named for the volume (vendors.InstanceName) and
// labelled with supply's marks, attached at create as the instance's
// secondary disks (existing_disk, which "is preserved when the instance
// is deleted (it will be detached)"), each with a device_id, which the VM
// shows as /dev/disk/by-id/virtio-<device_id> (AttachedDiskSpec). The
// instance's cloud-init formats a blank disk and mounts it at
// vendors.MountPath, at every boot (vendors.MountScript).

var _ vendors.Volumes = (*Adapter)(nil)

// volumeDiskType is the type volumes are made as: the boot disks' type,
// so the boot disk's calculator price per GiB is a volume's too.
const volumeDiskType = pb.DiskSpec_NETWORK_SSD

// deviceID is the device_id of an instance's i-th volume, within the
// published 20 characters.
func deviceID(i int) string { return fmt.Sprintf("supply-vol%d", i) }

// shellSafe is what a disk id must look like to go into the cloud-init
// as it is (Nebius ids are "computedisk-e00" and hex digits).
var shellSafe = regexp.MustCompile(`^[a-z0-9-]+$`)

// mountScript is the cloud-init bootcmd that mounts vs, attached in this
// order with deviceID(i), each at vendors.MountPath(name).
func mountScript(vs []vendors.Volume) string {
	return vendors.MountScript(vs, func(i int, _ vendors.Volume) []string {
		return []string{"/dev/disk/by-id/virtio-" + deviceID(i)}
	})
}

// attachable checks that supply made each of vs (its name is then safe
// in the cloud-init) and that its id is one Nebius gives.
func attachable(vs []vendors.Volume) error {
	for _, v := range vs {
		if _, id := vendors.ParseName(v.Name); id == "" || !shellSafe.MatchString(v.ID) {
			return fmt.Errorf("volume %q (%s) was not made by supply", v.Name, v.ID)
		}
	}
	return nil
}

// secondaryDisks attaches vs read-write as existing disks, in order.
func secondaryDisks(vs []vendors.Volume) []*pb.AttachedDiskSpec {
	var out []*pb.AttachedDiskSpec
	for i, v := range vs {
		out = append(out, &pb.AttachedDiskSpec{AttachMode: pb.AttachedDiskSpec_READ_WRITE, DeviceId: deviceID(i),
			Type: &pb.AttachedDiskSpec_ExistingDisk{ExistingDisk: &pb.ExistingDisk{Id: v.ID}}})
	}
	return out
}

// CreateVolume makes an empty disk of req.SizeGB GiB named and labelled
// for req.VolumeID in the region's project, or returns the one that
// already carries the name. The region's disk price is asked first: a
// volume is not made that supply could not price.
func (a *Adapter) CreateVolume(ctx context.Context, req vendors.VolumeRequest) (vendors.Volume, error) {
	if a.dialErr != nil {
		return vendors.Volume{}, a.dialErr
	}
	project, ok := a.cfg.Projects[req.Region]
	if !ok {
		return vendors.Volume{}, a.invalid("create volume", fmt.Sprintf("no project configured for region %q", req.Region))
	}
	if req.SizeGB < 1 {
		return vendors.Volume{}, a.invalid("create volume", "size must be at least 1 GiB")
	}
	name := vendors.InstanceName(req.VolumeID)
	if d, err := a.disks.GetByName(ctx, &pb.GetByNameRequest{ParentId: project, Name: name}); err == nil {
		return a.volume(d), nil
	} else if !vendors.IsNotFound(err) {
		return vendors.Volume{}, err
	}
	if _, err := a.hourlyPrices(ctx, []priceLookup{{diskPriceKey(req.Region), diskSpec(project)}}); err != nil {
		return vendors.Volume{}, err
	}
	op, err := a.disks.Create(idempotent(ctx, "volume:"+req.VolumeID), diskRequest(req, project))
	if isAlreadyExists(err) {
		d, err := a.disks.GetByName(ctx, &pb.GetByNameRequest{ParentId: project, Name: name})
		if err != nil {
			return vendors.Volume{}, err
		}
		return a.volume(d), nil
	}
	if err != nil {
		return vendors.Volume{}, vendors.NotFoundIsInvalid(err)
	}
	if err := a.await(ctx, a.operations, op, "DiskService/Create", a.deleteDisk); err != nil {
		return vendors.Volume{}, vendors.NotFoundIsInvalid(err)
	}
	return a.GetVolume(ctx, op.GetResourceId())
}

// diskRequest is the DiskService/Create body of a volume: an empty disk
// of its size, named for it and labelled with supply's marks.
func diskRequest(req vendors.VolumeRequest, project string) *pb.CreateDiskRequest {
	return &pb.CreateDiskRequest{
		Metadata: &pb.ResourceMetadata{ParentId: project, Name: vendors.InstanceName(req.VolumeID), Labels: labels(req.VolumeID, req.Owner)},
		Spec:     &pb.DiskSpec{Size: &pb.DiskSpec_SizeGibibytes{SizeGibibytes: int64(req.SizeGB)}, Type: volumeDiskType},
	}
}

// deleteDisk deletes a disk, not waiting for it to go.
func (a *Adapter) deleteDisk(ctx context.Context, id string) error {
	_, err := a.disks.Delete(ctx, &pb.DeleteDiskRequest{Id: id})
	return err
}

// GetVolume reads one disk; Nebius answers NOT_FOUND once it is gone.
func (a *Adapter) GetVolume(ctx context.Context, id string) (vendors.Volume, error) {
	if a.dialErr != nil {
		return vendors.Volume{}, a.dialErr
	}
	d, err := a.disks.Get(ctx, &pb.GetDiskRequest{Id: id})
	if err != nil {
		return vendors.Volume{}, err
	}
	return a.volume(d), nil
}

// ListVolumes lists the disks of every configured project but the boot
// disks of instances (managed_by set: priced and deleted with them).
func (a *Adapter) ListVolumes(ctx context.Context) ([]vendors.Volume, error) {
	if a.dialErr != nil {
		return nil, a.dialErr
	}
	var out []vendors.Volume
	for _, region := range a.regions() {
		token := ""
		for {
			resp, err := a.disks.List(ctx, &pb.ListDisksRequest{ParentId: a.cfg.Projects[region], PageSize: pageSize, PageToken: token})
			if err != nil {
				return nil, err
			}
			for _, d := range resp.GetItems() {
				if d.GetStatus().GetManagedBy() == "" {
					out = append(out, a.volume(d))
				}
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
	}
	return out, nil
}

// DeleteVolume deletes a disk no instance has. One attached is refused
// here (ErrInvalid): supply never deletes a volume a machine holds, and
// Nebius publishes nothing of what its Delete does with one.
func (a *Adapter) DeleteVolume(ctx context.Context, id string) error {
	v, err := a.GetVolume(ctx, id)
	switch {
	case vendors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	case v.State == vendors.VolumeInUse:
		return a.invalid("delete volume", "disk "+id+" is attached to an instance")
	}
	if err := a.deleteDisk(ctx, id); !vendors.IsNotFound(err) {
		return err
	}
	return nil
}

// VolumePricePerGBMonth is the calculator's price of the region's boot
// disk (a NETWORK_SSD, as volumes are) per GiB, for a month, as last
// asked (by the catalog or CreateVolume); 0 before it ever was.
func (a *Adapter) VolumePricePerGBMonth(region string) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.prices[diskPriceKey(region)].usd / BootDiskGiB * vendors.HoursPerMonth
}

// volume is a Nebius disk as supply sees it: in use while an instance
// has it, read-write or read-only.
func (a *Adapter) volume(d *pb.Disk) vendors.Volume {
	md := d.GetMetadata()
	id, owner := vendors.ReadMarks(func(key string) string { return md.GetLabels()[key] })
	v := vendors.Volume{ID: md.GetId(), VolumeID: id, Owner: owner, Name: md.GetName(), Region: a.regionOf(md.GetParentId()),
		State: vendors.VolumeAvailable, MountPath: vendors.MountPath(md.GetName())}
	st := d.GetStatus()
	switch {
	case st.GetState() == pb.DiskStatus_CREATING:
		v.State = vendors.VolumeCreating
	case st.GetState() == pb.DiskStatus_DELETING:
		v.State = vendors.VolumeDeleting
	case st.GetReadWriteAttachment() != "" || len(st.GetReadOnlyAttachments()) > 0:
		v.State = vendors.VolumeInUse
	}
	return v
}
