package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"
	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/internal/api"
	"github.com/gpusupply/supply/internal/apikeys"
	"github.com/gpusupply/supply/internal/buildinfo"
	"github.com/gpusupply/supply/internal/console"
	"github.com/gpusupply/supply/internal/events"
	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/keys"
	"github.com/gpusupply/supply/internal/logging"
	"github.com/gpusupply/supply/internal/mcpserver"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/provision"
	"github.com/gpusupply/supply/internal/sandbox"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/telemetry"
	"github.com/gpusupply/supply/internal/vendors"
)

type serverFlags struct {
	db                dbFlags
	listen            string
	metricsListen     string
	metricsPprof      bool
	noMigrate         bool
	sandbox           bool
	sandboxBootTime   time.Duration
	sandboxScale      int
	sandboxSteady     bool
	sandboxShell      bool
	offerTTL          time.Duration
	catalogRefresh    time.Duration
	provisionTimeout  time.Duration
	reconcileEvery    time.Duration
	jobRescueAfter    time.Duration
	rateLimit         float64
	rateBurst         int
	authFailureRate   float64
	authFailureBurst  int
	trustedProxies    []string
	operatorAccount   string
	shutdownTimeout   time.Duration
	log               logFlags
	defaultAutoDelete time.Duration
	maxAutoDelete     time.Duration
	vendors           vendorFlags
	events            eventFlags
}

// eventFlags configure the event log and webhooks.
type eventFlags struct {
	retention    time.Duration
	allowPrivate bool
	retryBase    time.Duration
	maxAttempts  int
}

func serverCommand() *cobra.Command {
	var f serverFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Serve the Supply API",
		Long: `Serve the Supply API on --listen.

With no vendor credentials (or with --sandbox) supply runs in sandbox mode: it starts local
stand-ins of every vendor's API and rents from them, so everything works and nothing is billed.
State lives in SQLite under --data-dir unless --database-url points at PostgreSQL.`,
		Example: `  supply server
  supply server --listen 0.0.0.0:8080 --database-url postgres://supply@db/supply
  SUPPLY_LAMBDA_API_KEY=... supply server`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sandboxSet := cmd.Flags().Changed("sandbox")
			return runServer(cmd.Context(), f, sandboxSet)
		},
	}
	f.db.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to serve the API on")
	fl.StringVar(&f.metricsListen, "metrics-listen", "127.0.0.1:9464", "address to serve Prometheus metrics (/metrics) on, apart from the API; empty: no metrics")
	fl.BoolVar(&f.metricsPprof, "metrics-pprof", false, "also serve Go's profiling endpoints (/debug/pprof/) on --metrics-listen, to measure the server")
	fl.BoolVar(&f.noMigrate, "no-migrate", false, "on PostgreSQL, do not apply migrations at start (run 'supply migrate' instead)")
	fl.BoolVar(&f.sandbox, "sandbox", false, "force sandbox mode on or off (default: on when no vendor credentials are set)")
	fl.DurationVar(&f.sandboxBootTime, "sandbox-boot-time", 3*time.Second, "how long sandbox instances take to boot")
	fl.IntVar(&f.sandboxScale, "sandbox-scale", 1, "multiply each sandbox catalog with synthetic variants (for load tests)")
	fl.BoolVar(&f.sandboxSteady, "sandbox-steady-stock", false, "keep sandbox stock from flickering out (by default 5% of items are sold out in each 5-minute period, as real stock comes and goes)")
	fl.BoolVar(&f.sandboxShell, "sandbox-shell", false, "FOR LOCAL TRIES ONLY: sandbox machines' SSH sessions run renters' commands ON THIS MACHINE as the server's user (in <data-dir>/sandbox/machines/...), and their cloud-init runcmd or start-up script at first boot; without it a session only shows what the machine received")
	fl.DurationVar(&f.offerTTL, "offer-ttl", 30*time.Minute, "how long a returned offer stays procurable")
	fl.DurationVar(&f.catalogRefresh, "catalog-refresh", time.Minute, "how often each vendor's catalog is re-read")
	fl.DurationVar(&f.provisionTimeout, "provision-timeout", 20*time.Minute, "fail (and clean up) a procurement not reachable over SSH by then")
	fl.DurationVar(&f.reconcileEvery, "reconcile-every", time.Minute, "how often instances at the vendors are compared with the database")
	fl.DurationVar(&f.jobRescueAfter, "job-rescue-after", store.DefaultJobRescueAfter, "River's last resort for a job step that hangs in a live process: run it again after this long (a dead process's steps are taken over within seconds through heartbeats)")
	fl.Float64Var(&f.rateLimit, "rate-limit", 100, "requests per second one account may make (bursts of --rate-burst); 0 turns the limit off")
	fl.IntVar(&f.rateBurst, "rate-burst", 200, "burst size of the per-account rate limit")
	fl.Float64Var(&f.authFailureRate, "auth-failure-rate", 1, "requests with an invalid API key per second one client address may make (bursts of --auth-failure-burst); 0 turns the limit off")
	fl.IntVar(&f.authFailureBurst, "auth-failure-burst", 20, "burst size of the per-address limit on invalid API keys")
	fl.StringSliceVar(&f.trustedProxies, "trusted-proxies", nil, "CIDRs (or addresses) of the reverse proxies in front of the server: only a request from one of them has its client taken from X-Forwarded-For")
	fl.StringVar(&f.operatorAccount, "operator-account", "", "the account whose admin keys may create accounts over the API (POST /admin/accounts); created if new")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM or SIGINT, how long to let requests and job steps in flight finish; steps still running then are handed back to the queue")
	f.log.register(fl)
	fl.DurationVar(&f.defaultAutoDelete, "default-auto-delete", 0, "delete every resource this long after procurement unless its request says otherwise (auto_delete_after); 0: never")
	fl.DurationVar(&f.maxAutoDelete, "max-auto-delete", provision.DefaultMaxAutoDelete, "the longest auto_delete_after a request may ask for")
	fl.DurationVar(&f.events.retention, "events-retention", 7*24*time.Hour, "how long events are kept (GET /events, webhooks)")
	fl.BoolVar(&f.events.allowPrivate, "webhooks-allow-private", false, "let webhooks reach loopback, link-local and private addresses (refused by default: SSRF)")
	fl.DurationVar(&f.events.retryBase, "webhook-retry-base", 20*time.Second, "wait before a failed webhook delivery's second attempt; each next wait doubles")
	fl.IntVar(&f.events.maxAttempts, "webhook-max-attempts", 13, "attempts of a webhook delivery before its endpoint is disabled (13 from 20s: about a day)")
	f.vendors.register(fl)
	return cmd
}

// keyCacheTTL is how long a process trusts what it read of an API key: a
// revocation, an expiry, a new role reach every replica within it.
const keyCacheTTL = 500 * time.Millisecond

func runServer(ctx context.Context, f serverFlags, sandboxSet bool) error {
	log, flushLog, err := f.log.logger()
	if err != nil {
		return err
	}
	defer flushLog()
	build := buildinfo.Read()
	stopTracing, err := telemetry.Setup(ctx, build.Version)
	if err != nil {
		return err
	}
	// Last: flush the spans of the shutdown itself.
	defer flushTraces(stopTracing, log)
	trustedProxies, err := parsePrefixes(f.trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	isPostgres := strings.HasPrefix(f.db.databaseURL, "postgres")
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	release, err := lockDataDir(f.db.dataDir)
	if err != nil {
		return err
	}
	defer release()
	// The addresses first: a port in use is said before anything is
	// migrated, created or started.
	var metricsListener net.Listener
	if f.metricsListen != "" {
		if metricsListener, err = net.Listen("tcp", f.metricsListen); err != nil {
			return fmt.Errorf("listen for metrics on --metrics-listen %s: %w", f.metricsListen, err)
		}
		defer metricsListener.Close()
	}
	l, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen on --listen %s: %w", f.listen, err)
	}
	defer l.Close()
	// River's routine lines (job counts every few seconds) go to debug.
	opts := f.db.options(!isPostgres || !f.noMigrate, logging.River(log))
	opts.JobRescueAfter = f.jobRescueAfter
	opts.JobMiddleware = append(telemetry.JobMiddleware(), provision.NewJobMetrics(metrics))
	st, err := store.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := ensureInitialKey(ctx, st, f.db.dataDir, log); err != nil {
		return err
	}

	installation, err := installationID(ctx, st)
	if err != nil {
		return err
	}
	log = log.With("installation", installation)

	vs, err := f.vendors.configured(installation)
	if err != nil {
		return err
	}
	useSandbox := f.sandbox || (!sandboxSet && len(vs) == 0)
	var sb *sandbox.Sandbox
	if useSandbox {
		sb, err = sandbox.Start(sandbox.Options{DataDir: f.db.dataDir, BootTime: f.sandboxBootTime, Scale: f.sandboxScale, SteadyStock: f.sandboxSteady, Shell: f.sandboxShell, Owner: installation, Logger: log})
		if err != nil {
			return err
		}
		defer sb.Close()
		vs = sb.Vendors()
		log.Warn("SANDBOX MODE: vendors are local stand-ins; nothing is rented and nothing is billed", "vendors", len(vs), "scale", f.sandboxScale)
	}

	idKey, err := offerIDKey(ctx, st)
	if err != nil {
		return err
	}
	sources := make([]offers.Source, len(vs))
	for i, v := range vs {
		sources[i] = v
	}
	index, err := offers.New(offers.Config{
		Sources: sources, Snapshots: st, IDKey: idKey, TTL: f.offerTTL, Refresh: f.catalogRefresh,
		Sandbox: useSandbox, Logger: log, Metrics: metrics,
	})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	index.Start(runCtx)

	if f.maxAutoDelete <= 0 || f.defaultAutoDelete < 0 || f.defaultAutoDelete > f.maxAutoDelete {
		return fmt.Errorf("--default-auto-delete %s must be between 0 and --max-auto-delete %s, which must be positive", f.defaultAutoDelete, f.maxAutoDelete)
	}
	evlog := events.New(events.Config{
		Store: st, Logger: log, Retention: f.events.retention, AllowPrivate: f.events.allowPrivate,
		RetryBase: f.events.retryBase, MaxAttempts: f.events.maxAttempts,
	})
	svc := provision.New(provision.Config{
		Owner: installation, Store: st, Events: evlog, Offers: index, Vendors: vs, Logger: log, Metrics: metrics,
		ProvisionTimeout: f.provisionTimeout, ReconcileEvery: f.reconcileEvery,
		DefaultAutoDelete: f.defaultAutoDelete, MaxAutoDelete: f.maxAutoDelete,
		// A step must end before River would take the job for a dead one.
		StepTimeout: f.jobRescueAfter / 2,
	})
	workers := river.NewWorkers()
	svc.Workers(workers)
	evlog.Workers(workers)
	river.AddWorker(workers, &provision.ExpireOffersWorker{Store: st, TTL: f.offerTTL, Grace: 24 * time.Hour})
	periodic := append(svc.PeriodicJobs(), provision.ExpireOffersJob())
	// Not runCtx: River would take the signal's cancellation for a hard
	// stop and cut every running step short; StopJobs below stops it.
	if err := st.StartJobs(context.WithoutCancel(runCtx), workers, append(periodic, evlog.PeriodicJobs()...)); err != nil {
		return err
	}
	// On the way out, after the API has stopped (below), running job
	// steps get what is left of the shutdown timeout; st.Close then
	// cancels those still running, which River hands back to the queue.
	var shutdownDeadline time.Time
	defer func() {
		if shutdownDeadline.IsZero() {
			// Leaving on an error, not a signal: the steps still get
			// the shutdown timeout.
			shutdownDeadline = time.Now().Add(f.shutdownTimeout)
		}
		stopCtx, stop := context.WithDeadline(context.Background(), shutdownDeadline)
		defer stop()
		if err := st.StopJobs(stopCtx); err != nil {
			log.Warn("job steps still running at the shutdown timeout; handing them back to the queue", "err", err)
		}
	}()

	keySvc := keys.New(st)
	// A key revoked, expired or changed on any replica is seen by every
	// other within keyCacheTTL: each caches a key's answer no longer.
	auth := apikeys.NewAuthenticator(keySvc.Lookup, keyCacheTTL)
	var operator int64
	if f.operatorAccount != "" {
		acc, err := st.EnsureAccount(ctx, f.operatorAccount)
		if err != nil {
			return fmt.Errorf("--operator-account: %w", err)
		}
		operator = acc.ID
	}
	sessions := console.NewSessions(st, console.DefaultSessionTTL, log)
	a := api.New(api.Config{
		Installation: installation, Auth: auth, Sessions: sessions, Ready: st.Ping, GPUs: gpus.GPUs(), Vendors: index, Offers: svc, Provision: svc, Volumes: svc,
		Events: evlog, Logger: log, Metrics: metrics, Version: build.Version, Pprof: f.metricsPprof, RateLimit: f.rateLimit, RateBurst: f.rateBurst,
		AuthFailureRate: f.authFailureRate, AuthFailureBurst: f.authFailureBurst, TrustedProxies: trustedProxies,
		Keys: keySvc, OperatorAccount: operator,
	})
	if sb != nil {
		api.RegisterSandbox(a, sb)
	}
	console.Register(console.Config{API: a, Sessions: sessions, Sandbox: useSandbox, Logger: log})
	// The MCP tools call the API through its own handler, as any client.
	api.RegisterMCP(a, mcpserver.Handler(a.Handler(), build.Version))

	// Metrics get a listener of their own, so that the API's clients
	// cannot read the service's traffic and failure counts: the default
	// is loopback, and a deployment exposes it to its monitoring network
	// only. A separate address rather than a token: nothing secret to
	// hand to Prometheus, and nothing to leak.
	servers := []*http.Server{}
	errc := make(chan error, 2)
	if metricsListener != nil {
		msrv := api.NewServer(f.metricsListen, a.MetricsHandler())
		servers = append(servers, msrv)
		log.Info("metrics serving", "addr", metricsListener.Addr().String())
		go func() { errc <- msrv.Serve(metricsListener) }()
	}
	srv := api.NewServer(f.listen, a.Handler())
	// Event streams never end by themselves: end them so shutdown need
	// not wait them out (clients resume with Last-Event-ID).
	srv.RegisterOnShutdown(a.CloseStreams)
	servers = append(servers, srv)
	log.Info("supply serving", "addr", l.Addr().String(), "database", st.Engine(), "sandbox", useSandbox, "version", build.Version, "commit", build.Commit, "tracing", telemetry.Enabled())
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", f.shutdownTimeout)
	shutdownDeadline = time.Now().Add(f.shutdownTimeout)
	stopServing(servers, shutdownDeadline, log)
	return nil
}

// parsePrefixes parses --trusted-proxies: CIDRs, where a bare address is a
// prefix of itself and an IPv4-mapped one means its IPv4 addresses, as the
// API compares them.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue // "a,b," or an empty SUPPLY_TRUSTED_PROXIES
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%q is neither a CIDR nor an address", s)
			}
			p = netip.PrefixFrom(a.WithZone(""), a.BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// offerIDKey is the AES key offer ids are sealed with, made once and
// shared by every replica through the settings table.
// installationID is this installation's id, made once and kept in the
// database, so every replica and every restart share it: every instance
// created carries it, and the reconciler touches only instances that do.
func installationID(ctx context.Context, st store.Store) (string, error) {
	id, err := st.InitSetting(ctx, "installation_id", []byte(vendors.NewOwner()))
	if err != nil {
		return "", fmt.Errorf("installation id: %w", err)
	}
	if !vendors.ValidOwner(string(id)) {
		return "", fmt.Errorf("installation id %q in the settings table is not 12 hexadecimal digits", id)
	}
	return string(id), nil
}

func offerIDKey(ctx context.Context, st store.Store) ([]byte, error) {
	return secretSetting(ctx, st, "offer_id_key", 16)
}

// secretSetting is a random secret of size bytes, made once and shared by
// every replica through the settings table: the offer id key, the key
// that seals console sessions.
func secretSetting(ctx context.Context, st store.Store, name string, size int) ([]byte, error) {
	fresh := make([]byte, size)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	key, err := st.InitSetting(ctx, name, fresh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return key, nil
}
