package ledger

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestVersionReadsStartAfterThePoll checks the rule that keeps shared
// reads from serving stale statuses: a poll never gets a read that started
// before it, and the polls that wait while a read runs share the next one.
func TestVersionReadsStartAfterThePoll(t *testing.T) {
	var (
		committed atomic.Int64 // the database's version
		reads     atomic.Int64
		release   = make(chan struct{})
	)
	v := newVersionReads(func(ctx context.Context, _ int64) (int64, error) {
		reads.Add(1)
		seen := committed.Load() // a snapshot taken when the read starts
		<-release
		return seen, nil
	})
	ctx := context.Background()
	got := make(chan int64, 10)
	poll := func() { n, _ := v.get(ctx, 1); got <- n }

	go poll() // reads version 0, and waits to be released
	waitFor(t, func() bool { return reads.Load() == 1 })
	committed.Store(1) // a change commits while that read is under way
	var wg sync.WaitGroup
	for range 5 { // polls after the commit
		wg.Go(poll)
	}
	time.Sleep(50 * time.Millisecond) // let them all wait
	release <- struct{}{}
	if n := <-got; n != 0 {
		t.Fatalf("the first poll got %d", n)
	}
	waitFor(t, func() bool { return reads.Load() == 2 })
	release <- struct{}{}
	wg.Wait()
	for range 5 {
		if n := <-got; n != 1 {
			t.Fatalf("a poll that came after the change got version %d", n)
		}
	}
	if n := reads.Load(); n != 2 {
		t.Errorf("%d reads for two rounds of polls", n)
	}

	// A poll whose context ends stops waiting.
	go poll()
	waitFor(t, func() bool { return reads.Load() == 3 })
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := v.get(cctx, 1); err == nil {
		t.Error("a cancelled poll waited for its read")
	}
	close(release)
	<-got
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out")
}
