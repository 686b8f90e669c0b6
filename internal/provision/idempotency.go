package provision

import (
	"context"
	"sync"
	"time"

	"github.com/gpusupply/supply/internal/refusal"
)

// keyGate lets one request per Idempotency-Key run at a time in this
// process. The others wait for it and then replay its answer from the
// store, instead of racing it to a 409; across replicas the store's
// unique keys settle the race and the loser replays too.
type keyGate struct {
	mu      sync.Mutex
	running map[string]chan struct{}
}

// enter waits, at most wait, until no other request holds key, then holds
// it until leave is called. A key still held after wait is a 409 that
// says so.
func (g *keyGate) enter(ctx context.Context, key string, wait time.Duration) (leave func(), err error) {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		g.mu.Lock()
		done, busy := g.running[key]
		if !busy {
			if g.running == nil {
				g.running = map[string]chan struct{}{}
			}
			done = make(chan struct{})
			g.running[key] = done
			g.mu.Unlock()
			return func() {
				g.mu.Lock()
				delete(g.running, key)
				g.mu.Unlock()
				close(done)
			}, nil
		}
		g.mu.Unlock()
		select {
		case <-done:
		case <-timer.C:
			return nil, refusal.Errorf(refusal.ErrConflict, "A request with this Idempotency-Key is still in progress; retry in a few seconds")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
