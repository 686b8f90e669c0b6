package provision

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/trace"

	"github.com/gpusupply/supply/internal/actor"
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
// step's span, and the step's context naming the key that procured it
// (onBehalf); ok is false when it is gone (the step has nothing left to
// do, and err is nil) or could not be read (err says why).
func (s *Service) jobResource(ctx context.Context, id string) (_ context.Context, r store.Resource, ok bool, err error) {
	r, err = s.store.ResourceByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ctx, r, false, nil
	}
	if err != nil {
		return ctx, r, false, err
	}
	annotate(ctx, r)
	if ctx, err = s.onBehalf(ctx, r); err != nil {
		return ctx, r, false, err
	}
	return ctx, r, true, nil
}

// onBehalf is ctx naming, as the actor of what a job step does to r, the
// key that procured r: its log lines and events then say on whose behalf
// the service acted, as a request's name the key that made it. A resource
// older than keys' names (CreatedBy 0) names none.
func (s *Service) onBehalf(ctx context.Context, r store.Resource) (context.Context, error) {
	if r.CreatedBy == 0 {
		return ctx, nil
	}
	k, err := s.store.APIKeyByID(ctx, r.CreatedBy)
	if errors.Is(err, store.ErrNotFound) {
		return ctx, nil
	}
	if err != nil {
		return ctx, fmt.Errorf("the key that procured %s: %w", r.ID, err)
	}
	return actor.With(ctx, actor.Actor{KeyID: k.ID, Name: k.Name}), nil
}
