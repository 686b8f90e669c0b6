package vastai

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// StandIn is an in-memory Vast.ai: a marketplace of machines searched
// with Vast's filter documents, asks that are rented into containers
// which pull their image, run, and publish sshd on a loopback host, SSH
// keys attached per instance, keyset-paginated listing and destroy. Paths
// are served with and without the trailing slash, as Vast does, and an
// adapter's BaseURL is the server's URL.
type StandIn struct {
	standin.HTTPBase[savedState]
	market []machine
	byAsk  map[int64]int // ask id → index in market

	// minInterval, when set, answers 429 to calls of one endpoint closer
	// together than it, as Vast's per-endpoint limits do; last is when
	// each endpoint was last called.
	minInterval time.Duration
	last        map[string]time.Time
}

// savedState is what the stand-in persists.
type savedState struct {
	NextID    int64     `json:"next_id"`
	Instances []*record `json:"instances"`
}

// record is one rented instance. Its status is derived from the
// timestamps, so nothing runs per instance.
type record struct {
	ID            int64     `json:"id"`
	AskID         int64     `json:"ask_id"`
	Label         string    `json:"label"`
	Image         string    `json:"image"`
	Disk          float64   `json:"disk"`
	Runtype       string    `json:"runtype"`
	TargetState   string    `json:"target_state"`
	Onstart       string    `json:"onstart"`
	Price         float64   `json:"price,omitempty"` // bid; 0 on demand
	CancelUnavail bool      `json:"cancel_unavail"`
	SSHKeys       []string  `json:"ssh_keys"`
	CreatedAt     time.Time `json:"created_at"`
	DestroyedAt   time.Time `json:"destroyed_at,omitzero"`
	// IP and Port are the sandbox host once the container has run.
	IP   string `json:"ip,omitempty"`
	Port int    `json:"port,omitempty"`
	// StartedAt is when the container was last started after a stop
	// (zero: never).
	StartedAt time.Time `json:"started_at,omitzero"`
	// PortMap are the ports the env opened, where they listen once run.
	PortMap []standin.OpenPort `json:"port_map,omitempty"`
}

// Rental is what the stand-in received for one instance: the rent
// request and the keys attached since, for tests to check what an
// adapter sent.
type Rental struct {
	AskID         int64
	Label         string
	Image         string
	Disk          float64
	Runtype       string
	TargetState   string
	Onstart       string
	Price         float64
	CancelUnavail bool
	SSHKeys       []string
}

// rentBody is a rent request as Vast accepts it: env may be the spec's
// Docker-flag string or the object the CLI sends.
type rentBody struct {
	Image         string          `json:"image"`
	TemplateHash  string          `json:"template_hash_id"`
	Label         string          `json:"label"`
	Disk          float64         `json:"disk"`
	Runtype       string          `json:"runtype"`
	TargetState   string          `json:"target_state"`
	Price         *float64        `json:"price"`
	Onstart       string          `json:"onstart"`
	CancelUnavail *bool           `json:"cancel_unavail"`
	VM            bool            `json:"vm"`
	Env           json.RawMessage `json:"env"`
}

// Stand-in constants from Vast's behaviour.
const (
	// defaultAllocatedStorage is the disk a search prices in when the
	// query does not say (the spec's default).
	defaultAllocatedStorage = 8
	// defaultSearchLimit is how many offers a search without a limit returns.
	defaultSearchLimit = 64
	// firstInstanceID starts the contract ids.
	firstInstanceID = 18000000
	// priceSpread is how far prices drift around the seeded ones.
	priceSpread = 0.03
	// flickerShare is the share of offers briefly missing from the market.
	flickerShare = 0.05
)

var runtypes = []string{"ssh", "jupyter", "args", "ssh_proxy", "ssh_direct", "jupyter_proxy", "jupyter_direct"}

// NewStandIn returns a stand-in seeded with the marketplace and the
// instances saved at o.StatePath, whose hosts are reopened.
func NewStandIn(o standin.Options) (*StandIn, error) {
	s := &StandIn{market: seedMarket(o.Scale), byAsk: map[int64]int{}, last: map[string]time.Time{}}
	for i, m := range s.market {
		s.byAsk[m.askID] = i
	}
	if err := s.Open(Name, o, s.machines); err != nil {
		return nil, err
	}
	if s.State.NextID == 0 {
		s.State.NextID = firstInstanceID
	}
	mux := http.NewServeMux()
	s.route(mux, http.MethodPost, "/api/v0/bundles", s.searchOffers)
	s.route(mux, http.MethodPut, "/api/v0/asks/{id}", s.createInstance)
	s.route(mux, http.MethodGet, "/api/v0/instances/{id}", s.showInstance)
	s.route(mux, http.MethodDelete, "/api/v0/instances/{id}", s.destroyInstance)
	s.route(mux, http.MethodPut, "/api/v0/instances/{id}", s.manageInstance)
	s.route(mux, http.MethodPost, "/api/v0/instances/{id}/ssh", s.attachSSHKey)
	s.route(mux, http.MethodGet, "/api/v1/instances", s.showInstances)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	s.Serve(s.authorize(mux), faultBody)
	o.Capacity.Register(Name, &s.Mu, s.capacities)
	return s, nil
}

// route serves path with and without its trailing slash (the spec writes
// none, Vast's CLI and docs always write one), behind the endpoint's rate
// limit.
func (s *StandIn) route(mux *http.ServeMux, method, path string, h http.HandlerFunc) {
	limited := s.limit(method+" "+path, h)
	mux.Handle(method+" "+path, limited)
	mux.Handle(method+" "+path+"/{$}", limited)
}

// SetMinInterval makes calls to one endpoint closer together than d
// answer 429, as Vast's per-endpoint limits do; 0 turns it off (the
// default).
func (s *StandIn) SetMinInterval(d time.Duration) {
	s.Mu.Lock()
	s.minInterval = d
	clear(s.last)
	s.Mu.Unlock()
}

// Rental returns what the stand-in received for instance id.
func (s *StandIn) Rental(id string) (Rental, bool) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	rec := s.find(id, true)
	if rec == nil {
		return Rental{}, false
	}
	return Rental{AskID: rec.AskID, Label: rec.Label, Image: rec.Image, Disk: rec.Disk, Runtype: rec.Runtype,
		TargetState: rec.TargetState, Onstart: rec.Onstart, Price: rec.Price, CancelUnavail: rec.CancelUnavail,
		SSHKeys: slices.Clone(rec.SSHKeys)}, true
}

// machines lists the instances for the base: their hosts to reopen and
// close, and their console entries.
func (s *StandIn) machines() []standin.Host {
	now := s.Now()
	out := make([]standin.Host, 0, len(s.State.Instances))
	for _, rec := range s.State.Instances {
		v, id := s.view(rec, now), strconv.FormatInt(rec.ID, 10)
		status := "destroyed"
		if rec.DestroyedAt.IsZero() {
			status = cmp.Or(deref(v.ActualStatus), "scheduling")
		}
		out = append(out, standin.Host{ID: id, IP: &rec.IP, Port: &rec.Port, Live: rec.DestroyedAt.IsZero() && rec.TargetState != "stopped", Machine: hostMachine(rec),
			Console: standin.ConsoleEntry{Vendor: Name, ID: id, Name: rec.Label, State: status, Live: rec.DestroyedAt.IsZero(),
				InstanceType: strconv.FormatInt(rec.AskID, 10), Region: v.Geolocation, IP: v.PublicIPAddr,
				SSHPort: v.Ports.hostPort("22/tcp"), Tags: []string{}, CreatedAt: rec.CreatedAt}})
	}
	return out
}

// hostMachine is what the instance received: root's keys attached to it
// (Vast's ssh launch modes install them for root) and its onstart script.
func hostMachine(rec *record) standin.Machine {
	return standin.Machine{Vendor: Name, ID: strconv.FormatInt(rec.ID, 10), Name: rec.Label, Keys: rec.SSHKeys,
		UserDataField: "onstart", UserData: rec.Onstart, Startup: expandOnstart(rec.Onstart),
		Ports: rec.PortMap}
}

// authorize checks the Bearer key. A bad key is a 401 with Vast's
// auth_error body, except on search, whose published answer to it is a
// 404 with the same body.
func (s *StandIn) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if ok && key != "" && (s.Opts.APIKey == "" || key == s.Opts.APIKey) {
			next.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/v0/bundles") {
			writeBare(w, http.StatusNotFound, codeAuth, "Invalid user key")
			return
		}
		writeError(w, http.StatusUnauthorized, codeAuth, "Invalid user key")
	})
}

// limit answers 429 to a call that comes sooner than minInterval after
// the previous call of the same endpoint; the body names the threshold
// and no Retry-After is sent, as Vast does.
func (s *StandIn) limit(endpoint string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Mu.Lock()
		now := s.Now()
		over := s.minInterval > 0 && now.Sub(s.last[endpoint]) < s.minInterval
		if !over {
			s.last[endpoint] = now
		}
		threshold := s.minInterval.Seconds()
		s.Mu.Unlock()
		if over {
			writeTooFrequent(w, r.Method, threshold)
			return
		}
		h(w, r)
	})
}

// writeTooFrequent writes Vast's 429: {"detail": ...} on most endpoints,
// its error envelope on instance destroy.
func writeTooFrequent(w http.ResponseWriter, method string, threshold float64) {
	msg := fmt.Sprintf("API requests too frequent endpoint threshold=%.1f", threshold)
	if method == http.MethodDelete {
		writeError(w, http.StatusTooManyRequests, codeRateLimit, msg)
		return
	}
	standin.WriteJSON(w, http.StatusTooManyRequests, tooFrequent{Detail: msg})
}

// faultBody is the body of an injected failure in Vast's envelopes.
func faultBody(status int, message string) (string, []byte) {
	var v any
	switch {
	case status == http.StatusTooManyRequests:
		v = tooFrequent{Detail: cmp.Or(message, "API requests too frequent endpoint threshold=1.0")}
	case status == http.StatusUnauthorized:
		v = errorEnvelope{errorBody: errorBody{Error: codeAuth, Msg: cmp.Or(message, "Invalid user key")}}
	case status >= 500:
		v = errorEnvelope{errorBody: errorBody{Error: "server_error", Msg: cmp.Or(message, "Internal server error")}}
	default:
		v = errorEnvelope{errorBody: errorBody{Error: codeInvalidArgs, Msg: cmp.Or(message, http.StatusText(status))}}
	}
	b, _ := json.Marshal(v)
	return "application/json", b
}

// writeError writes the spec's Error schema, {success: false, error, msg}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	standin.WriteJSON(w, status, errorEnvelope{errorBody: errorBody{Error: code, Msg: msg}})
}

// writeBare writes {error, msg} without success, as search and the
// instance list answer.
func writeBare(w http.ResponseWriter, status int, code, msg string) {
	standin.WriteJSON(w, status, errorBody{Error: code, Msg: msg})
}

// writeRefusal writes a create's error, which names the ask.
func writeRefusal(w http.ResponseWriter, status int, askID int64, code, msg string) {
	standin.WriteJSON(w, status, rentRefusal{errorEnvelope{errorBody: errorBody{Error: code, Msg: msg}}, askID})
}

// liveAsks counts the live instances on each ask; the caller holds s.Mu.
func (s *StandIn) liveAsks() map[int64]bool {
	live := map[int64]bool{}
	for _, rec := range s.State.Instances {
		if rec.DestroyedAt.IsZero() {
			live[rec.AskID] = true
		}
	}
	return live
}

// capacity is what the market says of renting machine m on demand or on
// a bid (spot) now: one unit while nobody rents it (live are the asks
// rented through the stand-in; a taken machine is another customer's),
// none while its host withdraws it for a moment (the flicker).
func (s *StandIn) capacity(m machine, contract string, live map[int64]bool, now time.Time) standin.Level {
	natural := 0
	if !m.taken && !live[m.askID] {
		natural = 1
	}
	item := standin.Item{Vendor: Name, InstanceType: strconv.FormatInt(m.askID, 10), Region: m.location,
		Contract: contract, GPUCount: m.count, NodeCount: 1}
	return s.Opts.Level(item, natural, flickerShare, askKey(m.askID), now)
}

// capacities lists every machine not taken, on demand and on a bid, for
// the sandbox's capacity ledger; the caller holds s.Mu.
func (s *StandIn) capacities() []standin.Level {
	live, now := s.liveAsks(), s.Now()
	var out []standin.Level
	for _, m := range s.market {
		if !m.taken {
			out = append(out, s.capacity(m, standin.OnDemand, live, now), s.capacity(m, standin.Spot, live, now))
		}
	}
	return out
}

// listed says whether machine m is on the market under a contract now:
// nobody rents it and its host has not withdrawn it, as the sandbox's
// capacity ledger has it. A machine rented through the stand-in is still
// searched, as not rentable, unless it flickers out.
func (s *StandIn) listed(m machine, contract string, live map[int64]bool, now time.Time) (rentable, searched bool) {
	l := s.capacity(m, contract, live, now)
	rentable = s.Opts.Capacity.Free(l) > 0
	return rentable, rentable || (live[m.askID] && !l.Flickered)
}

// contractOf is the contract a search type or a rent is under: a bid is
// spot, anything else on demand.
func contractOf(bid bool) string {
	if bid {
		return standin.Spot
	}
	return standin.OnDemand
}

func askKey(id int64) string { return "vastai/" + strconv.FormatInt(id, 10) }

// machinePrice is what the machine costs per hour now, before disk: the
// on-demand price, or the minimum bid for an interruptible rental.
func machinePrice(m machine, bid bool, now time.Time) float64 {
	if bid {
		return standin.Drift(m.minBid, priceSpread, askKey(m.askID)+"/bid", now)
	}
	return standin.Drift(m.dph, priceSpread, askKey(m.askID), now)
}

// offerView renders a machine as a search result priced for a rental of
// the given type with storageGB of disk.
func (s *StandIn) offerView(m machine, bid, rentable bool, storageGB float64, now time.Time) offer {
	base := machinePrice(m, false, now)
	minBid := machinePrice(m, true, now)
	storage := m.storage * storageGB / hoursPerMonth
	total := base + storage
	if bid {
		total = minBid + storage
	}
	verification := "verified"
	if m.unverified {
		verification = "unverified"
	}
	direct := 64
	if m.noDirect {
		direct = 0
	}
	return offer{
		ID: m.askID, AskContractID: m.askID, BundleID: m.askID, MachineID: m.machineID, HostID: m.hostID,
		GPUName: m.gpu, GPUArch: "nvidia", NumGPUs: m.count, GPURAM: m.ramGB * 1024, GPUTotalRAM: m.count * m.ramGB * 1024,
		BWNVLink: m.nvlink, CPUName: "AMD EPYC 9554 64-Core Processor", CPUCores: m.cores, CPUCoresEffective: float64(m.cores),
		CPURAM: m.memGB * 1024, DiskSpace: m.diskGB, DphBase: base, DphTotal: total, MinBid: minBid,
		StorageCost: m.storage, StorageTotalCost: storage, InetUp: 2000, InetDown: 4000,
		Geolocation: m.location, Reliability: m.reliability, Reliability2: m.reliability,
		Verification: verification, HostingType: 1, StaticIP: true, DirectPortCount: direct, CUDAMaxGood: 12.8,
		PublicIPAddr: fmt.Sprintf("198.51.%d.%d", m.machineID/250%250, m.machineID%250+2),
		Rentable:     rentable, Rented: !rentable && !m.taken, IsBid: bid,
	}
}

// field is an offer's value for a search key, as a float64, bool or
// string; ok is false for keys the search does not know.
func (o offer) field(key string) (any, bool) {
	switch key {
	case "id":
		return float64(o.ID), true
	case "machine_id":
		return float64(o.MachineID), true
	case "host_id":
		return float64(o.HostID), true
	case "gpu_name":
		return o.GPUName, true
	case "gpu_arch":
		return o.GPUArch, true
	case "num_gpus":
		return float64(o.NumGPUs), true
	case "gpu_ram":
		return float64(o.GPURAM), true
	case "gpu_total_ram":
		return float64(o.GPUTotalRAM), true
	case "bw_nvlink":
		return o.BWNVLink, true
	case "cpu_cores":
		return float64(o.CPUCores), true
	case "cpu_cores_effective":
		return o.CPUCoresEffective, true
	case "cpu_ram":
		return float64(o.CPURAM), true
	case "disk_space":
		return o.DiskSpace, true
	case "dph_base":
		return o.DphBase, true
	case "dph_total":
		return o.DphTotal, true
	case "min_bid":
		return o.MinBid, true
	case "storage_cost":
		return o.StorageCost, true
	case "inet_up":
		return o.InetUp, true
	case "inet_down":
		return o.InetDown, true
	case "geolocation":
		_, cc := splitLocation(o.Geolocation)
		return cc, true
	case "reliability", "reliability2":
		return o.Reliability2, true
	case "verified":
		return o.Verification == "verified", true
	case "verification":
		return o.Verification, true
	case "rentable":
		return o.Rentable, true
	case "rented":
		return o.Rented, true
	case "static_ip":
		return o.StaticIP, true
	case "direct_port_count":
		return float64(o.DirectPortCount), true
	case "cuda_max_good":
		return o.CUDAMaxGood, true
	case "datacenter":
		return o.HostingType == 1, true
	}
	return nil, false
}

// condition is one parsed filter: key, operator and operand.
type condition struct {
	key, op string
	value   any
}

// searchDefaults are the filters the spec applies when a query omits them.
var searchDefaults = map[string]condition{
	"verified": {"verified", "eq", true},
	"rentable": {"rentable", "eq", true},
	"rented":   {"rented", "eq", false},
}

// parseSearch reads a filter document; the error is Vast's complaint.
func parseSearch(body []byte) (conds []condition, typ string, limit int, storage float64, order [][]string, err error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, "", 0, 0, nil, fmt.Errorf("Invalid json body")
	}
	typ, limit, storage = "ondemand", defaultSearchLimit, defaultAllocatedStorage
	for key, raw := range doc {
		var err error
		switch key {
		case "type":
			err = json.Unmarshal(raw, &typ)
		case "limit":
			err = json.Unmarshal(raw, &limit)
		case "allocated_storage":
			err = json.Unmarshal(raw, &storage)
		case "order":
			err = json.Unmarshal(raw, &order)
		default:
			if _, known := (offer{}).field(key); !known {
				return nil, "", 0, 0, nil, fmt.Errorf("%s is not a valid search key", key)
			}
			var ops map[string]any
			if err = json.Unmarshal(raw, &ops); err == nil {
				for op, v := range ops {
					if !slices.Contains(operators, op) {
						return nil, "", 0, 0, nil, fmt.Errorf("%s: unknown operator %s", key, op)
					}
					conds = append(conds, condition{key, op, v})
				}
			}
		}
		if err != nil {
			return nil, "", 0, 0, nil, fmt.Errorf("%s: %v", key, err)
		}
	}
	for key, c := range searchDefaults {
		if _, set := doc[key]; !set {
			conds = append(conds, c)
		}
	}
	// The spec's own example writes "on-demand" for its enum's "ondemand".
	if typ == "on-demand" {
		typ = "ondemand"
	}
	if !slices.Contains([]string{"ondemand", "bid", "reserved"}, typ) {
		return nil, "", 0, 0, nil, fmt.Errorf("type must be ondemand, bid or reserved")
	}
	for _, o := range order {
		if len(o) != 2 {
			return nil, "", 0, 0, nil, fmt.Errorf("order entries are [field, direction]")
		}
	}
	return conds, typ, limit, storage, order, nil
}

// operators are the comparison operators of Vast's filter documents.
var operators = []string{"eq", "neq", "gt", "gte", "lt", "lte", "in", "notin"}

// holds applies the condition to a value: a float64, bool or string.
// GPU names compare as Vast's CLI writes them too, with underscores for
// spaces and in any case.
func (c condition) holds(got any) bool {
	eq := func(want any) bool {
		g, isString := got.(string)
		w, _ := want.(string)
		switch {
		case isString && c.key == "gpu_name":
			return strings.EqualFold(g, strings.ReplaceAll(w, "_", " "))
		case isString:
			return g == w
		}
		return got == want
	}
	num := func(f func(a, b float64) bool) bool {
		g, ok1 := got.(float64)
		w, ok2 := c.value.(float64)
		return ok1 && ok2 && f(g, w)
	}
	in := func() bool {
		list, _ := c.value.([]any)
		return slices.ContainsFunc(list, eq)
	}
	switch c.op {
	case "eq":
		return eq(c.value)
	case "neq":
		return !eq(c.value)
	case "gt":
		return num(func(a, b float64) bool { return a > b })
	case "gte":
		return num(func(a, b float64) bool { return a >= b })
	case "lt":
		return num(func(a, b float64) bool { return a < b })
	case "lte":
		return num(func(a, b float64) bool { return a <= b })
	case "in":
		return in()
	case "notin":
		return !in()
	}
	return false
}

func (s *StandIn) searchOffers(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		return
	}
	conds, typ, limit, storage, order, err := parseSearch(body)
	if err != nil {
		writeBare(w, http.StatusBadRequest, codeInvalidReq, err.Error())
		return
	}
	s.Mu.Lock()
	now := s.Now()
	live := s.liveAsks()
	s.Mu.Unlock()
	found := make([]offer, 0, len(s.market))
	for _, m := range s.market {
		rentable, searched := s.listed(m, contractOf(typ == "bid"), live, now)
		if !searched {
			continue // not on the market at all
		}
		o := s.offerView(m, typ == "bid", rentable, storage, now)
		if !slices.ContainsFunc(conds, func(c condition) bool { v, _ := o.field(c.key); return !c.holds(v) }) {
			found = append(found, o)
		}
	}
	if len(order) == 0 {
		order = [][]string{{"dph_total", "asc"}}
	}
	slices.SortStableFunc(found, func(a, b offer) int {
		for _, o := range order {
			x, _ := a.field(o[0])
			y, _ := b.field(o[0])
			fx, _ := x.(float64)
			fy, _ := y.(float64)
			c := cmp.Compare(fx, fy)
			if strings.EqualFold(o[1], "desc") {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if limit > 0 && len(found) > limit {
		found = found[:limit]
	}
	// searchResult, written an offer at a time.
	st := standin.NewStream(w, http.StatusOK, `{"offers":[`)
	for i := range found {
		st.Element(&found[i])
	}
	st.End("]}")
}

// readBody reads a request body of at most 1 MB, answering 400 itself
// when it cannot.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidArgs, "Invalid json body")
		return nil, err
	}
	return b, nil
}

// validateRent checks a rent request as Vast's schema does and returns
// the error code and complaint, or "".
func validateRent(req rentBody, m machine) (code, msg string) {
	switch {
	case req.Image == "" && req.TemplateHash == "":
		return codeInvalidArgs, "image is required"
	case req.Runtype != "" && !slices.Contains(runtypes, req.Runtype):
		return codeInvalidArgs, "invalid runtype " + req.Runtype
	case req.TargetState != "" && req.TargetState != "running" && req.TargetState != "stopped":
		return codeInvalidArgs, "target_state must be running or stopped"
	case len(req.Onstart) > maxOnstart:
		return codeInvalidArgs, fmt.Sprintf("onstart is limited to %d characters", maxOnstart)
	case len(req.Label) > 1024:
		return codeInvalidArgs, "label is limited to 1024 characters"
	case req.Disk < 0 || req.Disk > m.diskGB:
		return codeInvalidArgs, fmt.Sprintf("disk must be between 0 and %.0f GB on this machine", m.diskGB)
	case req.Price != nil && (*req.Price < 0.001 || *req.Price > 128):
		return codeInvalidPrice, "price must be between 0.001 and 128 $/hour"
	case req.Price != nil && *req.Price < m.minBid*(1-priceSpread):
		return codeInvalidPrice, fmt.Sprintf("bid %.4f is below the machine's minimum bid", *req.Price)
	case req.VM:
		// The stand-in keeps no account keys, so a VM never has one.
		return codeNoSSHKeyForVM, "VM instances need an SSH key on the account"
	}
	return "", ""
}

func (s *StandIn) createInstance(w http.ResponseWriter, r *http.Request) {
	askID, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || askID <= 0 {
		writeError(w, http.StatusBadRequest, codeInvalidArgs, "error 400/3467: Invalid args: 'id' is required and must be a valid offer ID")
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		return
	}
	var req rentBody
	if err := json.Unmarshal(body, &req); err != nil {
		writeRefusal(w, http.StatusBadRequest, askID, codeInvalidArgs, "Invalid json body: "+err.Error())
		return
	}
	i, ok := s.byAsk[askID]
	if !ok {
		writeRefusal(w, http.StatusNotFound, askID, codeInvalidArgs,
			fmt.Sprintf("error 404/3603: no_such_ask Instance type by id %d is not available.", askID))
		return
	}
	m := s.market[i]
	if code, msg := validateRent(req, m); code != "" {
		writeRefusal(w, http.StatusBadRequest, askID, code, msg)
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	// Vast's description: a rent of an offer that is no longer available
	// answers 410, error no_such_ask, msg "error 410/3907: no_such_ask
	// Instance type 1234567 is no longer available." (PUT /asks/{id}).
	if rentable, _ := s.listed(m, contractOf(req.Price != nil), s.liveAsks(), now); !rentable {
		writeRefusal(w, http.StatusGone, askID, codeNoSuchAsk,
			fmt.Sprintf("error 410/3907: no_such_ask Instance type %d is no longer available.", askID))
		return
	}
	s.State.NextID++
	rec := &record{
		ID: s.State.NextID, AskID: askID, Label: req.Label, Image: cmp.Or(req.Image, DefaultImage), Disk: req.Disk,
		Runtype: cmp.Or(req.Runtype, "ssh"), TargetState: cmp.Or(req.TargetState, "running"), Onstart: req.Onstart,
		CancelUnavail: req.CancelUnavail != nil && *req.CancelUnavail, SSHKeys: []string{}, CreatedAt: now.UTC(),
		PortMap: envPorts(req.Env),
	}
	if req.Price != nil {
		rec.Price = *req.Price
	}
	s.State.Instances = append(s.State.Instances, rec)
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, createResponse{Success: true, NewContract: rec.ID})
}

// find returns the instance with id, destroyed ones only when asked;
// the caller holds s.Mu.
func (s *StandIn) find(id string, destroyed bool) *record {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil
	}
	for _, rec := range s.State.Instances {
		if rec.ID == n && (destroyed || rec.DestroyedAt.IsZero()) {
			return rec
		}
	}
	return nil
}

// status is an instance's actual_status at now: null while the machine
// is prepared (the first third of the boot time), "loading" while the
// image is pulled, then the target state.
func (s *StandIn) status(rec *record, now time.Time) *string {
	age := now.Sub(rec.CreatedAt)
	var st string
	switch {
	case age < s.Opts.BootTime/3:
		return nil
	case rec.TargetState == "stopped":
		st = "stopped"
	case age < s.Opts.BootTime || s.starting(rec, now):
		st = "loading"
	default:
		st = "running"
	}
	return &st
}

// observe opens the host of an instance that has just come up; the
// caller holds s.Mu.
func (s *StandIn) observe(rec *record, now time.Time) {
	if st := s.status(rec, now); st == nil || *st != "running" || rec.IP != "" || !rec.DestroyedAt.IsZero() {
		return
	}
	ip, port, err := s.OpenHost(strconv.FormatInt(rec.ID, 10), "", 0, hostMachine(rec))
	if err != nil {
		return // it stays without ports and the next look tries again
	}
	rec.IP, rec.Port = ip, port
	rec.PortMap = s.Ports(strconv.FormatInt(rec.ID, 10))
	// A failed save loses nothing the next change will not write again.
	_ = s.Save()
}

// view renders an instance as Vast shows it; the caller holds s.Mu.
func (s *StandIn) view(rec *record, now time.Time) instance {
	s.observe(rec, now)
	s.reopen(rec, now)
	m := s.market[s.byAsk[rec.AskID]]
	bid := rec.Price > 0
	price := machinePrice(m, false, now)
	if bid {
		price = rec.Price
	}
	in := instance{
		ID: rec.ID, ActualStatus: s.status(rec, now), IntendedStatus: rec.TargetState, CurState: rec.TargetState, NextState: rec.TargetState,
		ImageUUID: rec.Image, ImageRuntype: rec.Runtype, Onstart: &rec.Onstart,
		LocalIPAddrs: fmt.Sprintf("10.%d.%d.%d 172.17.0.1", rec.ID>>16&0xff, rec.ID>>8&0xff, rec.ID&0xff),
		SSHHost:      fmt.Sprintf("ssh%d.vast.ai", rec.ID%9+1), SSHPort: int(10000 + rec.ID%50000),
		MachineID: m.machineID, HostID: m.hostID,
		StartDate: float64(rec.CreatedAt.UnixNano()) / 1e9,
		GPUName:   m.gpu, NumGPUs: m.count, GPURAM: m.ramGB * 1024, CPUCores: m.cores, CPURAM: m.memGB * 1024,
		DiskSpace: rec.Disk, Geolocation: m.location, IsBid: bid, MinBid: machinePrice(m, true, now),
		DphBase: price, DphTotal: price + m.storage*rec.Disk/hoursPerMonth, StorageCost: m.storage,
		DirectPortCnt: 64, Verification: "verified",
	}
	if rec.Label != "" {
		in.Label = &rec.Label
	}
	msg := "Preparing machine"
	if st := in.ActualStatus; st != nil {
		switch *st {
		case "loading":
			msg = "Pulling image " + rec.Image
		case "running":
			msg = "success, running " + rec.Image + "/" + rec.Runtype
		default:
			msg = *st
		}
	}
	in.StatusMsg = &msg
	if rec.IP != "" && rec.DestroyedAt.IsZero() {
		in.PublicIPAddr = rec.IP
		in.Ports = ports{"22/tcp": {{HostIP: "0.0.0.0", HostPort: strconv.Itoa(rec.Port)}}}
		portBindings(in.Ports, rec)
	}
	return in
}

func (s *StandIn) showInstance(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	rec := s.find(r.PathValue("id"), false)
	if rec == nil {
		writeError(w, http.StatusNotFound, codeNotFound, "Instance not found")
		return
	}
	v := s.view(rec, s.Now())
	standin.WriteJSON(w, http.StatusOK, instanceEnvelope{Instances: &v})
}

func (s *StandIn) destroyInstance(w http.ResponseWriter, r *http.Request) {
	if _, err := strconv.ParseInt(r.PathValue("id"), 10, 64); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidArgs, "invalid instance_id")
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	rec := s.find(r.PathValue("id"), false)
	if rec == nil {
		writeError(w, http.StatusNotFound, codeNotFound, "Instance not found")
		return
	}
	rec.DestroyedAt = s.Now().UTC()
	s.RemoveHost(strconv.FormatInt(rec.ID, 10))
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, okMsg{Success: true, Msg: "Instance destroyed successfully"})
}

func (s *StandIn) attachSSHKey(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		return
	}
	var req sshKeyRequest
	if err := json.Unmarshal(body, &req); err != nil || req.SSHKey == "" {
		writeError(w, http.StatusBadRequest, codeInvalidArgs, "ssh_key is required")
		return
	}
	pk, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(req.SSHKey))
	if err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidArgs, "Invalid ssh key")
		return
	}
	key := strings.TrimSpace(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk))) + " " + comment)
	s.Mu.Lock()
	defer s.Mu.Unlock()
	rec := s.find(r.PathValue("id"), false)
	if rec == nil {
		writeError(w, http.StatusNotFound, codeNoSuchInst, "No such instance")
		return
	}
	if !slices.Contains(rec.SSHKeys, key) {
		rec.SSHKeys = append(rec.SSHKeys, key)
		if !s.Saved(w) {
			return
		}
		if rec.IP != "" {
			// A running machine takes the key at once, as Vast's does.
			if _, _, err := s.OpenHost(strconv.FormatInt(rec.ID, 10), rec.IP, rec.Port, hostMachine(rec)); err != nil {
				writeError(w, http.StatusInternalServerError, "server_error", err.Error())
				return
			}
		}
	}
	standin.WriteJSON(w, http.StatusOK, okMsg{Success: true, Msg: "SSH key attached successfully"})
}

// listToken is the keyset cursor: the last id of the page, as Vast's
// base64 JSON tokens carry it.
type listToken struct {
	Values struct {
		ID int64 `json:"id"`
	} `json:"values"`
}

func encodeToken(id int64) string {
	var t listToken
	t.Values.ID = id
	b, _ := json.Marshal(t)
	return base64.StdEncoding.EncodeToString(b)
}

func decodeToken(s string) (int64, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	var t listToken
	if json.Unmarshal(b, &t) != nil || t.Values.ID <= 0 {
		return 0, false
	}
	return t.Values.ID, true
}

// listFilterColumns are the contract columns select_filters accepts.
var listFilterColumns = []string{"id", "label", "actual_status", "gpu_name", "verification"}

// instanceField is an instance's value for a list filter column.
func instanceField(in instance, col string) any {
	switch col {
	case "id":
		return float64(in.ID)
	case "label":
		return deref(in.Label)
	case "actual_status":
		return deref(in.ActualStatus)
	case "gpu_name":
		return in.GPUName
	}
	return in.Verification
}

func (s *StandIn) showInstances(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := listPageSize
	if v, err := strconv.Atoi(q.Get("limit")); err == nil {
		limit = min(v, listPageSize)
		if limit <= 0 {
			limit = 5
		}
	}
	after := int64(0)
	if tok := q.Get("after_token"); tok != "" {
		id, ok := decodeToken(tok)
		if !ok {
			writeBare(w, http.StatusBadRequest, codeInvalidToken, "Invalid pagination token")
			return
		}
		after = id
	}
	var filters map[string]map[string]any
	if f := q.Get("select_filters"); f != "" {
		if err := json.Unmarshal([]byte(f), &filters); err != nil {
			writeBare(w, http.StatusBadRequest, codeInvalidReq, "Error in query parameters: select_filters is not a JSON object")
			return
		}
	}
	var conds []condition
	for col, ops := range filters {
		if !slices.Contains(listFilterColumns, col) {
			writeBare(w, http.StatusBadRequest, codeInvalidReq, "Error in query parameters: "+col+" is not a valid search key")
			return
		}
		for op, v := range ops {
			if !slices.Contains(operators, op) {
				writeBare(w, http.StatusBadRequest, codeInvalidReq, "Error in query parameters: unknown operator "+op)
				return
			}
			conds = append(conds, condition{col, op, v})
		}
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	var match []instance
	labels := map[string]int{}
	for _, rec := range s.State.Instances {
		if !rec.DestroyedAt.IsZero() {
			continue
		}
		v := s.view(rec, now)
		if slices.ContainsFunc(conds, func(c condition) bool { return !c.holds(instanceField(v, c.key)) }) {
			continue
		}
		labels[rec.Label]++
		match = append(match, v)
	}
	slices.SortFunc(match, func(a, b instance) int { return cmp.Compare(a.ID, b.ID) })
	start, _ := slices.BinarySearchFunc(match, after+1, func(in instance, id int64) int { return cmp.Compare(in.ID, id) })
	page := match[start:min(start+limit, len(match))]
	resp := instanceList{Success: true, InstancesFound: len(page), TotalInstances: len(match), LabelCounts: labels, Instances: standin.NonNil(page)}
	if start+limit < len(match) {
		tok := encodeToken(page[len(page)-1].ID)
		resp.NextToken = &tok
	}
	standin.WriteJSON(w, http.StatusOK, resp)
}
