package telemetry

import (
	"context"
	"encoding/json"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// JobMiddleware traces River jobs: River's own OpenTelemetry middleware
// stores the trace context of whoever enqueues a job in the job's
// metadata and spans every insert and every step ("river.work/<kind>");
// jobParent, which runs first, makes each step's span a child of the
// enqueuing span. otelriver alone only links the two, which leaves a
// procurement's steps in traces of their own; as a child, one trace shows
// the procurement from its request to its last step. With tracing off
// it is empty.
func JobMiddleware() []rivertype.Middleware {
	if !Enabled() {
		return nil
	}
	return []rivertype.Middleware{
		&jobParent{},
		otelriver.NewMiddleware(&otelriver.MiddlewareConfig{EnableTracePropagation: true, EnableWorkSpanJobKindSuffix: true}),
	}
}

// jobParent puts the trace context stored with a job into the context its
// step runs in, as the remote parent of the spans started there.
type jobParent struct {
	river.MiddlewareDefaults
}

var _ rivertype.WorkerMiddleware = (*jobParent)(nil)

func (*jobParent) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	if sc := storedSpanContext(job.Metadata); sc.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	return doInner(ctx)
}

// storedSpanContext reads the W3C trace context otelriver wrote into a
// job's metadata ("traceparent", "tracestate").
func storedSpanContext(metadata []byte) trace.SpanContext {
	var meta struct {
		TraceParent string `json:"traceparent"`
		TraceState  string `json:"tracestate"`
	}
	if len(metadata) == 0 || json.Unmarshal(metadata, &meta) != nil || meta.TraceParent == "" {
		return trace.SpanContext{}
	}
	carrier := propagation.MapCarrier{"traceparent": meta.TraceParent}
	if meta.TraceState != "" {
		carrier["tracestate"] = meta.TraceState
	}
	return trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), carrier))
}
