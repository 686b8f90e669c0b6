package sandbox

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// BenchmarkRefreshAllChanged is what a sandbox server does when the
// sandbox's prices step (every DriftPeriod) and so every vendor's catalog
// changes at once: each vendor's catalog read through its real adapter from
// its stand-in over loopback, priced, persisted and swapped into the
// index's view, all in one process as the server runs them. one-by-one
// refreshes the vendors one after another, all-at-once together, each in
// its own goroutine, as the server's refresh loops do after a step (the
// index builds one vendor's entries at a time, the reads overlap).
//
// B/op counts every byte the process allocated (the stand-ins' answers
// included); one-by-one's <vendor>-MB/op splits it by vendor. peak-heap-MB
// is the largest heap goal the collector set during an iteration (what RSS
// follows), peak-live-MB the largest live heap a collection marked (objects
// allocated while it marked count as live), each averaged over the
// iterations; live-heap-MB is the heap after a collection once every
// catalog is read. Both peaks depend on when collections happen to start;
// under GOGC=10 peak-live-MB traces the largest heap held at once closely.
//
// SUPPLY_BENCH_SCALE sets the sandbox scale (default 215, ~98,500 offers;
// Nebius's read, limited to the sandbox's 200 requests a second, then takes
// about half a minute). Run a few iterations:
//
//	go test ./sandbox -run '^$' -bench RefreshAllChanged -benchtime 3x
func BenchmarkRefreshAllChanged(b *testing.B) {
	scale := 215
	if s := os.Getenv("SUPPLY_BENCH_SCALE"); s != "" {
		var err error
		if scale, err = strconv.Atoi(s); err != nil {
			b.Fatalf("SUPPLY_BENCH_SCALE: %v", err)
		}
	}
	// Adapters log what the scaled sandbox's synthetic regions lack.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.DiscardHandler))
	// The stand-ins' clock moves a whole price step per iteration.
	var shift atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
	_, sources := startSandbox(b, Options{DataDir: b.TempDir(), BootTime: time.Second, Scale: scale, Now: now})
	ix, err := offers.New(offers.Config{
		Sources: sources, Snapshots: storetest.Open(b, "sqlite"), IDKey: []byte("0123456789abcdef"),
		FetchTimeout: 5 * time.Minute, Sandbox: true, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, src := range sources {
		if err := ix.Refresh(ctx, src.Name()); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	live := heapObjects()
	offerCount := 0
	for _, v := range ix.Vendors() {
		offerCount += v.Offers
	}

	// measure runs refreshAll once per iteration, a price step apart.
	measure := func(b *testing.B, refreshAll func()) {
		peaks := watchHeap()
		defer peaks.stop()
		var goals, marked uint64
		for b.Loop() {
			shift.Add(int64(standin.DriftPeriod))
			refreshAll()
			goal, live := peaks.take()
			goals, marked = goals+goal, marked+live
		}
		b.ReportMetric(float64(goals)/float64(b.N)/1e6, "peak-heap-MB")
		b.ReportMetric(float64(marked)/float64(b.N)/1e6, "peak-live-MB")
		b.ReportMetric(float64(live)/1e6, "live-heap-MB")
		b.ReportMetric(float64(offerCount), "offers")
	}
	b.Run("one-by-one", func(b *testing.B) {
		allocated := make([]uint64, len(sources))
		measure(b, func() {
			var ms runtime.MemStats
			for i, src := range sources {
				runtime.ReadMemStats(&ms)
				before := ms.TotalAlloc
				if err := ix.Refresh(ctx, src.Name()); err != nil {
					b.Fatal(err)
				}
				runtime.ReadMemStats(&ms)
				allocated[i] += ms.TotalAlloc - before
			}
		})
		for i, src := range sources {
			b.ReportMetric(float64(allocated[i])/float64(b.N)/1e6, src.Name()+"-MB/op")
		}
	})
	b.Run("all-at-once", func(b *testing.B) {
		measure(b, func() {
			var wg sync.WaitGroup
			for _, src := range sources {
				wg.Go(func() {
					if err := ix.Refresh(ctx, src.Name()); err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
		})
	})
}

// heapObjects is the bytes of heap objects now: after runtime.GC, the live heap.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapPeaks samples the collector's heap goal and the live heap it last
// marked every few milliseconds, keeping the largest of each.
type heapPeaks struct {
	mu         sync.Mutex
	goal, live uint64
	done       chan struct{}
	stopped    chan struct{}
}

func watchHeap() *heapPeaks {
	p := &heapPeaks{done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(p.stopped)
		s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}, {Name: "/gc/heap/live:bytes"}}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			p.mu.Lock()
			p.goal, p.live = max(p.goal, s[0].Value.Uint64()), max(p.live, s[1].Value.Uint64())
			p.mu.Unlock()
			select {
			case <-p.done:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// take returns the largest goal and live heap seen since the last take.
func (p *heapPeaks) take() (goal, live uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	goal, live, p.goal, p.live = p.goal, p.live, 0, 0
	return goal, live
}

func (p *heapPeaks) stop() {
	close(p.done)
	<-p.stopped
}
