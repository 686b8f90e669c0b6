package vendors

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/gpusupply/supply/internal/telemetry"
)

// noPropagation keeps our trace ids to ourselves: a vendor's API is not
// part of our traces, and its logs need not learn them.
var noPropagation = propagation.NewCompositeTextMapPropagator()

// TracedTransport is base (nil: http.DefaultTransport) with an
// OpenTelemetry client span around every request to vendor, named
// "<vendor> <op>" when the request's context carries the operation (Do
// puts it there) and "<vendor> <method>" otherwise. With tracing off it
// is base.
func TracedTransport(vendor string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if !telemetry.Enabled() {
		return base
	}
	return otelhttp.NewTransport(base,
		otelhttp.WithPropagators(noPropagation),
		otelhttp.WithSpanOptions(trace.WithAttributes(telemetry.Vendor.String(vendor))),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if op, ok := r.Context().Value(opKey{}).(string); ok {
				return vendor + " " + op
			}
			return vendor + " " + r.Method
		}))
}

// tracedClient is hc (nil: a client with no timeout of its own, as
// http.DefaultClient) with its transport traced; hc itself when tracing
// is off.
func tracedClient(vendor string, hc *http.Client) *http.Client {
	if !telemetry.Enabled() {
		return hc
	}
	traced := &http.Client{}
	if hc != nil {
		*traced = *hc
	}
	traced.Transport = TracedTransport(vendor, traced.Transport)
	return traced
}

type opKey struct{}

// withOp names the vendor operation a request's span is for.
func withOp(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, opKey{}, op)
}

// TracedGRPC is the dial options giving every call to vendor an
// OpenTelemetry client span named for its method; none with tracing off.
func TracedGRPC(vendor string) []grpc.DialOption {
	if !telemetry.Enabled() {
		return nil
	}
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(
		otelgrpc.WithPropagators(noPropagation),
		otelgrpc.WithSpanAttributes(telemetry.Vendor.String(vendor))))}
}
