package api

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/gpusupply/supply/internal/telemetry"
)

// tracer follows the global tracer provider, which is a no-op unless
// telemetry.Setup installed one.
var tracer = otel.Tracer("github.com/gpusupply/supply/internal/api")

// startSpan starts the server span of a request, continuing the trace the
// client sent in a W3C traceparent header, if any. The span is named for
// the request's operation once that is known (endSpan).
func startSpan(r *http.Request) (context.Context, trace.Span) {
	if !telemetry.Enabled() {
		// Not even a no-op span's allocation per request.
		return r.Context(), trace.SpanFromContext(r.Context())
	}
	ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	return tracer.Start(ctx, clientString(r.Method), trace.WithSpanKind(trace.SpanKindServer))
}

// endSpan names the span of a request for its operation (the contract's
// operationId, or the route pattern outside huma) and ends it.
func endSpan(span trace.Span, r *http.Request, operation string, status int) {
	if !span.IsRecording() {
		return
	}
	span.SetName(operation)
	span.SetAttributes(
		attribute.String("http.request.method", clientString(r.Method)),
		attribute.String("url.path", clientString(r.URL.Path)),
		attribute.Int("http.response.status_code", status),
	)
	if status >= http.StatusInternalServerError {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}
