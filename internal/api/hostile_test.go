package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gpusupply/supply/internal/apikeys"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/privatekey/privatekeytest"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/supplyapi"
)

// Requests as an attacker or a careless client sends them: every one is
// answered quickly, cheaply and in the contract's shape, and nothing in
// the answer or the log repeats a secret.

// serve answers one request in-process, so that allocations can be
// measured without a network in between.
func (ts *testServer) serve(method, path, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+ts.key)
	w := httptest.NewRecorder()
	ts.api.Handler().ServeHTTP(w, req)
	return w
}

// allocated is how many bytes f allocates (all goroutines; the test
// server is otherwise idle).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// hostileBodies are bodies of about 1 MB built to cost the server far
// more than their size: aliases that expand, values by the hundred
// thousand, nesting, fields that are echoed back.
func hostileBodies() []struct{ name, path, contentType, body string } {
	// The reported case: one anchored 400 KB string repeated 600 times,
	// in a field whose error echoes its input.
	echoed := "s: &s \"" + strings.Repeat("A", 400_000) + "\"\ncompute:\n  gpu_type: [" +
		strings.TrimSuffix(strings.Repeat("*s, ", 600), ", ") + "]\n"
	// The same at 1 MB (2 GB expanded), well under the count of values.
	bigEcho := "s: &s \"" + strings.Repeat("A", 950_000) + "\"\ncompute:\n  gpu_type: [" +
		strings.TrimSuffix(strings.Repeat("*s, ", 2_000), ", ") + "]\n"
	// Billion laughs with fat leaves.
	var laughs strings.Builder
	laughs.WriteString("a: &a [\"" + strings.Repeat("lol", 300_000) + "\"]\n")
	for c := 'b'; c <= 'j'; c++ {
		fmt.Fprintf(&laughs, "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", c, c, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1, c-1)
	}
	laughs.WriteString("compute: {gpu_type: *j}\n")
	return []struct{ name, path, contentType, body string }{
		{"anchored string echoed 600 times", "/get_offers", "application/yaml", echoed},
		{"anchored 1 MB string 2000 times", "/get_offers", "application/yaml", bigEcho},
		{"nested aliases", "/get_offers", "application/yaml", laughs.String()},
		{"a million YAML values", "/get_offers", "application/yaml", "compute: {gpu_type: [" + strings.Repeat("a,", 499_000) + "a]}\n"},
		{"a million YAML list items", "/get_offers", "application/yaml", "compute:\n  gpu_type:\n" + strings.Repeat("  - a\n", 170_000)},
		{"YAML nesting", "/get_offers", "application/yaml", strings.Repeat("[", 500_000) + strings.Repeat("]", 500_000)},
		{"a million JSON values", "/get_offers", "application/json", `{"compute":{"gpu_type":[` + strings.Repeat("0,", 499_000) + `0]}}`},
		{"JSON nesting", "/procure_offer", "application/json", strings.Repeat("[", 500_000) + strings.Repeat("]", 500_000)},
		{"a 1 MB name", "/procure_offer", "application/json",
			`{"offer_id":"` + offerID.String() + `","ssh_public_key":"` + sshKey + `","resource_name":"` + strings.Repeat("n", 1_000_000) + `"}`},
		{"a 1 MB GPU type", "/get_offers", "application/yaml", "compute: {gpu_type: " + strings.Repeat("B", 1_000_000) + "}\n"},
		{"a 1 MB field name", "/get_offers", "application/json", `{"compute":{"gpu_type":"H100"},"` + strings.Repeat("k", 1_000_000) + `":1}`},
	}
}

// TestAmplification: no body of about 1 MB makes the server allocate more
// than 50 MB or take more than a moment of CPU (the process's, GC
// included), and no answer is more than a few
// KiB. Before expansion was budgeted, the first case took seconds and
// hundreds of megabytes, and answered with 240 MB.
func TestAmplification(t *testing.T) {
	ts := newTestServer(t, 1)
	for _, tc := range hostileBodies() {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.body) >= maxBodyBytes {
				t.Fatalf("body of %d bytes is over the limit; the case tests nothing", len(tc.body))
			}
			var w *httptest.ResponseRecorder
			start := cpuTime()
			n := allocated(func() { w = ts.serve(http.MethodPost, tc.path, tc.contentType, []byte(tc.body)) })
			elapsed := cpuTime() - start
			t.Logf("%d bytes: %d in %v of CPU, %.1f MB allocated, %d-byte answer", len(tc.body), w.Code, elapsed, float64(n)/1e6, w.Body.Len())
			if w.Code != http.StatusUnprocessableEntity {
				t.Errorf("status %d, want 422: %.300s", w.Code, w.Body)
			}
			if n > 50<<20 {
				t.Errorf("allocated %.1f MB, want under 50 MB", float64(n)/1e6)
			}
			if elapsed > 2*time.Second {
				t.Errorf("took %v of CPU", elapsed)
			}
			if w.Body.Len() > 8<<10 {
				t.Errorf("answer of %d bytes, want at most 8 KiB", w.Body.Len())
			}
		})
	}
}

// TestEchoIsCut: an input echoed in a 422 is at most 1 KiB and says it
// was cut, however big the field was.
func TestEchoIsCut(t *testing.T) {
	ts := newTestServer(t, 1)
	long := strings.Repeat("é", 100_000)
	r := ts.getOffers(t, "application/json", `{"compute":{"gpu_type":"`+long+`"}}`)
	var res struct{ Detail []ValidationError }
	if err := json.Unmarshal(r.body, &res); err != nil || r.status != 422 || len(res.Detail) != 1 {
		t.Fatalf("%d %.300s: %v", r.status, r.body, err)
	}
	in, _ := res.Detail[0].Input.(string)
	if len(in) > maxEcho+100 || !strings.HasPrefix(in, "éé") || !strings.HasSuffix(in, "…[truncated: 200000 bytes in all]") {
		t.Errorf("echoed input of %d bytes: %.100q…%q", len(in), in, in[max(0, len(in)-60):])
	}
	// An object echoed for a missing field is cut as its JSON.
	r = ts.procure(t, `{"ssh_public_key":"`+sshKey+`","auto_delete_after":"`+strings.Repeat("k", 5000)+`"}`, "")
	if r.status != 422 || len(r.body) > 2*maxEcho || !bytes.Contains(r.body, []byte(`"input":"{\"auto_delete_after\":\"kkkk`)) ||
		!bytes.Contains(r.body, []byte(`[truncated: 5092 bytes in all]`)) {
		t.Errorf("missing offer_id: %d %s", r.status, r.body)
	}
}

// A private key of the kind people paste by mistake (this one was made
// for the test and protects nothing).
const privateKeyPEM = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACCdJvCqeG0vckNL9oifV6uZg5O5/LNsUNJ+aWdx3OHuXwAAAJgAAAAAAAAA
-----END OPENSSH PRIVATE KEY-----`

// TestPrivateKeysAreRefusedNotEchoed: a private key in any field is a 422
// that says so, and neither the answer nor the log contains any of it.
func TestPrivateKeysAreRefusedNotEchoed(t *testing.T) {
	ts := newTestServer(t, 1)
	quoted, _ := json.Marshal(privateKeyPEM)
	keyBody := strings.Split(privateKeyPEM, "\n")[1]
	procure := func(fields string) string {
		return `{"offer_id":"` + offerID.String() + `",` + fields + `}`
	}
	tests := []struct {
		name, path, body, loc string
	}{
		{"as the public key", "/procure_offer", procure(`"ssh_public_key":` + string(quoted)), `["body","ssh_public_key"]`},
		{"as the resource name", "/procure_offer", procure(`"ssh_public_key":"` + sshKey + `","resource_name":` + string(quoted)), `["body","resource_name"]`},
		{"only its body", "/procure_offer", procure(`"ssh_public_key":"` + keyBody + `"`), `["body","ssh_public_key"]`},
		{"with other errors", "/procure_offer", `{"ssh_public_key":` + string(quoted) + `,"resource_name":5}`, `["body","ssh_public_key"]`},
		{"as a field name", "/procure_offer", procure(`"ssh_public_key":"` + sshKey + `",` + string(quoted) + `:1`), `["body"]`},
		{"in a query", "/get_offers", `{"compute":{"gpu_type":["H100",` + string(quoted) + `]}}`, `["body","compute","gpu_type",1]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.provision.answer(provisionAnswers{})
			r := ts.do(t, http.MethodPost, tt.path, "application/json", tt.body, "Bearer "+ts.key)
			wantJSON(t, r, 422, `{"detail":[{"type":"value_error","loc":`+tt.loc+`,"msg":"`+privateKeyMsg+`","input":"`+redacted+`"}]}`)
			if c := ts.provision.lastCall(); c.method != "" {
				t.Fatalf("the request reached the service: %+v", c)
			}
		})
	}
	t.Run("a cloud-config may carry host keys, and is never echoed", func(t *testing.T) {
		config, _ := json.Marshal("#cloud-config\nssh_keys:\n  ed25519_private: |\n" + privateKeyPEM + "\n")
		ts.provision.answer(provisionAnswers{procured: supplyapi.ProcureOfferResponse{OfferID: offerID, Status: supplyapi.ProcureInProgress}})
		if r := ts.procure(t, procure(`"ssh_public_key":"`+sshKey+`","cloud_init":`+string(config)), ""); r.status != 200 {
			t.Fatalf("cloud-config with host keys: %d %s", r.status, r.body)
		}
		r := ts.procure(t, `{"ssh_public_key":"`+sshKey+`","cloud_init":`+string(config)+`}`, "")
		wantJSON(t, r, 422, `{"detail":[{"type":"missing","loc":["body","offer_id"],"msg":"Field required",`+
			`"input":{"ssh_public_key":"<ssh_public_key: 94 bytes, not echoed>","cloud_init":"<cloud_init: 257 bytes, not echoed>"}}]}`)
	})
	ts.log.waitFor(t, "request")
	for _, leak := range []string{"PRIVATE KEY", keyBody[:40], "QyNTUxOQAAACCdJvCqeG0vckNL9oifV6uZg5O5"} {
		if strings.Contains(ts.log.String(), leak) {
			t.Errorf("the log contains %q", leak)
		}
	}
}

// TestPastedKeysAreRefusedNotEchoed: a private key in a form the armour
// search alone misses is refused like the others, and never repeated.
func TestPastedKeysAreRefusedNotEchoed(t *testing.T) {
	ts := newTestServer(t, 1)
	for name, key := range privatekeytest.Forms(t) {
		t.Run(name, func(t *testing.T) {
			quoted, _ := json.Marshal(key)
			ts.provision.answer(provisionAnswers{})
			r := ts.procure(t, `{"offer_id":"`+offerID.String()+`","ssh_public_key":`+string(quoted)+`}`, "")
			wantJSON(t, r, 422, `{"detail":[{"type":"value_error","loc":["body","ssh_public_key"],"msg":"`+privateKeyMsg+`","input":"`+redacted+`"}]}`)
			if c := ts.provision.lastCall(); c.method != "" {
				t.Fatalf("the request reached the service: %+v", c)
			}
		})
	}
}

// TestSecretFieldsAreNotEchoed: whatever fails about ssh_public_key or
// cloud_init, the 422 says what was there without repeating it, also
// when it echoes the body that holds them.
func TestSecretFieldsAreNotEchoed(t *testing.T) {
	ts := newTestServer(t, 1)
	badKey := "ssh-rsa " + strings.Repeat("Q", 1826)
	config := "#cloud-config\nwrite_files:\n- content: token-" + strings.Repeat("s", 70_000) + "\n"
	quotedConfig, _ := json.Marshal(config)
	offer := `"offer_id":"` + offerID.String() + `",`
	tests := []struct {
		name, body string
		refusal    error
		want       string
	}{
		{"a key the service refuses", `{` + offer + `"ssh_public_key":"` + badKey + `"}`,
			&offers.QueryError{Loc: []any{"body", "ssh_public_key"}, Type: "value_error", Msg: "Value error, ssh_public_key is not valid", Input: badKey},
			`[{"type":"value_error","loc":["body","ssh_public_key"],"msg":"Value error, ssh_public_key is not valid","input":"<ssh_public_key: 1834 bytes, not echoed>"}]`},
		{"a cloud-init the service refuses", `{` + offer + `"ssh_public_key":"` + sshKey + `","cloud_init":` + string(quotedConfig) + `}`,
			&offers.QueryError{Loc: []any{"body", "cloud_init"}, Type: "value_error", Msg: "Value error, no", Input: config},
			`[{"type":"value_error","loc":["body","cloud_init"],"msg":"Value error, no","input":"<cloud_init: ` + strconv.Itoa(len(config)) + ` bytes, not echoed>"}]`},
		{"a key that is not a string", `{` + offer + `"ssh_public_key":5}`, nil,
			`[{"type":"string_type","loc":["body","ssh_public_key"],"msg":"Input should be a valid string","input":"<ssh_public_key: 1 byte, not echoed>"}]`},
		{"a cloud-init that is not a string", `{` + offer + `"ssh_public_key":"` + sshKey + `","cloud_init":["` + badKey + `"]}`, nil,
			`[{"type":"string_type","loc":["body","cloud_init"],"msg":"Input should be a valid string","input":"<cloud_init: 1838 bytes, not echoed>"}]`},
		{"the body that holds them", `{"ssh_public_key":"` + badKey + `","cloud_init":"x"}`, nil,
			`[{"type":"missing","loc":["body","offer_id"],"msg":"Field required","input":{"ssh_public_key":"<ssh_public_key: 1834 bytes, not echoed>","cloud_init":"<cloud_init: 1 byte, not echoed>"}}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.provision.answer(provisionAnswers{err: tt.refusal})
			wantJSON(t, ts.procure(t, tt.body, ""), 422, `{"detail":`+tt.want+`}`)
		})
	}
	ts.log.waitFor(t, "request")
	for _, leak := range []string{"QQQQQQQQ", "token-sss"} {
		if strings.Contains(ts.log.String(), leak) {
			t.Errorf("the log contains %q", leak)
		}
	}
}

// TestStrictBodies: what a lenient parser would misread is refused,
// naming the field; what a client of the original service sends is not.
func TestStrictBodies(t *testing.T) {
	ts := newTestServer(t, 1)
	tests := []struct {
		name, path, contentType, body string
		status                        int
		want                          string
	}{
		{"misspelt field", "/get_offers", "application/yaml", "regoin: EU\ncompute: {gpu_type: H100}\n", 422,
			`{"detail":[{"type":"extra_forbidden","loc":["body","regoin"],"msg":"Extra inputs are not permitted; did you mean 'region'?","input":"EU"}]}`},
		{"misspelt nested field", "/get_offers", "application/yaml", "compute: {gpu_type: H100, gpu_cnt: 4}\n", 422,
			`{"detail":[{"type":"extra_forbidden","loc":["body","compute","gpu_cnt"],"msg":"Extra inputs are not permitted; did you mean 'gpu_count'?","input":4}]}`},
		{"unknown field, nothing close", "/get_offers", "application/json", `{"compute":{"gpu_type":"H100"},"colour":"blue"}`, 422,
			`{"detail":[{"type":"extra_forbidden","loc":["body","colour"],"msg":"Extra inputs are not permitted","input":"blue"}]}`},
		{"keys are case-sensitive", "/get_offers", "application/yaml", "compute: {GPU_Type: H100}\n", 422,
			`{"detail":[
				{"type":"extra_forbidden","loc":["body","compute","GPU_Type"],"msg":"Extra inputs are not permitted; did you mean 'gpu_type'?","input":"H100"},
				{"type":"missing","loc":["body","compute","gpu_type"],"msg":"Field required","input":{"GPU_Type":"H100"}}]}`},
		{"octal", "/get_offers", "application/yaml", "compute: {gpu_type: H100, gpu_count: 010}\n", 422,
			`{"detail":[{"type":"int_parsing","loc":["body","compute","gpu_count"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"010"}]}`},
		{"hexadecimal", "/get_offers", "application/yaml", "compute: {gpu_type: H100, gpu_count: 0x1}\n", 422,
			`{"detail":[{"type":"int_parsing","loc":["body","compute","gpu_count"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"0x1"}]}`},
		{"underscores", "/get_offers", "application/yaml", "compute: {gpu_type: H100, gpu_count: 1_0}\n", 422,
			`{"detail":[{"type":"int_parsing","loc":["body","compute","gpu_count"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"1_0"}]}`},
		{"second YAML document", "/get_offers", "application/yaml", "compute: {gpu_type: H100}\n---\nregion: EU\n", 422,
			`{"detail":[{"type":"json_invalid","loc":["body",26],"msg":"YAML decode error","input":{},"ctx":{"error":"line 2: a body is one YAML document; this one has another after ---"}}]}`},
		{"python tag", "/get_offers", "application/yaml", "compute: !!python/object/apply:os.system [id]\n", 422,
			`{"detail":[{"type":"json_invalid","loc":["body",9],"msg":"YAML decode error","input":{},"ctx":{"error":"line 1: tags (!!python/object/apply:os.system) are not supported"}}]}`},
		{"local tag", "/get_offers", "application/yaml", "compute: {gpu_type: !foo H100}\n", 422,
			`{"detail":[{"type":"json_invalid","loc":["body",20],"msg":"YAML decode error","input":{},"ctx":{"error":"line 1: tags (!foo) are not supported"}}]}`},
		{"duplicate JSON key", "/get_offers", "application/json", `{"compute":{"gpu_type":"H100"}, "compute":{"gpu_type":"A100"}}`, 422,
			`{"detail":[{"type":"json_invalid","loc":["body",32],"msg":"JSON decode error","input":{},"ctx":{"error":"duplicate key \"compute\""}}]}`},
		{"duplicate JSON key in procure_offer", "/procure_offer", "application/json", `{"offer_id":"` + offerID.String() + `","offer_id":"` + uuid.NewString() + `"}`, 422,
			`{"detail":[{"type":"json_invalid","loc":["body",51],"msg":"JSON decode error","input":{},"ctx":{"error":"duplicate key \"offer_id\""}}]}`},
		{"int64 overflow", "/get_offers", "application/json", `{"compute":{"gpu_type":"H100","gpu_count":9223372036854775807}}`, 422,
			`{"detail":[{"type":"less_than_equal","loc":["body","compute","gpu_count"],"msg":"Input should be less than or equal to 100000","input":9223372036854775807,"ctx":{"le":100000}}]}`},
		{"beyond int64", "/get_offers", "application/yaml", "compute: {gpu_type: H100, gpu_count: 123456789012345678901234567890}\n", 422,
			`{"detail":[{"type":"less_than_equal","loc":["body","compute","gpu_count"],"msg":"Input should be less than or equal to 100000","input":123456789012345678901234567890,"ctx":{"le":100000}}]}`},
		{"beyond float64", "/get_offers", "application/json", `{"compute":{"gpu_type":"H100","max_price_per_gpu_hour":1e400}}`, 422,
			`{"detail":[{"type":"finite_number","loc":["body","compute","max_price_per_gpu_hour"],"msg":"Input should be a finite number","input":"1e400"}]}`},
		{"unknown field in procure_offer", "/procure_offer", "application/json",
			`{"offer_id":"` + offerID.String() + `","ssh_public_key":"` + sshKey + `","resource_nmae":"x"}`, 422,
			`{"detail":[{"type":"extra_forbidden","loc":["body","resource_nmae"],"msg":"Extra inputs are not permitted; did you mean 'resource_name'?","input":"x"}]}`},
		{"unparseable Content-Type", "/get_offers", ";;;===", "compute: {gpu_type: H100}\n", 415,
			`{"detail":"Unsupported Content-Type \";;;===\": send application/yaml or application/json"}`},
		{"YAML to procure_offer", "/procure_offer", "application/yaml", "offer_id: x\n", 415,
			`{"detail":"Unsupported Content-Type \"application/yaml\": send application/json"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.provision.answer(provisionAnswers{})
			wantJSON(t, ts.do(t, http.MethodPost, tt.path, tt.contentType, tt.body, "Bearer "+ts.key), tt.status, tt.want)
		})
	}

	// What clients of the original service send still works.
	for _, body := range []string{
		"vendor: null\nregion: EU\ncompute: {gpu_type: H100, gpu_count: 8, max_price_per_gpu_hour: 2.5, contract_type: spot, node_count: null}\nnetwork: {supports_cilium: true}\nlimit: 10\n",
		"---\ncompute:\n  gpu_type: H100\n  gpu_count: 1.0\n...\n",
		`{"compute":{"gpu_type":"H100","gpu_count":2e0,"max_price_per_gpu_hour":3}}`,
		"compute:\n  gpu_type: 'H100'\n  gpu_count: +2\n",
	} {
		if r := ts.getOffers(t, "application/yaml", body); r.status != 200 {
			t.Errorf("%q: %d %s", body, r.status, r.body)
		}
	}
	ts.provision.answer(provisionAnswers{procured: supplyapi.ProcureOfferResponse{OfferID: offerID, Status: supplyapi.ProcureInProgress}})
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "", "application/vnd.api+json"} {
		r := ts.do(t, http.MethodPost, "/procure_offer", ct, `{"offer_id":"`+offerID.String()+`","ssh_public_key":"`+sshKey+`","cloud_init":null}`, "Bearer "+ts.key)
		if r.status != 200 {
			t.Errorf("procure_offer as %q: %d %s", ct, r.status, r.body)
		}
	}
}

// rawRequest writes a request by hand on a fresh connection, optionally
// closes the sending side, and returns the status line and body of the
// answer, if any came.
func (ts *testServer) rawRequest(t *testing.T, request string, closeWrite bool) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	if closeWrite {
		conn.(*net.TCPConn).CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestBrokenRequestsAre400: a body that cannot be read whole is the
// client's doing: a 400 in the contract's shape, counted as a 400 and
// logged at debug, never a 500.
func TestBrokenRequestsAre400(t *testing.T) {
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	ts := newTestServerWith(t, 1, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Metrics = reg
	})
	head := "POST /get_offers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ts.key + "\r\nContent-Type: application/yaml\r\n"
	tests := []struct{ name, request, detail string }{
		{"body shorter than Content-Length", head + "Content-Length: 100\r\n\r\ncompute: {}", "unexpected EOF"},
		{"bad chunk size", head + "Transfer-Encoding: chunked\r\n\r\nzz\r\ncompute\r\n0\r\n\r\n", "invalid byte in chunk length"},
		{"truncated chunked body", head + "Transfer-Encoding: chunked\r\n\r\n20\r\ncompute: {gpu", "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := ts.rawRequest(t, tt.request, true)
			if status != http.StatusBadRequest || !strings.HasPrefix(body, `{"detail":"Could not read the request body: `) || !strings.Contains(body, tt.detail) {
				t.Fatalf("answer %d %s, want 400 saying the body could not be read (%s)", status, body, tt.detail)
			}
		})
	}
	t.Run("client hangs up mid-body", func(t *testing.T) {
		conn, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, head+"Content-Length: 1000\r\n\r\ncompute:")
		conn.Close()
	})
	t.Run("client hangs up while it is served", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		req := ts.newRequest(t, http.MethodPost, "/get_offers", "application/yaml", "compute: {gpu_type: slow}\n", "Bearer "+ts.key)
		if _, err := ts.Client().Do(req.WithContext(ctx)); err == nil {
			t.Fatal("the slow search answered")
		}
	})
	counted := func(code string) float64 {
		return requestCountIn(t, reg, "get_offers_get_offers_post", code)
	}
	for deadline := time.Now().Add(2 * time.Second); counted("400") < 5 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	if n := counted("400"); n != 5 {
		t.Errorf("%v requests counted as 400, want 5", n)
	}
	if n := counted("500"); n != 0 {
		t.Errorf("%v requests counted as 500", n)
	}
	rec := logs.waitFor(t, "request")
	if rec["level"] != "DEBUG" || rec["status"] != float64(400) || rec["client_error"] == nil {
		t.Errorf("log record %v, want a debug record with the client's error", rec)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) || strings.Contains(logs.String(), `"level":"INFO"`) {
		t.Errorf("broken requests logged above debug:\n%s", logs.String())
	}
}

// requestCountIn reads supply_http_requests_total for an operation and code.
func requestCountIn(t *testing.T, reg *prometheus.Registry, operation, code string) float64 {
	return counterIn(t, reg, "supply_http_requests_total", map[string]string{"operation": operation, "code": code})
}

// counterIn reads the counter name of reg whose labels include want (0
// when there is none).
func counterIn(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			matched := 0
			for _, l := range m.GetLabel() {
				if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
					matched++
				}
			}
			if matched == len(want) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestHTTPLayerAnswersAreJSON: what ServeMux and the header limit answer
// has the contract's shape too.
func TestHTTPLayerAnswersAreJSON(t *testing.T) {
	ts := newTestServer(t, 1)
	t.Run("redirect of an unclean path", func(t *testing.T) {
		status, body := ts.rawRequest(t, "GET //resources HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false)
		if status != http.StatusTemporaryRedirect || body != `{"detail":"Temporary Redirect to /resources"}` {
			t.Fatalf("%d %s", status, body)
		}
	})
	t.Run("the docs' file server", func(t *testing.T) {
		for path, want := range map[string]string{
			"/docs/..%2f..%2fgo.mod": `{"detail":"Not Found"}`,
			"/docs/%2e%2e%2fdocs.go": `{"detail":"Not Found"}`,
			"/docs/nonexistent.css":  `{"detail":"Not Found"}`,
			"/docs/docsui%2fLICENSE": `{"detail":"Not Found"}`,
		} {
			status, body := ts.rawRequest(t, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false)
			if status < 400 || body != want {
				t.Errorf("%s: %d %s, want %s", path, status, body, want)
			}
		}
	})
	t.Run("header too large", func(t *testing.T) {
		req := ts.newRequest(t, http.MethodGet, "/available_regions", "", "", "Bearer "+ts.key)
		req.Header.Set("X-Padding", strings.Repeat("p", maxHeaderBytes))
		r := ts.send(t, req)
		var res struct{ Detail string }
		if err := json.Unmarshal(r.body, &res); err != nil || r.status != http.StatusRequestHeaderFieldsTooLarge ||
			!strings.HasPrefix(res.Detail, "Request header fields too large (") || !strings.HasSuffix(res.Detail, fmt.Sprintf("; the limit is %d)", maxHeaderBytes)) {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
}

// TestInvalidKeysLimitedPerAddress: an address that keeps sending bad
// keys is slowed down, without a lookup, and other addresses are not.
func TestInvalidKeysLimitedPerAddress(t *testing.T) {
	ts := newTestServerWith(t, 0, func(c *Config) { c.AuthFailureRate, c.AuthFailureBurst = 0.5, 3 })
	send := func(addr, key string) *httptest.ResponseRecorder { return ts.from(addr, key) }
	bad := "sk_live_0000000000000000000000000000000000000000"
	for i := range 3 {
		if w := send("192.0.2.1:1000", bad+strconv.Itoa(i)); w.Code != http.StatusUnauthorized {
			t.Fatalf("bad key %d within the burst: %d %s", i, w.Code, w.Body)
		}
	}
	lookups := ts.lookups
	w := send("192.0.2.1:2000", bad)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "2" ||
		w.Body.String() != `{"detail":"Too many requests with invalid API keys from this address; retry after 2 s"}`+"\n" {
		t.Fatalf("after the burst: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if ts.lookups != lookups {
		t.Errorf("a limited address had a malformed key looked up")
	}
	// A valid key this process has not seen yet (the first request after
	// a restart) is looked up within the process's small budget for such
	// keys, and served: a neighbour's bad keys do not lock it out.
	if w := send("192.0.2.1:2000", ts.key); w.Code != http.StatusOK {
		t.Errorf("a valid key new to the process, from the limited address: %d %s", w.Code, w.Body)
	}
	if w := send("198.51.100.7:1000", ts.key); w.Code != http.StatusOK {
		t.Errorf("another address: %d", w.Code)
	}
	// IPv6 clients are limited by their /64.
	for i := range 3 {
		send(fmt.Sprintf("[2001:db8::%x]:1000", i+1), bad)
	}
	if w := send("[2001:db8::ffff]:1000", bad); w.Code != http.StatusTooManyRequests {
		t.Errorf("the same /64: %d, want 429", w.Code)
	}
	// Requests without a key prove nothing and use no lookups: not counted.
	for range 10 {
		if w := send("203.0.113.9:1000", ""); w.Code != http.StatusUnauthorized {
			t.Fatalf("no key: %d", w.Code)
		}
	}
}

// from sends a request for /available_regions from the TCP peer addr
// with key (none when empty) and any further headers, in process.
func (ts *testServer) from(addr, key string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/available_regions", nil)
	req.RemoteAddr = addr
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	ts.api.Handler().ServeHTTP(w, req)
	return w
}

// guess is a well-formed key that is nobody's.
func guess(t *testing.T) string {
	t.Helper()
	key, _, _, err := apikeys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// TestValidKeyIsServedFromLimitedAddress: one client's bad keys do not
// lock out another at the same address: a key found valid before is
// served from the cache, without a lookup and without counting against
// the address, while a guess from it is still a 429 without a lookup.
func TestValidKeyIsServedFromLimitedAddress(t *testing.T) {
	ts := newTestServerWith(t, 0, func(c *Config) { c.AuthFailureRate, c.AuthFailureBurst = 0.001, 30 })
	if w := ts.from("198.51.100.7:1000", ts.key); w.Code != http.StatusOK {
		t.Fatalf("the valid key elsewhere: %d %s", w.Code, w.Body)
	}
	for i := range 30 {
		if w := ts.from("192.0.2.1:1000", guess(t)); w.Code != http.StatusUnauthorized {
			t.Fatalf("bad key %d within the burst: %d", i, w.Code)
		}
	}
	if w := ts.from("192.0.2.1:1000", guess(t)); w.Code != http.StatusTooManyRequests {
		t.Fatalf("bad key 31: %d, want 429", w.Code)
	}
	lookups := ts.lookups
	for i := range 10 {
		if w := ts.from("192.0.2.1:2000", ts.key); w.Code != http.StatusOK {
			t.Fatalf("valid key %d from the limited address: %d %s", i, w.Code, w.Body)
		}
		if w := ts.from("192.0.2.1:3000", guess(t)); w.Code != http.StatusTooManyRequests {
			t.Fatalf("a guess between them: %d, want 429", w.Code)
		}
	}
	// Guesses from it by the hundred cost the database no more than the
	// process's budget for keys not seen valid (10, and 2 a second), and
	// the valid key, known, none.
	for range 200 {
		ts.from("192.0.2.1:3000", guess(t))
	}
	if n := ts.lookups - lookups; n > 20 {
		t.Errorf("210 guesses from a limited address cost %d lookups, want the budget's 10 or so", n)
	}
}

// TestTrustedProxiesNameTheClient: X-Forwarded-For names the client only
// when the peer is a trusted proxy, and then only by the hops trusted
// proxies appended; the limit on invalid keys counts that client.
func TestTrustedProxiesNameTheClient(t *testing.T) {
	a := New(Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}})
	tests := []struct {
		peer string
		xff  []string
		want string
	}{
		{"203.0.113.9:4000", nil, "203.0.113.9"},
		{"203.0.113.9:4000", []string{"198.51.100.7"}, "203.0.113.9"}, // an untrusted peer's header is ignored
		{"10.0.0.1:4000", nil, "10.0.0.1"},
		{"10.0.0.1:4000", []string{"198.51.100.7"}, "198.51.100.7"},
		{"10.0.0.1:4000", []string{"198.51.100.7, 10.0.0.2"}, "198.51.100.7"},           // two proxies
		{"10.0.0.1:4000", []string{"1.2.3.4, 198.51.100.7, 10.0.0.2"}, "198.51.100.7"},  // the client wrote 1.2.3.4
		{"10.0.0.1:4000", []string{"1.2.3.4", "198.51.100.7,10.0.0.2"}, "198.51.100.7"}, // over two header lines
		{"10.0.0.1:4000", []string{"nope, 10.0.0.2"}, "10.0.0.2"},                       // garbled: the last trusted hop
		{"10.0.0.1:4000", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},                   // all trusted: the farthest
		{"10.0.0.1:4000", []string{"198.51.100.7:5555"}, "198.51.100.7"},                // with a port
		{"10.0.0.1:4000", []string{"[2001:db8:1:2:3::4]:5555"}, "2001:db8:1:2::/64"},    // IPv6 by its /64
		{"[fd00::1]:4000", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},             // mapped
		{"[::ffff:10.0.0.1]:4000", []string{"198.51.100.7"}, "198.51.100.7"},            // a mapped peer
		{"[2001:db8:1:2:3::4]:4000", []string{"198.51.100.7"}, "2001:db8:1:2::/64"},     //
		{"10.0.0.1:4000", []string{"2001:db8:1:2:3::4%eth0"}, "2001:db8:1:2::/64"},      // a zone
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = tt.peer
		for _, v := range tt.xff {
			req.Header.Add("X-Forwarded-For", v)
		}
		if got := a.clientKey(req); got != tt.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", tt.peer, tt.xff, got, tt.want)
		}
	}

	// Two clients behind one trusted proxy are limited apart; without
	// the setting they would be one.
	ts := newTestServerWith(t, 0, func(c *Config) {
		c.AuthFailureRate, c.AuthFailureBurst = 0.001, 3
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	for range 4 {
		ts.from("127.0.0.1:1000", guess(t), "X-Forwarded-For", "198.51.100.7")
	}
	if w := ts.from("127.0.0.1:1000", guess(t), "X-Forwarded-For", "198.51.100.7"); w.Code != http.StatusTooManyRequests {
		t.Errorf("the guessing client: %d, want 429", w.Code)
	}
	if w := ts.from("127.0.0.1:1000", guess(t), "X-Forwarded-For", "198.51.100.8"); w.Code != http.StatusUnauthorized {
		t.Errorf("another client behind the proxy: %d, want 401", w.Code)
	}
	if w := ts.from("127.0.0.1:1000", guess(t), "X-Forwarded-For", "198.51.100.8, 198.51.100.7"); w.Code != http.StatusTooManyRequests {
		t.Errorf("the guessing client naming another before it: %d, want 429", w.Code)
	}
}

type console []standin.ConsoleEntry

func (c console) Instances() []standin.ConsoleEntry { return c }

// TestSandboxConsoleShowsOwnInstances: /sandbox/instances lists only the
// instances of the caller's resources.
func TestSandboxConsoleShowsOwnInstances(t *testing.T) {
	ts := newTestServer(t, 0)
	mine, theirs := uuid.New(), uuid.New()
	RegisterSandbox(ts.api, console{
		{Vendor: "lambda", ID: "i-1", Name: vendors.InstanceName(mine.String()), State: "running", Live: true},
		{Vendor: "lambda", ID: "i-2", Name: vendors.InstanceName(theirs.String()), State: "running", Live: true},
		{Vendor: "lambda", ID: "i-3", Name: "made by hand", State: "running", Live: true},
	})
	ts.provision.answer(provisionAnswers{resources: []supplyapi.ResourceSummary{{ResourceID: mine}}})
	var list []standin.ConsoleEntry
	r := ts.get(t, "/sandbox/instances")
	if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 || len(list) != 1 || list[0].ID != "i-1" {
		t.Fatalf("%d %s, want only i-1", r.status, r.body)
	}
	if c := ts.provision.lastCall(); c.method != "Resources" || c.accountID != testAccount {
		t.Errorf("resources asked as %+v", c)
	}
	ts.provision.answer(provisionAnswers{})
	if r := ts.get(t, "/sandbox/instances"); r.status != 200 || strings.TrimSpace(string(r.body)) != "[]" {
		t.Errorf("an account without resources: %d %s", r.status, r.body)
	}
}

// probeWebhookURLs are the URLs of special-purpose addresses that the
// second hostile-input probe registered with 201: NAT64 and 6to4 forms,
// IPv4-compatible and -translated forms, and blocks that are not globally
// reachable.
var probeWebhookURLs = []string{
	"http://[64:ff9b::a00:1]/",  // 10.0.0.1 behind NAT64
	"http://[64:ff9b::7f00:1]/", // 127.0.0.1 behind NAT64
	"http://[64:ff9b:1::a00:1]/",
	"http://[2002:7f00:1::]/", // 6to4 of 127.0.0.1
	"http://[2002:a00:1::1]/", // 6to4 of 10.0.0.1
	"http://[::127.0.0.1]/",   // IPv4-compatible
	"http://[::ffff:0:a00:1]/",
	"http://[::ffff:0:7f00:1]:8080/x",
	"http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", // Teredo
	"http://[fec0::1]/",
	"http://[100::1]/",
	"http://[2001:db8::1]/",
	"http://[3fff::1]/",
	"http://198.18.0.1/",
	"http://198.19.255.254/",
	"http://192.0.0.8/",
	"http://192.88.99.1/",
	"http://240.0.0.1/",
	"http://255.255.255.255/",
	"https://192.0.2.10/hook",
	"https://203.0.113.5/hook",
}

// TestWebhookURLsMustBeGlobal: each of the probe's URLs is a 422 naming
// the url field, and no webhook is made.
func TestWebhookURLsMustBeGlobal(t *testing.T) {
	ts, _ := newEventsServer(t)
	for _, u := range probeWebhookURLs {
		r := ts.do(t, http.MethodPost, "/webhooks", "application/json", `{"url":"`+u+`"}`, "Bearer "+ts.key)
		var res struct{ Detail []ValidationError }
		if err := json.Unmarshal(r.body, &res); err != nil || r.status != http.StatusUnprocessableEntity || len(res.Detail) != 1 ||
			fmt.Sprint(res.Detail[0].Loc) != "[body url]" || !strings.Contains(res.Detail[0].Msg, "not globally reachable") {
			t.Errorf("%s: %d %s", u, r.status, r.body)
		}
	}
	if r := ts.get(t, "/webhooks"); r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != "[]" {
		t.Errorf("webhooks made: %d %s", r.status, r.body)
	}
}

// TestLoggedClientStringsAreCut: a path or method of any length costs the
// log a line of bounded size, which says it was cut.
func TestLoggedClientStringsAreCut(t *testing.T) {
	ts := newTestServer(t, 0)
	long := strings.Repeat("x", 60_000)
	for _, req := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/"+long, nil),
		httptest.NewRequest(http.MethodGet, "/resources/"+long[:59_990]+"?q="+long[:1000], nil),
		httptest.NewRequest("X"+strings.ToUpper(long[:59_999]), "/available_regions", nil),
	} {
		req.Header.Set("User-Agent", long[:1000])
		ts.api.Handler().ServeHTTP(httptest.NewRecorder(), req)
	}
	lines := strings.Split(strings.TrimSpace(ts.log.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3:\n%.2000s", len(lines), ts.log.String())
	}
	for _, line := range lines {
		if len(line) > 1<<10 || !strings.Contains(line, "[truncated: 60000 bytes in all]") && !strings.Contains(line, "[truncated: 60001 bytes in all]") {
			t.Errorf("log line of %d bytes: %.300s", len(line), line)
		}
	}
	// Nor does a made-up method become a metrics label of its own.
	if n := requestCountIn(t, ts.api.cfg.Metrics, unmatched, "404"); n != 1 {
		t.Errorf("%v unmatched requests counted", n)
	}
	families, _ := ts.api.cfg.Metrics.Gather()
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if len(l.GetValue()) > 1000 {
					t.Errorf("%s has a label of %d bytes", f.GetName(), len(l.GetValue()))
				}
			}
		}
	}
}

// TestDuplicateAuthorizationIs400: two Authorization headers are refused
// whichever of them is valid, on every route, before anyone reads them.
func TestDuplicateAuthorizationIs400(t *testing.T) {
	ts := newTestServer(t, 0)
	bad := "Bearer sk_supply_0000000000000000000000000000000000000000"
	for _, tc := range []struct{ path, first, second string }{
		{"/available_regions", "Bearer " + ts.key, bad},
		{"/available_regions", bad, "Bearer " + ts.key},
		{"/available_regions", "Bearer " + ts.key, "Bearer " + ts.key},
		{"/resources", "Bearer " + ts.key, "Basic dXNlcjpwdw=="},
		{"/healthz", "Bearer " + ts.key, bad},
	} {
		req := ts.newRequest(t, http.MethodGet, tc.path, "", "", tc.first)
		req.Header.Add("Authorization", tc.second)
		wantJSON(t, ts.send(t, req), http.StatusBadRequest, `{"detail":"More than one Authorization header: send exactly one"}`)
	}
	if ts.lookups != 0 {
		t.Errorf("%d keys looked up", ts.lookups)
	}
}

// TestOversizedBodyIs413Before100Continue: a body declared larger than any
// route takes is refused at once: the client that asked whether to send it
// is told no, not "100 Continue".
func TestOversizedBodyIs413Before100Continue(t *testing.T) {
	ts := newTestServer(t, 0)
	for _, path := range []string{"/get_offers", "/procure_offer", "/nowhere"} {
		conn, err := net.Dial("tcp", ts.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "POST "+path+" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+ts.key+
			"\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 10000000000\r\n\r\n")
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 413 ") {
			t.Fatalf("%s: first line %q (%v), want a 413", path, line, err)
		}
		res, err := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader(line), br)), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if res.Header.Get("Content-Type") != "application/json" || string(b) != `{"detail":"Request body too large (limit 1048576 bytes)"}` {
			t.Errorf("%s: %s %s", path, res.Header.Get("Content-Type"), b)
		}
	}
}

// TestWebhookBodiesAreStrict: POST /webhooks refuses unknown fields as
// every other body does, naming the field, with "did you mean".
func TestWebhookBodiesAreStrict(t *testing.T) {
	ts, _ := newEventsServer(t)
	for _, tt := range []struct{ body, want string }{
		{`{"url":"https://example.com/hook","secret":"mine"}`,
			`{"detail":[{"type":"extra_forbidden","loc":["body","secret"],"msg":"Extra inputs are not permitted","input":"mine"}]}`},
		{`{"url":"https://example.com/hook","event_type":["resource.ready"]}`,
			`{"detail":[{"type":"extra_forbidden","loc":["body","event_type"],"msg":"Extra inputs are not permitted; did you mean 'event_types'?","input":["resource.ready"]}]}`},
		{`{"URL":"https://example.com/hook"}`,
			`{"detail":[{"type":"extra_forbidden","loc":["body","URL"],"msg":"Extra inputs are not permitted; did you mean 'url'?","input":"https://example.com/hook"},` +
				`{"type":"missing","loc":["body","url"],"msg":"Field required","input":{"URL":"https://example.com/hook"}}]}`},
	} {
		wantJSON(t, ts.do(t, http.MethodPost, "/webhooks", "application/json", tt.body, "Bearer "+ts.key), http.StatusUnprocessableEntity, tt.want)
	}
	wantJSON(t, ts.get(t, "/webhooks"), http.StatusOK, `[]`)
}

// TestBadLastEventIDSaysWhy: a Last-Event-ID that is not an event id is a
// 422 that says what is wrong with it.
func TestBadLastEventIDSaysWhy(t *testing.T) {
	ts, _ := newEventsServer(t)
	for id, want := range map[string]string{
		"x":  `{"type":"int_parsing","loc":["header","Last-Event-ID"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"}`,
		"-5": `{"type":"greater_than_equal","loc":["header","Last-Event-ID"],"msg":"Input should be greater than or equal to 0","input":"-5","ctx":{"ge":0}}`,
	} {
		req := ts.newRequest(t, http.MethodGet, "/events", "", "", "Bearer "+ts.key)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Last-Event-ID", id)
		wantJSON(t, ts.send(t, req), http.StatusUnprocessableEntity, `{"detail":[`+want+`]}`)
	}
}
