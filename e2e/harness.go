// Package e2e tests the real supply binary from the outside: it builds
// ./cmd/supply, runs `supply server` as a child process on loopback with
// its own data directory (and, on PostgreSQL, its own database) and talks
// to it over HTTP, as a user would. The harness here is shared by every
// end-to-end test: foundation, offers, crash and procurement tests.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/sandbox"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// Timeouts of the harness: generous, because the two cores are shared.
const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 15 * time.Second
)

// build is the binary built once per test binary, in a directory that
// Main removes when the tests are done.
var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Main runs the tests of a package that uses the harness and removes the
// binary afterwards: call it from TestMain as os.Exit(e2e.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	return code
}

// Binary builds ./cmd/supply once per test binary (CGO_ENABLED=0, as
// released) and returns its path. SUPPLY_E2E_BINARY names a binary to test
// instead, such as a release build.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		if path := os.Getenv("SUPPLY_E2E_BINARY"); path != "" {
			build.path = path
			return
		}
		build.path, build.err = buildBinary()
	})
	if build.err != nil {
		t.Fatalf("build supply: %v", build.err)
	}
	return build.path
}

// moduleRoot is the directory of the module being tested.
func moduleRoot() (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(gomod))), nil
}

func buildBinary() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	build.dir, err = os.MkdirTemp("", "supply-e2e-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(build.dir, "supply")
	// -buildvcs=auto: record the commit where the checkout allows it (a
	// plain clone, as in CI), whatever GOFLAGS the machine sets.
	cmd := exec.Command("go", "build", "-buildvcs=auto", "-o", path, "./cmd/supply")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, out)
	}
	return path, nil
}

// Config says how to start a server beyond the defaults.
type Config struct {
	// Engine is store.EngineSQLite or store.EnginePostgres (a fresh
	// database from storetest.PostgresURL, unless DatabaseURL is set).
	Engine string
	// DatabaseURL, on PostgreSQL, shares another server's database (a
	// second replica) instead of making a fresh one.
	DatabaseURL string
	// Flags are extra `supply server` flags. Every server starts with
	// --sandbox-steady-stock, so what a test rents does not depend on the
	// wall clock; --sandbox-steady-stock=false here turns it off.
	Flags []string
	// Env are extra SUPPLY_<FLAG>=value variables. The test's own SUPPLY_*
	// variables are never passed on, so a developer's shell cannot change
	// what a test runs.
	Env []string
}

// Server is one `supply server` process under test, with everything needed
// to restart it on the same state.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:40123.
	URL string
	// MetricsURL is the base URL of its metrics listener.
	MetricsURL string
	// Key is the initial API key (account "default").
	Key string
	// DataDir is the server's --data-dir.
	DataDir string
	// DatabaseURL is the PostgreSQL database, or "" on SQLite.
	DatabaseURL string

	cfg         Config
	addr        string
	metricsAddr string
	logPath     string
	client      *http.Client

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the current process has exited
	exitErr error
	logFrom int64 // where the current process's output starts in the log
}

// Start runs `supply server` on a free loopback port with a fresh data
// directory and the given extra flags, waits until it is ready and reads
// its initial API key. engine is "sqlite" or "postgres". The server is
// stopped (SIGTERM, then SIGKILL) when the test ends.
func Start(t testing.TB, engine string, flags ...string) *Server {
	t.Helper()
	return StartConfig(t, Config{Engine: engine, Flags: flags})
}

// StartConfig is Start with environment variables as well as flags.
func StartConfig(t testing.TB, cfg Config) *Server {
	t.Helper()
	s := &Server{
		DataDir:     t.TempDir(),
		cfg:         cfg,
		addr:        "127.0.0.1:0",
		metricsAddr: "127.0.0.1:0",
		logPath:     filepath.Join(t.TempDir(), "server.log"),
		client:      &http.Client{Timeout: 30 * time.Second},
	}
	switch cfg.Engine {
	case store.EngineSQLite:
	case store.EnginePostgres:
		s.DatabaseURL = cfg.DatabaseURL
		if s.DatabaseURL == "" {
			s.DatabaseURL = storetest.PostgresURL(t)
		}
	default:
		t.Fatalf("e2e: unknown engine %q", cfg.Engine)
	}
	t.Cleanup(func() { s.stop(t) })
	s.start(t)
	key, err := os.ReadFile(filepath.Join(s.DataDir, "initial-api-key"))
	switch {
	case err == nil:
		s.Key = strings.TrimSpace(string(key))
	case cfg.DatabaseURL == "":
		t.Fatalf("read initial API key: %v\n%s", err, s.tail())
	}
	// A second replica finds the account made: the first one's key serves
	// it; the caller sets Key.
	return s
}

// SandboxEnv reads the server's <data-dir>/sandbox/endpoints.json as
// SUPPLY_* variables, for another server whose real adapters are to use
// this one's stand-ins (with --sandbox=false).
func (s *Server) SandboxEnv(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.DataDir, "sandbox", sandbox.EndpointsFile))
	if err != nil {
		t.Fatalf("read sandbox endpoints: %v", err)
	}
	var e sandbox.Endpoints
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("read sandbox endpoints: %v", err)
	}
	seen := map[string]bool{}
	var env []string
	for _, vars := range e {
		for k, v := range vars {
			if !seen[k] {
				seen[k] = true
				env = append(env, k+"="+v)
			}
		}
	}
	return env
}

// servingLine and metricsLine are the log lines that say where the server
// listens, for the API and for metrics; the metrics line comes first.
var (
	servingLine = regexp.MustCompile(`"msg":"supply serving".*?"addr":"([^"]+)"`)
	metricsLine = regexp.MustCompile(`"msg":"metrics serving".*?"addr":"([^"]+)"`)
)

// start launches the process and waits for /readyz. The first start
// listens on port 0 (API and metrics) and learns the ports from the log;
// restarts reuse them, so URLs and offer links stay valid across a
// restart.
func (s *Server) start(t testing.TB) {
	t.Helper()
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("open server log: %v", err)
	}
	defer log.Close()
	from, err := log.Seek(0, io.SeekEnd)
	if err != nil {
		t.Fatalf("open server log: %v", err)
	}
	args := append([]string{"server", "--listen", s.addr, "--metrics-listen", s.metricsAddr, "--sandbox-steady-stock"}, s.cfg.Flags...)
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = s.env()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start supply server: %v", err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited, s.exitErr, s.logFrom = cmd, exited, nil, from
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		s.exitErr = err
		s.mu.Unlock()
		close(exited)
	}()
	s.waitReady(t, exited)
}

// env is the child's environment: ours without SUPPLY_*, plus the data
// directory, database and the test's own variables. Passing the data
// directory and database through the environment keeps them apart from
// the flags a test chose.
func (s *Server) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SUPPLY_") {
			env = append(env, kv)
		}
	}
	env = append(env, "SUPPLY_DATA_DIR="+s.DataDir)
	if s.DatabaseURL != "" {
		env = append(env, "SUPPLY_DATABASE_URL="+s.DatabaseURL)
	}
	return append(env, s.cfg.Env...)
}

func (s *Server) waitReady(t testing.TB, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for ; time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("supply server exited before it was ready: %v\n%s", s.exitError(), s.tail())
		default:
		}
		if s.URL == "" {
			out := s.Stderr()
			m, mm := servingLine.FindStringSubmatch(out), metricsLine.FindStringSubmatch(out)
			if m == nil || mm == nil {
				continue
			}
			s.addr, s.URL = m[1], "http://"+m[1]
			s.metricsAddr, s.MetricsURL = mm[1], "http://"+mm[1]
		}
		resp, err := s.client.Get(s.URL + "/readyz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
	}
	t.Fatalf("supply server not ready after %s\n%s", readyTimeout, s.tail())
}

func (s *Server) exitError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exitErr
}

// Stderr is everything the current process has written so far (logs,
// and on a first start the printed API key).
func (s *Server) Stderr() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	s.mu.Lock()
	from := s.logFrom
	s.mu.Unlock()
	return string(b[min(from, int64(len(b))):])
}

// tail is the end of the current process's output, for failure messages.
func (s *Server) tail() string {
	out := s.Stderr()
	const keep = 4000
	if len(out) > keep {
		out = "..." + out[len(out)-keep:]
	}
	return "--- server output ---\n" + out
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it;
// Restart brings it back.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if !s.signal(t, syscall.SIGKILL) {
		t.Fatalf("supply server still running %s after SIGKILL", stopTimeout)
	}
}

// Restart stops the server (gracefully, unless it is already dead) and
// starts it again on the same data directory, database and port.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if s.running() {
		s.stop(t)
	}
	s.start(t)
}

func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and expects a clean exit; a server that does not
// stop in time is killed and the test fails.
func (s *Server) stop(t testing.TB) {
	t.Helper()
	if !s.running() {
		return
	}
	if !s.signal(t, syscall.SIGTERM) {
		t.Errorf("supply server did not stop within %s of SIGTERM; killed\n%s", stopTimeout, s.tail())
		s.signal(t, syscall.SIGKILL)
		return
	}
	if err := s.exitError(); err != nil {
		t.Errorf("supply server exited uncleanly after SIGTERM: %v\n%s", err, s.tail())
	}
}

// signal sends sig and reports whether the process exited in time.
func (s *Server) signal(t testing.TB, sig syscall.Signal) bool {
	t.Helper()
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return true
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal supply server: %v", err)
	}
	select {
	case <-exited:
		return true
	case <-time.After(stopTimeout):
		return false
	}
}

// Do sends a request with the initial API key and returns the status,
// headers and body.
func (s *Server) Do(t testing.TB, method, path, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	return s.DoKey(t, s.Key, method, path, contentType, body)
}

// DoKey is Do with another API key; an empty key sends no Authorization.
func (s *Server) DoKey(t testing.TB, key, method, path, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", method, path, err, s.tail())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// Metrics reads the server's Prometheus exposition from its metrics
// listener.
func (s *Server) Metrics(t testing.TB) []byte {
	t.Helper()
	resp, err := s.client.Get(s.MetricsURL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v\n%s", err, s.tail())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return b
}

// JSON sends a request with the initial key, expects status want and
// decodes the JSON answer into out (when out is not nil).
func (s *Server) JSON(t testing.TB, method, path, contentType string, body []byte, want int, out any) {
	t.Helper()
	code, _, b := s.Do(t, method, path, contentType, body)
	if code != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// Command runs another supply subcommand (keys, migrate, ...) against the
// server's data directory and database and returns its standard output.
func (s *Server) Command(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = s.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("supply %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// NewKey runs `supply keys create` against the server's database and
// returns the new key of account.
func (s *Server) NewKey(t testing.TB, account string) string {
	t.Helper()
	return strings.TrimSpace(s.Command(t, "keys", "create", "--account", account))
}

// WaitVendors waits until every vendor's catalog has been read (no
// vendor "starting") and returns their statuses.
func (s *Server) WaitVendors(t testing.TB) []supplyapi.VendorStatus {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for {
		var vs []supplyapi.VendorStatus
		s.JSON(t, http.MethodGet, "/available_vendors", "", nil, http.StatusOK, &vs)
		ready := len(vs) > 0
		for _, v := range vs {
			ready = ready && v.Status != "starting"
		}
		if ready {
			return vs
		}
		if time.Now().After(deadline) {
			t.Fatalf("vendor catalogs not read after %s: %+v\n%s", readyTimeout, vs, s.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
