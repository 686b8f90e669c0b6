package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/internal/events"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// TestEventsAcrossKill follows GET /events while a machine is procured and
// deleted, kills the server with SIGKILL in the middle of the deletion,
// resumes with Last-Event-ID once it is back, and checks that the stream
// brought every transition once, in order. A webhook on loopback sees the
// same events, signed, retried after it answers 500 twice.
func TestEventsAcrossKill(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			eventsAcrossKill(t, engine)
		})
	}
}

func eventsAcrossKill(t *testing.T, engine string) {
	s := Start(t, engine, "--sandbox-boot-time", "1s", "--webhooks-allow-private",
		"--webhook-retry-base", "100ms", "--webhook-max-attempts", "6")
	s.WaitVendors(t)
	c := client.New(s.URL, s.Key)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	hook := newHookReceiver(t)
	var w struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	s.JSON(t, http.MethodPost, "/webhooks", "application/json", fmt.Appendf(nil, `{"url":%q}`, hook.srv.URL), http.StatusCreated, &w)
	hook.setSecret(w.Secret)

	// Follow from the start, over one connection per server process.
	follow := func(after int64, stop func(supplyapi.Event) bool, seen *[]supplyapi.Event) {
		t.Helper()
		err := c.Follow(ctx, client.FollowOptions{After: after}, func(e supplyapi.Event) error {
			*seen = append(*seen, e)
			if stop(e) {
				return client.ErrStopFollowing
			}
			return nil
		})
		if err != nil {
			t.Fatalf("follow: %v", err)
		}
	}
	var seen []supplyapi.Event
	var resp supplyapi.ProcureOfferResponse
	offer := pickOffers(t, s, 1)[0]
	offerID := offer.OfferID.String()
	body, _ := json.Marshal(supplyapi.ProcureOfferRequest{OfferID: offer.OfferID, SSHPublicKey: crashKey})
	s.JSON(t, http.MethodPost, "/procure_offer", "application/json", body, http.StatusOK, &resp)
	follow(0, func(e supplyapi.Event) bool {
		return e.OfferID == offerID && (e.Type == supplyapi.EventProcurementReady || e.Type == supplyapi.EventProcurementFailed)
	}, &seen)
	if seen[len(seen)-1].Type != supplyapi.EventProcurementReady {
		t.Fatalf("the procurement did not get ready: %+v", seen)
	}
	rid := resp.ResourceIDs[0]
	s.JSON(t, http.MethodDelete, "/resources/"+rid.String(), "", nil, http.StatusOK, &supplyapi.DeleteResourceResponse{})
	follow(seen[len(seen)-1].ID, func(e supplyapi.Event) bool { return e.Type == supplyapi.EventResourceDeleting }, &seen)
	// The vendor has not confirmed yet: kill the server mid-deletion.
	s.Kill(t)
	s.Restart(t)
	follow(seen[len(seen)-1].ID, func(e supplyapi.Event) bool { return e.Type == supplyapi.EventResourceDeleted }, &seen)

	want := []string{
		supplyapi.EventProcurementStarted, supplyapi.EventResourceCreated, supplyapi.EventResourceInstanceCreated, supplyapi.EventResourceReady,
		supplyapi.EventProcurementReady, supplyapi.EventResourceDeleting, supplyapi.EventResourceDeleted,
	}
	var types []string
	for i, e := range seen {
		if e.ID != int64(i+1) {
			t.Errorf("event %d has id %d: lost or repeated", i+1, e.ID)
		}
		if e.OfferID == offerID {
			types = append(types, e.Type)
		}
	}
	if !slices.Equal(types, want) {
		t.Fatalf("stream brought %v for the offer, want %v", types, want)
	}
	total := int64(len(seen))
	var last struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(seen[len(seen)-1].Data, &last); err != nil || last.Status != supplyapi.ResourceDeleted {
		t.Errorf("resource.deleted carries status %q (%v)", last.Status, err)
	}

	// The same events as JSON pages.
	page, err := c.Events(ctx, 0, client.EventFilter{}, 4)
	if err != nil || len(page.Events) != 4 || !page.HasMore || page.LastID != 4 {
		t.Fatalf("first page %+v %v", page, err)
	}
	var paged []supplyapi.Event
	for after := int64(0); ; {
		page, err := c.Events(ctx, after, client.EventFilter{}, 4)
		if err != nil {
			t.Fatal(err)
		}
		paged, after = append(paged, page.Events...), page.LastID
		if !page.HasMore {
			break
		}
	}
	if int64(len(paged)) != total || paged[len(paged)-1].Type != supplyapi.EventResourceDeleted {
		t.Fatalf("pages brought %d events, the stream %d", len(paged), total)
	}
	byResource, err := c.Events(ctx, 0, client.EventFilter{ResourceID: rid.String(), Type: supplyapi.EventResourceReady}, 10)
	if err != nil || len(byResource.Events) != 1 || byResource.Events[0].ResourceID != rid.String() {
		t.Errorf("filtered page %+v %v", byResource, err)
	}
	if code, _, b := s.Do(t, http.MethodGet, "/events?type=resource.exploded", "", nil); code != http.StatusUnprocessableEntity {
		t.Errorf("unknown type answered %d %s, want 422", code, b)
	}

	// The webhook: every event delivered, in order per resource (and per
	// procurement); event 1 after two 500s, with one webhook-id for its
	// three attempts.
	waitUntil(t, "every event delivered to the webhook", func() bool {
		ids := map[int64]bool{}
		for _, e := range hook.delivered() {
			ids[e.id] = true
		}
		return len(ids) == int(total)
	})
	got := hook.delivered()
	// A delivery in flight when the server was killed is sent again (at
	// least once, with the same webhook-id); nothing comes out of order.
	lastOf := map[string]int64{}
	for _, e := range got {
		if e.id < lastOf[e.stream] {
			t.Errorf("webhook got event %d of %s after event %d", e.id, e.stream, lastOf[e.stream])
		}
		lastOf[e.stream] = e.id
	}
	if n := hook.attemptsOf(1); n != 3 {
		t.Errorf("event 1 was sent %d times, want 3 (two 500s, then 204)", n)
	}
	var ds []struct {
		EventID  int64 `json:"event_id"`
		State    string
		Attempts []struct {
			StatusCode *int `json:"status_code"`
		}
	}
	s.JSON(t, http.MethodGet, "/webhooks/"+w.ID+"/deliveries?limit=200", "", nil, http.StatusOK, &ds)
	first := ds[len(ds)-1]
	if first.EventID != 1 || first.State != "delivered" || len(first.Attempts) != 3 || *first.Attempts[0].StatusCode != 500 || *first.Attempts[2].StatusCode != 204 {
		t.Errorf("deliveries of event 1: %+v", first)
	}

	// Another account sees none of it.
	other := s.NewKey(t, "other")
	oc := client.New(s.URL, other)
	if p, err := oc.Events(ctx, 0, client.EventFilter{}, 100); err != nil || len(p.Events) != 0 {
		t.Errorf("another account reads %d events (%v)", len(p.Events), err)
	}
	for _, req := range []struct{ method, path string }{{http.MethodGet, "/webhooks/" + w.ID + "/deliveries"}, {http.MethodDelete, "/webhooks/" + w.ID}} {
		if code, _, b := s.DoKey(t, other, req.method, req.path, "", nil); code != http.StatusNotFound {
			t.Errorf("another account: %s %s answered %d %s, want 404", req.method, req.path, code, b)
		}
	}
	var list []json.RawMessage
	s.JSON(t, http.MethodGet, "/webhooks", "", nil, http.StatusOK, &list)
	if len(list) != 1 {
		t.Errorf("%d webhooks listed, want 1", len(list))
	}
	if code, _, _ := s.Do(t, http.MethodDelete, "/webhooks/"+w.ID, "", nil); code != http.StatusNoContent {
		t.Errorf("delete webhook answered %d", code)
	}
}

// hookReceiver is a webhook endpoint that verifies each request's
// signature and answers 500 to the first two attempts of event 1.
type hookReceiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	secret   string
	attempts map[int64]int
	order    []hookEvent // events answered 2xx, in arrival order
}

// hookEvent is an event a webhook received, and the resource (or offer)
// whose events must arrive in order.
type hookEvent struct {
	id     int64
	stream string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{t: t, attempts: map[int64]int{}}
	h.srv = httptest.NewServer(h)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) setSecret(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secret = s
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
	h.mu.Lock()
	defer h.mu.Unlock()
	want, err := events.Sign(h.secret, r.Header.Get("webhook-id"), ts, body)
	if err != nil || r.Header.Get("webhook-signature") != want {
		h.t.Errorf("bad signature %q on %s", r.Header.Get("webhook-signature"), body)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var msg supplyapi.Event
	if err := json.Unmarshal(body, &msg); err != nil {
		h.t.Errorf("webhook body %s: %v", body, err)
	}
	h.attempts[msg.ID]++
	if msg.ID == 1 && h.attempts[msg.ID] <= 2 {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	stream := msg.ResourceID
	if stream == "" {
		stream = msg.OfferID
	}
	h.order = append(h.order, hookEvent{id: msg.ID, stream: stream})
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) delivered() []hookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.order)
}

func (h *hookReceiver) attemptsOf(id int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.attempts[id]
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
