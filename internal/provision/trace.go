package provision

import (
	"context"

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
