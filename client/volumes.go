package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/supplyapi"
)

// CreateVolume answers POST /volumes (an extension): a volume at a
// vendor's region (or where an offer is), creating at first and available
// once the vendor has made it. Attach it with ProcureOfferRequest.VolumeIDs.
func (c *Client) CreateVolume(ctx context.Context, req supplyapi.VolumeRequest) (supplyapi.Volume, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return supplyapi.Volume{}, fmt.Errorf("encode volume request: %w", err)
	}
	var out supplyapi.Volume
	return out, c.do(ctx, http.MethodPost, "/volumes", nil, jsonBody(b), &out)
}

// Volumes answers GET /volumes: the account's volumes, newest first.
func (c *Client) Volumes(ctx context.Context) ([]supplyapi.Volume, error) {
	var out []supplyapi.Volume
	return out, c.do(ctx, http.MethodGet, "/volumes", nil, nil, &out)
}

// Volume answers GET /volumes/{volume_id}.
func (c *Client) Volume(ctx context.Context, id uuid.UUID) (supplyapi.Volume, error) {
	var out supplyapi.Volume
	return out, c.do(ctx, http.MethodGet, "/volumes/"+id.String(), nil, nil, &out)
}

// DeleteVolume starts deleting a volume and what it holds; it is deleted
// once the vendor confirms. A volume attached to a live machine is a 409.
func (c *Client) DeleteVolume(ctx context.Context, id uuid.UUID) (supplyapi.Volume, error) {
	var out supplyapi.Volume
	return out, c.do(ctx, http.MethodDelete, "/volumes/"+id.String(), nil, nil, &out)
}
