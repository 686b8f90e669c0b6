package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/gpusupply/supply/internal/actor"
)

func TestFormats(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, FormatAuto, "info")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hello", "n", 1)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["msg"] != "hello" {
		t.Fatalf("auto format on a non-terminal: %q (%v), want a JSON line", buf.String(), err)
	}

	buf.Reset()
	l, err = New(&buf, FormatText, "info")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hello", "n", 1)
	if out := buf.String(); !strings.Contains(out, "level=INFO msg=hello n=1") || strings.HasPrefix(out, "{") {
		t.Fatalf("text line %q", out)
	}

	for _, bad := range [][2]string{{"yaml", "info"}, {"text", "loud"}} {
		if _, err := New(&buf, bad[0], bad[1]); err == nil {
			t.Errorf("New(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestTraceID(t *testing.T) {
	var buf bytes.Buffer
	l, _ := New(&buf, FormatJSON, "info")
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	l.With("k", "v").InfoContext(ctx, "inside")
	l.InfoContext(context.Background(), "outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var in, out map[string]any
	json.Unmarshal([]byte(lines[0]), &in)
	json.Unmarshal([]byte(lines[1]), &out)
	if in["trace_id"] != span.SpanContext().TraceID().String() || in["k"] != "v" {
		t.Errorf("line inside a span: %s, want trace_id %s", lines[0], span.SpanContext().TraceID())
	}
	if _, ok := out["trace_id"]; ok {
		t.Errorf("line outside any span has a trace_id: %s", lines[1])
	}
}

func TestRiverRoutineAtDebug(t *testing.T) {
	for _, level := range []string{"info", "debug"} {
		var buf bytes.Buffer
		l, _ := New(&buf, FormatJSON, level)
		r := River(l).With("component", "river")
		r.Info("producer: Producer job counts", "num_jobs_running", 1)
		r.Info("JobRescuer: Ran successfully", "num_jobs_discarded", 0)
		r.Info("River client started")
		out := buf.String()
		routine := strings.Contains(out, "Producer job counts") || strings.Contains(out, "Ran successfully")
		if level == "info" && routine {
			t.Errorf("at info, River's routine lines were logged:\n%s", out)
		}
		if level == "debug" && (!routine || !strings.Contains(out, `"level":"DEBUG","msg":"producer: Producer job counts"`)) {
			t.Errorf("at debug, River's routine lines are missing or not at DEBUG:\n%s", out)
		}
		if !strings.Contains(out, "River client started") {
			t.Errorf("at %s, River's other lines were dropped:\n%s", level, out)
		}
	}
}

// TestActorNamed: a line logged with a request's context names its key.
func TestActorNamed(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, FormatJSON, "info")
	if err != nil {
		t.Fatal(err)
	}
	log.InfoContext(actor.With(context.Background(), actor.Actor{KeyID: 12, Name: "ci"}), "procurement accepted")
	log.InfoContext(context.Background(), "reconciled")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"actor":{"key_id":12,"name":"ci"}`) || strings.Contains(lines[1], "actor") {
		t.Fatalf("log:\n%s\nwant the actor on the first line alone", buf.String())
	}
}
