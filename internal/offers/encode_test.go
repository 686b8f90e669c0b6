package offers

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gpusupply/supply/supplyapi"
)

// encodingJSON is what huma's JSON format writes for v, without the
// Encoder's newline.
func encodingJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// The sandbox package compares whole catalogs; these are the corners real
// catalogs rarely reach: escapes, invalid UTF-8, exponents, every null.
func TestAppendersAreEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", `quote " and \ backslash`, "<html> & 'x'", "tab\tnl\ncr\rbs\bff\f", "\x00\x01\x1f\x7f",
		"línea \u2028 par \u2029", "bad \xff utf8 \xc3", "emoji 🚀", "ā\u00a0z"}
	for _, s := range strs {
		if got, want := appendString(nil, s), encodingJSON(t, s); !bytes.Equal(got, want) {
			t.Errorf("string %q: got %s, want %s", s, got, want)
		}
	}
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 2.123457, 1e-6, 9.99e-7, 1e-7, 1.5e-10, 1e20, 1e21, 1.7976931348623157e308, -3.4e-300, 123456789.125}
	for _, f := range floats {
		if got, want := AppendJSONFloat(nil, f), encodingJSON(t, f); !bytes.Equal(got, want) {
			t.Errorf("float %v: got %s, want %s", f, got, want)
		}
	}
	for _, ts := range []time.Time{time.Unix(1_800_000_000, 0).UTC(), time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.FixedZone("x", 5400))} {
		if got, want := appendTime(nil, ts), encodingJSON(t, ts); !bytes.Equal(got, want) {
			t.Errorf("time %v: got %s, want %s", ts, got, want)
		}
	}
	id := uuid.New()
	if got, want := appendUUID(nil, id), encodingJSON(t, id); !bytes.Equal(got, want) {
		t.Errorf("uuid: got %s, want %s", got, want)
	}
	filters := map[string]any{"gpu_type": "H1<0>0", "gpu_types": []string{"a", "b\n"}, "limit": 5, "max_price_per_gpu_hour": 2.5e-7,
		"supports_cilium": true, "vendors_unavailable": []string(nil), "z": ""}
	got, err := appendFilters(nil, filters)
	if err != nil {
		t.Fatal(err)
	}
	if want := encodingJSON(t, filters); !bytes.Equal(got, want) {
		t.Errorf("filters: got %s, want %s", got, want)
	}
	if _, err := appendFilters(nil, map[string]any{"x": struct{}{}}); err == nil {
		t.Error("a filter value of an unknown kind was written")
	}
}

func TestNewAnswerIsEncodingJSON(t *testing.T) {
	created := time.Unix(1_800_000_000, 0).UTC()
	full := supplyapi.Offer{
		OfferID: uuid.New(), GPUType: "x\"y", GPUFamily: "H100", GPUCount: 16, Vendor: "v<>", Region: "EU", VendorRegion: "eu\u2028", Country: "F\"I", ContractType: "spot",
		Type: "vm", GPUPricePerHour: 1e-7, BootDiskInGB: iptr(0), VCPUCount: iptr(-1), MemoryInGB: fptr(1e21),
		StorageDetails:      []supplyapi.StorageDetail{{Name: "boot", SizeGB: 1, HourlyCost: 0.25, Persistent: true}, {Name: "\x01"}},
		StoragePricePerHour: 3, TotalPricePerHour: 1e300, CreatedAt: created, ExpiresAt: created.Add(time.Hour),
		DeploymentType: "cluster", NodeCount: iptr(2), GPUsPerNode: iptr(8), InfinibandBandwidthGbps: iptr(3200), ClusterStorageGB: iptr(0),
		ObservedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
	}
	empty := supplyapi.Offer{OfferID: uuid.New(), CreatedAt: created, ExpiresAt: created.Add(time.Hour)}
	res := supplyapi.OfferResult{Offers: []supplyapi.Offer{full, empty}, TotalCount: 9, FiltersApplied: map[string]any{"limit": 2}}
	a, err := NewAnswer(res)
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := encodingJSON(t, res); !bytes.Equal(got, want) {
		t.Errorf("answer:\n got %s\nwant %s", got, want)
	}
	if want := encodingJSON(t, a.Result()); !bytes.Equal(got, want) {
		t.Errorf("answer's Result:\n got %s\nwant %s", got, want)
	}
	empty.CreatedAt = created.Add(time.Second)
	if _, err := NewAnswer(supplyapi.OfferResult{Offers: []supplyapi.Offer{full, empty}}); err == nil {
		t.Error("offers with different created_at made one answer")
	}
	full.GPUPricePerHour = math.NaN()
	if _, err := NewAnswer(supplyapi.OfferResult{Offers: []supplyapi.Offer{full}}); err == nil {
		t.Error("a NaN price was encoded")
	}
}

// FuzzJSONFloat checks that AppendJSONFloat writes what encoding/json does.
func FuzzJSONFloat(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1234, 1e-6, 9.99e-7, 1e20, 1e21, 123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1)} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		want, err := json.Marshal(v)
		if err != nil {
			return // NaN and infinities, which callers never pass
		}
		if got := AppendJSONFloat([]byte("x"), v); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Fatalf("%v: got %q, want %q", v, got, want)
		}
	})
}
