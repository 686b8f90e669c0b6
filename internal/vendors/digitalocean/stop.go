package digitalocean

import (
	"context"
	"strconv"

	"github.com/digitalocean/godo"

	"github.com/gpusupply/supply/internal/vendors"
)

var _ vendors.Stopper = (*Adapter)(nil)

// Stop powers the Droplet off (POST /v2/droplets/{droplet_id}/actions,
// type power_off). DigitalOcean refuses a Droplet already off with a 422,
// which is ErrInvalid.
func (a *Adapter) Stop(ctx context.Context, id string) error {
	return a.power(ctx, "power off droplet", id, a.do.DropletActions.PowerOff)
}

// Start powers the Droplet on (type power_on).
func (a *Adapter) Start(ctx context.Context, id string) error {
	return a.power(ctx, "power on droplet", id, a.do.DropletActions.PowerOn)
}

// StoppedPricePerHour is the whole price: DigitalOcean bills a powered-off
// Droplet as a running one, its resources staying reserved ("You are
// billed for Droplets that are powered off", its billing documentation).
func (a *Adapter) StoppedPricePerHour(item vendors.CatalogItem) float64 { return item.PricePerHour }

func (a *Adapter) power(ctx context.Context, op, id string, action func(context.Context, int) (*godo.Action, *godo.Response, error)) error {
	n, err := strconv.Atoi(id)
	if err != nil {
		return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrNotFound, Message: "not a Droplet id: " + id}
	}
	// Not repeated: a second power action after an unanswered first is
	// refused as already done, which would hide that the first worked.
	return a.call(ctx, op, false, func(ctx context.Context) (*godo.Response, error) {
		_, resp, err := action(ctx, n)
		return resp, err
	})
}
