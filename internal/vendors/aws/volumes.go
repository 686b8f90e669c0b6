package aws

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	sdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/gpusupply/supply/internal/vendors"
)

// Volumes are EBS volumes (gp3). An EBS volume lives in one availability
// zone and attaches only to an instance there, so each region has one
// volume zone: the first of its availability zones as
// DescribeAvailabilityZones names them (volumeZone), where every volume
// supply makes in the region lives. An instance launched with volumes is
// placed in their zone, and the catalog marks the offers that cannot
// launch there (vendors.CatalogItem.NoVolumes: a spot price of another
// zone, a type the zone does not sell). RunInstances can name only new
// volumes, so an existing one is attached by AttachVolume once the
// instance runs (vendors.LateVolumes), as /dev/sdf, /dev/sdg and on (the
// names EC2's device naming documentation recommends for EBS data
// volumes). Every GPU family the catalog sells is built on Nitro, where
// a volume shows as an NVMe device whose serial is the volume id without
// its dash: cloud-init waits for
// /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol<hex>, formats it
// when blank and mounts it at vendors.MountPath(name)
// (vendors.LateMountScript). A volume is tagged with supply's marks and
// named vendors.OwnedName (its Name tag): the root volume of every
// instance carries the instance's marks too, and its lack of such a name
// keeps it from passing for a volume.
var (
	_ vendors.Volumes     = (*Adapter)(nil)
	_ vendors.LateVolumes = (*Adapter)(nil)
)

// firstDevice is the device name of an instance's first attached volume;
// the next ones follow it (/dev/sdg ...), up to lastDevice.
const (
	firstDevice = 'f'
	lastDevice  = 'p'
	// maxVolumes is how many volumes the device names give an instance.
	maxVolumes = lastDevice - firstDevice + 1
)

// volumeIDPattern is an EBS volume id, checked before it is written into
// cloud-init's shell.
var volumeIDPattern = regexp.MustCompile(`^vol-[0-9a-f]{8,17}$`)

// volumeID is the vendor's id of a volume, "<region>/<volume id>", as an
// instance's is.
func volumeID(region, id string) string { return region + "/" + id }

// splitVolumeID reads a volume id back; a malformed one names nothing.
func (a *Adapter) splitVolumeID(op, id string) (string, string, error) {
	region, vid, ok := strings.Cut(id, "/")
	if !ok || a.ec2[region] == nil || !volumeIDPattern.MatchString(vid) {
		return "", "", &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrNotFound, Message: "no volume " + id + " in the configured regions"}
	}
	return region, vid, nil
}

// volumeZone is the zone of region where supply's volumes live: the
// first, by name, of the availability zones the region lists (Local and
// Wavelength Zones left out), whatever their state, so that it does not
// move while a zone is impaired. Kept for the adapter's life.
func (a *Adapter) volumeZone(ctx context.Context, region string) (string, error) {
	a.mu.Lock()
	zone, ok := a.zones[region]
	a.mu.Unlock()
	if ok {
		return zone, nil
	}
	var out *ec2.DescribeAvailabilityZonesOutput
	err := a.call(ctx, "describe availability zones", a.describe[region], true, func(ctx context.Context) (err error) {
		out, err = a.ec2[region].DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{
			Filters: []types.Filter{{Name: sdk.String("zone-type"), Values: []string{"availability-zone"}}},
		})
		return err
	})
	if err != nil {
		return "", err
	}
	var names []string
	for _, z := range out.AvailabilityZones {
		names = append(names, sdk.ToString(z.ZoneName))
	}
	if len(names) == 0 {
		return "", &vendors.Error{Vendor: Name, Op: "describe availability zones", Kind: vendors.ErrInvalid, Message: "region " + region + " lists no availability zone"}
	}
	zone = slices.Min(names)
	a.mu.Lock()
	a.zones[region] = zone
	a.mu.Unlock()
	return zone, nil
}

// CreateVolume creates a gp3 volume in the region's volume zone, tagged
// and named for req.VolumeID, or returns the one that already is.
// CreateVolume is idempotent on its ClientToken (the volume id) besides.
func (a *Adapter) CreateVolume(ctx context.Context, req vendors.VolumeRequest) (vendors.Volume, error) {
	client := a.ec2[req.Region]
	if client == nil {
		return vendors.Volume{}, &vendors.Error{Vendor: Name, Op: "create volume", Kind: vendors.ErrInvalid, Message: "region " + req.Region + " is not configured"}
	}
	name := vendors.OwnedName(req.Owner, req.VolumeID)
	found, err := a.describeVolumes(ctx, req.Region, "find volume", &ec2.DescribeVolumesInput{Filters: []types.Filter{
		{Name: sdk.String("tag:Name"), Values: []string{name}},
	}})
	if err != nil {
		return vendors.Volume{}, err
	}
	if len(found) > 0 {
		return volume(req.Region, found[0]), nil
	}
	zone, err := a.volumeZone(ctx, req.Region)
	if err != nil {
		return vendors.Volume{}, err
	}
	var out *ec2.CreateVolumeOutput
	err = a.call(ctx, "create volume", a.mutate[req.Region], false, func(ctx context.Context) (err error) {
		out, err = client.CreateVolume(ctx, &ec2.CreateVolumeInput{
			AvailabilityZone: sdk.String(zone), Size: sdk.Int32(int32(req.SizeGB)), VolumeType: types.VolumeTypeGp3,
			ClientToken: sdk.String(req.VolumeID),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeVolume,
				Tags: append(tags(req.VolumeID, req.Owner, false), types.Tag{Key: sdk.String("Name"), Value: sdk.String(name)})}},
		})
		return err
	})
	if err != nil {
		return vendors.Volume{}, err
	}
	return volume(req.Region, types.Volume{VolumeId: out.VolumeId, AvailabilityZone: out.AvailabilityZone, State: out.State,
		Tags: out.Tags, Attachments: out.Attachments, Size: out.Size}), nil
}

// maxVolumePage is the largest page DescribeVolumes gives.
const maxVolumePage = 500

// describeVolumes reads every page of a DescribeVolumes in region (EC2
// refuses MaxResults beside VolumeIds).
func (a *Adapter) describeVolumes(ctx context.Context, region, op string, in *ec2.DescribeVolumesInput) ([]types.Volume, error) {
	if in.VolumeIds == nil {
		in.MaxResults = sdk.Int32(min(a.cfg.PageSize, maxVolumePage))
	}
	var all []types.Volume
	err := a.call(ctx, op, a.describe[region], true, func(ctx context.Context) error {
		all = all[:0]
		pages := ec2.NewDescribeVolumesPaginator(a.ec2[region], in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return err
			}
			all = append(all, page.Volumes...)
		}
		return nil
	})
	return all, err
}

// ebsVolume is one volume by the vendor's id; EC2 answers
// InvalidVolume.NotFound for one it no longer has, and a deleted one is
// gone too.
func (a *Adapter) ebsVolume(ctx context.Context, op, id string) (string, types.Volume, error) {
	region, vid, err := a.splitVolumeID(op, id)
	if err != nil {
		return "", types.Volume{}, err
	}
	found, err := a.describeVolumes(ctx, region, op, &ec2.DescribeVolumesInput{VolumeIds: []string{vid}})
	if err != nil {
		return "", types.Volume{}, err
	}
	if len(found) == 0 || found[0].State == types.VolumeStateDeleted {
		return "", types.Volume{}, &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrNotFound, Message: "no volume " + id}
	}
	return region, found[0], nil
}

// GetVolume returns one volume.
func (a *Adapter) GetVolume(ctx context.Context, id string) (vendors.Volume, error) {
	region, v, err := a.ebsVolume(ctx, "describe volume", id)
	if err != nil {
		return vendors.Volume{}, err
	}
	return volume(region, v), nil
}

// ListVolumes returns the volumes carrying supply's tag key, whichever
// installation's, in every configured region: an account's untagged
// volumes (thousands, perhaps) are none of supply's, and the reconciler
// tells the tagged ones apart by VolumeID and Owner. The root volumes of
// supply's instances are among them, without a VolumeID. A region the
// account cannot use is left out as Firewalls leaves it out.
func (a *Adapter) ListVolumes(ctx context.Context) ([]vendors.Volume, error) {
	var out []vendors.Volume
	err := a.eachRegion(ctx, "volumes", func(region string) error {
		found, err := a.describeVolumes(ctx, region, "list volumes", &ec2.DescribeVolumesInput{Filters: []types.Filter{
			{Name: sdk.String("tag-key"), Values: []string{vendors.Tag}},
		}})
		for _, v := range found {
			if v.State != types.VolumeStateDeleted {
				out = append(out, volume(region, v))
			}
		}
		return err
	})
	return out, err
}

// DeleteVolume deletes the volume; EC2 refuses one attached to an
// instance (VolumeInUse), and a gone one is already deleted.
func (a *Adapter) DeleteVolume(ctx context.Context, id string) error {
	region, vid, err := a.splitVolumeID("delete volume", id)
	if err != nil {
		return nil // an id that names no volume here: nothing to delete
	}
	err = a.call(ctx, "delete volume", a.mutate[region], true, func(ctx context.Context) error {
		_, err := a.ec2[region].DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: sdk.String(vid)})
		return err
	})
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// VolumePricePerGBMonth is gp3's list price, the boot disk's: $0.08 per
// GB-month with its baseline 3,000 IOPS and 125 MB/s (Amazon EBS
// pricing, us-east-1; some regions charge up to a fifth more, which this
// does not show).
func (a *Adapter) VolumePricePerGBMonth(string) float64 { return gp3USDPerGBMonth }

// AttachVolumes attaches each of vols that instanceID does not have yet,
// under the next free device name of its place in vols. EC2 answers an
// attach "attaching" and shows the volume attached a moment later, so a
// volume just asked for, or still attaching, makes done false; a volume
// still being created, or detaching from a machine that is gone, is
// waited for. One attached to another instance, or gone, is refused. The
// attach is not sent twice on a lost answer: the next call reads what
// became of it.
func (a *Adapter) AttachVolumes(ctx context.Context, instanceID string, vols []vendors.Volume) (bool, error) {
	client, region, iid, err := a.splitID("attach volume", instanceID)
	if err != nil {
		return false, err
	}
	found, err := a.volumesOf(ctx, "attach volume", region, vols)
	if err != nil {
		return false, err
	}
	done := true
	for i, v := range found {
		att := attachment(v)
		switch {
		case att != nil && sdk.ToString(att.InstanceId) == iid && att.State == types.VolumeAttachmentStateAttached:
			continue
		case att != nil && sdk.ToString(att.InstanceId) == iid, att != nil && att.State == types.VolumeAttachmentStateDetaching,
			v.State == types.VolumeStateCreating:
			done = false
			continue
		case att != nil:
			return false, &vendors.Error{Vendor: Name, Op: "attach volume", Kind: vendors.ErrInvalid,
				Message: fmt.Sprintf("volume %s is attached to another instance, %s", sdk.ToString(v.VolumeId), sdk.ToString(att.InstanceId))}
		case v.State != types.VolumeStateAvailable:
			return false, &vendors.Error{Vendor: Name, Op: "attach volume", Kind: vendors.ErrInvalid,
				Message: fmt.Sprintf("volume %s is %s", sdk.ToString(v.VolumeId), v.State)}
		}
		err := a.call(ctx, "attach volume", a.mutate[region], false, func(ctx context.Context) error {
			_, err := client.AttachVolume(ctx, &ec2.AttachVolumeInput{
				Device: sdk.String(fmt.Sprintf("/dev/sd%c", firstDevice+i)), InstanceId: sdk.String(iid), VolumeId: v.VolumeId,
			})
			return err
		})
		if err != nil {
			return false, err
		}
		done = false
	}
	return done, nil
}

// volumesOf reads vols, supply's volumes of region (refused otherwise),
// from EC2, in their order.
func (a *Adapter) volumesOf(ctx context.Context, op, region string, vols []vendors.Volume) ([]types.Volume, error) {
	if len(vols) > maxVolumes {
		return nil, &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrInvalid, Message: fmt.Sprintf("%d volumes: an instance has device names for %d", len(vols), maxVolumes)}
	}
	ids := make([]string, len(vols))
	for i, v := range vols {
		r, vid, err := a.splitVolumeID(op, v.ID)
		if err == nil && r != region {
			err = fmt.Errorf("volume %s is in %s, the instance in %s", v.ID, r, region)
		}
		if err == nil && v.VolumeID == "" {
			err = fmt.Errorf("volume %s (%q) was not made by supply", v.ID, v.Name)
		}
		if err != nil {
			return nil, &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrInvalid, Message: err.Error()}
		}
		ids[i] = vid
	}
	found, err := a.describeVolumes(ctx, region, op, &ec2.DescribeVolumesInput{VolumeIds: ids})
	if err != nil {
		return nil, err
	}
	out := make([]types.Volume, len(ids))
	for i, id := range ids {
		j := slices.IndexFunc(found, func(v types.Volume) bool { return sdk.ToString(v.VolumeId) == id })
		if j < 0 || found[j].State == types.VolumeStateDeleted {
			return nil, &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrInvalid, Message: "volume " + vols[i].ID + " is gone"}
		}
		out[i] = found[j]
	}
	return out, nil
}

// attachment is the volume's attachment that holds it, nil when none
// does (a detached one is history).
func attachment(v types.Volume) *types.VolumeAttachment {
	for i, att := range v.Attachments {
		if att.State != types.VolumeAttachmentStateDetached {
			return &v.Attachments[i]
		}
	}
	return nil
}

// placeVolumes is the zone an instance with vols launches in and the
// cloud-init shell that mounts them once they are attached: every volume
// must live in one zone, that of a spot offer's price when it has one.
func (a *Adapter) placeVolumes(ctx context.Context, req vendors.CreateRequest) (zone, mounts string, err error) {
	found, err := a.volumesOf(ctx, "run instances", req.Region, req.Volumes)
	if err != nil {
		return "", "", err
	}
	for _, v := range found {
		z := sdk.ToString(v.AvailabilityZone)
		if zone != "" && z != zone {
			err = fmt.Errorf("the volumes are in two zones, %s and %s: an instance reaches one", zone, z)
			break
		}
		zone = z
	}
	if spot := req.Item.Extra[extraZone]; err == nil && req.Contract == vendors.Spot && spot != zone {
		err = fmt.Errorf("the spot offer launches in %s, its volumes are in %s", spot, zone)
	}
	if err != nil {
		return "", "", &vendors.Error{Vendor: Name, Op: "run instances", Kind: vendors.ErrInvalid, Message: err.Error()}
	}
	return zone, vendors.LateMountScript(req.Volumes, nvmeDevice), nil
}

// nvmeDevice is where a Nitro instance shows v: the NVMe device whose
// serial is its volume id without the dash (EC2 user guide, "Amazon EBS
// and NVMe"). v.ID passed volumeIDPattern (volumesOf).
func nvmeDevice(v vendors.Volume) string {
	_, vid, _ := strings.Cut(v.ID, "/")
	return "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + strings.Replace(vid, "-", "", 1)
}

// volume is an EBS volume as supply sees it: supply's when its Name is
// an OwnedName (a root volume carries its instance's marks but no such
// name), in use while attached, deleting from when it is asked to.
func volume(region string, v types.Volume) vendors.Volume {
	name := tagValue(v.Tags, "Name")
	owner, id := vendors.ParseName(name)
	out := vendors.Volume{ID: volumeID(region, sdk.ToString(v.VolumeId)), VolumeID: id, Owner: owner, Name: name, Region: region}
	if id != "" {
		out.MountPath = vendors.MountPath(name)
	}
	switch v.State {
	case types.VolumeStateAvailable:
		out.State = vendors.VolumeAvailable
	case types.VolumeStateInUse:
		out.State = vendors.VolumeInUse
	case types.VolumeStateCreating:
		out.State = vendors.VolumeCreating
	default:
		// Deleting, deleted, or error: "the underlying hardware related
		// to your EBS volume has failed", and all that is left to do
		// with it is delete it.
		out.State = vendors.VolumeDeleting
	}
	return out
}
