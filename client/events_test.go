package client_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gpusupply/supply/client"
	"github.com/gpusupply/supply/supplyapi"
)

// quietServer streams events 1 to 4 as the server does, but goes quiet on
// its first connection in the middle of event 3, without closing it: a
// server whose host vanished, or a connection a NAT forgot.
type quietServer struct {
	mu sync.Mutex
	// lastEventIDs are the Last-Event-ID headers of the connections, in
	// order.
	lastEventIDs []string
}

func (q *quietServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q.mu.Lock()
	q.lastEventIDs = append(q.lastEventIDs, r.Header.Get("Last-Event-ID"))
	first := len(q.lastEventIDs) == 1
	q.mu.Unlock()
	after, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	if err != nil {
		http.Error(w, "want Last-Event-ID", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprintf(w, "retry: 1000\nid: %d\n\n", after)
	for id := after + 1; id <= 4; id++ {
		if first && id == 3 {
			fmt.Fprint(w, "id: 3\nevent: resource.ready\n")
			break
		}
		fmt.Fprintf(w, "id: %d\nevent: resource.ready\ndata: {\"id\":%d,\"type\":\"resource.ready\",\"offer_id\":\"o\",\"data\":{}}\n\n", id, id)
	}
	w.(http.Flusher).Flush()
	<-r.Context().Done() // silent, and open, until the client hangs up
}

// TestFollowReconnectsWhenQuiet: a stream on which nothing arrives for
// the idle timeout is dropped and resumed with Last-Event-ID after the
// last whole event, so every event arrives exactly once.
func TestFollowReconnectsWhenQuiet(t *testing.T) {
	t.Parallel()
	q := &quietServer{}
	srv := httptest.NewServer(q)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []int64
	err := client.New(srv.URL, "").Follow(ctx, client.FollowOptions{IdleTimeout: 200 * time.Millisecond}, func(e supplyapi.Event) error {
		got = append(got, e.ID)
		if e.ID == 4 {
			return client.ErrStopFollowing
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	if !slices.Equal(got, []int64{1, 2, 3, 4}) {
		t.Errorf("events %v, want 1 to 4 once each", got)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !slices.Equal(q.lastEventIDs, []string{"0", "2"}) {
		t.Errorf("Last-Event-ID of the connections %q, want 0 then 2 (the last whole event)", q.lastEventIDs)
	}
}
