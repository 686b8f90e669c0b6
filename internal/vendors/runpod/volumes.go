package runpod

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gpusupply/supply/internal/vendors"
)

// RunPod's volumes are its network volumes: made in a data centre, named
// in a pod's mounts.network at create, kept when the pod is deleted. A
// volume has no tags, so supply's marks travel in its name
// (vendors.OwnedName). RunPod says nothing of a volume's use, so every
// volume reads as available; supply keeps the attachments itself.

// pricePerGBMonth is RunPod's published price of network volume storage
// (runpod.io/pricing, "Network volume": $0.07 per GB per month under 1 TB);
// the API does not serve prices for storage.
const pricePerGBMonth = 0.07

// mountPath is where supply mounts a network volume in a pod: RunPod's
// own convention for a pod's persistent data (NetworkMount has no default).
const mountPath = "/workspace"

// networkVolume is NetworkVolume.
type networkVolume struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Size       int    `json:"size"`
	DataCenter string `json:"dataCenter"`
	Type       string `json:"type"`
}

// createNetworkVolumeRequest is CreateNetworkVolumeRequest.
type createNetworkVolumeRequest struct {
	Name       string `json:"name"`
	Size       int    `json:"size"`
	DataCenter string `json:"dataCenter"`
}

// networkVolumeList is ListNetworkVolumesResponse.
type networkVolumeList struct {
	NetworkVolumes []networkVolume `json:"networkVolumes"`
}

// podMounts is Mounts: at most one network volume today.
type podMounts struct {
	Network []networkMount `json:"network,omitempty"`
}

// networkMount is NetworkMount.
type networkMount struct {
	VolumeID string `json:"volumeId"`
	Path     string `json:"path"`
}

var _ vendors.Volumes = (*Adapter)(nil)

// CreateVolume creates a network volume named for req, or returns the one
// that already carries the name.
func (a *Adapter) CreateVolume(ctx context.Context, req vendors.VolumeRequest) (vendors.Volume, error) {
	name := vendors.OwnedName(req.Owner, req.VolumeID)
	all, err := a.networkVolumes(ctx)
	if err != nil {
		return vendors.Volume{}, err
	}
	for _, v := range all {
		if v.Name == name {
			return volume(v), nil
		}
	}
	var made networkVolume
	err = a.client.Do(ctx, vendors.Request{Op: "create network volume", Method: http.MethodPost, Path: "/v2/network-volumes",
		JSON: createNetworkVolumeRequest{Name: name, Size: req.SizeGB, DataCenter: req.Region}}, &made)
	if err != nil {
		return vendors.Volume{}, err
	}
	return volume(made), nil
}

// GetVolume reads one network volume.
func (a *Adapter) GetVolume(ctx context.Context, id string) (vendors.Volume, error) {
	var v networkVolume
	if err := a.client.Do(ctx, vendors.Request{Op: "get network volume", Method: http.MethodGet, Path: "/v2/network-volumes/" + url.PathEscape(id)}, &v); err != nil {
		return vendors.Volume{}, err
	}
	return volume(v), nil
}

// ListVolumes lists every network volume of the account.
func (a *Adapter) ListVolumes(ctx context.Context) ([]vendors.Volume, error) {
	all, err := a.networkVolumes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]vendors.Volume, 0, len(all))
	for _, v := range all {
		out = append(out, volume(v))
	}
	return out, nil
}

// DeleteVolume deletes a network volume; one RunPod no longer knows is
// gone already.
func (a *Adapter) DeleteVolume(ctx context.Context, id string) error {
	err := a.client.Do(ctx, vendors.Request{Op: "delete network volume", Method: http.MethodDelete,
		Path: "/v2/network-volumes/" + url.PathEscape(id), Repeatable: true}, nil)
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// VolumePricePerGBMonth is RunPod's one price for network volumes.
func (a *Adapter) VolumePricePerGBMonth(string) float64 { return pricePerGBMonth }

func (a *Adapter) networkVolumes(ctx context.Context) ([]networkVolume, error) {
	var list networkVolumeList
	if err := a.client.Do(ctx, vendors.Request{Op: "list network volumes", Method: http.MethodGet, Path: "/v2/network-volumes"}, &list); err != nil {
		return nil, err
	}
	return list.NetworkVolumes, nil
}

func volume(v networkVolume) vendors.Volume {
	owner, id := vendors.ParseName(v.Name)
	return vendors.Volume{ID: v.ID, VolumeID: id, Owner: owner, Name: v.Name, Region: v.DataCenter,
		State: vendors.VolumeAvailable, MountPath: mountPath}
}

// mountsOf is a pod's mounts of vs (nil: none).
func mountsOf(vs []vendors.Volume) *podMounts {
	if len(vs) == 0 {
		return nil
	}
	m := &podMounts{}
	for _, v := range vs {
		m.Network = append(m.Network, networkMount{VolumeID: v.ID, Path: mountPath})
	}
	return m
}
