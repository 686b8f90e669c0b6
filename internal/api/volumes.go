package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/supplyapi"
)

// tagVolumes groups the volume operations in the OpenAPI document.
const tagVolumes = "Volumes"

// VolumeService keeps the accounts' volumes: storage rented on its own,
// attached to machines at procurement, outliving them. Its refusals are
// the ProvisionService's.
type VolumeService interface {
	CreateVolume(ctx context.Context, accountID int64, req supplyapi.VolumeRequest) (supplyapi.Volume, error)
	Volumes(ctx context.Context, accountID int64) ([]supplyapi.Volume, error)
	Volume(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.Volume, error)
	DeleteVolume(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.Volume, error)
}

type createVolumeInput struct {
	Body supplyapi.VolumeRequest
}

type volumeIDInput struct {
	VolumeID string `path:"volume_id" format:"uuid"`
}

type volumeOutput struct {
	Body supplyapi.Volume
}

type volumesOutput struct {
	Body []supplyapi.Volume
}

func (a *API) registerVolumes() {
	op := operation(roles.Member, "create_volume", http.MethodPost, "/volumes", tagVolumes, "Create a volume")
	op.DefaultStatus = http.StatusCreated
	op.Description = "Extension. A volume is storage at one vendor and region that outlives the machines it is attached to " +
		"(volume_ids of POST /procure_offer). It is created at the vendor in the background: creating, then available. " +
		"A vendor without volumes (supports_volumes false in GET /available_vendors) is a 422."
	huma.Register(a.huma, op, a.createVolume)
	huma.Register(a.huma, operation(roles.Viewer, "list_volumes", http.MethodGet, "/volumes", tagVolumes, "The account's volumes, newest first"), a.listVolumes)
	huma.Register(a.huma, operation(roles.Viewer, "get_volume", http.MethodGet, "/volumes/{volume_id}", tagVolumes, "One volume"), a.getVolume)
	op = operation(roles.Member, "delete_volume", http.MethodDelete, "/volumes/{volume_id}", tagVolumes, "Delete a volume and its data")
	op.Description = "Extension. deleting at once, deleted once the vendor confirms. A volume attached to a live machine is a 409: delete the machine first."
	huma.Register(a.huma, op, a.deleteVolume)
}

func (a *API) createVolume(ctx context.Context, in *createVolumeInput) (*volumeOutput, error) {
	v, err := a.cfg.Volumes.CreateVolume(ctx, AccountID(ctx), in.Body)
	if err != nil {
		return nil, a.provisionError(ctx, "create volume", err)
	}
	return &volumeOutput{Body: v}, nil
}

func (a *API) listVolumes(ctx context.Context, _ *struct{}) (*volumesOutput, error) {
	vs, err := a.cfg.Volumes.Volumes(ctx, AccountID(ctx))
	if err != nil {
		return nil, a.provisionError(ctx, "list volumes", err)
	}
	return &volumesOutput{Body: emptyIfNil(vs)}, nil
}

func (a *API) getVolume(ctx context.Context, in *volumeIDInput) (*volumeOutput, error) {
	return a.onVolume(ctx, in, "get volume", a.cfg.Volumes.Volume)
}

func (a *API) deleteVolume(ctx context.Context, in *volumeIDInput) (*volumeOutput, error) {
	return a.onVolume(ctx, in, "delete volume", a.cfg.Volumes.DeleteVolume)
}

// onVolume answers f on the volume of the path.
func (a *API) onVolume(ctx context.Context, in *volumeIDInput, what string,
	f func(context.Context, int64, uuid.UUID) (supplyapi.Volume, error)) (*volumeOutput, error) {
	id, err := parseID("path", "volume_id", in.VolumeID)
	if err != nil {
		return nil, err
	}
	v, err := f(ctx, AccountID(ctx), id)
	if err != nil {
		return nil, a.provisionError(ctx, what, err)
	}
	return &volumeOutput{Body: v}, nil
}

// placeQuery narrows q to the offers its volume_id can be attached to: the
// volume's vendor and vendor region. An unknown volume, or one of another
// vendor than q names, is a 422 on volume_id.
func (a *API) placeQuery(ctx context.Context, q *supplyapi.OfferQuery) error {
	if q.VolumeID == nil {
		return nil
	}
	invalid := func(msg string) error {
		return validationFailed(ValidationError{Type: "value_error", Loc: []any{"body", "volume_id"}, Msg: "Value error, " + msg, Input: q.VolumeID.String()})
	}
	if a.cfg.Volumes == nil {
		return invalid("this server keeps no volumes")
	}
	v, err := a.cfg.Volumes.Volume(ctx, AccountID(ctx), *q.VolumeID)
	switch {
	case errors.Is(err, refusal.ErrNotFound):
		return invalid("volume " + q.VolumeID.String() + " not found")
	case err != nil:
		return a.internalError(ctx, "volume of an offer query", err)
	case q.Vendor != "" && q.Vendor != v.Vendor:
		return invalid("the volume is at " + v.Vendor + ", not at vendor " + q.Vendor)
	}
	q.Vendor, q.VendorRegion = v.Vendor, v.VendorRegion
	return nil
}
