package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/contentcoding/contentcodingtest"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/sandbox"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// sendEncoded sends req with Accept-Encoding set explicitly, so that the
// transport hands back the body as it came.
func (ts *testServer) sendEncoded(t testing.TB, req *http.Request, acceptEncoding string) response {
	t.Helper()
	req.Header.Set("Accept-Encoding", acceptEncoding)
	return ts.send(t, req)
}

// unpacked is r's body decoded from its Content-Encoding, as a client
// decodes it.
func unpacked(t testing.TB, r response) []byte {
	t.Helper()
	b, err := contentcodingtest.Unpack(r.header.Get("Content-Encoding"), r.body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kept is how many compressed answers in coding were served from the
// cache of compressed bodies so far.
func (ts *testServer) kept(t *testing.T, coding string) float64 {
	return counterIn(t, ts.api.cfg.Metrics, "supply_http_compressed_answers_total", map[string]string{"encoding": coding, "kept": "true"})
}

// TestGetOffersCompressed: a large answer goes compressed in the coding
// the client prefers (zstd on a tie with gzip), with its length, and
// unpacks to exactly the bytes sent to a client that asks for none; a
// small answer, or a client that refuses both codings, gets plain JSON.
// From the third answer of the same bytes on, the answer is served from
// the cache.
func TestGetOffersCompressed(t *testing.T) {
	large := newTestServer(t, 60)
	send := func(ts *testServer, acceptEncoding string) response {
		t.Helper()
		return ts.sendEncoded(t, ts.newRequest(t, http.MethodPost, "/get_offers", "application/yaml", "compute: {gpu_type: H100}\n", "Bearer "+ts.key), acceptEncoding)
	}
	plain := send(large, "identity")
	if plain.status != http.StatusOK || plain.header.Get("Content-Encoding") != "" || len(plain.body) < compressMinAnswer {
		t.Fatalf("plain answer: %d, Content-Encoding %q, %d bytes", plain.status, plain.header.Get("Content-Encoding"), len(plain.body))
	}
	seen := map[string]int{}
	for _, tc := range []struct{ acceptEncoding, want string }{
		{"gzip", "gzip"}, {"br, gzip;q=0.5", "gzip"}, {"gzip, deflate, br, zstd", "zstd"}, {"*", "zstd"},
		{"zstd;q=0.5, gzip", "gzip"}, {"gzip;q=0, *", "zstd"}, {"zstd", "zstd"}, {"gzip", "gzip"}, {"zstd", "zstd"}, {"x-gzip", "gzip"},
		{"gzip;q=0", ""}, {"gzip;q=0, zstd;q=0, *", ""}, {"br", ""}, {"identity, gzip;q=0.5", ""}, {"", ""},
	} {
		keptBefore := large.kept(t, tc.want)
		r := send(large, tc.acceptEncoding)
		if r.status != http.StatusOK || r.header.Get("Content-Encoding") != tc.want || r.header.Get("Vary") != "Accept-Encoding" ||
			r.header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
			t.Fatalf("Accept-Encoding %q: %d, Content-Encoding %q (want %q), Vary %q, Content-Length %q for %d bytes", tc.acceptEncoding,
				r.status, r.header.Get("Content-Encoding"), tc.want, r.header.Get("Vary"), r.header.Get("Content-Length"), len(r.body))
		}
		if got := unpacked(t, r); !bytes.Equal(got, plain.body) {
			t.Fatalf("Accept-Encoding %q: the answer unpacks to %d bytes that differ from the plain %d", tc.acceptEncoding, len(got), len(plain.body))
		}
		if tc.want != "" {
			if len(r.body) > len(plain.body)/10 {
				t.Errorf("Accept-Encoding %q: %d bytes from %d", tc.acceptEncoding, len(r.body), len(plain.body))
			}
			// Each coding's first two answers are compressed (the
			// second to be kept), the rest kept.
			if kept, want := large.kept(t, tc.want)-keptBefore, float64(min(max(seen[tc.want]-1, 0), 1)); kept != want {
				t.Errorf("Accept-Encoding %q: %v answers kept, want %v", tc.acceptEncoding, kept, want)
			}
			seen[tc.want]++
		}
	}
	small := newTestServer(t, 1)
	if r := send(small, "gzip, zstd"); r.status != http.StatusOK || r.header.Get("Content-Encoding") != "" || r.header.Get("Vary") != "Accept-Encoding" ||
		!bytes.HasPrefix(r.body, []byte(`{"offers":`)) {
		t.Errorf("small answer: %d, Content-Encoding %q, Vary %q, body %.40s", r.status, r.header.Get("Content-Encoding"), r.header.Get("Vary"), r.body)
	}
}

// TestCompressedAnswersAreThePlainOnes: with the real index over the
// sandbox's vendors, every compressed answer unpacks to exactly the bytes
// a plain request gets at the same moment, across the offer-id time slots
// (ids are sealed per second, so a body kept from the last second would
// carry stale ids) and across a catalog refresh that moves prices. The
// compressed request goes first each time, so a body kept under a key that
// missed what changed would be the one served.
func TestCompressedAnswersAreThePlainOnes(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 10, 1, 0, 250_000_000, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	sb, err := sandbox.Start(sandbox.Options{DataDir: t.TempDir(), BootTime: time.Second, Now: clock, SteadyStock: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	cfg := offers.Config{Snapshots: storetest.Open(t, "sqlite"), IDKey: []byte("0123456789abcdef"), Sandbox: true, Now: clock}
	for _, v := range sb.Vendors() {
		cfg.Sources = append(cfg.Sources, v)
	}
	index, err := offers.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	refresh := func() {
		for _, v := range sb.Vendors() {
			if err := index.Refresh(context.Background(), v.Name()); err != nil {
				t.Fatal(err)
			}
		}
	}
	refresh()
	ts := newTestServerWith(t, 0, func(cfg *Config) { cfg.Offers = index })
	query := func(acceptEncoding string) response {
		t.Helper()
		r := ts.sendEncoded(t, ts.newRequest(t, http.MethodPost, "/get_offers", "application/yaml", "compute: {gpu_type: H100}\nlimit: 1000\n", "Bearer "+ts.key), acceptEncoding)
		if r.status != http.StatusOK {
			t.Fatalf("Accept-Encoding %q: %d %s", acceptEncoding, r.status, r.body)
		}
		return r
	}
	// moment checks the answers at the clock's present moment: each
	// coding first (three times: compressed, compressed to be kept,
	// kept), then plain.
	moment := func(name string) []byte {
		t.Helper()
		packed := map[string][]response{}
		for _, coding := range []string{"gzip", "zstd"} {
			for range 3 {
				r := query(coding)
				if ce := r.header.Get("Content-Encoding"); ce != coding {
					t.Fatalf("%s: asked for %s, got Content-Encoding %q", name, coding, ce)
				}
				packed[coding] = append(packed[coding], r)
			}
		}
		plain := query("").body
		if len(plain) < compressMinAnswer {
			t.Fatalf("%s: a %d-byte answer is too small to be compressed", name, len(plain))
		}
		for coding, rs := range packed {
			for i, r := range rs {
				if got := unpacked(t, r); !bytes.Equal(got, plain) {
					t.Errorf("%s: %s answer %d unpacks to other bytes than the plain answer's (%d and %d bytes)", name, coding, i+1, len(got), len(plain))
				}
			}
		}
		return plain
	}
	keptBefore := ts.kept(t, "gzip") + ts.kept(t, "zstd")
	first := moment("first")
	if kept := ts.kept(t, "gzip") + ts.kept(t, "zstd") - keptBefore; kept != 2 {
		t.Errorf("%v compressed answers were kept, want one per coding", kept)
	}
	advance(300 * time.Millisecond) // the same second: the same answer
	if again := moment("same slot"); !bytes.Equal(again, first) {
		t.Fatal("the answer changed within a second with nothing else changing: the test's clock does not hold the answer still")
	}
	advance(time.Second)
	nextSlot := moment("next slot")
	if ids(t, nextSlot)[0] == ids(t, first)[0] {
		t.Fatal("a new second sealed the same offer ids")
	}
	// The sandbox's prices step every 5 minutes.
	advance(5 * time.Minute)
	refresh()
	refreshed := moment("after a refresh")
	if slices.Equal(prices(t, refreshed), prices(t, nextSlot)) {
		t.Fatal("the refresh changed no price: the test shows nothing about refreshes")
	}
}

// ids are the offer ids of a get_offers answer, in order.
func ids(t *testing.T, body []byte) []uuid.UUID {
	t.Helper()
	var res supplyapi.OfferResult
	if err := json.Unmarshal(body, &res); err != nil || len(res.Offers) == 0 {
		t.Fatalf("answer of %d bytes: %v, %d offers", len(body), err, len(res.Offers))
	}
	out := make([]uuid.UUID, len(res.Offers))
	for i, o := range res.Offers {
		out[i] = o.OfferID
	}
	return out
}

// prices are the GPU prices of a get_offers answer, in order.
func prices(t *testing.T, body []byte) []float64 {
	t.Helper()
	var res supplyapi.OfferResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(res.Offers))
	for i, o := range res.Offers {
		out[i] = o.GPUPricePerHour
	}
	return out
}

// TestETagPerCoding: each coding of a polled answer is its own
// representation with its own ETag, so If-None-Match with one coding's tag
// gets a 304 only for a request that would be answered in that coding; a
// request in another coding gets the whole answer in its own.
func TestETagPerCoding(t *testing.T) {
	ts := newTestServer(t, 0)
	var list []supplyapi.ResourceSummary
	for range 60 {
		r := vmResource
		r.ResourceID = uuid.New()
		list = append(list, r)
	}
	ts.provision.answer(provisionAnswers{resources: list})
	get := func(acceptEncoding, ifNoneMatch string) response {
		t.Helper()
		req := ts.newRequest(t, http.MethodGet, "/resources", "", "", "Bearer "+ts.key)
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		return ts.sendEncoded(t, req, acceptEncoding)
	}
	tags := map[string]string{}
	var plain []byte
	for _, coding := range []string{"", "gzip", "zstd"} {
		r := get(coding, "")
		tags[coding] = r.header.Get("ETag")
		if r.status != http.StatusOK || r.header.Get("Content-Encoding") != coding || len(tags[coding]) < 10 {
			t.Fatalf("Accept-Encoding %q: %d, Content-Encoding %q, ETag %q", coding, r.status, r.header.Get("Content-Encoding"), tags[coding])
		}
		if coding == "" {
			plain = r.body
			if len(plain) < compressMinAnswer {
				t.Fatalf("a %d-byte list is too small to be compressed", len(plain))
			}
		} else if !bytes.Equal(unpacked(t, r), plain) {
			t.Errorf("%s list unpacks to other bytes than the plain list", coding)
		}
	}
	if want := strings.TrimSuffix(tags[""], `"`) + `-gzip"`; tags["gzip"] != want || tags["zstd"] == tags[""] || tags["zstd"] == tags["gzip"] {
		t.Fatalf("tags %q: want a tag per coding, gzip's %q", tags, want)
	}
	for _, asked := range []string{"", "gzip", "zstd"} {
		for _, sent := range []string{"", "gzip", "zstd"} {
			r := get(asked, tags[sent])
			want := http.StatusOK
			if sent == asked {
				want = http.StatusNotModified
			}
			if r.status != want || r.header.Get("ETag") != tags[asked] || r.header.Get("Vary") != "Accept-Encoding" {
				t.Errorf("Accept-Encoding %q, If-None-Match of %q: %d ETag %q Vary %q, want %d with ETag %q", asked, sent,
					r.status, r.header.Get("ETag"), r.header.Get("Vary"), want, tags[asked])
			}
			if r.status == http.StatusOK && (r.header.Get("Content-Encoding") != asked || !bytes.Equal(unpacked(t, r), plain)) {
				t.Errorf("Accept-Encoding %q, If-None-Match of %q: Content-Encoding %q", asked, sent, r.header.Get("Content-Encoding"))
			}
		}
		if r := get(asked, "*"); r.status != http.StatusNotModified {
			t.Errorf("Accept-Encoding %q, If-None-Match *: %d", asked, r.status)
		}
	}
}
