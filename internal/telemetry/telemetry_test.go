package telemetry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
)

// TestSetupFromEnvironment: with no OTEL_* variables Setup turns nothing
// on; with OTEL_EXPORTER_OTLP_ENDPOINT set it exports spans over OTLP/HTTP
// to that endpoint, by shutdown at the latest.
func TestSetupFromEnvironment(t *testing.T) {
	for _, v := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		t.Setenv(v, "")
	}
	shutdown, err := Setup(context.Background(), "v1")
	if err != nil || Enabled() {
		t.Fatalf("Setup without OTEL_* variables: %v, enabled %v", err, Enabled())
	}
	shutdown(context.Background())

	var posts atomic.Int32
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/traces" {
			posts.Add(1)
		}
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_TRACES_EXPORTER", "zipkin")
	if _, err := Setup(context.Background(), "v1"); err == nil {
		t.Fatal("Setup accepted OTEL_TRACES_EXPORTER=zipkin")
	}
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	shutdown, err = Setup(context.Background(), "v1")
	if err != nil || !Enabled() {
		t.Fatalf("Setup with an endpoint: %v, enabled %v", err, Enabled())
	}
	_, span := otel.Tracer("test").Start(context.Background(), "op")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if posts.Load() == 0 {
		t.Error("no span reached the OTLP endpoint")
	}
}
