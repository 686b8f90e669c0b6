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
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gpusupply/supply/vendors"
	"github.com/gpusupply/supply/vendors/hyperstack"
	"github.com/gpusupply/supply/vendors/lambda"
	"github.com/gpusupply/supply/vendors/nebius"
	"github.com/gpusupply/supply/vendors/runpod"
	"github.com/gpusupply/supply/vendors/scaleway"
	"github.com/gpusupply/supply/vendors/standin"
	"github.com/gpusupply/supply/vendors/vastai"
	"github.com/gpusupply/supply/vendors/verda"
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
	serve   func(si StandIn, l net.Listener) (stop func())
	adapter func(si StandIn, baseURL, key string, sshPort func(ip string) int) vendors.Vendor
}

// sandboxRate lets the adapters poll stand-ins freely: the stand-ins do
// not enforce vendor rate limits unless a test asks them to, and the
// sandbox should not make a demo wait 12 s between Lambda launches.
const sandboxRate = 200

// sandboxProject is the Scaleway project every sandbox server belongs to.
const sandboxProject = "5ba7e1b8-0000-4000-8000-5a4db0c5e7e5"

var kinds = []kind{
	{
		name:    lambda.Name,
		prefix:  "/api/v1",
		standIn: func(o standin.Options) (StandIn, error) { return lambda.NewStandIn(o) },
		adapter: func(_ StandIn, u, key string, port func(string) int) vendors.Vendor {
			return lambda.New(lambda.Config{APIKey: key, BaseURL: u, SSHPort: port, RateLimit: sandboxRate, Burst: sandboxRate, LaunchInterval: time.Millisecond})
		},
	},
	{
		name:    "hyperstack",
		prefix:  "/v1",
		standIn: func(o standin.Options) (StandIn, error) { return hyperstack.NewStandIn(o) },
		adapter: func(_ StandIn, u, key string, port func(string) int) vendors.Vendor {
			return hyperstack.New(hyperstack.Config{APIKey: key, BaseURL: u, SSHPort: port, RateLimit: sandboxRate, Burst: sandboxRate})
		},
	},
	{
		name:    scaleway.Name,
		standIn: func(o standin.Options) (StandIn, error) { return scaleway.NewStandIn(o) },
		adapter: func(si StandIn, u, key string, port func(string) int) vendors.Vendor {
			return scaleway.New(scaleway.Config{APIKey: key, ProjectID: sandboxProject, BaseURL: u, SSHPort: port,
				RateLimit: sandboxRate, Burst: sandboxRate, Zones: si.(*scaleway.StandIn).Zones()})
		},
	},
	{
		name:    verda.Name,
		prefix:  "/v1",
		standIn: func(o standin.Options) (StandIn, error) { return verda.NewStandIn(o) },
		adapter: func(_ StandIn, u, key string, port func(string) int) vendors.Vendor {
			return verda.New(verda.Config{ClientID: "sandbox", ClientSecret: key, BaseURL: u, SSHPort: port, RateLimit: sandboxRate, Burst: sandboxRate})
		},
	},
	{
		name:    runpod.Name,
		standIn: func(o standin.Options) (StandIn, error) { return runpod.NewStandIn(o) },
		adapter: func(_ StandIn, u, key string, port func(string) int) vendors.Vendor {
			return runpod.New(runpod.Config{APIKey: key, BaseURL: u, SSHPort: port, RateLimit: sandboxRate, Burst: sandboxRate})
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
		adapter: func(si StandIn, u, _ string, port func(string) int) vendors.Vendor {
			// Nebius speaks gRPC: its "base URL" is the listener's host:port.
			c := si.(*nebius.StandIn).AdapterConfig(strings.TrimPrefix(u, "http://"))
			c.SSHPort, c.RateLimit, c.Burst = port, sandboxRate, sandboxRate
			return nebius.New(c)
		},
	},
	{
		name:    vastai.Name,
		standIn: func(o standin.Options) (StandIn, error) { return vastai.NewStandIn(o) },
		adapter: func(_ StandIn, u, key string, port func(string) int) vendors.Vendor {
			return vastai.New(vastai.Config{APIKey: key, BaseURL: u, SSHPort: port, RateLimit: sandboxRate, Burst: sandboxRate, OfferLimit: 100_000})
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
	Scale  int
	Logger *slog.Logger
}

// Sandbox is the running set of stand-ins and the adapters pointed at them.
type Sandbox struct {
	hosts    *standin.Hosts
	standIns map[string]StandIn
	stops    []func()
	vendors  []vendors.Vendor
}

// Start starts every stand-in on its own loopback port.
func Start(o Options) (*Sandbox, error) {
	key, err := randomKey()
	if err != nil {
		return nil, err
	}
	s := &Sandbox{hosts: &standin.Hosts{}, standIns: map[string]StandIn{}}
	for _, k := range kinds {
		si, err := k.standIn(standin.Options{
			APIKey:    key,
			BootTime:  o.BootTime,
			StatePath: filepath.Join(o.DataDir, "sandbox", k.name+".json"),
			Scale:     o.Scale,
			Hosts:     s.hosts,
		})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("start %s stand-in: %w", k.name, err)
		}
		s.standIns[k.name] = si
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("start %s stand-in: %w", k.name, err)
		}
		s.stops = append(s.stops, serve(k, si, l))
		base := "http://" + l.Addr().String() + k.prefix
		s.vendors = append(s.vendors, k.adapter(si, base, key, s.hosts.Port))
		if o.Logger != nil {
			o.Logger.Info("sandbox stand-in started", "vendor", k.name, "url", base)
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
	srv := &http.Server{Handler: si.(http.Handler), ReadHeaderTimeout: 10 * time.Second}
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
