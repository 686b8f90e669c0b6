package store_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
)

// holdArgs is a job that runs until its worker lets it go.
type holdArgs struct {
	N int `json:"n"`
}

func (holdArgs) Kind() string { return "hold" }

// holdWorker reports each step it starts and how it ended.
type holdWorker struct {
	river.WorkerDefaults[holdArgs]
	started   chan int      // the job's N, as a step starts
	cancelled chan int      // the job's N, when its step was cancelled
	release   chan struct{} // closing it ends every step
}

func newHoldWorker() *holdWorker {
	return &holdWorker{started: make(chan int, 16), cancelled: make(chan int, 16), release: make(chan struct{})}
}

func (w *holdWorker) Work(ctx context.Context, job *river.Job[holdArgs]) error {
	w.started <- job.Args.N
	select {
	case <-w.release:
		return nil
	case <-ctx.Done():
		w.cancelled <- job.Args.N
		return ctx.Err()
	}
}

func (w *holdWorker) workers() *river.Workers {
	ws := river.NewWorkers()
	river.AddWorker(ws, w)
	return ws
}

// replicaPair opens two stores on one fresh PostgreSQL database, beating
// every beat, as two replicas of one installation.
func replicaPair(t *testing.T, beat time.Duration) (a, b store.Store) {
	t.Helper()
	o := storetest.Options(t, store.EnginePostgres)
	o.Heartbeat = beat
	o.Migrate = true
	a = openStore(t, o)
	o.Migrate = false
	return a, openStore(t, o)
}

func openStore(t *testing.T, o store.Options) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func startJobs(t *testing.T, s store.Store, ws *river.Workers) {
	t.Helper()
	if err := s.StartJobs(context.Background(), ws, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.StopJobs(ctx)
	})
}

// receive waits for a value on ch, failing the test after a while.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("never %s", what)
		var zero T
		return zero
	}
}

// skewedClock is the clock of a machine a minute behind. It is not a
// stub (NowOrNil is nil), so River asks the database for the time where
// it would on a real machine, and uses this one where it would use its own.
type skewedClock struct{}

func (skewedClock) Now() time.Time       { return time.Now().Add(-time.Minute) }
func (skewedClock) NowOrNil() *time.Time { return nil }

// A replica whose machine's clock is a minute behind is alive to the
// others as long as it beats: its running job is not taken over, however
// many takeover passes the other replica makes. (With heartbeats written
// by the replica's own clock, it looked dead at once and its job ran a
// second time on the other.)
func TestTakeoverUsesTheDatabaseClock(t *testing.T) {
	t.Parallel()
	const beat = 100 * time.Millisecond
	a, b := replicaPair(t, beat)
	store.SetClock(t, a, skewedClock{})
	wa, wb := newHoldWorker(), newHoldWorker()
	startJobs(t, a, wa.workers())
	if err := a.Enqueue(t.Context(), holdArgs{N: 1}, nil); err != nil {
		t.Fatal(err)
	}
	receive(t, wa.started, "started the job on the replica with the slow clock")
	startJobs(t, b, wb.workers())

	// The event that would have happened is b's takeover pass: wait for
	// more of them than it takes to judge a replica dead.
	from := store.TakeoverPasses(t, b)
	for store.TakeoverPasses(t, b) < from+2*store.HolderDeadAfterBeats {
		select {
		case n := <-wb.started:
			t.Fatalf("the other replica took over job %d of a live replica", n)
		case <-time.After(beat / 2):
		}
	}
	select {
	case n := <-wb.started:
		t.Fatalf("the other replica took over job %d of a live replica", n)
	default:
	}
	close(wa.release)
}

// A replica whose heartbeat does not get through fences itself: it
// cancels its running step before the other replica may take the job
// over, and the other one runs it. Once its beats get through again, it
// takes work again.
func TestFencedReplicaHandsBackFirst(t *testing.T) {
	t.Parallel()
	const beat = 100 * time.Millisecond
	a, b := replicaPair(t, beat)
	fail := store.FailBeats(t, a)
	wa, wb := newHoldWorker(), newHoldWorker()
	startJobs(t, a, wa.workers())
	if err := a.Enqueue(t.Context(), holdArgs{N: 1}, nil); err != nil {
		t.Fatal(err)
	}
	receive(t, wa.started, "started the job")
	startJobs(t, b, wb.workers())

	var cancelledAt atomic.Pointer[time.Time]
	go func() {
		<-wa.cancelled
		now := time.Now()
		cancelledAt.Store(&now)
	}()
	failedAt := time.Now()
	fail.Store(true)
	receive(t, wb.started, "took the job over")
	tookAt := time.Now()
	at := cancelledAt.Load()
	if at == nil || !at.Before(tookAt) {
		t.Fatalf("the fenced replica's step was cancelled at %v, the other took it at %v: both ran it at once", at, tookAt)
	}
	if fenced := at.Sub(failedAt); fenced < (store.FenceAfterBeats-1)*beat || fenced >= store.HolderDeadAfterBeats*beat {
		t.Errorf("fenced %v after the beats began to fail, want between %v and %v", fenced, (store.FenceAfterBeats-1)*beat, store.HolderDeadAfterBeats*beat)
	}
	close(wb.release)

	// Its beats get through again: it runs jobs again (the other replica
	// is stopped, so only it can).
	fail.Store(false)
	stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.StopJobs(stop); err != nil {
		t.Fatal(err)
	}
	if err := b.Enqueue(t.Context(), holdArgs{N: 2}, nil); err != nil {
		t.Fatal(err)
	}
	for n := receive(t, wa.started, "worked again after the fence"); n != 2; n = receive(t, wa.started, "worked job 2") {
	}
	close(wa.release)
}
