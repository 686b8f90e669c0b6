package lambda

import (
	"context"
	"net/http"
	"net/url"

	"github.com/gpusupply/supply/internal/vendors"
)

// Lambda's volumes are its shared filesystems: made in a region, named at
// launch in file_system_names, mounted at /lambda/nfs/<name>, and kept
// when the instance is terminated. A filesystem has no tags, so supply's
// marks travel in its name (vendors.OwnedName), and no size: it grows
// with what is written.

// pricePerGBMonth is Lambda's published price of filesystem storage
// (lambda.ai/pricing, "Persistent storage": $0.20 per GB per month, every
// region); the API does not serve prices for storage.
const pricePerGBMonth = 0.20

// filesystem is the Filesystem schema.
type filesystem struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	MountPoint string `json:"mount_point"`
	Created    string `json:"created"`
	CreatedBy  user   `json:"created_by"`
	IsInUse    bool   `json:"is_in_use"`
	Region     region `json:"region"`
	BytesUsed  int64  `json:"bytes_used,omitempty"`
}

// user is the User schema: who in the team made a filesystem.
type user struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Status string `json:"status"`
}

// filesystemCreateRequest is the FilesystemCreateRequest schema.
type filesystemCreateRequest struct {
	Name   string `json:"name"`
	Region string `json:"region"`
}

// filesystemDeleteResponse is the FilesystemDeleteResponse schema.
type filesystemDeleteResponse struct {
	DeletedIDs []string `json:"deleted_ids"`
}

var _ vendors.Volumes = (*Adapter)(nil)

// CreateVolume creates a filesystem named for req, or returns the one
// that already carries the name. Lambda sizes filesystems by use, so
// req.SizeGB is supply's own bookkeeping.
func (a *Adapter) CreateVolume(ctx context.Context, req vendors.VolumeRequest) (vendors.Volume, error) {
	name := vendors.OwnedName(req.Owner, req.VolumeID)
	all, err := a.filesystems(ctx)
	if err != nil {
		return vendors.Volume{}, err
	}
	for _, fs := range all {
		if fs.Name == name {
			return volume(fs), nil
		}
	}
	var made envelope[filesystem]
	err = a.client.Do(ctx, vendors.Request{Op: "create filesystem", Method: http.MethodPost, Path: "/filesystems",
		JSON: filesystemCreateRequest{Name: name, Region: req.Region}}, &made)
	if err != nil {
		return vendors.Volume{}, err
	}
	return volume(made.Data), nil
}

// GetVolume finds a filesystem by id in the list: Lambda has no call
// that reads one.
func (a *Adapter) GetVolume(ctx context.Context, id string) (vendors.Volume, error) {
	all, err := a.filesystems(ctx)
	if err != nil {
		return vendors.Volume{}, err
	}
	for _, fs := range all {
		if fs.ID == id {
			return volume(fs), nil
		}
	}
	return vendors.Volume{}, &vendors.Error{Vendor: Name, Op: "get filesystem", Kind: vendors.ErrNotFound, Message: "no filesystem " + id}
}

// ListVolumes lists every filesystem of the account.
func (a *Adapter) ListVolumes(ctx context.Context) ([]vendors.Volume, error) {
	all, err := a.filesystems(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]vendors.Volume, 0, len(all))
	for _, fs := range all {
		out = append(out, volume(fs))
	}
	return out, nil
}

// DeleteVolume deletes a filesystem; one Lambda no longer knows is gone
// already. A filesystem still mounted is refused (filesystem-in-use).
func (a *Adapter) DeleteVolume(ctx context.Context, id string) error {
	var out envelope[filesystemDeleteResponse]
	err := a.client.Do(ctx, vendors.Request{Op: "delete filesystem", Method: http.MethodDelete,
		Path: "/filesystems/" + url.PathEscape(id), Repeatable: true}, &out)
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// VolumePricePerGBMonth is Lambda's one price for filesystem storage.
func (a *Adapter) VolumePricePerGBMonth(string) float64 { return pricePerGBMonth }

func (a *Adapter) filesystems(ctx context.Context) ([]filesystem, error) {
	var all envelope[[]filesystem]
	if err := a.client.Do(ctx, vendors.Request{Op: "list filesystems", Method: http.MethodGet, Path: "/file-systems"}, &all); err != nil {
		return nil, err
	}
	return all.Data, nil
}

// volume is a filesystem as supply sees it: in use while mounted.
func volume(fs filesystem) vendors.Volume {
	owner, id := vendors.ParseName(fs.Name)
	state := vendors.VolumeAvailable
	if fs.IsInUse {
		state = vendors.VolumeInUse
	}
	return vendors.Volume{ID: fs.ID, VolumeID: id, Owner: owner, Name: fs.Name, Region: fs.Region.Name, State: state, MountPath: fs.MountPoint}
}

// fileSystemNames are the names to mount at launch.
func fileSystemNames(vs []vendors.Volume) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}
