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
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	block "github.com/scaleway/scaleway-sdk-go/api/block/v1alpha1"
	"github.com/scaleway/scaleway-sdk-go/api/instance/v1"
	"github.com/scaleway/scaleway-sdk-go/scw"
	"go.yaml.in/yaml/v3"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// The tests in this file replay the real Scaleway traffic that Scaleway's
// own test suites recorded (go-vcr cassettes in ../shared/vendor-specs/
// scaleway): the adapter must send what the recordings sent and
// understand what they answered, and the stand-in must answer the same
// calls with the same shapes.

// cassette is a go-vcr v2 recording.
type cassette struct {
	Interactions []interaction `yaml:"interactions"`
}

type interaction struct {
	ID      int `yaml:"id"`
	Request struct {
		Method  string              `yaml:"method"`
		URL     string              `yaml:"url"`
		Body    string              `yaml:"body"`
		Headers map[string][]string `yaml:"headers"`
	} `yaml:"request"`
	Response struct {
		Code    int                 `yaml:"code"`
		Body    string              `yaml:"body"`
		Headers map[string][]string `yaml:"headers"`
	} `yaml:"response"`
}

// loadCassette reads vendor-specs/scaleway/<name>.cassette.yaml (skipped
// or failed, as vendortest.SpecPath says, when it is not there).
func loadCassette(t *testing.T, name string) cassette {
	t.Helper()
	return readCassette(t, vendortest.SpecPath(t, filepath.Join("scaleway", name+".cassette.yaml")))
}

// rootVolumeCassette is the recording kept in testdata (see README.md
// there): a create with an SBS root volume of a given size, then a Block
// API PATCH of that volume.
const rootVolumeCassette = "testdata/test-create-server-volumes-create-sbs-root-volume-with-iops.cassette.yaml"

func readCassette(t *testing.T, path string) cassette {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read recorded Scaleway traffic: %v", err)
	}
	var c cassette
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return c
}

// pick returns the interactions with the given ids, in that order.
func (c cassette) pick(t *testing.T, ids ...int) []interaction {
	t.Helper()
	var out []interaction
	for _, id := range ids {
		i := slices.IndexFunc(c.Interactions, func(it interaction) bool { return it.ID == id })
		if i < 0 {
			t.Fatalf("cassette has no interaction %d", id)
		}
		out = append(out, c.Interactions[i])
	}
	return out
}

// sent is one request the adapter made to the replay server.
type sent struct {
	method, path, query, contentType string
	body                             []byte
}

// replay serves recorded answers over loopback HTTP: each request gets the
// next unserved interaction with the same method, path and query. A
// request the recording does not have fails the test.
type replay struct {
	t    *testing.T
	srv  *httptest.Server
	mu   sync.Mutex
	left []interaction
	got  []sent
}

func newReplay(t *testing.T, its []interaction) *replay {
	rp := &replay{t: t, left: slices.Clone(its)}
	rp.srv = httptest.NewServer(http.HandlerFunc(rp.serve))
	t.Cleanup(rp.srv.Close)
	return rp
}

// sdkMetadata is what api.scaleway.com answers on GET /metadata, which
// scaleway-sdk-go v1.39 reads (without credentials) on its first server
// listing; the recordings predate it. The values are those the SDK's live
// test expects (scw/client_test.go, TestClientGetAPIMetadata).
const sdkMetadata = `{"platform":"external","partition":"scw","domain":"scw.eu"}`

func (rp *replay) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/metadata" {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, sdkMetadata)
		return
	}
	body, _ := io.ReadAll(r.Body)
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.got = append(rp.got, sent{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), body})
	if r.Header.Get("X-Auth-Token") != "replay-secret" {
		rp.t.Errorf("%s %s: X-Auth-Token %q not sent", r.Method, r.URL.Path, r.Header.Get("X-Auth-Token"))
	}
	for i, it := range rp.left {
		u, err := url.Parse(it.Request.URL)
		if err != nil || it.Request.Method != r.Method || u.Path != r.URL.Path || !sameQuery(u.Query(), r.URL.Query()) {
			continue
		}
		rp.left = append(rp.left[:i], rp.left[i+1:]...)
		for k, vs := range it.Response.Headers {
			if k != "Content-Length" {
				w.Header()[k] = vs
			}
		}
		w.WriteHeader(it.Response.Code)
		io.WriteString(w, it.Response.Body)
		return
	}
	rp.t.Errorf("%s %s?%s: not in the recording", r.Method, r.URL.Path, r.URL.RawQuery)
	w.WriteHeader(http.StatusTeapot)
}

func sameQuery(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, vs := range a {
		if !slices.Equal(vs, b[k]) {
			return false
		}
	}
	return true
}

// requests returns what the adapter sent, in order.
func (rp *replay) requests() []sent {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return slices.Clone(rp.got)
}

// checkSent asserts the adapter sent exactly the recorded requests: same
// method, path and query, the recorded content type, and a JSON body with
// the recorded keys at every level, each with the recorded kind of value.
// unrecorded names, by interaction id, the keys one side may have without
// the other: fields the SDK documents that the recording's client did not
// use, or that it used and the adapter does not.
func checkSent(t *testing.T, rp *replay, its []interaction, unrecorded map[int][]string) {
	t.Helper()
	got := rp.requests()
	if len(got) != len(its) {
		t.Fatalf("adapter sent %d requests, the recording has %d: %+v", len(got), len(its), got)
	}
	for i, it := range its {
		u, _ := url.Parse(it.Request.URL)
		g := got[i]
		if g.method != it.Request.Method || g.path != u.Path || !sameQuery(u.Query(), mustQuery(g.query)) {
			t.Errorf("request %d: sent %s %s?%s, recorded %s %s", i, g.method, g.path, g.query, it.Request.Method, it.Request.URL)
		}
		if want := first(it.Request.Headers["Content-Type"]); want != "" && g.contentType != want {
			t.Errorf("%s %s: content type %q, recorded %q", g.method, g.path, g.contentType, want)
		}
		if it.Request.Body == "" {
			continue
		}
		if first(it.Request.Headers["Content-Type"]) != "application/json" {
			if string(g.body) == "" {
				t.Errorf("%s %s: no body sent", g.method, g.path)
			}
			continue
		}
		var want, have any
		if err := json.Unmarshal([]byte(it.Request.Body), &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(g.body, &have); err != nil {
			t.Errorf("%s %s: body is not JSON: %s", g.method, g.path, g.body)
			continue
		}
		wantPaths, havePaths := jsonPaths("", want, map[string]string{}), jsonPaths("", have, map[string]string{})
		allowed := func(p string) bool {
			return slices.ContainsFunc(unrecorded[it.ID], func(u string) bool {
				return p == u || strings.HasPrefix(p, u+".") || strings.HasPrefix(p, u+"[")
			})
		}
		for p, kind := range wantPaths {
			if havePaths[p] != kind && !allowed(p) {
				t.Errorf("%s %s: body field %s is %q, recorded %q (sent %s)", g.method, g.path, p, havePaths[p], kind, g.body)
			}
		}
		for p := range havePaths {
			if _, ok := wantPaths[p]; !ok && !allowed(p) {
				t.Errorf("%s %s: body field %s is not in the recording (sent %s)", g.method, g.path, p, g.body)
			}
		}
	}
}

// jsonPaths adds every key path of v ("volumes.0.size", "tags[]") with the
// kind of its value to paths.
func jsonPaths(prefix string, v any, paths map[string]string) map[string]string {
	if prefix != "" {
		paths[prefix] = jsonKind(v)
	}
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			jsonPaths(strings.TrimPrefix(prefix+"."+k, "."), e, paths)
		}
	case []any:
		for _, e := range v {
			jsonPaths(prefix+"[]", e, paths)
		}
	}
	return paths
}

func mustQuery(raw string) url.Values {
	q, _ := url.ParseQuery(raw)
	return q
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	}
	return "object"
}

// replayAdapter points an adapter at a replay of its.
func replayAdapter(t *testing.T, its []interaction, c Config) (*Adapter, *replay) {
	rp := newReplay(t, its)
	c.APIKey, c.BaseURL, c.Logger = "replay-secret", rp.srv.URL, slog.New(slog.DiscardHandler)
	c.HTTP = &http.Client{Timeout: 2 * time.Second}
	return New(c), rp
}

func TestReplayCatalog(t *testing.T) {
	its := loadCassette(t, "scaleway-cli/test-server-type-list-on-fr-par1").pick(t, 1, 2, 3, 4, 5, 6)
	a, rp := replayAdapter(t, its, Config{Zones: []string{"fr-par-1"}})
	items, err := a.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkSent(t, rp, its, nil)
	byType := map[string]vendors.CatalogItem{}
	for _, it := range items {
		byType[it.InstanceType] = it
		if _, ok := gpus.GPUs().Lookup(it.GPUName); !ok {
			t.Errorf("%s: recorded GPU name %q does not resolve", it.InstanceType, it.GPUName)
		}
		if it.Country != "FR" || it.Region != "fr-par-1" {
			t.Errorf("%s: zone %s country %s", it.InstanceType, it.Region, it.Country)
		}
	}
	if len(items) != 5 {
		t.Errorf("recorded catalog gave %d GPU items, want the 4 L4 types and RENDER-S: %v", len(items), byType)
	}
	for _, name := range []string{"L4-1-24G", "L4-2-24G", "L4-4-24G", "L4-8-24G"} {
		it := byType[name]
		if it.Available || it.Stock != 0 || it.GPUName != "L4" {
			t.Errorf("%s is recorded in shortage: %+v", name, it)
		}
	}
	l4 := byType["L4-1-24G"]
	diskUSD := roundPrice(DefaultBootDiskGB * blockEURPerGBMonth / hoursPerMonth * DefaultEURToUSD)
	if want := roundPrice(0.7875*DefaultEURToUSD + diskUSD); l4.PricePerHour != want || l4.VCPUs != 8 || l4.MemoryGB != 48 || l4.GPUCount != 1 {
		t.Errorf("L4-1-24G: %+v, want %v USD/h, 8 vCPUs, 48 GB", l4, want)
	}
	if r := byType["RENDER-S"]; !r.Available || r.Stock != -1 || r.GPUName != "Tesla P100-PCIE-16GB" {
		t.Errorf("RENDER-S is recorded available: %+v", r)
	}
}

const (
	recordedProject = "fa1e3217-dc80-42ac-85c3-3f034b78b552"
	recordedServer  = "31e95279-476a-4423-b65f-223e675dd222"
)

func TestReplayCreatePowerOnGet(t *testing.T) {
	// Image lookup, create, poweron, a GET while starting and one running,
	// the DELETE of the stopped server and of its SBS volume.
	its := loadCassette(t, "scaleway-cli/test-create-server-ips-run-with-dynamic-ip").pick(t, 2, 4, 5, 6, 9, 22, 25)
	a, rp := replayAdapter(t, its, Config{ProjectID: recordedProject, Image: "ubuntu_jammy", Zones: []string{"fr-par-1"}})
	ctx := context.Background()
	image, err := a.resolveImage(ctx, "fr-par-1", "DEV1-S")
	if err != nil || image != "6d3c053e-c728-4294-b23a-560b62a4d592" {
		t.Fatalf("resolved image %q, %v", image, err)
	}
	req := vendors.CreateRequest{ResourceID: "0b7b2e6a-7a1e-4b53-9f4e-2a3c5d6e7f80", InstanceType: "DEV1-S", Region: "fr-par-1"}
	srv, err := a.createServer(ctx, a.createRequest(req, image, ""))
	if err != nil {
		t.Fatal(err)
	}
	if in := a.instance(srv); in.ID != "fr-par-1/"+recordedServer || in.State != vendors.StateStopped || srv.Volumes["0"].VolumeType != instance.VolumeServerVolumeTypeSbsVolume {
		t.Errorf("recorded create parsed as %+v (volumes %v)", in, srv.Volumes)
	}
	if err := a.poweron(ctx, "fr-par-1", recordedServer); err != nil {
		t.Fatal(err)
	}
	starting, err := a.Get(ctx, "fr-par-1/"+recordedServer)
	if err != nil || starting.State != vendors.StatePending || starting.VendorState != "starting allocating node" {
		t.Errorf("recorded starting server: %+v, %v", starting, err)
	}
	up, err := a.Get(ctx, "fr-par-1/"+recordedServer)
	if err != nil || up.State != vendors.StateRunning || up.ExternalIP != "51.15.229.243" || up.SSHPort != 22 || up.CreatedAt.IsZero() {
		t.Errorf("recorded running server: %+v, %v", up, err)
	}
	if err := a.deleteServer(ctx, "fr-par-1", recordedServer); err != nil {
		t.Errorf("recorded server delete: %v", err)
	}
	if err := a.deleteVolume(ctx, "fr-par-1", "af999234-a333-42dd-b803-dfed3a23c728"); err != nil {
		t.Errorf("recorded volume delete: %v", err)
	}
	// The root volume and tags this recording's create did not ask for
	// are recorded in rootVolumeCassette and in the CLI's tag cassettes.
	checkSent(t, rp, its, map[int][]string{4: {"volumes", "tags"}})
}

func TestReplayCreateWithRootVolume(t *testing.T) {
	// Image lookup, a create with a 20 GB SBS root volume, the PATCH of
	// that volume found in the server's volumes["0"], the DELETE of the
	// stopped server and of its volume.
	const rootVolume = "d0920d75-fb66-4ed0-b1d9-998493abe399"
	its := readCassette(t, rootVolumeCassette).pick(t, 2, 4, 5, 10, 13)
	a, rp := replayAdapter(t, its, Config{ProjectID: recordedProject, Image: "ubuntu_jammy", BootDiskGB: 20})
	ctx := context.Background()
	image, err := a.resolveImage(ctx, "fr-par-1", "DEV1-S")
	if err != nil {
		t.Fatal(err)
	}
	req := vendors.CreateRequest{ResourceID: "0b7b2e6a-7a1e-4b53-9f4e-2a3c5d6e7f80", InstanceType: "DEV1-S", Region: "fr-par-1"}
	srv, err := a.createServer(ctx, a.createRequest(req, image, ""))
	if err != nil {
		t.Fatal(err)
	}
	if root := srv.Volumes["0"]; root == nil || root.ID != rootVolume || root.VolumeType != instance.VolumeServerVolumeTypeSbsVolume {
		t.Fatalf("recorded root volume parsed as %+v", root)
	}
	// The recording's server was not created by supply: give it our tag,
	// as our create would have.
	srv.Tags = append(srv.Tags, resourceTag(req.ResourceID))
	if err := a.claimRootVolume(ctx, srv); err != nil {
		t.Errorf("recorded root volume PATCH: %v", err)
	}
	if err := a.deleteServer(ctx, "fr-par-1", srv.ID); err != nil {
		t.Errorf("recorded server delete: %v", err)
	}
	if err := a.deleteVolume(ctx, "fr-par-1", rootVolume); err != nil {
		t.Errorf("recorded volume delete: %v", err)
	}
	// The recording's PATCH set the IOPS; ours sets the name and tags,
	// which the SDK's UpdateVolumeRequest documents but no recording
	// shows. Our create adds its tags (recorded: CLI tag cassettes).
	checkSent(t, rp, its, map[int][]string{4: {"tags"}, 5: {"perf_iops", "name", "tags"}})
	if got := rp.requests()[2].body; !bytes.Contains(got, []byte(`"name":"`+vendors.InstanceName(req.ResourceID)+`"`)) || !bytes.Contains(got, []byte(resourceTag(req.ResourceID))) {
		t.Errorf("root volume PATCH %s does not name and tag it after the resource", got)
	}
}

func TestReplayUserData(t *testing.T) {
	its := loadCassette(t, "scaleway-cli/test-user-data-file-upload-on-cloud-init").pick(t, 5)
	a, rp := replayAdapter(t, its, Config{})
	if err := a.setCloudInit(context.Background(), "fr-par-1", "9c825fab-5c7c-48db-a9e2-d32a51218714", "cloud-init file content"); err != nil {
		t.Fatal(err)
	}
	checkSent(t, rp, its, nil)
	if got := rp.requests()[0]; string(got.body) != its[0].Request.Body {
		t.Errorf("user data sent %q, recorded %q", got.body, its[0].Request.Body)
	}
}

func TestReplayTerminate(t *testing.T) {
	// A running server without a public IP (dynamic IP not asked), its
	// terminate, the GET while terminating, the 404 once gone, and the
	// delete of a detached SBS volume and its 404 afterwards.
	const server = "9e858e94-9b0f-4a2e-9f54-40437bd3ff05"
	its := loadCassette(t, "scaleway-cli/test-server-terminate-with-block").pick(t, 11, 36, 37, 38, 29)
	a, rp := replayAdapter(t, its, Config{})
	ctx := context.Background()
	if err := a.Terminate(ctx, "fr-par-1/"+server); err != nil {
		t.Fatal(err)
	}
	if in, err := a.Get(ctx, "fr-par-1/"+server); err != nil || in.State != vendors.StateTerminating {
		t.Errorf("recorded terminating server: %+v, %v", in, err)
	}
	_, err := a.getServer(ctx, "fr-par-1", server)
	var ve *vendors.Error
	if !errors.As(err, &ve) || !errors.Is(err, vendors.ErrNotFound) || ve.Status != http.StatusNotFound {
		t.Errorf("recorded 404: %v", err)
	}
	if err := a.deleteVolume(ctx, "fr-par-1", "dd06ebd7-8dc4-4e0c-8e76-6d4277bea5a5"); err != nil {
		t.Errorf("recorded volume delete: %v", err)
	}
	checkSent(t, rp, its, nil)
	running := loadCassette(t, "scaleway-cli/test-server-terminate-with-block").pick(t, 11)
	var resp instance.GetServerResponse
	if err := json.Unmarshal([]byte(running[0].Response.Body), &resp); err != nil {
		t.Fatal(err)
	}
	if st := state(resp.Server); resp.Server.State != instance.ServerStateRunning || st != vendors.StatePending {
		t.Errorf("a running server without a public IP maps to %s, want pending", st)
	}
}

func TestReplayErrors(t *testing.T) {
	its := loadCassette(t, "scaleway-sdk-go/test-create-server-with-incorrect-body").pick(t, 0)
	a, rp := replayAdapter(t, its, Config{})
	project := "105bdce1-64c0-48ab-899d-868455867ecf"
	_, err := a.createServer(context.Background(), &instance.CreateServerRequest{Zone: "fr-par-1", Name: "srv-intelligent-bohr", Project: &project})
	var ve *vendors.Error
	if !errors.As(err, &ve) || !errors.Is(err, vendors.ErrInvalid) || ve.Status != http.StatusBadRequest ||
		!strings.Contains(err.Error(), "commercial_type") || !strings.Contains(err.Error(), "volumes") {
		t.Errorf("recorded invalid_arguments: %v, want ErrInvalid (400) naming the arguments", err)
	}
	checkSent(t, rp, its, nil)
	gone := loadCassette(t, "scaleway-cli/test-server-terminate-with-block").pick(t, 39)
	a, _ = replayAdapter(t, gone, Config{})
	err = a.call(context.Background(), "get volume", true, func(opts ...scw.RequestOption) error {
		_, err := a.volumes.GetVolume(&block.GetVolumeRequest{Zone: "fr-par-1", VolumeID: "3897604f-195b-4592-91fb-6253b41b1565"}, opts...)
		return err
	})
	if !errors.Is(err, vendors.ErrNotFound) {
		t.Errorf("recorded Block 404: %v, want ErrNotFound", err)
	}
}

// TestStandInMatchesRecordings makes the recorded calls against the
// stand-in and checks that its answers have the recorded statuses and
// shapes: the same keys at every level.
func TestStandInMatchesRecordings(t *testing.T) {
	types := loadCassette(t, "scaleway-cli/test-server-type-list-on-fr-par1")
	life := loadCassette(t, "scaleway-cli/test-create-server-ips-run-with-dynamic-ip")
	term := loadCassette(t, "scaleway-cli/test-server-terminate-with-block")
	bad := loadCassette(t, "scaleway-sdk-go/test-create-server-with-incorrect-body")
	udata := loadCassette(t, "scaleway-cli/test-user-data-file-upload-on-cloud-init")

	f := setup.Serve(t, standin.Options{BootTime: 200 * time.Millisecond}, nil)
	call := func(method, path, contentType, body string) (int, []byte) {
		t.Helper()
		r, _ := http.NewRequest(method, f.Srv.URL+path, strings.NewReader(body))
		r.Header.Set("X-Auth-Token", testKey)
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	check := func(what string, rec interaction, status int, got []byte, pick func(any) any) {
		t.Helper()
		if status != rec.Response.Code {
			t.Errorf("%s: status %d, recorded %d: %s", what, status, rec.Response.Code, got)
			return
		}
		if rec.Response.Body == "" {
			return
		}
		var want, have any
		if err := json.Unmarshal([]byte(rec.Response.Body), &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &have); err != nil {
			t.Errorf("%s: answer is not JSON: %s", what, got)
			return
		}
		sameKeys(t, what, pick(want), pick(have))
	}
	whole := func(v any) any { return v }
	entry := func(name string) func(any) any {
		return func(v any) any { return dig(v, "servers", name) }
	}

	status, body := call("GET", "/instance/v1/zones/fr-par-1/products/servers?page=1", "", "")
	check("server type L4-1-24G", types.Interactions[1], status, body, entry("L4-1-24G"))
	status, body = call("GET", "/instance/v1/zones/fr-par-1/products/servers/availability?page=1", "", "")
	check("availability of L4-1-24G", types.Interactions[4], status, body, entry("L4-1-24G"))
	if !bytes.Contains(body, []byte(`"L4-1-24G":{"availability":"shortage"}`)) {
		t.Errorf("the stand-in should have fr-par-1's L4 in shortage, as recorded: %s", body)
	}
	status, body = call("GET", "/marketplace/v2/local-images?image_label="+DefaultImage+"&order_by=type_asc&type=instance_sbs&zone=fr-par-2", "", "")
	check("local images", life.Interactions[2], status, body, whole)

	var images localImageList
	json.Unmarshal(body, &images)
	// The create the SDK sends for the adapter, as rootVolumeCassette
	// recorded it but for the type and a dynamic IP.
	rootBody := readCassette(t, rootVolumeCassette)
	createBody := strings.NewReplacer(`"DEV1-S"`, `"L4-1-24G"`, "6d3c053e-c728-4294-b23a-560b62a4d592", images.LocalImages[0].ID,
		`"dynamic_ip_required":false`, `"dynamic_ip_required":true`).Replace(rootBody.Interactions[4].Request.Body)
	status, body = call("POST", "/instance/v1/zones/fr-par-2/servers", "application/json", createBody)
	check("create", life.Interactions[4], status, body, whole)
	var created serverEnvelope
	json.Unmarshal(body, &created)
	path := "/instance/v1/zones/fr-par-2/servers/" + created.Server.ID
	volume := "/block/v1alpha1/zones/fr-par-2/volumes/" + created.Server.Volumes["0"].ID
	status, body = call("PATCH", volume, "application/json", rootBody.Interactions[5].Request.Body)
	if status != http.StatusBadRequest || !bytes.Contains(body, []byte(`"invalid_arguments"`)) {
		t.Errorf("the stand-in changed a volume's IOPS, which it cannot: %d %s", status, body)
	}
	status, body = call("PATCH", volume, "application/json", `{"name":"supply-x","tags":["supply-resource=x"]}`)
	check("root volume update", rootBody.Interactions[5], status, body, whole)
	status, body = call("GET", volume, "", "")
	check("attached volume", rootBody.Interactions[6], status, body, whole)

	status, body = call("PATCH", path+"/user_data/cloud-init", "text/plain", "cloud-init file content")
	check("set user data", udata.Interactions[5], status, body, whole)
	status, body = call("POST", path+"/action", "application/json", `{"action":"poweron"}`)
	check("poweron", life.Interactions[5], status, body, whole)
	status, body = call("GET", path, "", "")
	check("starting server", life.Interactions[6], status, body, whole)
	time.Sleep(250 * time.Millisecond)
	status, body = call("GET", path, "", "")
	check("running server", life.Interactions[9], status, body, whole)
	status, body = call("POST", path+"/action", "application/json", `{"action":"terminate"}`)
	check("terminate", term.Interactions[36], status, body, whole)
	status, body = call("GET", path, "", "")
	check("terminating server", term.Interactions[37], status, body, whole)
	time.Sleep(200 * time.Millisecond)
	status, body = call("GET", path, "", "")
	check("gone server", term.Interactions[38], status, body, whole)

	status, body = call("GET", volume, "", "")
	check("detached volume", term.Interactions[34], status, body, whole)
	status, body = call("DELETE", volume, "", "")
	check("volume delete", term.Interactions[35], status, body, whole)
	status, body = call("GET", volume, "", "")
	check("deleted volume", term.Interactions[39], status, body, whole)

	status, body = call("POST", "/instance/v1/zones/fr-par-1/servers", "application/json", bad.Interactions[0].Request.Body)
	check("invalid create", bad.Interactions[0], status, body, whole)
}

// dig walks object keys.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// sameKeys reports every key that one of want and got has and the other
// lacks, at every level; null on either side and empty arrays are not
// compared further.
func sameKeys(t *testing.T, where string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			if got != nil {
				t.Errorf("%s: recorded an object, stand-in answered %T", where, got)
			}
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				t.Errorf("%s: stand-in lacks recorded key %q", where, k)
				continue
			}
			if wv != nil && gv != nil {
				sameKeys(t, where+"."+k, wv, gv)
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				t.Errorf("%s: stand-in has key %q the recording lacks", where, k)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			t.Errorf("%s: recorded an array, stand-in answered %T", where, got)
			return
		}
		if len(w) > 0 && len(g) > 0 {
			sameKeys(t, where+"[0]", w[0], g[0])
		}
	}
}
