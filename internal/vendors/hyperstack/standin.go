package hyperstack

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// basePath is where Hyperstack's API lives on its host.
const basePath = "/v1"

// knownImages are the images the stand-in can boot.
var knownImages = []string{
	DefaultImage,
	"Ubuntu Server 22.04 LTS",
	"Ubuntu Server 24.04 LTS R570 CUDA 12.8",
}

// StandIn is an in-memory Hyperstack: environments, key pairs, flavors
// with stock, the pricebook and VMs that boot, get a public IP whose SSH
// port answers, and are deleted. It serves the API under /v1, so an
// adapter's BaseURL is server.URL + "/v1".
type StandIn struct {
	standin.HTTPBase[savedState]
	offers []offer
	// vmQuota caps live VMs (0: unlimited).
	vmQuota int
}

// savedState is what survives a restart.
type savedState struct {
	NextID       int             `json:"next_id"`
	Environments []*envRecord    `json:"environments"`
	Keypairs     []*keyRecord    `json:"keypairs"`
	VMs          []*vmRecord     `json:"vms"`
	Volumes      []*volumeRecord `json:"volumes,omitempty"`
}

type envRecord struct {
	ID        int       `json:"id"`
	Name      string    `json:"name"`
	Region    string    `json:"region"`
	CreatedAt time.Time `json:"created_at"`
}

type keyRecord struct {
	ID          int       `json:"id"`
	Name        string    `json:"name"`
	Environment string    `json:"environment"`
	PublicKey   string    `json:"public_key"`
	Fingerprint string    `json:"fingerprint"`
	CreatedAt   time.Time `json:"created_at"`
}

type vmRecord struct {
	ID            int64          `json:"id"`
	Name          string         `json:"name"`
	Environment   string         `json:"environment"`
	Region        string         `json:"region"`
	OfferID       int            `json:"offer_id"`
	Image         string         `json:"image"`
	KeyName       string         `json:"key_name"`
	UserData      string         `json:"user_data"`
	Labels        []string       `json:"labels"`
	SecurityRules []securityRule `json:"security_rules"`
	FloatingIP    bool           `json:"floating_ip"`
	CreatedAt     time.Time      `json:"created_at"`
	// DeletedAt is when deletion was asked (zero: not asked).
	DeletedAt time.Time `json:"deleted_at,omitzero"`
	// IP and SSHPort are the sandbox host, once the VM has run.
	IP      string `json:"ip,omitempty"`
	SSHPort int    `json:"ssh_port,omitempty"`
	// StoppedAt and StartedAt are when the VM was last stopped and
	// started (zero: never).
	StoppedAt time.Time `json:"stopped_at,omitzero"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// Mounts are its volume, where its cloud-init mounts it.
	Mounts []standin.Mount `json:"mounts,omitempty"`
}

// phase is a VM's place in Hyperstack's state machine at some moment.
type phase int

const (
	phaseCreating  phase = iota // CREATING: not yet deletable
	phaseBuild                  // BUILD: not yet deletable
	phaseAttaching              // ACTIVE, floating IP still attaching
	phaseRunning                // ACTIVE, floating IP ATTACHED
	phaseDeleting               // DELETING
	phaseGone                   // deleted: 404
)

// NewStandIn starts a stand-in, reloading its VMs from o.StatePath and
// reopening the hosts of those that were running.
func NewStandIn(o standin.Options) (*StandIn, error) {
	s := &StandIn{offers: seedOffers(o.Scale)}
	if err := s.Open(vendorName, o, s.machines); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/core/regions", s.listRegions)
	mux.HandleFunc("GET /v1/core/environments", s.listEnvironments)
	mux.HandleFunc("POST /v1/core/environments", s.createEnvironment)
	mux.HandleFunc("GET /v1/core/keypairs", s.listKeypairs)
	mux.HandleFunc("POST /v1/core/keypairs", s.importKeypair)
	mux.HandleFunc("DELETE /v1/core/keypair/{id}", s.deleteKeypair)
	mux.HandleFunc("GET /v1/core/flavors", s.listFlavors)
	mux.HandleFunc("GET /v1/core/stocks", s.listStocks)
	mux.HandleFunc("GET /v1/pricebook", s.pricebook)
	mux.HandleFunc("GET /v1/core/virtual-machines", s.listVMs)
	mux.HandleFunc("POST /v1/core/virtual-machines", s.createVMs)
	mux.HandleFunc("GET /v1/core/virtual-machines/{vm_id}", s.getVM)
	mux.HandleFunc("DELETE /v1/core/virtual-machines/{vm_id}", s.deleteVM)
	mux.HandleFunc("GET /v1/core/virtual-machines/{vm_id}/stop", s.stopVM)
	mux.HandleFunc("GET /v1/core/virtual-machines/{vm_id}/start", s.startVM)
	mux.HandleFunc("GET /v1/core/volume-types", s.listVolumeTypes)
	mux.HandleFunc("GET /v1/core/volumes", s.listVolumes)
	mux.HandleFunc("POST /v1/core/volumes", s.createVolume)
	mux.HandleFunc("GET /v1/core/volumes/{volume_id}", s.getVolume)
	mux.HandleFunc("DELETE /v1/core/volumes/{volume_id}", s.deleteVolume)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "The requested URL was not found on the server.")
	})
	s.Serve(s.limit(s.authorize(mux)), faultBody)
	o.Capacity.Register(vendorName, &s.Mu, s.capacities)
	return s, nil
}

// SetVMQuota caps how many VMs may exist at once (0: no cap).
func (s *StandIn) SetVMQuota(n int) {
	s.Mu.Lock()
	s.vmQuota = n
	s.Mu.Unlock()
}

// machines lists the VMs for the base: their hosts to reopen and close,
// and their console entries.
func (s *StandIn) machines() []standin.Host {
	now := s.Now()
	out := make([]standin.Host, 0, len(s.State.VMs))
	for _, vm := range s.State.VMs {
		f, id := s.view(vm, now), strconv.FormatInt(vm.ID, 10)
		out = append(out, standin.Host{ID: id, IP: &vm.IP, Port: &vm.SSHPort, Live: vm.DeletedAt.IsZero() && !s.poweredOff(vm, now), Machine: machine(vm),
			Console: standin.ConsoleEntry{Vendor: vendorName, ID: id, Name: vm.Name, State: f.Status, Live: s.phase(vm, now) != phaseGone,
				InstanceType: f.Flavor.Name, Region: vm.Region, IP: f.FloatingIP, SSHPort: vm.SSHPort, Tags: slices.Clone(vm.Labels), CreatedAt: vm.CreatedAt}})
	}
	return out
}

// machine is what the VM received at create. Its key pair goes to the
// image's default user (ubuntu); root's key comes from the cloud-init
// user data supply sends, as on a real VM, and its volume is mounted.
func machine(vm *vmRecord) standin.Machine {
	return standin.Machine{Vendor: vendorName, ID: strconv.FormatInt(vm.ID, 10), Name: vm.Name,
		UserDataField: "user_data", UserData: vm.UserData, Ports: openedPorts(vm.SecurityRules), Mounts: vm.Mounts}
}

// save persists the state; the caller holds s.Mu.
func (s *StandIn) save() error { return s.Save() }

func (s *StandIn) nextID() int {
	s.State.NextID++
	return s.State.NextID
}

// limit answers 429 past the per-minute budget, like Hyperstack's per-IP
// limit: no Retry-After, blocked until the minute is over.
func (s *StandIn) limit(next http.Handler) http.Handler {
	return s.Limiter.Wrap(next, s.Now, func(w http.ResponseWriter, _ standin.Window) {
		writeError(w, http.StatusTooManyRequests, "too_many_requests", "Rate limit exceeded. Please try again later.")
	})
}

// authorize checks the literal "api_key" header.
func (s *StandIn) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("api_key")
		if key == "" || (s.Opts.APIKey != "" && key != s.Opts.APIKey) {
			writeError(w, http.StatusUnauthorized, "unauthorized", "Invalid API key. Please provide a valid api_key header.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// faultBody is the body of an injected failure: Hyperstack's 500 has
// none, everything else its error envelope.
func faultBody(status int, message string) (string, []byte) {
	if status >= 500 {
		return "", nil
	}
	b, _ := json.Marshal(errorEnvelope{Message: cmp.Or(message, http.StatusText(status)), ErrorReason: reasonFor(status)})
	return "application/json", b
}

func reasonFor(status int) string {
	return strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
}

func writeError(w http.ResponseWriter, status int, reason, format string, args ...any) {
	standin.WriteJSON(w, status, errorEnvelope{Message: fmt.Sprintf(format, args...), ErrorReason: reason})
}

func (s *StandIn) listRegions(w http.ResponseWriter, r *http.Request) {
	resp := regionList{okEnvelope: okEnvelope{Status: true, Message: "Getting regions success"}}
	for i, reg := range s.regionNames() {
		f := regionFields{ID: i + 1, Name: reg, GreenStatus: "GREEN", Features: map[string]any{}}
		for _, sr := range seedRegions {
			if strings.HasPrefix(reg, sr.name) {
				f.Country, f.Description = sr.country, sr.description
			}
		}
		resp.Regions = append(resp.Regions, f)
	}
	standin.WriteJSON(w, http.StatusOK, resp)
}

// regionNames lists every region the catalog sells in, in order.
func (s *StandIn) regionNames() []string {
	var names []string
	for _, o := range s.offers {
		if !slices.Contains(names, o.region) {
			names = append(names, o.region)
		}
	}
	return names
}

// page cuts n items to the page asked for; Hyperstack pages from 1.
func page(r *http.Request, n int) (start, end, number, size int) {
	number, size = 1, 100
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		number = v
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("pageSize")); err == nil && v > 0 {
		size = v
	}
	start = n
	if number-1 < (n+size-1)/size { // compared as pages, so huge values cannot overflow
		start = (number - 1) * size
	}
	return start, start + min(size, n-start), number, size
}

func (s *StandIn) environment(e *envRecord) environmentFields {
	return environmentFields{ID: e.ID, Name: e.Name, Region: e.Region, CreatedAt: e.CreatedAt,
		Features: environmentFeatures{GreenStatus: "GREEN"}}
}

func (s *StandIn) findEnvironment(name string) *envRecord {
	for _, e := range s.State.Environments {
		if e.Name == name {
			return e
		}
	}
	return nil
}

func (s *StandIn) listEnvironments(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	search := r.URL.Query().Get("search")
	var match []environmentFields
	for _, e := range s.State.Environments {
		if search == "" || strings.Contains(e.Name, search) || strings.Contains(e.Region, search) || strconv.Itoa(e.ID) == search {
			match = append(match, s.environment(e))
		}
	}
	start, end, number, size := page(r, len(match))
	standin.WriteJSON(w, http.StatusOK, environmentList{okEnvelope{true, "Getting environments success"},
		pageFields{len(match), number, size}, standin.NonNil(match[start:end])})
}

func (s *StandIn) createEnvironment(w http.ResponseWriter, r *http.Request) {
	var req createEnvironmentPayload
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" || req.Region == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "name and region are required")
		return
	}
	if len(req.Name) > 50 {
		writeError(w, http.StatusBadRequest, "bad_request", "name must be at most 50 characters")
		return
	}
	if !slices.Contains(s.regionNames(), req.Region) {
		writeError(w, http.StatusNotFound, "not_found", "Region %s not found", req.Region)
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if s.findEnvironment(req.Name) != nil {
		writeError(w, http.StatusConflict, "conflict", "Environment with name %s already exists", req.Name)
		return
	}
	e := &envRecord{ID: s.nextID(), Name: req.Name, Region: req.Region, CreatedAt: s.Now().UTC()}
	s.State.Environments = append(s.State.Environments, e)
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, environmentResponse{okEnvelope{true, "Environment created successfully"}, s.environment(e)})
}

func (s *StandIn) keypair(k *keyRecord) keypairFields {
	f := keypairFields{ID: k.ID, Name: k.Name, PublicKey: k.PublicKey, Fingerprint: k.Fingerprint, CreatedAt: k.CreatedAt}
	if e := s.findEnvironment(k.Environment); e != nil {
		f.Environment = s.environment(e)
	}
	return f
}

func (s *StandIn) findKeypair(env, name string) *keyRecord {
	for _, k := range s.State.Keypairs {
		if k.Environment == env && k.Name == name {
			return k
		}
	}
	return nil
}

func (s *StandIn) listKeypairs(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	search := r.URL.Query().Get("search")
	var match []keypairFields
	for _, k := range s.State.Keypairs {
		if search == "" || strings.Contains(k.Name, search) || strconv.Itoa(k.ID) == search {
			match = append(match, s.keypair(k))
		}
	}
	start, end, number, size := page(r, len(match))
	standin.WriteJSON(w, http.StatusOK, keypairList{okEnvelope{true, "Getting keypairs success"},
		pageFields{len(match), number, size}, standin.NonNil(match[start:end])})
}

func (s *StandIn) importKeypair(w http.ResponseWriter, r *http.Request) {
	var req importKeypairPayload
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" || req.EnvironmentName == "" || req.PublicKey == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "name, environment_name and public_key are required")
		return
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(req.PublicKey))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "Invalid public key")
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if s.findEnvironment(req.EnvironmentName) == nil {
		writeError(w, http.StatusNotFound, "not_found", "Environment %s not found", req.EnvironmentName)
		return
	}
	if s.findKeypair(req.EnvironmentName, req.Name) != nil {
		writeError(w, http.StatusConflict, "conflict", "Keypair with name %s already exists in environment %s", req.Name, req.EnvironmentName)
		return
	}
	k := &keyRecord{ID: s.nextID(), Name: req.Name, Environment: req.EnvironmentName, PublicKey: req.PublicKey,
		Fingerprint: ssh.FingerprintLegacyMD5(pk), CreatedAt: s.Now().UTC()}
	s.State.Keypairs = append(s.State.Keypairs, k)
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, keypairResponse{okEnvelope{true, "Keypair imported successfully"}, s.keypair(k)})
}

func (s *StandIn) deleteKeypair(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "id must be an integer")
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	i := slices.IndexFunc(s.State.Keypairs, func(k *keyRecord) bool { return k.ID == id })
	if i < 0 {
		writeError(w, http.StatusNotFound, "not_found", "Keypair %d not found", id)
		return
	}
	s.State.Keypairs = slices.Delete(s.State.Keypairs, i, i+1)
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, okEnvelope{true, "Keypair deleted successfully"})
}

// capacity is what the stock model says of o now: its stock less the VMs
// not yet gone, or sold out while it flickers, as real stock comes and
// goes. The caller holds s.Mu.
func (s *StandIn) capacity(o offer, now time.Time) standin.Level {
	n := o.stock
	for _, vm := range s.State.VMs {
		if vm.OfferID == o.id && s.phase(vm, now) != phaseGone {
			n--
		}
	}
	item := standin.Item{Vendor: vendorName, InstanceType: o.flavor.name, Region: o.region,
		Contract: standin.OnDemand, GPUCount: o.flavor.gpuCount, NodeCount: 1}
	return s.Opts.Level(item, n, 0.05, o.region+"/"+o.flavor.name, now)
}

// capacities lists every offer, for the sandbox's capacity ledger; the
// caller holds s.Mu.
func (s *StandIn) capacities() []standin.Level {
	now := s.Now()
	out := make([]standin.Level, 0, len(s.offers))
	for _, o := range s.offers {
		out = append(out, s.capacity(o, now))
	}
	return out
}

// available is how many more nodes of o can be created now, as the
// sandbox's capacity ledger has it; the caller holds s.Mu.
func (s *StandIn) available(o offer, now time.Time) int {
	return s.Opts.Capacity.Free(s.capacity(o, now))
}

func (s *StandIn) findOffer(region, flavor string) (offer, bool) {
	for _, o := range s.offers {
		if o.region == region && o.flavor.name == flavor {
			return o, true
		}
	}
	return offer{}, false
}

func (s *StandIn) offerByID(id int) offer {
	if id >= 1 && id <= len(s.offers) {
		return s.offers[id-1]
	}
	return offer{}
}

func (s *StandIn) listFlavors(w http.ResponseWriter, r *http.Request) {
	region := r.URL.Query().Get("region")
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	resp := flavorList{Status: true, Message: "Getting flavors success", Data: []flavorGroup{}}
	groups := map[string]int{} // gpu/region -> index in Data
	for _, o := range s.offers {
		if region != "" && o.region != region {
			continue
		}
		key := o.flavor.gpu + "/" + o.region
		i, ok := groups[key]
		if !ok {
			i = len(resp.Data)
			groups[key] = i
			resp.Data = append(resp.Data, flavorGroup{GPU: o.flavor.gpu, RegionName: o.region})
		}
		f := o.flavor
		resp.Data[i].Flavors = append(resp.Data[i].Flavors, flavorFields{
			ID: o.id, Name: f.name, DisplayName: f.name, RegionName: o.region,
			CPU: f.cpu, RAM: f.ram, Disk: f.disk, Ephemeral: f.ephemeral,
			GPU: f.gpu, GPUCount: f.gpuCount, StockAvailable: s.available(o, now) > 0,
			Labels: []labelFields{}, Features: map[string]any{}, CreatedAt: time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC),
		})
	}
	standin.WriteJSON(w, http.StatusOK, resp)
}

func (s *StandIn) listStocks(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	var resp stockList
	for _, region := range s.regionNames() {
		sr := stockRegion{Region: region, StockType: "GPU"}
		for _, p := range seedPrices {
			m := stockModel{Model: p.gpu, Planned7Days: "0", Planned30Days: "0", Planned100Days: "0",
				Configurations: map[string]int{"1x": 0, "2x": 0, "4x": 0, "8x": 0, "10x": 0}}
			gpus, sold := 0, false
			for _, o := range s.offers {
				if o.region == region && o.flavor.gpu == p.gpu {
					n := s.available(o, now)
					m.Configurations[fmt.Sprintf("%dx", o.flavor.gpuCount)] = n
					gpus += n * o.flavor.gpuCount
					sold = true
				}
			}
			if sold {
				m.Available = strconv.Itoa(gpus)
				sr.Models = append(sr.Models, m)
			}
		}
		resp.Stocks = append(resp.Stocks, sr)
	}
	standin.WriteJSON(w, http.StatusOK, resp)
}

func (s *StandIn) pricebook(w http.ResponseWriter, r *http.Request) {
	now := s.Now()
	book := make([]priceEntry, 0, len(seedPrices))
	for i, p := range seedPrices {
		v := standin.Drift(p.price, 0.03, "hyperstack/"+p.gpu, now)
		book = append(book, priceEntry{ID: i + 1, Name: p.gpu, Value: v, OriginalValue: v})
	}
	standin.WriteJSON(w, http.StatusOK, book)
}

// phase derives a VM's state from its timestamps: BootTime splits into
// CREATING, BUILD and an ACTIVE VM whose floating IP is still attaching;
// deletion takes half a boot.
func (s *StandIn) phase(vm *vmRecord, now time.Time) phase {
	boot := s.Opts.BootTime
	if !vm.DeletedAt.IsZero() {
		if now.Sub(vm.DeletedAt) < boot/2 {
			return phaseDeleting
		}
		return phaseGone
	}
	if p, ok := s.powerPhase(vm, now); ok {
		return p
	}
	switch age := now.Sub(vm.CreatedAt); {
	case age < boot/5:
		return phaseCreating
	case age < boot*7/10:
		return phaseBuild
	case age < boot:
		return phaseAttaching
	}
	return phaseRunning
}

// observe opens the host of a VM that has just come up; the caller holds
// s.Mu.
func (s *StandIn) observe(vm *vmRecord, now time.Time) {
	if s.phase(vm, now) != phaseRunning || vm.IP != "" || !vm.FloatingIP {
		return
	}
	ip, port, err := s.OpenHost(strconv.FormatInt(vm.ID, 10), "", 0, machine(vm))
	if err != nil {
		return // the VM stays "attaching" and the next look tries again
	}
	vm.IP, vm.SSHPort = ip, port
	// A failed save loses nothing the next change will not write again.
	_ = s.Save()
}

// view renders a VM as Hyperstack's Instance_Fields; the caller holds s.Mu.
func (s *StandIn) view(vm *vmRecord, now time.Time) instanceFields {
	s.observe(vm, now)
	s.reopen(vm, now)
	o := s.offerByID(vm.OfferID)
	f := instanceFields{
		ID: vm.ID, Name: vm.Name, OS: vm.Image,
		FixedIP:           fmt.Sprintf("10.%d.%d.%d", vm.ID>>16&0xff, vm.ID>>8&0xff, vm.ID&0xff),
		Flavor:            instanceFlavor{ID: o.id, Name: o.flavor.name, CPU: o.flavor.cpu, RAM: o.flavor.ram, Disk: o.flavor.disk, Ephemeral: o.flavor.ephemeral, GPU: o.flavor.gpu, GPUCount: o.flavor.gpuCount},
		Keypair:           nameOnly{vm.KeyName},
		Image:             nameOnly{vm.Image},
		Labels:            standin.NonNil(vm.Labels),
		CreatedAt:         vm.CreatedAt,
		Features:          map[string]any{},
		Environment:       instanceEnvironment{Name: vm.Environment, Region: vm.Region, OrgID: 1, Features: environmentFeatures{GreenStatus: "GREEN"}},
		SecurityRules:     standin.NonNil(vm.SecurityRules),
		VolumeAttachments: s.attachments(vm),
		RequiresPublicIP:  vm.FloatingIP,
	}
	if e := s.findEnvironment(vm.Environment); e != nil {
		f.Environment.ID = e.ID
	}
	switch s.phase(vm, now) {
	case phaseCreating:
		f.Status, f.VMState, f.PowerState = "CREATING", "building", "NOSTATE"
	case phaseBuild:
		f.Status, f.VMState, f.PowerState = "BUILD", "building", "NOSTATE"
	case phaseAttaching:
		f.Status, f.VMState, f.PowerState, f.FloatingIPStatus = "ACTIVE", "active", "RUNNING", "ATTACHING"
	case phaseRunning:
		f.Status, f.VMState, f.PowerState = "ACTIVE", "active", "RUNNING"
		if vm.IP != "" {
			f.FloatingIP, f.FloatingIPStatus = vm.IP, "ATTACHED"
		}
	case phaseDeleting, phaseGone:
		f.Status, f.VMState, f.PowerState = "DELETING", "active", "RUNNING"
	default:
		s.powerView(vm, &f, s.phase(vm, now))
	}
	return f
}

// vm finds a VM that still exists; the caller holds s.Mu.
func (s *StandIn) vm(r *http.Request, now time.Time) (*vmRecord, bool) {
	id, err := strconv.ParseInt(r.PathValue("vm_id"), 10, 64)
	if err != nil {
		return nil, false
	}
	for _, vm := range s.State.VMs {
		if vm.ID == id && s.phase(vm, now) != phaseGone {
			return vm, true
		}
	}
	return nil, false
}

func (s *StandIn) getVM(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	vm, ok := s.vm(r, now)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "Virtual machine %s not found", r.PathValue("vm_id"))
		return
	}
	standin.WriteJSON(w, http.StatusOK, instanceResponse{okEnvelope{true, "Getting virtual machine details success"}, s.view(vm, now)})
}

func (s *StandIn) listVMs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	search, env := q.Get("search"), q.Get("environment")
	exact := q.Get("exact_environment_match") == "true"
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	var match []*vmRecord
	for _, vm := range s.State.VMs {
		if s.phase(vm, now) == phaseGone {
			continue
		}
		if search != "" && !strings.Contains(vm.Name, search) && strconv.FormatInt(vm.ID, 10) != search {
			continue
		}
		if env != "" && ((exact && vm.Environment != env) || (!exact && !strings.Contains(vm.Environment, env))) {
			continue
		}
		match = append(match, vm)
	}
	start, end, number, size := page(r, len(match))
	views := []instanceFields{}
	for _, vm := range match[start:end] {
		views = append(views, s.view(vm, now))
	}
	standin.WriteJSON(w, http.StatusOK, instanceList{okEnvelope{true, "Getting virtual machines success"},
		pageFields{len(match), number, size}, views})
}

// securityProtocols are the protocols Create_Security_Rule_Payload allows.
var securityProtocols = []string{"any", "ah", "dccp", "egp", "esp", "gre", "hopopt", "icmp", "igmp", "ip", "ipip",
	"ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route", "ospf", "pgm",
	"rsvp", "sctp", "tcp", "udp", "udplite", "vrrp"}

func (s *StandIn) createVMs(w http.ResponseWriter, r *http.Request) {
	var req createPayload
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "Invalid JSON body: %v", err)
		return
	}
	if req.Name == "" || req.EnvironmentName == "" || req.FlavorName == "" || req.KeyName == "" || req.Count < 1 {
		writeError(w, http.StatusBadRequest, "bad_request", "name, environment_name, flavor_name, key_name and count (at least 1) are required")
		return
	}
	if len(req.Name) > 50 {
		writeError(w, http.StatusBadRequest, "bad_request", "name must be at most 50 characters")
		return
	}
	for _, rule := range req.SecurityRules {
		if !slices.Contains(securityProtocols, rule.Protocol) || (rule.Direction != "ingress" && rule.Direction != "egress") {
			writeError(w, http.StatusBadRequest, "bad_request", "Invalid security rule: direction %q protocol %q", rule.Direction, rule.Protocol)
			return
		}
	}
	if req.ImageName != "" && !slices.Contains(knownImages, req.ImageName) {
		writeError(w, http.StatusNotFound, "not_found", "Image %s not found", req.ImageName)
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	env := s.findEnvironment(req.EnvironmentName)
	if env == nil {
		writeError(w, http.StatusNotFound, "not_found", "Environment %s not found", req.EnvironmentName)
		return
	}
	if s.findKeypair(env.Name, req.KeyName) == nil {
		writeError(w, http.StatusNotFound, "not_found", "Keypair %s not found in environment %s", req.KeyName, env.Name)
		return
	}
	o, ok := s.findOffer(env.Region, req.FlavorName)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "Flavor %s not found in region %s", req.FlavorName, env.Region)
		return
	}
	if s.vmQuota > 0 && s.live(now)+req.Count > s.vmQuota {
		writeError(w, http.StatusBadRequest, "bad_request", "VM quota exceeded: your organization may run at most %d virtual machines", s.vmQuota)
		return
	}
	if s.available(o, now) < req.Count {
		// Hyperstack's description documents no wording for this: its
		// create answers 400 with ErrorResponseModel ({status, message,
		// error_reason}) for a refused request, and "stock" is its word
		// for capacity (stock_available on flavors, Get_GPU_stock).
		writeError(w, http.StatusBadRequest, "bad_request", "Not enough stock available for flavor %s in region %s", req.FlavorName, env.Region)
		return
	}
	var volume *volumeRecord
	if req.VolumeName != "" {
		if req.Count > 1 {
			writeError(w, http.StatusBadRequest, "bad_request", "volume_name attaches a volume to one virtual machine, not %d", req.Count)
			return
		}
		v, status, msg := s.attachable(env.Name, req.VolumeName)
		if v == nil {
			writeError(w, status, reasonFor(status), "%s", msg)
			return
		}
		volume = v
	}
	image := req.ImageName
	if image == "" {
		image = DefaultImage
	}
	resp := createResponse{okEnvelope: okEnvelope{true, fmt.Sprintf("Creating %d virtual machine(s)", req.Count)}}
	for i := range req.Count {
		name := req.Name
		if req.Count > 1 {
			name = fmt.Sprintf("%s-%d", req.Name, i+1)
		}
		vm := &vmRecord{
			ID: int64(s.nextID()), Name: name, Environment: env.Name, Region: env.Region, OfferID: o.id,
			Image: image, KeyName: req.KeyName, UserData: req.UserData, Labels: req.Labels,
			SecurityRules: stamped(req.SecurityRules, now), FloatingIP: req.AssignFloatingIP, CreatedAt: now.UTC(),
		}
		if volume != nil {
			attach(vm, volume)
		}
		s.State.VMs = append(s.State.VMs, vm)
		resp.Instances = append(resp.Instances, s.view(vm, now))
	}
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, resp)
}

// stamped gives security rules the id and status a created rule has.
func stamped(rules []securityRulePayload, now time.Time) []securityRule {
	out := make([]securityRule, len(rules))
	for i, r := range rules {
		out[i] = securityRule{ID: i + 1, securityRulePayload: r, Status: "active", CreatedAt: now.UTC()}
	}
	return out
}

// live counts VMs not yet deleted; the caller holds s.Mu.
func (s *StandIn) live(now time.Time) int {
	n := 0
	for _, vm := range s.State.VMs {
		if s.phase(vm, now) != phaseGone {
			n++
		}
	}
	return n
}

func (s *StandIn) deleteVM(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	vm, ok := s.vm(r, now)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "Virtual machine %s not found", r.PathValue("vm_id"))
		return
	}
	switch s.phase(vm, now) {
	case phaseCreating, phaseBuild:
		// Hyperstack refuses this with a 400 until creation has finished.
		writeError(w, http.StatusBadRequest, "bad_request",
			"VM %s is currently being created and cannot be deleted yet. Please wait until the creation process is finished before attempting deletion.", vm.Name)
		return
	case phaseDeleting:
		standin.WriteJSON(w, http.StatusOK, okEnvelope{true, "Virtual machine is already being deleted"})
		return
	}
	vm.DeletedAt = now.UTC()
	s.releaseVolumes(vm)
	s.RemoveHost(strconv.FormatInt(vm.ID, 10))
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, okEnvelope{true, "Virtual machine deleted successfully"})
}
