package standin

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Base is the plumbing every stand-in shares, which a stand-in embeds so
// that it keeps only its vendor's protocol (handlers, wire shapes, seed
// catalog): its options and clock, its loopback hosts, its state of type
// S under a mutex and persisted to Options.StatePath, fault injection,
// and the per-minute request budget of a vendor that has one. An HTTP
// stand-in embeds HTTPBase, which serves too.
type Base[S any] struct {
	// Opts are the stand-in's options and Now its clock.
	Opts Options
	Now  func() time.Time
	// Hosts are the loopback machines: Options.Hosts, or the stand-in's
	// own when they are nil.
	Hosts *Hosts
	// Mu guards State, what survives a restart, and whatever else of the
	// stand-in changes.
	Mu    sync.Mutex
	State S
	// Limiter is the per-minute budget a stand-in puts in front of its
	// handler (RateLimiter.Wrap) when its vendor has one.
	Limiter RateLimiter
	// Refresh, when set, brings State in line with the clock (SyncHosts)
	// for a stand-in whose instances change state as time passes;
	// Instances runs it first. Called with Mu held.
	Refresh func() error

	vendor   string
	ownHosts bool
	faults   Faults
	machines func() []Host
}

// HTTPBase is the Base of a stand-in that serves HTTP: its handler sits
// behind the faults.
type HTTPBase[S any] struct {
	Base[S]
	handler   http.Handler
	errorBody func(status int, message string) (string, []byte)
}

// Host is one machine of a stand-in's state, as the base reopens it after
// a restart and closes it with the stand-in.
type Host struct {
	// ID is the vendor's id of the instance.
	ID string
	// IP and Port point at where its host listened, empty before it first
	// ran; reopening may move it, and updates them.
	IP   *string
	Port *int
	// Live: the instance is not deleted, so its host comes back after a
	// restart.
	Live    bool
	Machine Machine
	// Console is the instance as the vendor's console lists it.
	Console ConsoleEntry
}

// Open readies the base of vendor's stand-in made with o: its clock and
// hosts, its State loaded from o.StatePath (S's zero value, or what the
// caller put in State, when there is no file), and the hosts of the live
// machines that ran reopened at their old addresses. machines lists the
// machines of State, deleted ones too; Instances and Close use it too.
func (b *Base[S]) Open(vendor string, o Options, machines func() []Host) error {
	b.vendor, b.Opts, b.Now, b.Hosts, b.machines = vendor, o, o.Clock(), o.Hosts, machines
	if b.Hosts == nil {
		b.Hosts, b.ownHosts = &Hosts{}, true
	}
	if err := Load(o.StatePath, &b.State); err != nil {
		return fmt.Errorf("%s stand-in: %w", vendor, err)
	}
	for _, h := range machines() {
		if *h.IP == "" || !h.Live {
			continue
		}
		ip, port, err := b.OpenHost(h.ID, *h.IP, *h.Port, h.Machine)
		if err != nil {
			return fmt.Errorf("%s stand-in: reopen %s: %w", vendor, h.ID, err)
		}
		*h.IP, *h.Port = ip, port
	}
	return nil
}

// Serve makes h, behind the faults, what the stand-in serves. errorBody
// renders the vendor's error envelope for an injected status (see
// Faults.Wrap).
func (b *HTTPBase[S]) Serve(h http.Handler, errorBody func(status int, message string) (string, []byte)) {
	b.handler, b.errorBody = b.faults.Wrap(h, errorBody), errorBody
}

// Saved saves State for a handler that changed it, answering a failure
// as the vendor answers a 500 (Serve's errorBody); it reports whether it
// saved. The caller holds Mu.
func (b *HTTPBase[S]) Saved(w http.ResponseWriter) bool {
	err := b.Save()
	if err == nil {
		return true
	}
	ct, body := b.errorBody(http.StatusInternalServerError, "the stand-in's state was not saved: "+err.Error())
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(http.StatusInternalServerError)
	w.Write(body)
	return false
}

// ServeHTTP serves the vendor's API.
func (b *HTTPBase[S]) ServeHTTP(w http.ResponseWriter, r *http.Request) { b.handler.ServeHTTP(w, r) }

// SetRateLimit makes the stand-in answer 429 after perMinute requests in
// a clock minute, for the rest of that minute (0 turns it off, the
// default), in its vendor's words and headers (the stand-in's own
// Limiter.Wrap or Take).
func (b *Base[S]) SetRateLimit(perMinute int) { b.Limiter.Set(perMinute) }

// Faults is where tests and the sandbox inject failures.
func (b *Base[S]) Faults() *Faults { return &b.faults }

// Instances lists every instance the stand-in holds, as the vendor's
// console would, oldest first.
func (b *Base[S]) Instances() []ConsoleEntry {
	b.Mu.Lock()
	defer b.Mu.Unlock()
	if b.Refresh != nil {
		// A console listing still shows what it can when a host fails to
		// open: that instance simply has no address yet.
		_ = b.Refresh()
	}
	hosts := b.machines()
	out := make([]ConsoleEntry, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, h.Console)
	}
	slices.SortStableFunc(out, func(a, b ConsoleEntry) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// Save persists State; the caller holds Mu.
func (b *Base[S]) Save() error { return Save(b.Opts.StatePath, &b.State) }

// Close stops the hosts of the stand-in's machines and saves its state.
func (b *Base[S]) Close() error {
	b.Mu.Lock()
	defer b.Mu.Unlock()
	if b.ownHosts {
		b.Hosts.CloseAll()
	} else {
		for _, h := range b.machines() {
			b.Hosts.Close(b.HostID(h.ID))
		}
	}
	return b.Save()
}

// HostID names an instance's loopback host; the vendor's prefix keeps ids
// apart when several stand-ins share one Hosts.
func (b *Base[S]) HostID(id string) string { return b.vendor + "/" + id }

// OpenHost opens (or reopens at ip and port, when given) the loopback
// host of instance id, serving m; it returns where the host listens.
func (b *Base[S]) OpenHost(id, ip string, port int, m Machine) (string, int, error) {
	return b.Hosts.Open(b.HostID(id), ip, port, m)
}

// CloseHost stops the host of instance id, keeping its address for a
// later OpenHost.
func (b *Base[S]) CloseHost(id string) { b.Hosts.Close(b.HostID(id)) }

// RemoveHost stops the host of instance id for good.
func (b *Base[S]) RemoveHost(id string) { b.Hosts.Remove(b.HostID(id)) }

// ReopenHost brings back the host of instance id, powered on again after a
// stop, at *ip and *port when they are still free, serving m; a move is
// written back to them and saved. A host that cannot open now is left for
// the next look. The caller holds Mu.
func (b *Base[S]) ReopenHost(id string, ip *string, port *int, m Machine) {
	newIP, newPort, err := b.OpenHost(id, *ip, *port, m)
	if err != nil || newIP == *ip && newPort == *port {
		return
	}
	*ip, *port = newIP, newPort
	_ = b.Save() // a failed save loses nothing the next change will not write again
}
