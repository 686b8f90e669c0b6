package digitalocean

import (
	"context"
	"strings"

	"github.com/digitalocean/godo"

	"github.com/gpusupply/supply/internal/vendors"
)

var _ vendors.Volumes = (*Adapter)(nil)

// volumePricePerGBMonth is DigitalOcean's Volumes Block Storage price,
// $0.10 per GiB-month in every region (its pricing page).
const volumePricePerGBMonth = 0.10

// volumeFilesystem is the filesystem DigitalOcean formats a volume with,
// so that a Droplet created with it mounts it by itself
// (volumes_ext4.yml's filesystem_type).
const volumeFilesystem = "ext4"

// mountPath is where a Droplet mounts a volume DigitalOcean formatted:
// /mnt/ and the volume's name, its hyphens made underscores (the
// automount of its Block Storage documentation: volume-nyc1-01 is mounted
// at /mnt/volume_nyc1_01).
func mountPath(name string) string { return "/mnt/" + strings.ReplaceAll(name, "-", "_") }

// CreateVolume creates a block storage volume named and tagged for
// req.VolumeID, or returns the one that already is: volume names are
// unique in a region, and DigitalOcean has no idempotency token.
func (a *Adapter) CreateVolume(ctx context.Context, req vendors.VolumeRequest) (vendors.Volume, error) {
	name := vendors.InstanceName(req.VolumeID)
	existing, err := a.volumes(ctx, &godo.ListVolumeParams{Name: name, Region: req.Region})
	if err != nil {
		return vendors.Volume{}, err
	}
	for _, v := range existing {
		if id, _ := marksOf(v.Name, v.Tags); id == req.VolumeID {
			return volume(v), nil
		}
	}
	var made *godo.Volume
	err = a.call(ctx, "create volume", false, func(ctx context.Context) (resp *godo.Response, err error) {
		made, resp, err = a.do.Storage.CreateVolume(ctx, &godo.VolumeCreateRequest{
			Region: req.Region, Name: name, SizeGigaBytes: int64(req.SizeGB), FilesystemType: volumeFilesystem,
			Tags: tags(req.VolumeID, req.Owner),
		})
		return resp, err
	})
	if err != nil {
		return vendors.Volume{}, err
	}
	return volume(*made), nil
}

// GetVolume returns one volume; DigitalOcean answers 404 once it is gone.
func (a *Adapter) GetVolume(ctx context.Context, id string) (vendors.Volume, error) {
	var v *godo.Volume
	err := a.call(ctx, "get volume", true, func(ctx context.Context) (resp *godo.Response, err error) {
		v, resp, err = a.do.Storage.GetVolume(ctx, id)
		return resp, err
	})
	if err != nil {
		return vendors.Volume{}, err
	}
	return volume(*v), nil
}

// ListVolumes returns every volume of the account.
func (a *Adapter) ListVolumes(ctx context.Context) ([]vendors.Volume, error) {
	all, err := a.volumes(ctx, &godo.ListVolumeParams{})
	if err != nil {
		return nil, err
	}
	out := make([]vendors.Volume, 0, len(all))
	for _, v := range all {
		out = append(out, volume(v))
	}
	return out, nil
}

// volumes reads every page of GET /v2/volumes with params' filters.
func (a *Adapter) volumes(ctx context.Context, params *godo.ListVolumeParams) ([]godo.Volume, error) {
	return readPages(ctx, a, "list volumes", func(ctx context.Context, o *godo.ListOptions) ([]godo.Volume, *godo.Response, error) {
		p := *params
		p.ListOptions = o
		return a.do.Storage.ListVolumes(ctx, &p)
	})
}

// DeleteVolume deletes the volume (204); DigitalOcean refuses one still
// attached to a Droplet, and a gone one is already deleted.
func (a *Adapter) DeleteVolume(ctx context.Context, id string) error {
	err := a.call(ctx, "delete volume", true, func(ctx context.Context) (*godo.Response, error) {
		return a.do.Storage.DeleteVolume(ctx, id)
	})
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// VolumePricePerGBMonth is the same in every region.
func (a *Adapter) VolumePricePerGBMonth(string) float64 { return volumePricePerGBMonth }

func volume(v godo.Volume) vendors.Volume {
	id, owner := marksOf(v.Name, v.Tags)
	out := vendors.Volume{ID: v.ID, VolumeID: id, Owner: owner, Name: v.Name, State: vendors.VolumeAvailable, MountPath: mountPath(v.Name)}
	if v.Region != nil {
		out.Region = v.Region.Slug
	}
	if len(v.DropletIDs) > 0 {
		out.State = vendors.VolumeInUse
	}
	return out
}
