package provision

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/trace"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/telemetry"
)

// annotate names the resource and vendor a request or job step is about
// on its span, so a trace can be found by resource id.
func annotate(ctx context.Context, r store.Resource) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(telemetry.ResourceID.String(r.ID), telemetry.Vendor.String(r.Vendor))
	}
}

// jobResource is the resource id a job step works on, annotated on the
// step's span; ok is false when it is gone (the step has nothing left to
// do, and err is nil) or could not be read (err says why).
func (s *Service) jobResource(ctx context.Context, id string) (r store.Resource, ok bool, err error) {
	r, err = s.store.ResourceByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	annotate(ctx, r)
	return r, true, nil
}
