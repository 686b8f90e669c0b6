package sandbox

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpusupply/supply/offers"
	"github.com/gpusupply/supply/store/storetest"
	"github.com/gpusupply/supply/vendors/standin"
)

// BenchmarkRefreshAllChanged is what a sandbox server does when the
// sandbox's prices step (every DriftPeriod) and so every vendor's catalog
// changes at once: each vendor's catalog read through its real adapter from
// its stand-in over loopback, priced, persisted and swapped into the
// index's view, one vendor after another, all in one process as the server
// runs them. B/op counts every byte the process allocated (the stand-ins'
// answers included); <vendor>-MB/op splits it by vendor. peak-heap-MB is the
// largest heap goal the collector set while refreshing (what RSS follows),
// peak-live-MB the largest live heap a collection marked, next to
// live-heap-MB, the heap after a collection once every catalog is read.
//
// SUPPLY_BENCH_SCALE sets the sandbox scale (default 215, ~98,500 offers;
// Nebius's read, limited to the sandbox's 200 requests a second, then takes
// about half a minute). Run one iteration or a few:
//
//	go test ./sandbox -run '^$' -bench RefreshAllChanged -benchtime 2x
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
	allocated := make([]uint64, len(sources))
	refreshAll := func() {
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
	}
	refreshAll()
	clear(allocated)
	runtime.GC()
	live := heapObjects()
	offerCount := 0
	for _, v := range ix.Vendors() {
		offerCount += v.Offers
	}

	peak := watchHeap()
	b.ResetTimer()
	for b.Loop() {
		shift.Add(int64(standin.DriftPeriod))
		refreshAll()
	}
	b.StopTimer()
	goal, marked := peak()
	b.ReportMetric(float64(goal)/1e6, "peak-heap-MB")
	b.ReportMetric(float64(marked)/1e6, "peak-live-MB")
	b.ReportMetric(float64(live)/1e6, "live-heap-MB")
	b.ReportMetric(float64(offerCount), "offers")
	for i, src := range sources {
		b.ReportMetric(float64(allocated[i])/float64(b.N)/1e6, src.Name()+"-MB/op")
	}
}

// heapObjects is the bytes of heap objects now: after runtime.GC, the live heap.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// watchHeap samples the collector's heap goal and the live heap it last
// marked every few milliseconds until the returned function is called,
// which returns the largest of each seen.
func watchHeap() func() (goal, live uint64) {
	var most [2]atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}, {Name: "/gc/heap/live:bytes"}}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			for i := range s {
				if v := s[i].Value.Uint64(); v > most[i].Load() {
					most[i].Store(v)
				}
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		<-stopped
		return most[0].Load(), most[1].Load()
	}
}
