// Package standin holds what every vendor stand-in server shares: fault
// injection and latency, the loopback "hosts" whose SSH server lets the
// renter's key in once a sandbox instance is running, state persistence,
// the slow drift of prices and stock that makes a sandbox catalog feel
// alive, and the capacity ledger through which a sandbox takes stock away
// (Capacity).
// The stand-ins themselves (one per vendor package) implement each
// vendor's own API.
package standin

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Rule is one injected fault: requests matching Method and PathPrefix get
// Status (with the vendor's error body) instead of the real answer.
type Rule struct {
	// Method matches any method when empty.
	Method string
	// PathPrefix matches any path when empty.
	PathPrefix string
	// Status is the answer to send (500, 429, 503, ...).
	Status int
	// Message, when set, is the vendor's explanation in the error body
	// instead of the stand-in's usual one for Status.
	Message string
	// Delay is waited before answering (a hang when long).
	Delay time.Duration
	// AfterHandler runs the real handler first and then answers Status
	// anyway: "created but answered 500".
	AfterHandler bool
	// Times is how many requests the rule applies to; 0 means forever.
	Times int
}

// Faults injects failures and latency into a stand-in. The zero value
// injects nothing.
type Faults struct {
	mu      sync.Mutex
	latency time.Duration
	rules   []*Rule
}

// SetLatency delays every answer by d.
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	f.latency = d
	f.mu.Unlock()
}

// Add installs a rule; rules are matched in the order added.
func (f *Faults) Add(r Rule) {
	f.mu.Lock()
	f.rules = append(f.rules, &r)
	f.mu.Unlock()
}

// Clear removes every rule and the latency.
func (f *Faults) Clear() {
	f.mu.Lock()
	f.rules, f.latency = nil, 0
	f.mu.Unlock()
}

// Match returns the latency to add and the rule, if any, that applies to
// a request with this method and path, counting it against the rule's
// Times. Wrap uses it for HTTP; a gRPC stand-in calls it from an
// interceptor with method "POST" (every gRPC call is one) and the full
// method name as path ("/nebius.compute.v1.InstanceService/Create").
func (f *Faults) Match(method, path string) (time.Duration, *Rule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, rule := range f.rules {
		if rule.Method != "" && rule.Method != method {
			continue
		}
		if !strings.HasPrefix(path, rule.PathPrefix) {
			continue
		}
		if rule.Times > 0 {
			rule.Times--
			if rule.Times == 0 {
				f.rules = append(f.rules[:i:i], f.rules[i+1:]...)
			}
		}
		matched := *rule
		return f.latency, &matched
	}
	return f.latency, nil
}

// Wrap puts the faults in front of h. errorBody renders the vendor's own
// error envelope for an injected status, with message as its explanation
// when it is not empty.
func (f *Faults) Wrap(h http.Handler, errorBody func(status int, message string) (contentType string, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		latency, rule := f.Match(r.Method, r.URL.Path)
		delay := latency
		if rule != nil {
			delay += rule.Delay
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if rule == nil || rule.Status == 0 {
			h.ServeHTTP(w, r)
			return
		}
		if rule.AfterHandler {
			h.ServeHTTP(discard{header: http.Header{}}, r)
		}
		ct, body := errorBody(rule.Status, rule.Message)
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(rule.Status)
		w.Write(body)
	})
}

type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// Options configure a stand-in server; every vendor's NewStandIn takes them.
type Options struct {
	// APIKey is the credential the stand-in accepts ("" accepts any).
	APIKey string
	// BootTime is how long an instance takes from create to running.
	BootTime time.Duration
	// StatePath is where instances are kept across restarts ("": memory only).
	StatePath string
	// Scale multiplies the seeded catalog with synthetic variants
	// (more regions, price points); 0 or 1 is the real catalog.
	Scale int
	// Hosts are the loopback machines; nil gives the stand-in its own.
	Hosts *Hosts
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// SteadyStock turns stock flicker off (see Flicker): an item is sold
	// out only when it is. Tests that start the whole server use it, so
	// that what they rent does not depend on the wall clock.
	SteadyStock bool
	// Capacity is the sandbox's ledger of the stock other customers hold,
	// which the stand-in registers its items with and asks how many units
	// are free; nil takes nothing away.
	Capacity *Capacity
}

// Flicker is the package's Flicker, or never with SteadyStock.
func (o Options) Flicker(fraction float64, key string, t time.Time) bool {
	return !o.SteadyStock && Flicker(fraction, key, t)
}

// Level is what a stand-in's stock model says of item: natural units
// left (never below 0), sold out while Flicker(fraction, key, t) says so.
// The flicker is worked out only for an item with units left: it costs an
// allocation or two, and most items of a long listing have none.
func (o Options) Level(item Item, natural int, fraction float64, key string, t time.Time) Level {
	return Level{Item: item, Natural: max(natural, 0), Flickered: natural > 0 && o.Flicker(fraction, key, t)}
}

// Clock returns o.Now or time.Now.
func (o Options) Clock() func() time.Time {
	if o.Now != nil {
		return o.Now
	}
	return time.Now
}

// ConsoleEntry is one instance as a vendor console lists it: what
// GET /sandbox/instances shows for every stand-in.
type ConsoleEntry struct {
	Vendor       string    `json:"vendor"`
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	State        string    `json:"state"`
	Live         bool      `json:"live"` // still billing: not terminated
	InstanceType string    `json:"instance_type"`
	Region       string    `json:"region"`
	IP           string    `json:"ip"`
	SSHPort      int       `json:"ssh_port"`
	Tags         []string  `json:"tags"`
	CreatedAt    time.Time `json:"created_at"`
}

// Load reads JSON state saved by Save; a missing file leaves v untouched.
func Load(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load stand-in state: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("load stand-in state %s: %w", path, err)
	}
	return nil
}

// Save writes v as JSON to path atomically (see writeAtomic).
func Save(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("save stand-in state: %w", err)
	}
	if err := writeAtomic(path, b); err != nil {
		return fmt.Errorf("save stand-in state: %w", err)
	}
	return nil
}

// writeAtomic writes b to path (mode 0600) atomically: write, fsync,
// rename, so a kill -9 leaves either the old file or the new one.
func writeAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// DriftPeriod is how often sandbox prices and stock take a new step.
const DriftPeriod = 5 * time.Minute

// Drift moves base by up to ±spread (a fraction, 0.05 = 5%) in a way that
// is the same for every caller at the same time and changes once per
// DriftPeriod, so a sandbox price moves a little over time but stays
// consistent between the stand-in and anyone reading it.
func Drift(base, spread float64, key string, t time.Time) float64 {
	u := unit(key, t.Unix()/int64(DriftPeriod/time.Second))
	return math.Round(base*(1+spread*(2*u-1))*10000) / 10000
}

// Flicker reports whether an item that is normally in stock is sold out
// right now: true for about fraction of the (key, period) pairs.
func Flicker(fraction float64, key string, t time.Time) bool {
	return unit("stock:"+key, t.Unix()/int64(DriftPeriod/time.Second)) < fraction
}

// unit maps (key, step) to [0, 1), the same in every process.
func unit(key string, step int64) float64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", key, step)
	// FNV alone barely moves its high bits when only the last characters
	// change (consecutive steps); the splitmix64 finaliser spreads them.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / float64(1<<53)
}

// WriteJSON answers status with v as JSON, as the vendors' REST APIs do.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// NonNil is s, or an empty slice for nil: what a vendor's API lists as
// [] rather than null.
func NonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Spread varies the stock of a scaled catalog's synthetic copy of an item
// between 0 and twice the real one's, fixed by key.
func Spread(stock int, key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(2*stock+1))
}
