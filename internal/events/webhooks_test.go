package events_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/gpusupply/supply/internal/events"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// receiver is a webhook endpoint on loopback that checks every request's
// signature and answers what answer says.
type receiver struct {
	t      *testing.T
	secret string
	answer func(n int, msg supplyapi.Event) int

	mu  sync.Mutex
	got []received
}

type received struct {
	msgID  string
	msg    supplyapi.Event
	status int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id, ts, sig := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	var tsn int64
	if err := json.Unmarshal([]byte(ts), &tsn); err != nil || time.Since(time.Unix(tsn, 0)).Abs() > time.Minute {
		r.t.Errorf("webhook-timestamp %q", ts)
	}
	r.mu.Lock()
	secret := r.secret
	r.mu.Unlock()
	want, err := events.Sign(secret, id, tsn, body)
	if err != nil || sig != want {
		r.t.Errorf("signature %q, want %q (%v)", sig, want, err)
	}
	var msg supplyapi.Event
	if err := json.Unmarshal(body, &msg); err != nil {
		r.t.Errorf("body %s: %v", body, err)
	}
	r.mu.Lock()
	status := r.answer(len(r.got), msg)
	r.got = append(r.got, received{msgID: id, msg: msg, status: status})
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

type env struct {
	t   *testing.T
	st  store.Store
	log *events.Log
}

func newEnv(t *testing.T, engine string, allowPrivate bool) *env {
	t.Helper()
	st := storetest.Open(t, engine)
	for _, name := range []string{"one", "two"} {
		if _, err := st.EnsureAccount(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
	l := events.New(events.Config{Store: st, AllowPrivate: allowPrivate, RetryBase: 50 * time.Millisecond, MaxAttempts: 4, Timeout: 2 * time.Second})
	workers := river.NewWorkers()
	l.Workers(workers)
	ctx, cancel := context.WithCancel(context.Background())
	if err := st.StartJobs(ctx, workers, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		stop, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		st.StopJobs(stop)
	})
	return &env{t: t, st: st, log: l}
}

// emit appends events of account 1 about resource, one transaction each.
func (e *env) emit(resource string, types ...string) {
	e.t.Helper()
	for _, typ := range types {
		err := e.st.InTx(context.Background(), func(tx store.Tx) error {
			return e.log.Append(context.Background(), tx, 1, []store.Event{{Type: typ, ResourceID: resource, OfferID: "offer-1", Data: []byte(`{"status":"x"}`)}})
		})
		if err != nil {
			e.t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWebhookRetriesInOrder: an endpoint that answers 500 twice gets the
// first event three times, signed, with one webhook-id, and the next event
// of the same resource only after it; the deliveries list every attempt.
func TestWebhookRetriesInOrder(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, engine, true)
			rcv := &receiver{t: t, answer: func(n int, _ supplyapi.Event) int {
				if n < 2 {
					return http.StatusInternalServerError
				}
				return http.StatusNoContent
			}}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			w, err := e.log.CreateWebhook(context.Background(), 1, srv.URL+"/hook", []string{supplyapi.EventResourceReady, supplyapi.EventResourceDeleted})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(w.Secret, "whsec_") {
				t.Fatalf("secret %q", w.Secret)
			}
			rcv.mu.Lock()
			rcv.secret = w.Secret
			rcv.mu.Unlock()
			// resource.created is not subscribed: never sent.
			e.emit("r1", supplyapi.EventResourceCreated, supplyapi.EventResourceReady, supplyapi.EventResourceDeleted)
			waitFor(t, "4 requests", func() bool { return len(rcv.received()) >= 4 })
			// A later event of the same resource is sent only after every
			// earlier one: once it arrives, nothing else was, or will be.
			e.emit("r1", supplyapi.EventResourceReady)
			waitFor(t, "the later event", func() bool { return len(rcv.received()) >= 5 })
			got := rcv.received()
			if len(got) != 5 || got[4].msg.ID != 4 {
				t.Fatalf("%d requests, want 4 and then the later event: %+v", len(got), got)
			}
			for i, want := range []struct {
				typ    string
				id     int64
				status int
			}{{supplyapi.EventResourceReady, 2, 500}, {supplyapi.EventResourceReady, 2, 500}, {supplyapi.EventResourceReady, 2, 204}, {supplyapi.EventResourceDeleted, 3, 204}} {
				if got[i].msg.Type != want.typ || got[i].msg.ID != want.id || got[i].msgID != "evt_"+itoa(want.id) || got[i].status != want.status {
					t.Errorf("request %d: %s #%d (%s) answered %d; want %s #%d answered %d", i, got[i].msg.Type, got[i].msg.ID, got[i].msgID, got[i].status, want.typ, want.id, want.status)
				}
			}
			ds, err := e.log.Deliveries(context.Background(), 1, w.ID, 10)
			if err != nil || len(ds) != 3 {
				t.Fatalf("deliveries %+v %v", ds, err)
			}
			first := ds[2] // newest first
			if first.State != store.DeliveryDelivered || len(first.Attempts) != 3 ||
				first.Attempts[0].StatusCode != 500 || first.Attempts[1].StatusCode != 500 || first.Attempts[2].StatusCode != 204 {
				t.Errorf("first delivery %+v", first)
			}
			if _, err := e.log.Deliveries(context.Background(), 2, w.ID, 10); err == nil {
				t.Error("another account reads the deliveries")
			}
			if err := e.log.DeleteWebhook(context.Background(), 2, w.ID); err == nil {
				t.Error("another account deleted the webhook")
			}
		})
	}
}

// TestWebhookDownForGoodIsDisabled: after MaxAttempts failures the
// endpoint is disabled with the reason, and what it had pending fails.
func TestWebhookDownForGoodIsDisabled(t *testing.T) {
	e := newEnv(t, store.EngineSQLite, true)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	w, err := e.log.CreateWebhook(context.Background(), 1, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.emit("r1", supplyapi.EventResourceReady, supplyapi.EventResourceDeleted)
	waitFor(t, "the webhook to be disabled", func() bool {
		w, err = e.st.WebhookByID(context.Background(), w.ID)
		return err == nil && w.DisabledAt != nil
	})
	if !strings.Contains(w.DisabledReason, "could not be delivered in 4 attempts") {
		t.Errorf("disabled reason %q", w.DisabledReason)
	}
	ds, err := e.log.Deliveries(context.Background(), 1, w.ID, 10)
	if err != nil || len(ds) != 2 {
		t.Fatalf("deliveries %+v %v", ds, err)
	}
	for _, d := range ds {
		if d.State != store.DeliveryFailed {
			t.Errorf("delivery of event %d is %s, want failed", d.EventID, d.State)
		}
	}
	if len(ds[1].Attempts) != 4 || ds[1].Attempts[3].StatusCode != 0 || ds[1].Attempts[3].Error == "" {
		t.Errorf("attempts of the first delivery: %+v", ds[1].Attempts)
	}
}

// TestWebhookRefusesPrivateAddresses: loopback is refused when the webhook
// is registered, and again when it is dialled (the name may have resolved
// elsewhere at registration).
func TestWebhookRefusesPrivateAddresses(t *testing.T) {
	e := newEnv(t, store.EngineSQLite, false)
	for _, u := range []string{"http://127.0.0.1:9/x", "http://localhost/", "http://[::1]/", "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/", "ftp://example.com/", "http://user:pw@example.com/"} {
		if _, err := e.log.CreateWebhook(context.Background(), 1, u, nil); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits++ }))
	defer srv.Close()
	// As if it had resolved to a public address at registration.
	w := store.Webhook{ID: "0b7e9f0e-5f8a-4c47-9b43-3f0f4b1f9d11", AccountID: 1, URL: srv.URL, Secret: "whsec_c2VjcmV0", CreatedAt: time.Now()}
	if err := e.st.InsertWebhook(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	e.emit("r1", supplyapi.EventResourceReady)
	var ds []events.Delivery
	waitFor(t, "a refused attempt", func() bool {
		ds, _ = e.log.Deliveries(context.Background(), 1, w.ID, 10)
		return len(ds) == 1 && len(ds[0].Attempts) > 0
	})
	if hits != 0 || !strings.Contains(ds[0].Attempts[0].Error, "not globally reachable") {
		t.Errorf("%d requests reached the loopback endpoint; attempt %+v", hits, ds[0].Attempts[0])
	}
}

// TestWebhookNeverFollowsRedirects: a 302 is a failed attempt, and its
// target is never asked.
func TestWebhookNeverFollowsRedirects(t *testing.T) {
	e := newEnv(t, store.EngineSQLite, true)
	var targetHits int
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { targetHits++ }))
	defer target.Close()
	srv := httptest.NewServer(http.RedirectHandler(target.URL, http.StatusFound))
	defer srv.Close()
	w, err := e.log.CreateWebhook(context.Background(), 1, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.emit("r1", supplyapi.EventResourceReady)
	var ds []events.Delivery
	waitFor(t, "an attempt", func() bool {
		ds, _ = e.log.Deliveries(context.Background(), 1, w.ID, 10)
		return len(ds) == 1 && len(ds[0].Attempts) > 0
	})
	if targetHits != 0 || ds[0].Attempts[0].StatusCode != http.StatusFound {
		t.Errorf("redirect target asked %d times; attempt %+v", targetHits, ds[0].Attempts[0])
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
