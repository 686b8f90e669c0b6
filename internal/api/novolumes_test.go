package api

import (
	"context"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/supplyapi"
)

// noVolumes is a volume service that holds none and refuses to make any,
// for the document and the request checks in front of the service.
type noVolumes struct{}

func (noVolumes) CreateVolume(context.Context, int64, supplyapi.VolumeRequest) (supplyapi.Volume, error) {
	return supplyapi.Volume{}, refusal.Errorf(refusal.ErrConflict, "no volumes here")
}

func (noVolumes) Volumes(context.Context, int64) ([]supplyapi.Volume, error) { return nil, nil }

func (noVolumes) Volume(_ context.Context, _ int64, id uuid.UUID) (supplyapi.Volume, error) {
	return supplyapi.Volume{}, refusal.Errorf(refusal.ErrNotFound, "Volume %s not found", id)
}

func (v noVolumes) DeleteVolume(ctx context.Context, accountID int64, id uuid.UUID) (supplyapi.Volume, error) {
	return v.Volume(ctx, accountID, id)
}
