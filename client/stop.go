package client

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/supplyapi"
)

// Stop answers POST /resources/{resource_id}/stop (an extension): the
// running resource becomes stopping, and stopped once its vendor confirms.
// A vendor without stop is an *Error with status 422; a resource not
// running, 409.
func (c *Client) Stop(ctx context.Context, resourceID uuid.UUID) (supplyapi.PowerResponse, error) {
	return c.power(ctx, resourceID, "stop")
}

// Start answers POST /resources/{resource_id}/start (an extension): the
// stopped resource becomes starting, and running once SSH answers again.
func (c *Client) Start(ctx context.Context, resourceID uuid.UUID) (supplyapi.PowerResponse, error) {
	return c.power(ctx, resourceID, "start")
}

func (c *Client) power(ctx context.Context, resourceID uuid.UUID, verb string) (supplyapi.PowerResponse, error) {
	var out supplyapi.PowerResponse
	return out, c.do(ctx, http.MethodPost, "/resources/"+resourceID.String()+"/"+verb, nil, nil, &out)
}
