package scaleway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// TestErrorKinds answers a poweron with each of Scaleway's error answers
// over loopback HTTP and checks the kind, status and wait the adapter
// reads from it. Bodies marked recorded are copied from Scaleway's own
// cassettes; the others have the shape of the SDK's type for that error
// (scw/errors.go), since no recording shows them.
func TestErrorKinds(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		status                  int
		header                  http.Header
		want                    error
	}{
		// Recorded: scaleway-sdk-go test-create-server-with-incorrect-body.
		{"invalid_arguments", "application/json", `{"type": "invalid_arguments", "message": "invalid argument(s)", "details": [{"argument_name": "commercial_type", "reason": "required", "help_message": "required key not provided"}]}`,
			400, nil, vendors.ErrInvalid},
		// Recorded: scaleway-cli test-server-terminate-with-block, #38.
		{"not_found", "application/json", `{"type": "not_found", "message": "resource is not found", "resource": "instance_server", "resource_id": "9e858e94-9b0f-4a2e-9f54-40437bd3ff05"}`,
			404, nil, vendors.ErrNotFound},
		// Recorded: scaleway-cli test-all-usage-jobs-run-wait-usage (IAM).
		{"denied_authentication", "application/json", `{"message":"authentication is denied","method":"api_key","reason":"not_found","type":"denied_authentication"}`,
			401, nil, vendors.ErrAuth},
		// Recorded: scaleway-cli test-init-autocomplete-linux-bash (IAM).
		{"permissions_denied", "application/json", `{"details":[{"action":"read","resource":"api_key"}],"message":"insufficient permissions","type":"permissions_denied"}`,
			403, nil, vendors.ErrAuth},
		// The Instance API's older validation answer, as quoted in
		// scaleway/api.scaleway.com issue 41.
		{"invalid_request_error with fields", "application/json", `{"fields": {"image": ["extra keys not allowed"]}, "message": "Validation Error", "type": "invalid_request_error"}`,
			400, nil, vendors.ErrInvalid},
		{"quotas_exceeded", "application/json", `{"type": "quotas_exceeded", "message": "quota(s) exceeded for this resource", "details": [{"resource": "instances_l4_1_24g", "quota": 2, "current": 2}]}`,
			403, nil, vendors.ErrQuota},
		{"invalid_request_error quota", "application/json", `{"type": "invalid_request_error", "message": "Quota exceeded for this resource", "resource": "servers"}`,
			400, nil, vendors.ErrQuota},
		{"out_of_stock", "application/json", `{"type": "out_of_stock", "message": "server type is out of stock", "resource": "instance_server"}`,
			409, nil, vendors.ErrNoCapacity},
		{"transient_state", "application/json", `{"type": "transient_state", "message": "resource is in a transient state", "resource": "instance_server", "resource_id": "9e858e94-9b0f-4a2e-9f54-40437bd3ff05", "current_state": "starting"}`,
			409, nil, vendors.ErrTransient},
		{"precondition resource_still_in_use", "application/json", `{"type": "precondition_failed", "message": "precondition failed", "precondition": "resource_still_in_use", "help_message": "detach it first"}`,
			412, nil, vendors.ErrTransient},
		{"precondition unknown", "application/json", `{"type": "precondition_failed", "message": "precondition failed", "precondition": "unknown_precondition", "help_message": "stop the server first"}`,
			400, nil, vendors.ErrInvalid},
		{"locked", "application/json", `{"type": "locked", "message": "resource is locked", "resource": "instance_server", "resource_id": "9e858e94-9b0f-4a2e-9f54-40437bd3ff05"}`,
			403, nil, vendors.ErrInvalid},
		{"resource_expired", "application/json", `{"type": "resource_expired", "message": "resource is expired", "resource": "instance_server", "resource_id": "9e858e94-9b0f-4a2e-9f54-40437bd3ff05", "expired_since": "2026-01-02T03:04:05Z"}`,
			410, nil, vendors.ErrInvalid},
		{"unknown_resource naming a UUID", "application/json", `{"type": "unknown_resource", "message": "\"9e858e94-9b0f-4a2e-9f54-40437bd3ff05\" not found"}`,
			404, nil, vendors.ErrNotFound},
		// The SDK reads this one as a nil *ResourceNotFoundError.
		{"unknown_resource naming nothing", "application/json", `{"type": "unknown_resource", "message": "server not found"}`,
			404, nil, vendors.ErrNotFound},
		{"429", "application/json", `{"type": "too_many_requests", "message": "rate limit exceeded"}`,
			429, http.Header{"Retry-After": {"30"}}, vendors.ErrRateLimited},
		{"server error", "application/json", `{"type": "server_error", "message": "Internal error"}`,
			500, nil, vendors.ErrTransient},
		{"gateway page", "text/html", `<html><body>502 Bad Gateway</body></html>`,
			502, nil, vendors.ErrTransient},
		{"error body not JSON", "application/json", `{"type": "invalid_arg`,
			400, nil, vendors.ErrInvalid},
		{"garbled success", "application/json", `{"task": {"id": `,
			202, nil, vendors.ErrTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, vs := range tt.header {
					w.Header()[k] = vs
				}
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			a := New(Config{APIKey: testKey, BaseURL: srv.URL, Logger: slog.New(slog.DiscardHandler)})
			err := a.poweron(context.Background(), "fr-par-1", "9e858e94-9b0f-4a2e-9f54-40437bd3ff05")
			var ve *vendors.Error
			if !errors.As(err, &ve) || ve.Kind != tt.want || ve.Status != tt.status || ve.Message == "" {
				t.Fatalf("answer %d %s: %#v, want a %v of status %d with a message", tt.status, tt.body, err, tt.want, tt.status)
			}
			if want := vendors.ParseRetryAfter(tt.header.Get("Retry-After")); ve.RetryAfter != want {
				t.Errorf("retry after %v, want %v", ve.RetryAfter, want)
			}
		})
	}
}

// decoyMessages rewrites the message of every error the stand-in sends
// to decoy, keeping its type and fields: what the adapter then decides
// can only come from those.
func decoyMessages(decoy string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			var env map[string]any
			if rec.Code >= 400 && json.Unmarshal(body, &env) == nil {
				env["message"] = decoy
				body, _ = json.Marshal(env)
			}
			for k, vs := range rec.Header() {
				w.Header()[k] = vs
			}
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	}
}

// TestErrorKindsIgnoreWords has the stand-in refuse calls for quota,
// stock and invalid arguments, each with the message of another kind of
// error: the adapter still reads each by its type.
func TestErrorKindsIgnoreWords(t *testing.T) {
	ctx := context.Background()
	create := func(zone, typ string) func(t *testing.T, f *fixture) error {
		return func(t *testing.T, f *fixture) error {
			_, err := f.A.Create(ctx, createRequest(t, zone, typ))
			return err
		}
	}
	tests := []struct {
		name, decoy string
		call        func(t *testing.T, f *fixture) error
		want        error
	}{
		{"quota", "server type is out of stock", func(t *testing.T, f *fixture) error {
			f.SI.SetServerQuota(1)
			if err := create("fr-par-2", "L4-1-24G")(t, f); err != nil {
				t.Fatal(err)
			}
			return create("fr-par-2", "L4-1-24G")(t, f)
		}, vendors.ErrQuota},
		{"out of stock", "quota(s) exceeded for this resource", create("fr-par-1", "L4-1-24G"), vendors.ErrNoCapacity},
		{"invalid arguments", "resource is not found", func(t *testing.T, f *fixture) error {
			f.A.zones = []string{"fr-par-3"} // a zone the stand-in does not serve
			_, err := f.A.Catalog(ctx)
			return err
		}, vendors.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup.Serve(t, standin.Options{BootTime: time.Second}, decoyMessages(tt.decoy))
			err := tt.call(t, f)
			var ve *vendors.Error
			if !errors.As(err, &ve) || ve.Kind != tt.want || !strings.Contains(ve.Message, tt.decoy) {
				t.Errorf("%v, want %v carrying the stand-in's message %q", err, tt.want, tt.decoy)
			}
		})
	}
}

// TestStandInRefusesUnknownFields sends the stand-in bodies with a key
// the SDK's request type does not have, at the top and nested: each is
// Scaleway's 400 invalid_arguments naming the key, and nothing is made.
func TestStandInRefusesUnknownFields(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: time.Second}, nil)
	image := imageID(DefaultImage, "fr-par-2")
	tests := []struct{ name, method, path, body, field string }{
		{"create", http.MethodPost, "/instance/v1/zones/fr-par-2/servers",
			`{"name":"x","commercial_type":"L4-1-24G","image":"` + image + `","project":"` + testProject + `","flavour":"L4"}`, "flavour"},
		{"create volume", http.MethodPost, "/instance/v1/zones/fr-par-2/servers",
			`{"name":"x","commercial_type":"L4-1-24G","image":"` + image + `","project":"` + testProject + `","volumes":{"0":{"size":1,"volume_type":"sbs_volume","iops":5000}}}`, "iops"},
		{"action", http.MethodPost, "/instance/v1/zones/fr-par-2/servers/" + image + "/action", `{"action":"poweron","force":true}`, "force"},
		{"volume update", http.MethodPatch, "/block/v1alpha1/zones/fr-par-2/volumes/" + image, `{"name":"x","labels":["y"]}`, "labels"},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest(tt.method, f.Srv.URL+tt.path, strings.NewReader(tt.body))
		r.Header.Set("X-Auth-Token", testKey)
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var env errorEnvelope
		json.Unmarshal(body, &env)
		if resp.StatusCode != http.StatusBadRequest || env.Type != "invalid_arguments" || len(env.Details) != 1 || env.Details[0].ArgumentName != tt.field {
			t.Errorf("%s with %q: %d %s, want 400 invalid_arguments naming it", tt.name, tt.field, resp.StatusCode, body)
		}
	}
	if n := len(f.SI.Instances()); n != 0 {
		t.Errorf("refused creates made %d servers", n)
	}
	// The same body without the stray key is accepted.
	ok := strings.Replace(tests[0].body, `,"flavour":"L4"`, "", 1)
	r, _ := http.NewRequest(http.MethodPost, f.Srv.URL+tests[0].path, bytes.NewReader([]byte(ok)))
	r.Header.Set("X-Auth-Token", testKey)
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("a create with known keys only: %d, want 201", resp.StatusCode)
	}
}

// TestUnfinishedLaunchLeavesNoVolume fails the root volume's naming, so
// the launch stops with a stopped server whose volume is still named
// after its image; terminating that server still finds and deletes it.
func TestUnfinishedLaunchLeavesNoVolume(t *testing.T) {
	f := setup.Serve(t, standin.Options{BootTime: 200 * time.Millisecond}, nil)
	ctx := context.Background()
	f.SI.Faults().Add(standin.Rule{Method: http.MethodPatch, PathPrefix: "/block/", Status: 503, Times: 4})
	req := createRequest(t, "fr-par-2", "L40S-1-48G")
	if _, err := f.A.Create(ctx, req); !errors.Is(err, vendors.ErrTransient) {
		t.Fatalf("create whose volume could not be named: %v, want ErrTransient", err)
	}
	list, err := f.A.List(ctx)
	if err != nil || len(list) != 1 || list[0].State != vendors.StateStopped {
		t.Fatalf("List = %+v, %v; want the stopped server", list, err)
	}
	if err := f.A.Terminate(ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, f.A, list[0].ID, vendortest.Gone)
	if entries := f.SI.Instances(); len(entries) != 1 || entries[0].Live {
		t.Errorf("after terminate: %+v, want nothing billing", entries)
	}
}
