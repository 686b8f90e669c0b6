// Package sandbox runs supply without any vendor account: it starts a
// stand-in of every vendor's API on loopback and points the real adapters
// at them, so the whole lifecycle works end to end and nothing is billed.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/aws"
	"github.com/gpusupply/supply/internal/vendors/digitalocean"
	"github.com/gpusupply/supply/internal/vendors/hyperstack"
	"github.com/gpusupply/supply/internal/vendors/lambda"
	"github.com/gpusupply/supply/internal/vendors/nebius"
	"github.com/gpusupply/supply/internal/vendors/runpod"
	"github.com/gpusupply/supply/internal/vendors/scaleway"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vastai"
	"github.com/gpusupply/supply/internal/vendors/verda"
	"github.com/gpusupply/supply/internal/vendors/vultr"
)

// StandIn is a vendor API stand-in as every vendor package builds it.
type StandIn interface {
	Faults() *standin.Faults
	Instances() []standin.ConsoleEntry
	Close() error
}

// kind is one vendor the sandbox can stand in for: how to start its
// stand-in and how to build the real adapter against it.
type kind struct {
	name string
	// prefix is the API's base path, as the real base URL has it.
	prefix  string
	standIn func(standin.Options) (StandIn, error)
	// serve runs the stand-in on l; nil means it is an http.Handler.
	serve func(si StandIn, l net.Listener) (stop func())
	// adapter builds the real adapter against the stand-in; owner is the
	// installation's id, for adapters that need it (Scaleway's sweep).
	adapter func(si StandIn, baseURL, key, owner string, sshPort func(ip string) int) vendors.Vendor
	// env is the SUPPLY_* variables that point a real adapter of another
	// installation at the stand-in (see EndpointsFile); files it needs go
	// in dir.
	env func(si StandIn, baseURL, key, dir string) (map[string]string, error)
}

// sandboxRate lets the adapters poll stand-ins freely: the stand-ins do
// not enforce vendor rate limits unless a test asks them to, and the
// sandbox should not make a demo wait 12 s between Lambda launches.
const sandboxRate = 200

// sandboxProject is the Scaleway project every sandbox server belongs to.
const sandboxProject = "5ba7e1b8-0000-4000-8000-5a4db0c5e7e5"

// awsSecret is the sandbox's AWS secret access key for its key id key.
func awsSecret(key string) string { return key + "-secret" }

var kinds = []kind{
	{
		name:    lambda.Name,
		prefix:  "/api/v1",
		standIn: func(o standin.Options) (StandIn, error) { return lambda.NewStandIn(o) },
		adapter: func(_ StandIn, u, key, _ string, port func(string) int) vendors.Vendor {
			return lambda.New(lambda.Config{APIKey: key, BaseURL: u, SSHPort: port, RateLimit: sandboxRate, Burst: sandboxRate, LaunchInterval: time.Millisecond})
		},
		env: func(_ StandIn, u, key, _ string) (map[string]string, error) {
			return map[string]string{"SUPPLY_LAMBDA_API_KEY": key, "SUPPLY_LAMBDA_BASE_URL": u}, nil
		},
	},
	{
		name:    "hyperstack",
		prefix:  "/v1",
		standIn: func(o standin.Options) (StandIn, error) { return hyperstack.NewStandIn(o) },
		adapter: func(_ StandIn, u, key, _ string, port func(string) int) vendors.Vendor {
			return hyperstack.New(hyperstack.Config{APIKey: key, BaseURL: u, SSHPort: port, RateLimit: sandboxRate, Burst: sandboxRate})
		},
		env: func(_ StandIn, u, key, _ string) (map[string]string, error) {
			return map[string]string{"SUPPLY_HYPERSTACK_API_KEY": key, "SUPPLY_HYPERSTACK_BASE_URL": u}, nil
		},
	},
	{
		name:    scaleway.Name,
		standIn: func(o standin.Options) (StandIn, error) { return scaleway.NewStandIn(o) },
		adapter: func(si StandIn, u, key, owner string, port func(string) int) vendors.Vendor {
			return scaleway.New(scaleway.Config{APIKey: key, ProjectID: sandboxProject, BaseURL: u, SSHPort: port, Owner: owner,
				RateLimit: sandboxRate, Burst: sandboxRate, Zones: si.(*scaleway.StandIn).Zones()})
		},
		env: func(si StandIn, u, key, _ string) (map[string]string, error) {
			return map[string]string{"SUPPLY_SCALEWAY_API_KEY": key, "SUPPLY_SCALEWAY_PROJECT_ID": sandboxProject,
				"SUPPLY_SCALEWAY_BASE_URL": u, "SUPPLY_SCALEWAY_ZONES": strings.Join(si.(*scaleway.StandIn).Zones(), ",")}, nil
		},
	},
	{
		name:    verda.Name,
		prefix:  "/v1",
		standIn: func(o standin.Options) (StandIn, error) { return verda.NewStandIn(o) },
		adapter: func(_ StandIn, u, key, _ string, port func(string) int) vendors.Vendor {
			return verda.New(verda.Config{ClientID: "sandbox", ClientSecret: key, BaseURL: u, SSHPort: port, RateLimit: sandboxRate, Burst: sandboxRate})
		},
		env: func(_ StandIn, u, key, _ string) (map[string]string, error) {
			return map[string]string{"SUPPLY_VERDA_CLIENT_ID": "sandbox", "SUPPLY_VERDA_CLIENT_SECRET": key, "SUPPLY_VERDA_BASE_URL": u}, nil
		},
	},
	{
		name:    runpod.Name,
		standIn: func(o standin.Options) (StandIn, error) { return runpod.NewStandIn(o) },
		adapter: func(_ StandIn, u, key, _ string, port func(string) int) vendors.Vendor {
			return runpod.New(runpod.Config{APIKey: key, BaseURL: u, SSHPort: port, RateLimit: sandboxRate, Burst: sandboxRate})
		},
		env: func(_ StandIn, u, key, _ string) (map[string]string, error) {
			return map[string]string{"SUPPLY_RUNPOD_API_KEY": key, "SUPPLY_RUNPOD_BASE_URL": u}, nil
		},
	},
	{
		name:    nebius.Name,
		standIn: func(o standin.Options) (StandIn, error) { return nebius.NewStandIn(o) },
		serve: func(si StandIn, l net.Listener) func() {
			n := si.(*nebius.StandIn)
			go n.Serve(l)
			return n.Stop
		},
		adapter: func(si StandIn, u, _, _ string, port func(string) int) vendors.Vendor {
			// Nebius speaks gRPC: its "base URL" is the listener's host:port.
			c := si.(*nebius.StandIn).AdapterConfig(strings.TrimPrefix(u, "http://"))
			c.SSHPort, c.RateLimit, c.Burst = port, sandboxRate, sandboxRate
			return nebius.New(c)
		},
		env: func(si StandIn, u, _, dir string) (map[string]string, error) {
			c := si.(*nebius.StandIn).AdapterConfig(strings.TrimPrefix(u, "http://"))
			// The adapter reads the service account's key from a file.
			keyFile := filepath.Join(dir, "nebius-service-account.pem")
			if err := os.WriteFile(keyFile, []byte(c.PrivateKeyPEM), 0o600); err != nil {
				return nil, fmt.Errorf("write the Nebius stand-in's key: %w", err)
			}
			return map[string]string{
				"SUPPLY_NEBIUS_SERVICE_ACCOUNT_ID": c.ServiceAccountID, "SUPPLY_NEBIUS_PUBLIC_KEY_ID": c.PublicKeyID,
				"SUPPLY_NEBIUS_PRIVATE_KEY_FILE": keyFile, "SUPPLY_NEBIUS_TENANT_ID": c.TenantID,
				"SUPPLY_NEBIUS_PROJECTS": projectsValue(c.Projects), "SUPPLY_NEBIUS_ENDPOINT": c.Endpoint, "SUPPLY_NEBIUS_INSECURE": "true",
			}, nil
		},
	},
	{
		name:    vastai.Name,
		standIn: func(o standin.Options) (StandIn, error) { return vastai.NewStandIn(o) },
		adapter: func(_ StandIn, u, key, _ string, port func(string) int) vendors.Vendor {
			return vastai.New(vastai.Config{APIKey: key, BaseURL: u, SSHPort: port, RateLimit: sandboxRate, Burst: sandboxRate, OfferLimit: 100_000})
		},
		env: func(_ StandIn, u, key, _ string) (map[string]string, error) {
			return map[string]string{"SUPPLY_VASTAI_API_KEY": key, "SUPPLY_VASTAI_BASE_URL": u}, nil
		},
	},
	{
		// govultr adds /v2 to every path: the base URL is the bare host.
		name:    vultr.Name,
		standIn: func(o standin.Options) (StandIn, error) { return vultr.NewStandIn(o) },
		adapter: func(_ StandIn, u, key, _ string, port func(string) int) vendors.Vendor {
			return vultr.New(vultr.Config{APIKey: key, BaseURL: u, SSHPort: port, RateLimit: sandboxRate, Burst: sandboxRate})
		},
		env: func(_ StandIn, u, key, _ string) (map[string]string, error) {
			return map[string]string{"SUPPLY_VULTR_API_KEY": key, "SUPPLY_VULTR_BASE_URL": u}, nil
		},
	},
	{
		// EC2 and the Price List API on one URL; the sandbox's key is the
		// access key id (the stand-in does not verify signatures). The
		// secret is another value, as an account's is, so that a test can
		// tell which of the two an adapter treats as what.
		name:    aws.Name,
		standIn: func(o standin.Options) (StandIn, error) { return aws.NewStandIn(o) },
		adapter: func(si StandIn, u, key, _ string, port func(string) int) vendors.Vendor {
			return aws.New(aws.Config{AccessKeyID: key, SecretAccessKey: awsSecret(key), Endpoint: u, Regions: si.(*aws.StandIn).Regions(),
				SSHPort: port, RateLimit: sandboxRate, Burst: sandboxRate})
		},
		env: func(si StandIn, u, key, _ string) (map[string]string, error) {
			return map[string]string{"SUPPLY_AWS_ACCESS_KEY_ID": key, "SUPPLY_AWS_SECRET_ACCESS_KEY": awsSecret(key), "SUPPLY_AWS_ENDPOINT": u,
				"SUPPLY_AWS_REGIONS": strings.Join(si.(*aws.StandIn).Regions(), ",")}, nil
		},
	},
	{
		name:    digitalocean.Name,
		standIn: func(o standin.Options) (StandIn, error) { return digitalocean.NewStandIn(o) },
		adapter: func(_ StandIn, u, key, _ string, port func(string) int) vendors.Vendor {
			return digitalocean.New(digitalocean.Config{Token: key, BaseURL: u, SSHPort: port, RateLimit: sandboxRate, Burst: sandboxRate})
		},
		env: func(_ StandIn, u, key, _ string) (map[string]string, error) {
			return map[string]string{"SUPPLY_DIGITALOCEAN_TOKEN": key, "SUPPLY_DIGITALOCEAN_BASE_URL": u}, nil
		},
	},
}

// Options configure the sandbox.
type Options struct {
	// DataDir keeps each stand-in's state (DataDir/sandbox/<vendor>.json),
	// so restarting supply is like restarting against a real cloud.
	DataDir string
	// BootTime is how long sandbox instances take to boot.
	BootTime time.Duration
	// Scale multiplies every stand-in's catalog (see standin.Options).
	Scale int
	// Owner is the installation id of the server using the sandbox.
	Owner  string
	Logger *slog.Logger
	// Now is the stand-ins' clock, which moves their prices and stock
	// (see standin.Drift); nil is time.Now.
	Now func() time.Time
	// SteadyStock keeps every stand-in's stock from flickering out
	// (see standin.Options).
	SteadyStock bool
	// Shell makes the hosts' SSH sessions run renters' commands on this
	// machine, as this process's user, in each machine's directory under
	// DataDir/sandbox/machines, and runs their cloud-init runcmd or
	// start-up script there at first boot (see standin.HostsOptions).
	// For local tries only: it gives every renter a shell on the server.
	Shell bool
}

// Sandbox is the running set of stand-ins and the adapters pointed at them.
type Sandbox struct {
	hosts    *standin.Hosts
	capacity *standin.Capacity
	standIns map[string]StandIn
	stops    []func()
	vendors  []vendors.Vendor
}

// CapacityFile is the file, under <data dir>/sandbox, that keeps the stock
// taken away from (or given back to) the stand-ins across restarts.
const CapacityFile = "capacity.json"

// HostKeyFile is the file, under <data dir>/sandbox, that keeps the SSH
// host key of every sandbox host. One key for the whole sandbox, kept
// across restarts: a host's address and port go to the next instance
// once its own is gone, and a key per machine would have ssh warn that
// the host's identification changed each time; one key keeps every
// known_hosts line valid.
const HostKeyFile = "ssh_host_ed25519_key"

// MachinesDir is the directory, under <data dir>/sandbox, of the
// machines' directories (with Options.Shell).
const MachinesDir = "machines"

// VolumesDir is the directory, under <data dir>/sandbox, of the volumes'
// directories: what a volume holds outlives every machine it was on.
const VolumesDir = "volumes"

// Start starts every stand-in on its own loopback port, and writes
// EndpointsFile for other installations. The stand-ins keep their key,
// and their ports where still free, across restarts of one data dir.
func Start(o Options) (*Sandbox, error) {
	dir := filepath.Join(o.DataDir, "sandbox")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	statePath := filepath.Join(dir, "listen.json")
	st, err := loadListenState(statePath)
	if err != nil {
		return nil, err
	}
	if st.Key == "" {
		if st.Key, err = randomKey(); err != nil {
			return nil, err
		}
	}
	capacity, err := standin.NewCapacity(filepath.Join(dir, CapacityFile))
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	hosts, err := standin.NewHosts(standin.HostsOptions{KeyFile: filepath.Join(dir, HostKeyFile), Shell: o.Shell,
		MachinesDir: filepath.Join(dir, MachinesDir), VolumesDir: filepath.Join(dir, VolumesDir), Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s := &Sandbox{hosts: hosts, capacity: capacity, standIns: map[string]StandIn{}}
	if o.Shell && o.Logger != nil {
		o.Logger.Warn("SANDBOX SHELL: renters' ssh sessions and boot scripts run on this machine as this process's user; for local tries only",
			"machines", filepath.Join(dir, MachinesDir))
	}
	hl, err := listen(st.Ports[hostsService])
	if err != nil {
		return nil, fmt.Errorf("start sandbox hosts service: %w", err)
	}
	s.stops = append(s.stops, func() { hl.Close() }) // until it is served, below
	st.Ports[hostsService] = hl.Addr().(*net.TCPAddr).Port
	hostsURL := "http://" + hl.Addr().String()
	endpoints := Endpoints{}
	for _, k := range kinds {
		si, err := k.standIn(standin.Options{
			APIKey:      st.Key,
			BootTime:    o.BootTime,
			StatePath:   filepath.Join(dir, k.name+".json"),
			Scale:       o.Scale,
			Hosts:       s.hosts,
			Now:         o.Now,
			SteadyStock: o.SteadyStock,
			Capacity:    capacity,
		})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("start %s stand-in: %w", k.name, err)
		}
		s.standIns[k.name] = si
		l, err := listen(st.Ports[k.name])
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("start %s stand-in: %w", k.name, err)
		}
		st.Ports[k.name] = l.Addr().(*net.TCPAddr).Port
		s.stops = append(s.stops, serve(k, si, l))
		base := "http://" + l.Addr().String() + k.prefix
		s.vendors = append(s.vendors, k.adapter(si, base, st.Key, o.Owner, s.hosts.Port))
		env, err := k.env(si, base, st.Key, dir)
		if err != nil {
			s.Close()
			return nil, err
		}
		env["SUPPLY_SANDBOX_HOSTS_URL"] = hostsURL
		endpoints[k.name] = env
		if o.Logger != nil {
			o.Logger.Info("sandbox stand-in started", "vendor", k.name, "url", base)
		}
	}
	// Served once every stand-in is in place: it lists their instances
	// and items.
	s.stops = append(s.stops, serveHTTP(hostsHandler(s.hosts, st.Key, s.Instances, capacity), hl))
	for path, v := range map[string]any{statePath: st, filepath.Join(dir, EndpointsFile): endpoints} {
		if err := standin.Save(path, v); err != nil {
			s.Close()
			return nil, fmt.Errorf("sandbox: %w", err)
		}
	}
	return s, nil
}

// Vendors are the real adapters, pointed at the stand-ins.
func (s *Sandbox) Vendors() []vendors.Vendor { return s.vendors }

// StandIn returns one vendor's stand-in (for fault injection in tests).
func (s *Sandbox) StandIn(vendor string) (StandIn, bool) {
	si, ok := s.standIns[vendor]
	return si, ok
}

// Capacity is the stand-ins' ledger of the stock other customers hold:
// tests take stock away through it (what POST /capacity does).
func (s *Sandbox) Capacity() *standin.Capacity { return s.capacity }

// Instances lists every instance every stand-in holds, as the vendors'
// consoles would: what GET /sandbox/instances shows.
func (s *Sandbox) Instances() []standin.ConsoleEntry {
	var out []standin.ConsoleEntry
	for _, si := range s.standIns {
		out = append(out, si.Instances()...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Vendor != out[j].Vendor {
			return out[i].Vendor < out[j].Vendor
		}
		return out[i].CreatedAt.Before(out[j].CreatedAt)
	})
	return out
}

// Close stops the stand-ins (saving their state) and their servers.
func (s *Sandbox) Close() error {
	for _, stop := range s.stops {
		stop()
	}
	var errs []error
	for _, si := range s.standIns {
		errs = append(errs, si.Close())
	}
	s.hosts.CloseAll()
	return errors.Join(errs...)
}

// serve runs a stand-in on l and returns how to stop it.
func serve(k kind, si StandIn, l net.Listener) func() {
	if k.serve != nil {
		return k.serve(si, l)
	}
	return serveHTTP(si.(http.Handler), l)
}

// serveHTTP serves h on l and returns how to stop it.
func serveHTTP(h http.Handler, l net.Listener) func() {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}
}

func randomKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("sandbox key: %w", err)
	}
	return "sandbox-" + hex.EncodeToString(b), nil
}
