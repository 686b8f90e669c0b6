package hyperstack

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gpusupply/supply/internal/vendors"
)

// Hyperstack's volumes are block volumes made in an environment (POST
// /core/volumes) and attached to a VM at create through
// Create_Instances_Payload's volume_name. The description types that field
// as one string ("the names of the volume(s)") and says nothing of how
// several would be written in it, so supply attaches one volume per VM
// (Info.MaxVolumes). A volume has no labels: supply's id travels in its
// name (vendors.InstanceName: vendors.OwnedName is 56 characters, past
// Create_Volume_Payload's name maxLength of 50) and the installation id in
// its description, as vendors.MarkText pairs. The VM sees a raw disk: its
// cloud-init formats it when blank and mounts it at vendors.MountPath.

// volumeType is the type supply's volumes are made as: Hyperstack's
// "Cloud-SSD" volumes. The description names no type (its Volume_Types
// example is a placeholder); the name is that of Hyperstack's pricing page,
// and the stand-in lists it from GET /core/volume-types.
const volumeType = "Cloud-SSD"

// volumePricePerGBHour is Hyperstack's Cloud-SSD volume price, USD per GB
// per hour. Neither the description (its pricebook schema carries GPU
// names) nor vendors.md gives one; the figure is Hyperstack's public
// pricing page (hyperstack.cloud/gpu-pricing, "Cloud-SSD volumes",
// $0.000096774 per GB per hour, the same in every region).
const volumePricePerGBHour = 0.000096774

var _ vendors.Volumes = (*Adapter)(nil)

// CreateVolume makes a blank volume named for req in supply's environment
// of req.Region, or returns the one that already carries the name.
func (a *Adapter) CreateVolume(ctx context.Context, req vendors.VolumeRequest) (vendors.Volume, error) {
	name := vendors.InstanceName(req.VolumeID)
	if found, ok, err := a.findVolume(ctx, name); err != nil || ok {
		return found, err
	}
	env, err := a.ensureEnvironment(ctx, req.Region)
	if err != nil {
		return vendors.Volume{}, err
	}
	var resp volumeResponse
	// Not re-sent by the client: a second POST could make a second
	// volume. The next CreateVolume finds the first by its name.
	err = a.client.Do(ctx, vendors.Request{Op: "create volume", Method: http.MethodPost, Path: "/core/volumes", JSON: createVolumePayload{
		Name: name, EnvironmentName: env, Size: req.SizeGB, VolumeType: volumeType,
		Description: strings.Join(vendors.MarkText(req.VolumeID, req.Owner), " "),
	}}, &resp)
	if err != nil {
		return vendors.Volume{}, vendors.NotFoundIsInvalid(err)
	}
	return toVolume(resp.Volume), nil
}

// findVolume is the volume called name, if there is one.
func (a *Adapter) findVolume(ctx context.Context, name string) (vendors.Volume, bool, error) {
	found, err := a.volumes(ctx, name)
	if err != nil {
		return vendors.Volume{}, false, err
	}
	for _, v := range found {
		if v.Name == name {
			return toVolume(v), true, nil
		}
	}
	return vendors.Volume{}, false, nil
}

// GetVolume reads one volume by its Hyperstack id (an integer).
func (a *Adapter) GetVolume(ctx context.Context, id string) (vendors.Volume, error) {
	path, err := volumePath("get volume", id)
	if err != nil {
		return vendors.Volume{}, err
	}
	var resp volumeResponse
	if err := a.client.Do(ctx, vendors.Request{Op: "get volume", Method: http.MethodGet, Path: path}, &resp); err != nil {
		return vendors.Volume{}, err
	}
	return toVolume(resp.Volume), nil
}

// ListVolumes returns every volume of the account.
func (a *Adapter) ListVolumes(ctx context.Context) ([]vendors.Volume, error) {
	all, err := a.volumes(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]vendors.Volume, 0, len(all))
	for _, v := range all {
		out = append(out, toVolume(v))
	}
	return out, nil
}

// volumes pages through GET /core/volumes matching search.
func (a *Adapter) volumes(ctx context.Context, search string) ([]volumeFields, error) {
	var all []volumeFields
	for page := 1; ; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(listPageSize)}}
		if search != "" {
			q.Set("search", search)
		}
		var resp volumeList
		if err := a.client.Do(ctx, vendors.Request{Op: "list volumes", Method: http.MethodGet, Path: "/core/volumes", Query: q}, &resp); err != nil {
			return nil, err
		}
		all = append(all, resp.Volumes...)
		if len(resp.Volumes) < listPageSize || len(all) >= resp.Count {
			return all, nil
		}
	}
}

// DeleteVolume deletes the volume; Hyperstack refuses one still attached
// to a VM (a 400, ErrInvalid), and a gone one is already deleted.
func (a *Adapter) DeleteVolume(ctx context.Context, id string) error {
	path, err := volumePath("delete volume", id)
	if err != nil {
		return nil // no Hyperstack volume has that id
	}
	err = a.client.Do(ctx, vendors.Request{Op: "delete volume", Method: http.MethodDelete, Path: path, Repeatable: true}, nil)
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// VolumePricePerGBMonth is the Cloud-SSD price, the same in every region.
func (a *Adapter) VolumePricePerGBMonth(string) float64 {
	return volumePricePerGBHour * vendors.HoursPerMonth
}

// volumePath is the path of volume id; Hyperstack ids are integers, so
// anything else cannot name a volume.
func volumePath(op, id string) (string, error) {
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return "", &vendors.Error{Vendor: vendorName, Op: op, Kind: vendors.ErrNotFound, Message: fmt.Sprintf("%q is not a Hyperstack volume id", id)}
	}
	return "/core/volumes/" + id, nil
}

// toVolume is a Hyperstack volume as supply sees it: supply's id from its
// name, the owner from its description.
func toVolume(v volumeFields) vendors.Volume {
	_, id := vendors.ParseName(v.Name)
	owner := ""
	if id != "" {
		if marked, o := vendors.ReadMarkText(strings.Fields(v.Description)); marked == id {
			owner = o
		}
	}
	state := volumeState(v.Status)
	if state == vendors.VolumeAvailable && len(v.Attachments) > 0 {
		state = vendors.VolumeInUse
	}
	return vendors.Volume{ID: strconv.Itoa(v.ID), VolumeID: id, Owner: owner, Name: v.Name, Region: v.Environment.Region,
		State: state, MountPath: vendors.MountPath(v.Name)}
}

// volumeState maps a volume's status. The description types status as a
// plain string with no enum; Hyperstack's volumes are OpenStack block
// volumes, whose statuses are these (lower case, as OpenStack writes
// them, matched in any case). One in error, or of a status not listed,
// reads as available: supply neither waits on it forever nor deletes it
// from under a VM, and the vendor refuses what it cannot do.
func volumeState(status string) vendors.VolumeState {
	switch strings.ToLower(status) {
	case "creating", "downloading":
		return vendors.VolumeCreating
	case "in-use", "attaching", "detaching", "reserved":
		return vendors.VolumeInUse
	case "deleting":
		return vendors.VolumeDeleting
	}
	return vendors.VolumeAvailable
}

// volumeName is the volume_name of a VM's create: the one volume of vs,
// if any. Each must be supply's (a name ParseName reads, safe in the
// cloud-init shell) with a Hyperstack id.
func volumeName(vs []vendors.Volume) (string, error) {
	if len(vs) > maxVolumes {
		return "", fmt.Errorf("Hyperstack attaches at most %d volume to a VM at create (volume_name), not %d", maxVolumes, len(vs))
	}
	for _, v := range vs {
		if _, id := vendors.ParseName(v.Name); id == "" {
			return "", fmt.Errorf("volume %q (%s) was not made by supply", v.Name, v.ID)
		}
		if _, err := strconv.ParseInt(v.ID, 10, 64); err != nil {
			return "", fmt.Errorf("volume %q has id %q, not a Hyperstack volume id", v.Name, v.ID)
		}
		return v.Name, nil
	}
	return "", nil
}

// maxVolumes is how many volumes a VM attaches at create: volume_name
// names one.
const maxVolumes = 1

// mountScript is cloud-init's part that mounts vs at vendors.MountPath.
// Hyperstack says nothing of the device a volume gets, and its flavors may
// bring an ephemeral disk beside the boot disk, so a volume not yet
// labelled by supply is the blank disk (vendors.BlankDisk).
func mountScript(vs []vendors.Volume) string {
	return vendors.MountScript(vs, func(int, vendors.Volume) []string { return []string{vendors.BlankDisk} })
}
