package provision

import (
	"context"
	"fmt"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/vendors"
)

// A vendor's own words reach the renter in failure_reason and
// status_message, but they can name the operator's vendor account (its
// project, tenant, keys, e-mail addresses): renters read them redacted
// (vendors.Redact), the operator reads them whole in the log.

// refusal is the failure reason of r when its vendor refused to create
// its instance: the kind of refusal and the vendor's message, redacted.
// The refusal is counted by vendor and kind, and logged whole.
func (s *Service) refusal(ctx context.Context, r store.Resource, err error) string {
	kind := vendors.KindName(err)
	s.metrics.refusals.WithLabelValues(r.Vendor, kind).Inc()
	s.log.WarnContext(ctx, "vendor refused to create an instance", "resource_id", r.ID, "offer_id", r.OfferID,
		"vendor", r.Vendor, "kind", kind, "error", err)
	return s.tenantError(r, err)
}

// tenantError is a failed call to r's vendor as r's renter may read it
// (the caller logs it whole).
func (s *Service) tenantError(r store.Resource, err error) string {
	return vendors.TenantReason(s.vendors[r.Vendor], err, tenantValues(r)...)
}

// instanceState says what the vendor reports of r's instance, in a state
// supply does not expect, with the vendor's message redacted; a message
// that lost something to the redaction is logged whole.
func (s *Service) instanceState(ctx context.Context, r store.Resource, inst vendors.Instance) string {
	msg := vendors.Redact(s.vendors[r.Vendor], inst.Message, tenantValues(r)...)
	if msg != inst.Message {
		s.log.InfoContext(ctx, "vendor's message on an instance redacted for the renter", "resource_id", r.ID,
			"vendor", r.Vendor, "state", inst.State, "message", inst.Message)
	}
	return fmt.Sprintf("the vendor reports the instance %s%s", inst.State, suffix(msg))
}

// tenantValues are what the renter of r knows already, which a vendor's
// words may show.
func tenantValues(r store.Resource) []string {
	return []string{r.ID, r.OfferID, r.ParentID, r.Name, r.ExternalIP, r.InternalIP}
}
