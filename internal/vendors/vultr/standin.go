package vultr

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// apiPrefix is where Vultr serves API v2; govultr's paths carry it, so an
// adapter's BaseURL is the stand-in's bare URL.
const apiPrefix = "/v2"

// Answers of the stand-in in Vultr's words (see refusals in client.go).
const (
	msgNotAvailable = "Plan is not available in the selected region"
	msgInvalidPlan  = "Invalid plan chosen."
	msgInvalidRegn  = "Invalid region chosen."
	msgInvalidKey   = "Invalid SSH key."
	msgNoInstance   = "Invalid instance-id."
	msgBadToken     = "Invalid API token."
	msgRateLimited  = "Rate limit exceeded."
)

// StandIn is an in-memory Vultr API v2 for Cloud GPU instances: plans,
// regions and their availability, SSH keys, and instances that boot in
// Options.BootTime on a loopback host, halt and start, and are deleted at
// once. State is kept in Options.StatePath across restarts.
type StandIn struct {
	standin.HTTPBase[state]
	regions map[string]regionWire
	plans   map[string]seedPlan
	// quota, when set, caps the account's instances.
	quota int
	// perSecond, when set, answers 429 past that many requests in a
	// second (Vultr: 30 per second per IP; off by default).
	perSecond   int
	second      time.Time
	secondCount int
}

// state is what the stand-in persists.
type state struct {
	Instances map[string]*record `json:"instances"`
	Keys      []sshKeyWire       `json:"ssh_keys"`
	// Firewalls are the account's firewall groups by id.
	Firewalls map[string]*firewallGroup `json:"firewall_groups,omitempty"`
	// Blocks are the account's block storage by id.
	Blocks map[string]*blockRecord `json:"blocks,omitempty"`
}

// record is one instance. Its status derives from the timestamps.
type record struct {
	ID         string    `json:"id"`
	Label      string    `json:"label"`
	Hostname   string    `json:"hostname"`
	Plan       string    `json:"plan"`
	Region     string    `json:"region"`
	OsID       int       `json:"os_id"`
	Tags       []string  `json:"tags"`
	PublicKeys []string  `json:"public_keys"`
	UserData   string    `json:"user_data"` // decoded from base64
	CreatedAt  time.Time `json:"created_at"`
	// BootedAt is when the last boot began (create or start); HaltedAt
	// is set while the instance is halted.
	BootedAt   time.Time `json:"booted_at"`
	HaltedAt   time.Time `json:"halted_at,omitzero"`
	IP         string    `json:"ip,omitempty"`
	Port       int       `json:"port,omitempty"`
	InternalIP string    `json:"internal_ip"`
	// FirewallGroupID is the group named at create; Ports what it opened
	// then, which the machine listens on.
	FirewallGroupID string             `json:"firewall_group_id,omitempty"`
	Ports           []standin.OpenPort `json:"ports,omitempty"`
	// Mounts are its attached blocks, where its cloud-init mounts them.
	Mounts []standin.Mount `json:"mounts,omitempty"`
}

// NewStandIn returns a stand-in seeded with Vultr's GPU catalog and the
// instances saved at o.StatePath, whose hosts are reopened.
func NewStandIn(o standin.Options) (*StandIn, error) {
	s := &StandIn{regions: map[string]regionWire{}, plans: map[string]seedPlan{}}
	for _, r := range seedRegions {
		s.regions[r.ID] = r
	}
	for _, p := range seedPlans {
		s.plans[p.plan.ID] = p
	}
	if err := s.Open(Name, o, s.machines); err != nil {
		return nil, err
	}
	s.Refresh = s.refresh
	if s.State.Instances == nil {
		s.State.Instances = map[string]*record{}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/plans", s.listPlans)
	mux.HandleFunc("GET "+apiPrefix+"/regions", s.listRegions)
	mux.HandleFunc("GET "+apiPrefix+"/regions/{id}/availability", s.availability)
	mux.HandleFunc("GET "+apiPrefix+"/ssh-keys", s.listSSHKeys)
	mux.HandleFunc("POST "+apiPrefix+"/ssh-keys", s.createSSHKey)
	mux.HandleFunc("POST "+apiPrefix+"/instances", s.createInstance)
	mux.HandleFunc("GET "+apiPrefix+"/instances", s.listInstances)
	mux.HandleFunc("GET "+apiPrefix+"/instances/{id}", s.getInstance)
	mux.HandleFunc("DELETE "+apiPrefix+"/instances/{id}", s.deleteInstance)
	mux.HandleFunc("POST "+apiPrefix+"/instances/{id}/halt", s.haltInstance)
	mux.HandleFunc("POST "+apiPrefix+"/instances/{id}/start", s.startInstance)
	s.routePorts(mux)
	s.routeBlocks(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not found.")
	})
	s.Serve(s.limit(s.authorize(mux)), faultBody)
	o.Capacity.Register(Name, &s.Mu, s.capacities)
	return s, nil
}

// SetQuota caps the account's instances (0: no cap); a create past it is
// refused with Vultr's limit words.
func (s *StandIn) SetQuota(n int) {
	s.Mu.Lock()
	s.quota = n
	s.Mu.Unlock()
}

// SetRateLimit answers 429 with Retry-After past n requests in one second
// (0: no limit, the default).
func (s *StandIn) SetRateLimit(n int) {
	s.Mu.Lock()
	s.perSecond = n
	s.Mu.Unlock()
}

// Created is what the stand-in received when instance id was created, for
// tests to check what an adapter sent.
type Created struct {
	Plan, Region, Label, Hostname string
	OsID                          int
	Tags                          []string
	PublicKeys                    []string
	// UserData is decoded from the base64 Vultr takes.
	UserData string
}

// Received returns what instance id was created with.
func (s *StandIn) Received(id string) (Created, bool) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	rec, ok := s.State.Instances[id]
	if !ok {
		return Created{}, false
	}
	return Created{Plan: rec.Plan, Region: rec.Region, Label: rec.Label, Hostname: rec.Hostname, OsID: rec.OsID,
		Tags: slices.Clone(rec.Tags), PublicKeys: slices.Clone(rec.PublicKeys), UserData: rec.UserData}, true
}

// machines lists the instances for the base: their hosts and console
// entries. A host is live while its instance is booted and not halted.
func (s *StandIn) machines() []standin.Host {
	now := s.Now()
	out := make([]standin.Host, 0, len(s.State.Instances))
	for _, rec := range s.State.Instances {
		w := s.render(rec, now)
		e := standin.ConsoleEntry{
			Vendor: Name, ID: rec.ID, Name: rec.Label, State: w.Status + "/" + w.PowerStatus + "/" + w.ServerStatus, Live: true,
			InstanceType: rec.Plan, Region: rec.Region, Tags: slices.Clone(rec.Tags), CreatedAt: rec.CreatedAt,
		}
		if s.Hosted(rec.ID) {
			e.IP, e.SSHPort = rec.IP, rec.Port
		}
		out = append(out, standin.Host{ID: rec.ID, IP: &rec.IP, Port: &rec.Port, Live: s.up(rec, now), Machine: machine(rec), Console: e})
	}
	return out
}

// machine is what the instance received: Vultr installs the sshkey_id
// keys for root itself, and runs the user data as cloud-init.
func machine(rec *record) standin.Machine {
	return standin.Machine{Vendor: Name, ID: rec.ID, Name: rec.Hostname, Keys: rec.PublicKeys,
		UserDataField: "user_data", UserData: rec.UserData, Ports: rec.Ports, Mounts: rec.Mounts}
}

// up says the instance has booted and is not halted.
func (s *StandIn) up(rec *record, now time.Time) bool {
	return rec.HaltedAt.IsZero() && !now.Before(rec.BootedAt.Add(s.Opts.BootTime))
}

// refresh opens the host of an instance that came up and closes the one
// of an instance that is down (standin.SyncHosts). s.Mu must be held.
func (s *StandIn) refresh() error {
	now := s.Now()
	return standin.SyncHosts(&s.Base, s.State.Instances, standin.Machines[record]{
		Phase: func(rec *record) standin.HostPhase {
			if s.up(rec, now) {
				return standin.HostRunning
			}
			return standin.HostDown
		},
		Addr:    func(rec *record) (*string, *int) { return &rec.IP, &rec.Port },
		Machine: machine,
	})
}

// authorize enforces Vultr's Bearer API key.
func (s *StandIn) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Opts.APIKey == "" || r.Header.Get("Authorization") == "Bearer "+s.Opts.APIKey {
			next.ServeHTTP(w, r)
			return
		}
		writeError(w, http.StatusUnauthorized, msgBadToken)
	})
}

// limit answers 429 past perSecond requests within one second.
func (s *StandIn) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Mu.Lock()
		now, refused := s.Now(), false
		if s.perSecond > 0 {
			if now.Sub(s.second) >= time.Second {
				s.second, s.secondCount = now, 0
			}
			s.secondCount++
			refused = s.secondCount > s.perSecond
		}
		s.Mu.Unlock()
		if refused {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, msgRateLimited)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// locked runs f under the lock after a refresh.
func (s *StandIn) locked(w http.ResponseWriter, f func(now time.Time)) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if err := s.refresh(); err != nil {
		writeError(w, http.StatusInternalServerError, "Internal error: "+err.Error())
		return
	}
	f(s.Now())
}

// taken counts the instances per plan/region, halted ones too: a halted
// instance keeps its GPU.
func (s *StandIn) taken() map[string]int {
	n := map[string]int{}
	for _, rec := range s.State.Instances {
		n[rec.Plan+"/"+rec.Region]++
	}
	return n
}

func (s *StandIn) level(p seedPlan, region string, taken map[string]int, now time.Time) standin.Level {
	key := p.plan.ID + "/" + region
	_, g, _ := gpu(p.plan.GPUType)
	count, _ := gpuCount(p.plan.GPUVRAM, g.MemoryGB)
	item := standin.Item{Vendor: Name, InstanceType: p.plan.ID, Region: region, Contract: standin.OnDemand, GPUCount: count, NodeCount: 1}
	return s.Opts.Level(item, p.stock[region]-taken[key], 0.05, key, now)
}

// capacities lists every plan of whole GPUs in every location, for the
// sandbox's capacity ledger; the caller holds s.Mu.
func (s *StandIn) capacities() []standin.Level {
	taken, now := s.taken(), s.Now()
	var out []standin.Level
	for _, id := range slices.Sorted(maps.Keys(s.plans)) {
		p := s.plans[id]
		for _, region := range p.plan.Locations {
			// A slice of a GPU is nothing supply offers, so nothing the
			// ledger's renters could set.
			if l := s.level(p, region, taken, now); l.GPUCount > 0 {
				out = append(out, l)
			}
		}
	}
	return out
}

func (s *StandIn) hasCapacity(p seedPlan, region string, taken map[string]int, now time.Time) bool {
	if _, sold := p.stock[region]; !sold {
		return false
	}
	return s.Opts.Capacity.Free(s.level(p, region, taken, now)) > 0
}

func (s *StandIn) listPlans(w http.ResponseWriter, r *http.Request) {
	typ := r.URL.Query().Get("type")
	var out []planWire
	for _, id := range slices.Sorted(maps.Keys(s.plans)) {
		if p := s.plans[id].plan; typ == "" || typ == "all" || typ == p.Type {
			out = append(out, p)
		}
	}
	page, meta, ok := paginate(w, r, out)
	if ok {
		standin.WriteJSON(w, http.StatusOK, plansPage{Plans: page, Meta: meta})
	}
}

func (s *StandIn) listRegions(w http.ResponseWriter, r *http.Request) {
	page, meta, ok := paginate(w, r, seedRegions)
	if ok {
		standin.WriteJSON(w, http.StatusOK, regionsPage{Regions: page, Meta: meta})
	}
}

func (s *StandIn) availability(w http.ResponseWriter, r *http.Request) {
	region := r.PathValue("id")
	if _, ok := s.regions[region]; !ok {
		writeError(w, http.StatusNotFound, msgInvalidRegn)
		return
	}
	typ := r.URL.Query().Get("type")
	s.locked(w, func(now time.Time) {
		taken := s.taken()
		out := availabilityWire{AvailablePlans: []string{}}
		for _, id := range slices.Sorted(maps.Keys(s.plans)) {
			p := s.plans[id]
			if (typ == "" || typ == "all" || typ == p.plan.Type) && s.hasCapacity(p, region, taken, now) {
				out.AvailablePlans = append(out.AvailablePlans, id)
			}
		}
		standin.WriteJSON(w, http.StatusOK, out)
	})
}

func (s *StandIn) listSSHKeys(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		page, meta, ok := paginate(w, r, s.State.Keys)
		if ok {
			standin.WriteJSON(w, http.StatusOK, sshKeysPage{SSHKeys: page, Meta: meta})
		}
	})
}

func (s *StandIn) createSSHKey(w http.ResponseWriter, r *http.Request) {
	var req createSSHKeyWire
	if !decode(w, r, &req) {
		return
	}
	if req.Name == "" || req.SSHKey == "" {
		writeError(w, http.StatusBadRequest, "name and ssh_key are required.")
		return
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(req.SSHKey)); err != nil {
		writeError(w, http.StatusBadRequest, msgInvalidKey)
		return
	}
	s.locked(w, func(now time.Time) {
		key := sshKeyWire{ID: newID(), DateCreated: stamp(now), Name: req.Name, SSHKey: req.SSHKey}
		s.State.Keys = append(s.State.Keys, key)
		if !s.Saved(w) {
			return
		}
		standin.WriteJSON(w, http.StatusCreated, sshKeyAnswer{SSHKey: key})
	})
}

func (s *StandIn) createInstance(w http.ResponseWriter, r *http.Request) {
	var req createInstanceWire
	if !decode(w, r, &req) {
		return
	}
	userData, err := base64.StdEncoding.DecodeString(req.UserData)
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid user_data: must be base64 encoded.")
		return
	}
	s.locked(w, func(now time.Time) {
		p, okPlan := s.plans[req.Plan]
		_, okRegion := s.regions[req.Region]
		switch {
		case !okPlan:
			writeError(w, http.StatusBadRequest, msgInvalidPlan)
			return
		case !okRegion:
			writeError(w, http.StatusBadRequest, msgInvalidRegn)
			return
		}
		var keys []string
		for _, id := range req.SSHKeyID {
			i := slices.IndexFunc(s.State.Keys, func(k sshKeyWire) bool { return k.ID == id })
			if i < 0 {
				writeError(w, http.StatusBadRequest, msgInvalidKey)
				return
			}
			keys = append(keys, s.State.Keys[i].SSHKey)
		}
		if req.FirewallGroupID != "" && s.State.Firewalls[req.FirewallGroupID] == nil {
			writeError(w, http.StatusBadRequest, "Invalid firewall group.")
			return
		}
		if s.quota > 0 && len(s.State.Instances) >= s.quota {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Unable to create server: You have reached the maximum number of instances for your account (limit %d).", s.quota))
			return
		}
		if !s.hasCapacity(p, req.Region, s.taken(), now) {
			writeError(w, http.StatusBadRequest, msgNotAvailable)
			return
		}
		n := len(s.State.Instances) + 1
		rec := &record{
			ID: newUUID(), Label: req.Label, Hostname: req.Hostname, Plan: req.Plan, Region: req.Region, OsID: req.OsID,
			Tags: append([]string{}, req.Tags...), PublicKeys: keys, UserData: string(userData),
			CreatedAt: now, BootedAt: now, InternalIP: fmt.Sprintf("10.%d.%d.%d", 1+n/62500%250, n/250%250, n%250+2),
			FirewallGroupID: req.FirewallGroupID,
		}
		rec.Ports = s.openedPorts(rec)
		s.State.Instances[rec.ID] = rec
		if !s.Saved(w) {
			return
		}
		out := s.render(rec, now)
		out.DefaultPassword = newID()[:16]
		standin.WriteJSON(w, http.StatusAccepted, instanceAnswer{Instance: out})
	})
}

func (s *StandIn) listInstances(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tag, label := q.Get("tag"), q.Get("label")
	s.locked(w, func(now time.Time) {
		var out []instanceWire
		for _, id := range slices.Sorted(maps.Keys(s.State.Instances)) {
			rec := s.State.Instances[id]
			if (tag == "" || slices.Contains(rec.Tags, tag)) && (label == "" || rec.Label == label) {
				out = append(out, s.render(rec, now))
			}
		}
		page, meta, ok := paginate(w, r, out)
		if ok {
			standin.WriteJSON(w, http.StatusOK, instancesPage{Instances: page, Meta: meta})
		}
	})
}

// withInstance runs f on the instance the path names, or answers 404.
func (s *StandIn) withInstance(w http.ResponseWriter, r *http.Request, f func(rec *record, now time.Time)) {
	s.locked(w, func(now time.Time) {
		rec := s.State.Instances[r.PathValue("id")]
		if rec == nil {
			writeError(w, http.StatusNotFound, msgNoInstance)
			return
		}
		f(rec, now)
	})
}

func (s *StandIn) getInstance(w http.ResponseWriter, r *http.Request) {
	s.withInstance(w, r, func(rec *record, now time.Time) {
		standin.WriteJSON(w, http.StatusOK, instanceAnswer{Instance: s.render(rec, now)})
	})
}

// deleteInstance destroys the instance at once: Vultr answers 204 and
// the instance is gone (404) from then on; its blocks are detached and
// kept.
func (s *StandIn) deleteInstance(w http.ResponseWriter, r *http.Request) {
	s.withInstance(w, r, func(rec *record, now time.Time) {
		for _, b := range s.State.Blocks {
			if b.AttachedTo == rec.ID {
				b.AttachedTo = ""
			}
		}
		s.RemoveHost(rec.ID)
		delete(s.State.Instances, rec.ID)
		s.savedNoContent(w)
	})
}

func (s *StandIn) haltInstance(w http.ResponseWriter, r *http.Request) {
	s.withInstance(w, r, func(rec *record, now time.Time) {
		if rec.HaltedAt.IsZero() {
			rec.HaltedAt = now
		}
		s.CloseHost(rec.ID)
		s.savedNoContent(w)
	})
}

// startInstance boots a halted instance again; a running one is
// restarted, as Vultr does.
func (s *StandIn) startInstance(w http.ResponseWriter, r *http.Request) {
	s.withInstance(w, r, func(rec *record, now time.Time) {
		rec.HaltedAt, rec.BootedAt = time.Time{}, now
		s.CloseHost(rec.ID)
		s.savedNoContent(w)
	})
}

// savedNoContent answers 204 once the state is saved (Saved answers a
// failure).
func (s *StandIn) savedNoContent(w http.ResponseWriter) {
	if !s.Saved(w) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// render is the instance as Vultr's API shows it: pending with no address
// until its first boot ends, then active; halted is power_status stopped.
func (s *StandIn) render(rec *record, now time.Time) instanceWire {
	p := s.plans[rec.Plan].plan
	out := instanceWire{
		ID: rec.ID, OS: "Ubuntu 24.04 LTS x64", RAM: p.RAM, Disk: p.Disk, MainIP: noIP, VCPUCount: p.VCPUCount,
		Region: rec.Region, Plan: rec.Plan, DateCreated: stamp(rec.CreatedAt), AllowedBandwidth: p.Bandwidth,
		Label: rec.Label, Hostname: rec.Hostname, OsID: rec.OsID, Features: []string{}, Tags: append([]string{}, rec.Tags...),
		UserScheme: "root", InternalIP: rec.InternalIP, FirewallGroupID: rec.FirewallGroupID,
		Status: statusActive, PowerStatus: powerRunning, ServerStatus: serverOK,
	}
	if rec.Tags == nil {
		out.Tags = []string{}
	}
	booting := now.Before(rec.BootedAt.Add(s.Opts.BootTime))
	switch {
	case !rec.HaltedAt.IsZero():
		out.PowerStatus = powerStopped
	case booting && rec.IP == "":
		out.Status, out.ServerStatus = statusPending, "none"
	case booting:
		out.ServerStatus = "installingbooting"
	}
	if rec.IP != "" {
		out.MainIP, out.NetmaskV4, out.GatewayV4 = rec.IP, "255.0.0.0", "127.0.0.1"
	}
	return out
}

// paginate cuts items at the request's cursor into a page of per_page
// (default 100, max 500, as the description says), with meta.links.next
// the cursor of the next page ("" on the last).
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) ([]T, metaWire, bool) {
	q := r.URL.Query()
	size := 100
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "Invalid per_page.")
			return nil, metaWire{}, false
		}
		size = min(n, 500)
	}
	from := 0
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		n, aerr := strconv.Atoi(strings.TrimPrefix(string(b), "next__"))
		if err != nil || aerr != nil || n < 0 || n > len(items) {
			writeError(w, http.StatusBadRequest, "Invalid cursor.")
			return nil, metaWire{}, false
		}
		from = n
	}
	to := min(from+size, len(items))
	meta := metaWire{Total: len(items)}
	if to < len(items) {
		meta.Links.Next = cursor("next__", to)
	}
	if from > 0 {
		meta.Links.Prev = cursor("prev__", max(from-size, 0))
	}
	page := items[from:to]
	if page == nil {
		page = []T{}
	}
	return page, meta, true
}

func cursor(kind string, at int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + strconv.Itoa(at)))
}

// faultBody is an injected fault in Vultr's error body.
func faultBody(status int, message string) (string, []byte) {
	if message == "" {
		message = http.StatusText(status)
	}
	b, _ := json.Marshal(apiError{Error: message, Status: status})
	return "application/json", b
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid JSON: "+err.Error())
		return false
	}
	return true
}

func writeError(w http.ResponseWriter, status int, message string) {
	standin.WriteJSON(w, status, apiError{Error: message, Status: status})
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newUUID is an id in Vultr's form, a UUID.
func newUUID() string {
	h := newID()
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
