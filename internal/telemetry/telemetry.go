// Package telemetry turns OpenTelemetry tracing on from the standard
// OTEL_* environment variables, and holds what the service's packages
// share to trace: the names of span attributes, and the link between a
// River job and the trace that enqueued it.
//
// Tracing is off unless OTEL_TRACES_EXPORTER is "otlp" or an OTLP
// endpoint (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
// is set. Off, nothing is instrumented at all (Enabled is false): the
// global tracer provider stays OpenTelemetry's no-op one, and the vendor
// clients, the API and River run without tracing middleware.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Span attributes the service sets beside OpenTelemetry's own.
const (
	// ResourceID is the resource a request or a job step is about.
	ResourceID = attribute.Key("resource_id")
	// Vendor is the vendor slug a call goes to or a resource lives at.
	Vendor = attribute.Key("vendor")
)

// installed is set once a tracer provider is installed.
var installed atomic.Bool

// Enabled reports whether tracing is on: Setup or Install has installed
// a tracer provider. Instrumentation asks it when it is built, so Setup
// must come first.
func Enabled() bool { return installed.Load() }

// wanted reports whether the environment asks for traces.
func wanted() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch exp := os.Getenv("OTEL_TRACES_EXPORTER"); exp {
	case "":
		return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	case "none":
		return false
	default:
		return true
	}
}

// Setup installs a tracer provider exporting over OTLP, configured by the
// standard environment variables (endpoint, headers, protocol
// "http/protobuf" or "grpc", sampler, batching, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES), and the W3C trace-context propagator. When
// the environment does not ask for traces it changes nothing. shutdown flushes the spans still
// buffered; call it last, with a bounded context.
func Setup(ctx context.Context, version string) (shutdown func(context.Context) error, err error) {
	if !wanted() {
		return func(context.Context) error { return nil }, nil
	}
	if exp := os.Getenv("OTEL_TRACES_EXPORTER"); exp != "" && exp != "otlp" {
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: supply exports traces over OTLP only (otlp or none)", exp)
	}
	exporter, err := newExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	// Later detectors win: the environment's service name and attributes
	// override the defaults.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("supply"), semconv.ServiceVersion(version)),
		resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	Install(tp)
	return tp.Shutdown, nil
}

// Install makes tp the global tracer provider, with the W3C trace-context
// propagator; tests install one with an in-memory exporter.
func Install(tp *sdktrace.TracerProvider) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	installed.Store(true)
}

// newExporter is the OTLP exporter of the protocol the environment names;
// both read the endpoint, headers, timeout and TLS settings themselves.
func newExporter(ctx context.Context) (*otlptrace.Exporter, error) {
	protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch protocol {
	case "", "http/protobuf":
		return otlptracehttp.New(ctx)
	case "grpc":
		return otlptracegrpc.New(ctx)
	default:
		return nil, errors.New("OTEL_EXPORTER_OTLP_PROTOCOL=" + protocol + ": want http/protobuf or grpc")
	}
}
