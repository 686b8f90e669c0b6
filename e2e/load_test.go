package e2e

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/contentcoding/contentcodingtest"
	"github.com/gpusupply/supply/internal/store"
)

// loadQueries are the get_offers bodies the load test cycles through: what
// users ask most, with a limit of 100 as a UI would.
var loadQueries = []string{
	"compute:\n  gpu_type: H100\nlimit: 100\n",
	"compute:\n  gpu_type: nvidia-a100-sxm4-80gb\nlimit: 100\n",
	"region: EU\ncompute:\n  gpu_type: L40S\nlimit: 100\n",
	"compute:\n  gpu_type: H100\n  contract_type: spot\nlimit: 100\n",
	"compute:\n  gpu_type: A100\n  max_price_per_gpu_hour: 2.5\nlimit: 100\n",
	"compute:\n  gpu_type: H100\n  gpu_count: 8\n  max_price_per_gpu_hour: 4\nlimit: 100\n",
}

// loadConfig is the load test's setting, from the environment.
type loadConfig struct {
	duration      time.Duration
	warmup        time.Duration
	concurrencies []int
	runs          int
	engines       []string
	scales        []int
	// mixes are the query sets measured one after the other on each
	// server; every client cycles through one mix.
	mixes [][]string
	// profiles, if set, is a directory for a CPU profile of the server
	// during the first run of each setup.
	profiles string
	// refresh is the server's --catalog-refresh: long by default, so the
	// catalog holds still; short to measure queries (and memory) while
	// catalogs are refreshed.
	refresh string
	// endpoints, if set, names the only endpoints TestLoadPolling measures.
	endpoints []string
	// encodings are the Accept-Encoding headers every setup is measured
	// with in turn, "identity" for a client that asks for no compression.
	encodings []string
}

func loadConfigFromEnv(t *testing.T) loadConfig {
	c := loadConfig{
		duration: 15 * time.Second, warmup: 3 * time.Second, concurrencies: []int{16}, runs: 3,
		engines: []string{store.EngineSQLite, store.EnginePostgres}, scales: []int{1},
		mixes: [][]string{loadQueries}, refresh: "1h", encodings: []string{identity, "gzip"},
	}
	env := func(name string, parse func(string) error) {
		if v := os.Getenv(name); v != "" {
			if err := parse(v); err != nil {
				t.Fatalf("%s=%q: %v", name, v, err)
			}
		}
	}
	env("SUPPLY_LOAD_DURATION", func(v string) (err error) { c.duration, err = time.ParseDuration(v); return })
	env("SUPPLY_LOAD_CONCURRENCY", func(v string) (err error) { c.concurrencies, err = atois(v); return })
	env("SUPPLY_LOAD_RUNS", func(v string) (err error) { c.runs, err = strconv.Atoi(v); return })
	env("SUPPLY_LOAD_ENGINES", func(v string) error { c.engines = strings.Split(v, ","); return nil })
	env("SUPPLY_LOAD_SCALES", func(v string) (err error) { c.scales, err = atois(v); return })
	env("SUPPLY_LOAD_PROFILE", func(v string) error { c.profiles = v; return nil })
	env("SUPPLY_LOAD_ENDPOINTS", func(v string) error { c.endpoints = strings.Split(v, ","); return nil })
	env("SUPPLY_LOAD_ENCODINGS", func(v string) error { c.encodings = strings.Split(v, ","); return nil })
	env("SUPPLY_LOAD_REFRESH", func(v string) error { c.refresh = v; _, err := time.ParseDuration(v); return err })
	env("SUPPLY_LOAD_QUERIES", func(v string) error {
		c.mixes = nil
		for _, q := range strings.Split(v, "\n---\n") {
			c.mixes = append(c.mixes, []string{q})
		}
		return nil
	})
	return c
}

// atois parses a comma-separated list of integers.
func atois(v string) ([]int, error) {
	var ns []int
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, err
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// TestLoadGetOffers measures POST /get_offers on the real binary: a closed
// loop of concurrent clients, each sending the next query as soon as the
// last answer is read. Opt-in (SUPPLY_LOAD=1): it takes about a minute per
// setup. Tune with SUPPLY_LOAD_DURATION, _CONCURRENCY (e.g. 1,16), _RUNS,
// _ENGINES (sqlite,postgres), _SCALES (--sandbox-scale values, e.g. 1,84)
// and _QUERIES (YAML bodies separated by "\n---\n", each measured on its
// own instead of the default mix), _REFRESH (--catalog-refresh, 1h by
// default) and _ENCODINGS (the Accept-Encoding of each measurement in
// turn: identity,gzip by default; zstd too). Each run also reports the server's RSS (/proc/<pid>/status
// VmRSS, sampled every 250 ms): at the end and the largest seen.
// SUPPLY_LOAD_PROFILE=dir writes a CPU
// profile of the server per setup there. SUPPLY_E2E_BINARY measures another
// build, such as an older commit's. A compressed answer is read as it
// comes, not decompressed (that is the client's CPU, not the server's),
// but checked to be in the coding asked for, or plain. The load generator runs on the same machine as the server and competes
// with it for CPU.
func TestLoadGetOffers(t *testing.T) {
	if os.Getenv("SUPPLY_LOAD") != "1" {
		t.Skip("load test; run with SUPPLY_LOAD=1")
	}
	cfg := loadConfigFromEnv(t)
	for _, engine := range cfg.engines {
		for _, scale := range cfg.scales {
			t.Run(fmt.Sprintf("%s/scale=%d", engine, scale), func(t *testing.T) {
				flags := []string{"--sandbox-scale", strconv.Itoa(scale), "--catalog-refresh", cfg.refresh, "--rate-limit", "0"}
				if cfg.profiles != "" {
					flags = append(flags, "--metrics-pprof")
				}
				s := Start(t, engine, flags...)
				catalog := 0
				for _, v := range s.WaitVendors(t) {
					catalog += v.Offers
				}
				for m, mix := range cfg.mixes {
					for _, concurrency := range cfg.concurrencies {
						for _, encoding := range cfg.encodings {
							l := newLoader(s, concurrency, encoding, offerQueries(mix))
							m := l.measure(t, cfg, fmt.Sprintf("cpu-%s-scale%d-q%d-c%d-%s.pprof", engine, scale, m, concurrency, encoding))
							t.Logf("RESULT engine=%s scale=%d offers=%d queries=%q concurrency=%d encoding=%s median of %d: %s",
								engine, scale, catalog, mix, concurrency, encoding, cfg.runs, m)
							if m.errors > 0 {
								t.Errorf("%d requests failed", m.errors)
							}
						}
					}
				}
			})
		}
	}
}

// profile fetches a CPU profile of the server over d into path, in the
// background; the channel says how that went.
func profile(s *Server, d time.Duration, path string) chan error {
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.MetricsURL, int(d.Seconds())))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
		}
		if err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
		done <- err
	}()
	return done
}

// loader drives one server with a fixed number of concurrent clients.
type loader struct {
	s           *Server
	client      *http.Client
	concurrency int
	// encoding is the Accept-Encoding every request sends (none for
	// identity).
	encoding string
	// request is a client's i-th request: its method, path and body
	// (nil for none), and the prefix a good answer starts with.
	request func(i int) loadRequest
}

// loadRequest is one request of a load run.
type loadRequest struct {
	method, path string
	body         []byte
	// want is how a 200 answer starts.
	want []byte
	// ifNoneMatch, when set, is sent as If-None-Match, and the answer
	// must be 304 Not Modified.
	ifNoneMatch string
}

// offerQueries cycles through YAML get_offers bodies.
func offerQueries(queries []string) func(i int) loadRequest {
	return func(i int) loadRequest {
		return loadRequest{method: http.MethodPost, path: "/get_offers", body: []byte(queries[i%len(queries)]), want: []byte(`{"offers":`)}
	}
}

// identity is the encoding of a client that asks for no compression.
const identity = "identity"

func newLoader(s *Server, concurrency int, encoding string, request func(i int) loadRequest) *loader {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = concurrency
	// Go's transport asks for gzip by default and decompresses what it
	// gets; the loader asks for what it measures itself, and reads the
	// body as sent.
	tr.DisableCompression = true
	return &loader{s: s, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}, concurrency: concurrency, encoding: encoding, request: request}
}

// loadResult is one measured run.
type loadResult struct {
	requests, errors int
	// compressed counts the answers that came compressed.
	compressed           int
	bytes                int64
	elapsed              time.Duration
	p50, p90, p99, worst time.Duration
	// rss is the server's resident memory when the run ended, and the
	// most it had while it ran, in bytes (0 where /proc is not there).
	rss, rssPeak int64
	// cpu is the CPU time the server used during the run (0 where /proc
	// is not there): per request, the measure least moved by other
	// processes sharing the cores.
	cpu time.Duration
}

func (r loadResult) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r loadResult) String() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
	avg := int64(0)
	if r.requests > 0 {
		avg = r.bytes / int64(r.requests)
	}
	cpu := time.Duration(0)
	if r.requests > 0 {
		cpu = r.cpu / time.Duration(r.requests)
	}
	return fmt.Sprintf("%d requests in %s: %.0f req/s, p50 %s, p90 %s, p99 %s, max %s, errors %d, %d bytes/answer, %d compressed, RSS %d MB (peak %d MB), server CPU %.1f µs/request",
		r.requests, r.elapsed.Round(time.Millisecond), r.rps(), ms(r.p50), ms(r.p90), ms(r.p99), ms(r.worst), r.errors, avg, r.compressed, r.rss>>20, r.rssPeak>>20,
		float64(cpu.Nanoseconds())/1000)
}

// run sends queries from every client for d and measures each one.
// measure warms l up, then runs it cfg.runs times, logging each run, and
// returns the median run. With cfg.profiles set, the server's CPU profile
// of the first run is written there under the name profileName.
func (l *loader) measure(t *testing.T, cfg loadConfig, profileName string) loadResult {
	t.Helper()
	l.run(cfg.warmup)
	var results []loadResult
	for i := range cfg.runs {
		var profiled chan error
		if cfg.profiles != "" && i == 0 {
			profiled = profile(l.s, cfg.duration-time.Second, filepath.Join(cfg.profiles, profileName))
		}
		r := l.run(cfg.duration)
		if profiled != nil {
			if err := <-profiled; err != nil {
				t.Errorf("CPU profile: %v", err)
			}
		}
		t.Logf("run %d: %s", i+1, r)
		results = append(results, r)
	}
	return median(results)
}

func (l *loader) run(d time.Duration) loadResult {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	// The generator shares the server's cores: it collects its garbage a
	// quarter as often as by default, so that less of what is measured is
	// its own collector.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	var (
		mu         sync.Mutex
		latencies  []time.Duration
		errors     int
		compressed int
		read       int64
		wg         sync.WaitGroup
	)
	l.s.mu.Lock()
	pid := l.s.cmd.Process.Pid
	l.s.mu.Unlock()
	var rss, rssPeak int64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			rss = residentBytes(pid)
			rssPeak = max(rssPeak, rss)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	cpuBefore := cpuTime(pid)
	start := time.Now()
	for worker := range l.concurrency {
		wg.Go(func() {
			var mine []time.Duration
			failed, packed, mineRead := 0, 0, int64(0)
			// One buffer per client for every answer it reads: the
			// generator shares the server's cores, so it should spend
			// as little as it can.
			var answer bytes.Buffer
			for i := worker; ctx.Err() == nil; i++ {
				began := time.Now()
				lr := l.request(i)
				n, coding, err := l.query(lr, &answer)
				if err == nil && coding != "" {
					packed++
					// The first of each client's compressed answers is
					// unpacked and checked; the rest by their magic.
					err = checkPacked(coding, answer.Bytes(), lr.want, packed == 1)
				}
				if err != nil {
					failed++
					continue
				}
				mine = append(mine, time.Since(began))
				mineRead += int64(n)
			}
			mu.Lock()
			latencies, errors, compressed, read = append(latencies, mine...), errors+failed, compressed+packed, read+mineRead
			mu.Unlock()
		})
	}
	wg.Wait()
	<-sampled
	r := loadResult{requests: len(latencies), errors: errors, compressed: compressed, bytes: read, elapsed: time.Since(start), rss: rss, rssPeak: rssPeak,
		cpu: cpuTime(pid) - cpuBefore}
	if len(latencies) == 0 {
		return r
	}
	slices.Sort(latencies)
	at := func(q float64) time.Duration { return latencies[int(q*float64(len(latencies)-1))] }
	r.p50, r.p90, r.p99, r.worst = at(.50), at(.90), at(.99), latencies[len(latencies)-1]
	return r
}

// query sends one request and reads the whole answer into buf, as a
// client must; it returns the answer's size and its Content-Encoding,
// which must be the loader's encoding or none.
func (l *loader) query(lr loadRequest, buf *bytes.Buffer) (int, string, error) {
	var body io.Reader
	if lr.body != nil {
		body = bytes.NewReader(lr.body)
	}
	req, err := http.NewRequest(lr.method, l.s.URL+lr.path, body)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+l.s.Key)
	if l.encoding != identity {
		req.Header.Set("Accept-Encoding", l.encoding)
	}
	if lr.body != nil {
		req.Header.Set("Content-Type", yamlType)
	}
	wantStatus := http.StatusOK
	if lr.ifNoneMatch != "" {
		req.Header.Set("If-None-Match", lr.ifNoneMatch)
		wantStatus = http.StatusNotModified
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return 0, "", err
	}
	coding := resp.Header.Get("Content-Encoding")
	if coding != "" && coding != l.encoding {
		return 0, "", fmt.Errorf("asked for %s, got Content-Encoding %q", l.encoding, coding)
	}
	if b := buf.Bytes(); resp.StatusCode != wantStatus || wantStatus == http.StatusOK && coding == "" && !bytes.HasPrefix(b, lr.want) {
		return 0, "", fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
	}
	return buf.Len(), coding, nil
}

// magic is how a body in each coding starts (RFC 1952, RFC 8878).
var magic = map[string][]byte{"gzip": {0x1f, 0x8b}, "zstd": {0x28, 0xb5, 0x2f, 0xfd}}

// checkPacked checks a compressed answer: that it starts as its coding
// does and, when unpack is set, that it unpacks to an answer that starts
// with want.
func checkPacked(coding string, body, want []byte, unpack bool) error {
	if !bytes.HasPrefix(body, magic[coding]) {
		return fmt.Errorf("a %s answer starts %x", coding, body[:min(len(body), 4)])
	}
	if !unpack {
		return nil
	}
	plain, err := contentcodingtest.Unpack(coding, body)
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(plain, want) {
		return fmt.Errorf("a %s answer unpacks to %.200s", coding, plain)
	}
	return nil
}

// cpuTime is the CPU time a process has used, user and system (its
// utime and stime in /proc/<pid>/stat), or 0 when it cannot be read.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses and may
	// hold spaces: state is the first, utime the 12th, stime the 13th.
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	// Linux counts in clock ticks of 1/100 s (USER_HZ) on every platform
	// Go supports.
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// residentBytes is a process's resident memory (VmRSS), or 0 when it
// cannot be read.
func residentBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if kb, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64)
			return n << 10
		}
	}
	return 0
}

// median is the run with the median throughput, so its latencies belong
// together.
func median(results []loadResult) loadResult {
	sorted := slices.SortedFunc(slices.Values(results), func(a, b loadResult) int {
		return cmp.Compare(a.rps(), b.rps())
	})
	return sorted[len(sorted)/2]
}
