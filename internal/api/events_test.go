package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/events"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// newEventsServer is a test server whose events come from a real log on
// SQLite; append adds an event of the test account and wakes its streams.
func newEventsServer(t *testing.T) (ts *testServer, appendEvent func(typ string)) {
	return newEventsServerWith(t, nil)
}

// newEventsServerWith is newEventsServer with a chance to change the
// Config.
func newEventsServerWith(t *testing.T, mod func(*Config)) (ts *testServer, appendEvent func(typ string)) {
	st := storetest.Open(t, store.EngineSQLite)
	for i := int64(1); i <= testAccount; i++ {
		if _, err := st.EnsureAccount(context.Background(), "account"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	log := events.New(events.Config{Store: st})
	ts = newTestServerWith(t, 0, func(c *Config) {
		c.Events, c.StreamHeartbeat = log, 300*time.Millisecond
		if mod != nil {
			mod(c)
		}
	})
	return ts, func(typ string) {
		t.Helper()
		err := st.InTx(context.Background(), func(tx store.Tx) error {
			return log.Append(context.Background(), tx, testAccount, []store.Event{{Type: typ, ResourceID: "r1", OfferID: "o1", Data: []byte(`{"status":"running"}`)}})
		})
		if err != nil {
			t.Fatal(err)
		}
		log.Notify(testAccount)
	}
}

func TestEventsPage(t *testing.T) {
	ts, appendEvent := newEventsServer(t)
	appendEvent(supplyapi.EventResourceCreated)
	appendEvent(supplyapi.EventResourceReady)
	wantJSON(t, ts.get(t, "/events?limit=1"), http.StatusOK, `{"events":[{"id":1,"type":"resource.created","timestamp":"`+
		mustTimestamp(t, ts)+`","resource_id":"r1","offer_id":"o1","data":{"status":"running"}}],"last_id":1,"has_more":true}`)
	r := ts.get(t, "/events?after=1&type=resource.ready")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"id":2`) || !strings.Contains(string(r.body), `"has_more":false`) {
		t.Errorf("second page: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/events?type=resource.exploded", "/events?after=-1", "/events?limit=0", "/events?resource_id=nope"} {
		if r := ts.get(t, path); r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s, want 422", path, r.status, r.body)
		}
	}
	if r := ts.do(t, http.MethodGet, "/events", "", "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("no key: %d", r.status)
	}
}

// mustTimestamp is the first event's timestamp as the page shows it.
func mustTimestamp(t *testing.T, ts *testServer) string {
	var page struct {
		Events []struct{ Timestamp string } `json:"events"`
	}
	if err := json.Unmarshal(ts.get(t, "/events?limit=1").body, &page); err != nil || len(page.Events) == 0 {
		t.Fatalf("page: %v", err)
	}
	return page.Events[0].Timestamp
}

func TestEventsStream(t *testing.T) {
	ts, appendEvent := newEventsServer(t)
	appendEvent(supplyapi.EventResourceCreated)
	appendEvent(supplyapi.EventResourceReady)
	req := ts.newRequest(t, http.MethodGet, "/events", "", "", "Bearer "+ts.key)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := ts.Client().Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("%d %v", res.StatusCode, res.Header)
	}
	lines := bufio.NewScanner(res.Body)
	next := func() string {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("stream ended: %v", lines.Err())
		}
		return lines.Text()
	}
	expect := func(want ...string) {
		t.Helper()
		for _, w := range want {
			if got := next(); !strings.HasPrefix(got, w) {
				t.Fatalf("stream line %q, want %q", got, w)
			}
		}
	}
	// Where the stream starts, then event 2 (not 1: it resumes after it).
	expect("retry: 1000", "id: 1", "", "id: 2", "event: resource.ready", `data: {"id":2,"type":"resource.ready"`, "")
	// Idle: heartbeats. Then a new event arrives at once, well before
	// the next heartbeat or poll would fetch it.
	expect(": heartbeat", "")
	start := time.Now()
	appendEvent(supplyapi.EventResourceDeleting)
	for {
		if line := next(); line == "id: 3" {
			break
		}
	}
	expect("event: resource.deleting")
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Errorf("a new event took %s to arrive", d)
	}
	bad := ts.newRequest(t, http.MethodGet, "/events", "", "", "Bearer "+ts.key)
	bad.Header.Set("Accept", "text/event-stream")
	bad.Header.Set("Last-Event-ID", "abc")
	if r := ts.send(t, bad); r.status != http.StatusUnprocessableEntity {
		t.Errorf("Last-Event-ID abc: %d %s", r.status, r.body)
	}
}

// TestEventsStreamOutlivesServerTimeouts: the server's read and write
// timeouts, meant for one answer, do not end a stream.
func TestEventsStreamOutlivesServerTimeouts(t *testing.T) {
	ts, _ := newEventsServer(t)
	srv := httptest.NewUnstartedServer(ts.api.Handler())
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 100*time.Millisecond, 100*time.Millisecond
	srv.Start()
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/events?stream=true", nil)
	req.Header.Set("Authorization", "Bearer "+ts.key)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := bufio.NewScanner(res.Body)
	heartbeats := 0
	for heartbeats < 3 && lines.Scan() {
		if lines.Text() == ": heartbeat" {
			heartbeats++
		}
	}
	if heartbeats < 3 {
		t.Fatalf("the stream ended after %d heartbeats: %v", heartbeats, lines.Err())
	}
}

func TestWebhookRequests(t *testing.T) {
	ts, _ := newEventsServer(t)
	post := func(body string) response {
		return ts.do(t, http.MethodPost, "/webhooks", "application/json", body, "Bearer "+ts.key)
	}
	for body, field := range map[string]string{
		`{"url":"ftp://example.com/"}`:                                   "url",
		`{"url":"http://127.0.0.1:8080/hook"}`:                           "url",
		`{"url":"https://example.com/","event_types":["resource.nope"]}`: "event_types",
	} {
		r := post(body)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `"loc":["body","`+field+`"]`) {
			t.Errorf("%s: %d %s, want 422 on %s", body, r.status, r.body, field)
		}
	}
	if r := post(`{}`); r.status != http.StatusUnprocessableEntity {
		t.Errorf("no url: %d %s", r.status, r.body)
	}
	wantJSON(t, ts.get(t, "/webhooks"), http.StatusOK, `[]`)
	id := "0b7e9f0e-5f8a-4c47-9b43-3f0f4b1f9d11"
	if r := ts.do(t, http.MethodDelete, "/webhooks/"+id, "", "", "Bearer "+ts.key); r.status != http.StatusNotFound {
		t.Errorf("delete unknown webhook: %d %s", r.status, r.body)
	}
	if r := ts.get(t, "/webhooks/"+id+"/deliveries"); r.status != http.StatusNotFound {
		t.Errorf("deliveries of an unknown webhook: %d %s", r.status, r.body)
	}
}
