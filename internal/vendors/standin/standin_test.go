package standin

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	var f Faults
	handled := 0
	h := f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handled++
		w.Write([]byte("real"))
	}), func(status int, message string) (string, []byte) {
		return "application/json", []byte(`{"error":"` + cmp.Or(message, "injected") + `"}`)
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(method, path string) int {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	f.Add(Rule{Method: http.MethodPost, PathPrefix: "/launch", Status: 500, AfterHandler: true, Times: 1})
	f.Add(Rule{PathPrefix: "/list", Status: 429, Times: 2})
	if got := get(http.MethodPost, "/launch"); got != 500 || handled != 1 {
		t.Errorf("created-but-500: status %d, handled %d; want 500 after the handler ran", got, handled)
	}
	if got := get(http.MethodPost, "/launch"); got != 200 {
		t.Errorf("rule with Times 1 still applies: %d", got)
	}
	if a, b, c := get(http.MethodGet, "/list"), get(http.MethodGet, "/list"), get(http.MethodGet, "/list"); a != 429 || b != 429 || c != 200 {
		t.Errorf("Times 2: %d %d %d", a, b, c)
	}
	// A rule's message is the error body's explanation.
	f.Add(Rule{PathPrefix: "/quota", Status: 403, Message: "project p-1 is over quota", Times: 1})
	resp, err := http.Get(srv.URL + "/quota")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || string(body) != `{"error":"project p-1 is over quota"}` {
		t.Errorf("rule with a message: %d %s", resp.StatusCode, body)
	}
	f.SetLatency(150 * time.Millisecond)
	start := time.Now()
	get(http.MethodGet, "/x")
	if time.Since(start) < 150*time.Millisecond {
		t.Error("latency not applied")
	}
	f.Clear()
	if got := get(http.MethodGet, "/list"); got != 200 {
		t.Errorf("after Clear: %d", got)
	}
}

func TestHostsAnswerSSHBanners(t *testing.T) {
	var h Hosts
	defer h.CloseAll()
	ip, port, err := h.Open("a", "", 0, Machine{})
	if err != nil {
		t.Fatal(err)
	}
	ip2, _, err := h.Open("b", "", 0, Machine{})
	if err != nil || ip2 == ip {
		t.Fatalf("second host %s (%v) shares address %s", ip2, err, ip)
	}
	if again, p, _ := h.Open("a", "", 0, Machine{}); again != ip || p != port {
		t.Error("reopening a host changed its address")
	}
	if h.Port(ip) != port || h.Port("203.0.113.9") != 22 {
		t.Errorf("Port(%s) = %d, want %d; unknown = %d", ip, h.Port(ip), port, h.Port("203.0.113.9"))
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(port)), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if line != ServerVersion+"\r\n" {
		t.Errorf("banner %q", line)
	}
	h.Close("a")
	if _, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(port)), time.Second); err == nil {
		t.Error("closed host still answers")
	}
	// After a restart the same address and port are taken again when free.
	if ip3, p3, err := h.Open("a", ip, port, Machine{}); err != nil || ip3 != ip || p3 != port {
		t.Errorf("reopen with previous address: %s:%d %v, want %s:%d", ip3, p3, err, ip, port)
	}
}

func TestSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	type state struct{ N int }
	var empty state
	if err := Load(path, &empty); err != nil || empty.N != 0 {
		t.Fatalf("missing file: %v %+v", err, empty)
	}
	if err := Save(path, state{N: 7}); err != nil {
		t.Fatal(err)
	}
	var got state
	if err := Load(path, &got); err != nil || got.N != 7 {
		t.Errorf("round trip: %+v %v", got, err)
	}
}

// TestSavedAnswersTheVendorsFailure: a handler whose change cannot be
// saved answers 500 in the vendor's own envelope (Serve's errorBody),
// saying why, and is told not to answer again.
func TestSavedAnswersTheVendorsFailure(t *testing.T) {
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	type state struct{ N int }
	var b HTTPBase[state]
	if err := b.Open("test", Options{}, func() []Host { return nil }); err != nil {
		t.Fatal(err)
	}
	b.Opts.StatePath = filepath.Join(blocker, "state.json")
	b.Serve(http.NotFoundHandler(), func(status int, message string) (string, []byte) {
		return "application/json", fmt.Appendf(nil, `{"code":%d,"error":%q}`, status, message)
	})
	w := httptest.NewRecorder()
	if b.Saved(w) {
		t.Fatal("saved under a file")
	}
	if w.Code != http.StatusInternalServerError || w.Header().Get("Content-Type") != "application/json" ||
		!bytes.Contains(w.Body.Bytes(), []byte(`{"code":500,"error":"the stand-in's state was not saved: save stand-in state:`)) {
		t.Errorf("answer %d %q %s, want the vendor's 500 saying why", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	b.Opts.StatePath = filepath.Join(t.TempDir(), "state.json")
	if w := httptest.NewRecorder(); !b.Saved(w) || w.Body.Len() != 0 {
		t.Errorf("a save that works: answered %d %s", w.Code, w.Body)
	}
}

func TestDriftStaysInBandAndHolds(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 1, 0, 0, time.UTC)
	for i := range 200 {
		at := now.Add(time.Duration(i) * DriftPeriod)
		p := Drift(2.0, 0.05, "h100", at)
		if p < 1.9 || p > 2.1 {
			t.Fatalf("drift %v out of ±5%% of 2.0", p)
		}
		if Drift(2.0, 0.05, "h100", at.Add(time.Second)) != p {
			t.Fatal("price moved within one drift period")
		}
	}
	sold := 0
	for i := range 1000 {
		if Flicker(0.1, "x", now.Add(time.Duration(i)*DriftPeriod)) {
			sold++
		}
	}
	if sold < 50 || sold > 150 {
		t.Errorf("Flicker(0.1) true %d times in 1000", sold)
	}
}

func TestRateLimiter(t *testing.T) {
	var l RateLimiter
	minute := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	if win := l.Take(minute); win.Over || win.Limit != 0 {
		t.Fatalf("zero limiter: %+v, want unlimited", win)
	}
	l.Set(2)
	at := minute.Add(15 * time.Second)
	for i, want := range []Window{
		{Limit: 2, Remaining: 1, Reset: 45},
		{Limit: 2, Remaining: 0, Reset: 45},
		{Limit: 2, Remaining: 0, Reset: 45, Over: true},
	} {
		if win := l.Take(at); win != want {
			t.Errorf("request %d: %+v, want %+v", i+1, win, want)
		}
	}
	if win := l.Take(minute.Add(time.Minute)); win.Over || win.Remaining != 1 {
		t.Errorf("next minute: %+v, want a fresh budget", win)
	}

	srv := httptest.NewServer(l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		func() time.Time { return at }, func(w http.ResponseWriter, win Window) {
			w.Header().Set("Retry-After", strconv.FormatInt(win.Reset, 10))
			w.WriteHeader(http.StatusTooManyRequests)
		}))
	defer srv.Close()
	l.Set(1)
	for i, want := range []int{http.StatusOK, http.StatusTooManyRequests} {
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("request %d: status %d, want %d", i+1, resp.StatusCode, want)
		}
		if want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "45" {
			t.Errorf("Retry-After %q, want 45", resp.Header.Get("Retry-After"))
		}
	}
}

// TestStreamWritesWhatEncodeWrites: a listing streamed element by element
// (or member by member) is byte for byte what json.Encoder writes for the
// whole value: escaping, numbers, nulls, empty and nested values, and
// answers longer than one write.
func TestStreamWritesWhatEncodeWrites(t *testing.T) {
	type inner struct {
		Tags  []string          `json:"tags"`
		Extra map[string]string `json:"extra,omitempty"`
	}
	type elem struct {
		Name  string  `json:"name"`
		Price float64 `json:"price"`
		Ptr   *int    `json:"ptr"`
		In    inner   `json:"in"`
	}
	n := 7
	var many []elem
	for i := range 3000 {
		many = append(many, elem{Name: fmt.Sprintf("<gpu & %d>\u2028é\"", i), Price: float64(i) / 3, In: inner{Tags: []string{"a"}, Extra: map[string]string{"z": "1", "a": "<"}}})
	}
	many[1].Ptr = &n
	many[2].In.Tags = nil
	type list struct {
		OK    bool   `json:"ok"`
		Items []elem `json:"items"`
	}
	type object struct {
		Data map[string]elem `json:"data"`
	}
	byName := map[string]elem{}
	for i, e := range many[:50] {
		byName[fmt.Sprintf("type-%d&<", i)] = e
	}
	for _, c := range []struct {
		name  string
		whole any
		write func(s *Stream) error
	}{
		{"array", list{OK: true, Items: many}, func(s *Stream) error {
			for i := range many {
				s.Element(&many[i])
			}
			return s.End("]}")
		}},
		{"empty array", list{OK: true, Items: []elem{}}, func(s *Stream) error { return s.End("]}") }},
		{"object", object{Data: byName}, func(s *Stream) error {
			for _, k := range slices.Sorted(maps.Keys(byName)) {
				s.Member(k, byName[k])
			}
			return s.End("}}")
		}},
	} {
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(c.whole); err != nil {
			t.Fatal(err)
		}
		head := `{"ok":true,"items":[`
		if c.name == "object" {
			head = `{"data":{`
		}
		rec := httptest.NewRecorder()
		if err := c.write(NewStream(rec, http.StatusCreated, head)); err != nil {
			t.Fatal(err)
		}
		if rec.Code != http.StatusCreated || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: status %d, content type %q", c.name, rec.Code, rec.Header().Get("Content-Type"))
		}
		if got := rec.Body.Bytes(); !bytes.Equal(got, want.Bytes()) {
			i := 0
			for i < min(len(got), want.Len()) && got[i] == want.Bytes()[i] {
				i++
			}
			t.Errorf("%s: streamed %d bytes, Encode writes %d; first difference at %d: %.40q, want %.40q",
				c.name, len(got), want.Len(), i, got[i:], want.Bytes()[i:])
		}
	}
}
