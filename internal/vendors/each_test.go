package vendors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// eachItem is a wire element with the shapes adapters decode: nested
// structs, slices, pointers, maps.
type eachItem struct {
	ID     int               `json:"id"`
	Name   string            `json:"name"`
	Price  *float64          `json:"price"`
	Tags   []string          `json:"tags"`
	Extra  map[string]string `json:"extra"`
	Nested struct {
		A int `json:"a"`
	} `json:"nested"`
}

// whole is what encoding/json reads from the same answer.
type whole struct {
	Offers []eachItem `json:"offers"`
}

func streamed(t testing.TB, body string) ([]eachItem, error) {
	t.Helper()
	var got []eachItem
	e := &Each[eachItem]{Field: "offers", Item: func(it *eachItem) error {
		got = append(got, *it)
		return nil
	}}
	return got, e.decode(strings.NewReader(body))
}

// TestEachReadsWhatUnmarshalReads holds Each to encoding/json over answers
// with other members around the array, fields missing from some elements
// (which must not inherit the previous element's), null and absent arrays,
// and a member name in another case.
func TestEachReadsWhatUnmarshalReads(t *testing.T) {
	bodies := []string{
		`{"offers":[]}`,
		`{}`,
		`null`,
		`{"offers":null}`,
		`{"total":3,"offers":[{"id":1,"name":"a","price":1.5,"tags":["x","y"],"extra":{"k":"v"},"nested":{"a":7}},{"id":2},{"name":"c","tags":[]}],"next":{"offers":[{"id":9}]}}`,
		` { "before" : [ {"offers": 1} ], "OFFERS" : [ {"id":1,"price":null} ] , "after": "x" } ` + "\n",
		`{"offers":[{"id":1,"unknown":{"deep":[1,2,{"x":null}]}}]}`,
	}
	for _, body := range bodies {
		var want whole
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		got, err := streamed(t, body)
		if err != nil {
			t.Errorf("%s: %v", body, err)
			continue
		}
		if len(got) == 0 && len(want.Offers) == 0 {
			continue
		}
		if g, w := mustJSON(t, got), mustJSON(t, want.Offers); !bytes.Equal(g, w) {
			t.Errorf("%s:\n got %s\nwant %s", body, g, w)
		}
	}
}

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEachRefusesMalformedAnswers: a broken or cut-off answer is an error,
// never a short listing taken for the whole.
func TestEachRefusesMalformedAnswers(t *testing.T) {
	for _, body := range []string{
		``,
		`{"offers":[{"id":1}`,
		`{"offers":[{"id":1},`,
		`{"offers":[{"id":1}]`,
		`{"offers":[{"id":"one"}]}`,
		`{"offers":{"id":1}}`,
		`{"offers":"x"}`,
		`[{"id":1}]`,
		`{"offers":[]} {"offers":[]}`,
		`{"offers":[]}x`,
		`{"offers":[],"offers":[{"id":1}]}`,
		`{"offers":[{"id":1}],"other":}`,
		`{"offers" [{"id":1}]}`,
		`{offers:[]}`,
	} {
		if got, err := streamed(t, body); err == nil {
			t.Errorf("%q read as %+v, want an error", body, got)
		}
	}
	stop := errors.New("stop")
	e := &Each[eachItem]{Field: "offers", Item: func(*eachItem) error { return stop }}
	if err := e.decode(strings.NewReader(`{"offers":[{"id":1},{"id":2}]}`)); !errors.Is(err, stop) {
		t.Errorf("Item's error: got %v", err)
	}
}

// TestClientStreamsListings: through Do over loopback HTTP, a listing cut
// off midway is a transient failure that is tried again, and Start lets
// the caller drop what the failed attempt delivered.
func TestClientStreamsListings(t *testing.T) {
	full := `{"offers":[{"id":1},{"id":2},{"id":3}]}`
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			// A declared length the body never reaches: the
			// connection ends mid-answer.
			w.Header().Set("Content-Length", "1000")
			w.Write([]byte(full[:25]))
			return
		}
		w.Write([]byte(full))
	}))
	defer srv.Close()
	c := &Client{Vendor: "test", BaseURL: srv.URL, Retries: 2}

	var ids []int
	each := &Each[eachItem]{Field: "offers", Start: func() { ids = ids[:0] }, Item: func(it *eachItem) error {
		ids = append(ids, it.ID)
		return nil
	}}
	if err := c.Do(context.Background(), Request{Op: "list", Method: http.MethodGet, Path: "/offers"}, each); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []int{1, 2, 3}) || calls.Load() != 2 {
		t.Errorf("got %v in %d calls, want [1 2 3] in 2", ids, calls.Load())
	}

	c.Retries = 0
	calls.Store(0)
	err := c.Do(context.Background(), Request{Op: "list", Method: http.MethodGet, Path: "/offers"}, each)
	if !errors.Is(err, ErrTransient) {
		t.Errorf("a cut-off listing: %v, want ErrTransient", err)
	}
}

// FuzzEach: whatever the answer, Each returns (no panic), and what it
// accepts is valid JSON from which encoding/json reads the same elements.
func FuzzEach(f *testing.F) {
	for _, s := range []string{`{"offers":[{"id":1},{"id":2,"x":[1]}]}`, `{"a":1,"Offers":[]}`, `null`, `{"offers":null}`, `{"offers":[1]}`, `{"offers":[{"id":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got []json.RawMessage
		e := &Each[json.RawMessage]{Field: "offers", Item: func(m *json.RawMessage) error {
			got = append(got, *m)
			return nil
		}}
		if e.decode(bytes.NewReader(body)) != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var want struct {
			Offers []json.RawMessage `json:"offers"`
		}
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, err)
		}
		if len(got) != len(want.Offers) {
			t.Fatalf("%q: %d elements, encoding/json reads %d", body, len(got), len(want.Offers))
		}
		for i := range got {
			if !bytes.Equal(got[i], want.Offers[i]) {
				t.Fatalf("%q: element %d is %s, encoding/json reads %s", body, i, got[i], want.Offers[i])
			}
		}
	})
}
