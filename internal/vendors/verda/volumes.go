package verda

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/vendors"
)

// Verda's volumes are block volumes: made detached in a location (POST
// /volumes), attached at deploy through existing_volumes, and detached,
// not deleted, when their instance is deleted without volume_ids (PUT
// /instances, "only the OS volume will be deleted and the rest
// detached"). A volume has no tags, so supply's marks travel in its name
// (vendors.OwnedName, 56 characters of the 60 DeployVolume allows). The
// machine sees a raw disk: its start-up script formats it when it has no
// filesystem and mounts it at vendors.MountPath.

// dataVolumeType is the type supply's volumes are made as: the NVMe the
// instances boot from.
const dataVolumeType = osVolumeType

// minVolumeGB is DeployVolume's minimum size (size: minimum 40); a
// smaller volume is made at it.
const minVolumeGB = 40

// defaultVolumePrice is the NVMe price per GB-month until /volume-types
// has been read: the description's own VolumeTypeDetails example (NVMe,
// price_per_month_per_gb 0.2).
const defaultVolumePrice = 0.2

// The volume actions of PUT /volumes the stand-in serves.
const (
	volumeAttach = "attach"
	volumeDetach = "detach"
	volumeDelete = "delete"
)

// volume is the Volume schema: one volume of GET /volumes and GET
// /volumes/{volumeId}.
type volume struct {
	ID           string  `json:"id"`
	Status       string  `json:"status"`
	InstanceID   *string `json:"instance_id"`
	Name         string  `json:"name"`
	Size         float64 `json:"size"`
	Type         string  `json:"type"`
	IsOSVolume   bool    `json:"is_os_volume"`
	CreatedAt    string  `json:"created_at,omitempty"`
	Target       *string `json:"target"`
	LocationCode string  `json:"location_code"`
}

// deployVolume is the DeployVolume schema, the body of POST /volumes.
type deployVolume struct {
	Name         string  `json:"name"`
	Size         float64 `json:"size"`
	Type         string  `json:"type"`
	InstanceID   string  `json:"instance_id,omitempty"`
	LocationCode string  `json:"location_code,omitempty"`
}

// volumeAction is the body of PUT /volumes: one id or a list, as
// idList reads it.
type volumeAction struct {
	ID         []string `json:"id"`
	Action     string   `json:"action"`
	InstanceID string   `json:"instance_id,omitempty"`
}

var _ vendors.Volumes = (*Adapter)(nil)

// CreateVolume makes a detached NVMe volume named for req in req.Region,
// or returns the live one that already carries the name.
func (a *Adapter) CreateVolume(ctx context.Context, req vendors.VolumeRequest) (vendors.Volume, error) {
	name := vendors.OwnedName(req.Owner, req.VolumeID)
	all, err := a.volumes(ctx)
	if err != nil {
		return vendors.Volume{}, err
	}
	for _, v := range all {
		if v.Name == name && v.Status != volumeDeleted {
			return toVolume(v), nil
		}
	}
	var raw []byte
	// Not repeated by the client: a second POST would make a second
	// volume. The next CreateVolume finds the first by its name.
	err = a.do(ctx, a.client, vendors.Request{Op: "create volume", Method: http.MethodPost, Path: "/volumes",
		JSON: deployVolume{Name: name, Size: float64(max(req.SizeGB, minVolumeGB)), Type: dataVolumeType, LocationCode: req.Region}}, &raw)
	if err != nil {
		return vendors.Volume{}, err
	}
	id, err := plainID(raw)
	if err != nil {
		return vendors.Volume{}, &vendors.Error{Vendor: Name, Op: "create volume", Kind: vendors.ErrTransient, Message: "read volume id: " + err.Error()}
	}
	return a.GetVolume(ctx, id)
}

// volumeDeleted is the status of a volume in Verda's trash: gone for
// supply, which never restores one.
const volumeDeleted = "deleted"

// GetVolume reads one volume; a deleted one is not found.
func (a *Adapter) GetVolume(ctx context.Context, id string) (vendors.Volume, error) {
	if uuid.Validate(id) != nil {
		return vendors.Volume{}, &vendors.Error{Vendor: Name, Op: "get volume", Kind: vendors.ErrNotFound, Message: fmt.Sprintf("%q is not a Verda volume id", id)}
	}
	var v volume
	if err := a.get(ctx, "get volume", "/volumes/"+url.PathEscape(id), nil, &v); err != nil {
		return vendors.Volume{}, err
	}
	if v.Status == volumeDeleted {
		return vendors.Volume{}, &vendors.Error{Vendor: Name, Op: "get volume", Kind: vendors.ErrNotFound, Message: "volume " + id + " is deleted"}
	}
	return toVolume(v), nil
}

// ListVolumes lists the account's volumes but its instances' OS volumes
// (priced with the instances) and those in the trash.
func (a *Adapter) ListVolumes(ctx context.Context) ([]vendors.Volume, error) {
	all, err := a.volumes(ctx)
	if err != nil {
		return nil, err
	}
	var out []vendors.Volume
	for _, v := range all {
		if !v.IsOSVolume && v.Status != volumeDeleted {
			out = append(out, toVolume(v))
		}
	}
	return out, nil
}

// DeleteVolume deletes a detached volume (PUT /volumes, action delete).
// An attached one is refused here: Verda would delete it from under a
// shut-down instance, and refuses it under a running one ("the attached
// instance should be shutdown"), while supply never deletes a volume a
// machine holds.
func (a *Adapter) DeleteVolume(ctx context.Context, id string) error {
	v, err := a.GetVolume(ctx, id)
	switch {
	case vendors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	case v.State == vendors.VolumeInUse:
		return a.invalid("delete volume", "volume "+id+" is attached to an instance")
	}
	err = a.do(ctx, a.client, vendors.Request{Op: "delete volume", Method: http.MethodPut, Path: "/volumes",
		JSON: volumeAction{ID: []string{id}, Action: volumeDelete}, Repeatable: true}, nil)
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// VolumePricePerGBMonth is the NVMe price of /volume-types, as last read
// with the catalog; Verda prices volumes alike in every location.
func (a *Adapter) VolumePricePerGBMonth(string) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.volumePrice
}

func (a *Adapter) volumes(ctx context.Context) ([]volume, error) {
	var all []volume
	if err := a.get(ctx, "list volumes", "/volumes", nil, &all); err != nil {
		return nil, err
	}
	return all, nil
}

// toVolume is a Verda volume as supply sees it.
func toVolume(v volume) vendors.Volume {
	owner, id := vendors.ParseName(v.Name)
	state := vendors.VolumeAvailable
	switch v.Status {
	case "attached":
		state = vendors.VolumeInUse
	case "ordered", "creating":
		state = vendors.VolumeCreating
	case "deleting", volumeDeleted:
		state = vendors.VolumeDeleting
	}
	return vendors.Volume{ID: v.ID, VolumeID: id, Owner: owner, Name: v.Name, Region: v.LocationCode, State: state, MountPath: vendors.MountPath(v.Name)}
}

// volumeIDs are the ids to attach at deploy (existing_volumes).
func volumeIDs(vs []vendors.Volume) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.ID)
	}
	return out
}

// mountScript is the start-up script's part that mounts vs at
// vendors.MountPath(name): after the label, each disk is looked for by
// its virtio serial, then by order after the OS disk (the description's
// Volume example shows the OS volume as target vda).
func mountScript(vs []vendors.Volume) string {
	return vendors.MountScript(vs, func(i int, v vendors.Volume) []string {
		return []string{
			fmt.Sprintf("$(ls /dev/disk/by-id/*%s* 2>/dev/null | head -n1)", vendors.HexDigits(v.ID, 20)),
			fmt.Sprintf("/dev/vd%c", 'b'+rune(i)),
		}
	})
}

// attachable checks that supply made each of vs (an OwnedName, so its
// name is safe in the start-up script) and that Verda ids it.
func attachable(vs []vendors.Volume) error {
	for _, v := range vs {
		if _, id := vendors.ParseName(v.Name); id == "" || uuid.Validate(v.ID) != nil {
			return fmt.Errorf("volume %q (%s) was not made by supply", v.Name, v.ID)
		}
	}
	return nil
}
