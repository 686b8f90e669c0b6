package lambda

import (
	"cmp"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// apiPrefix is where Lambda serves its API; an adapter talks to a
// stand-in at BaseURL = server URL + apiPrefix.
const apiPrefix = "/api/v1"

// maxUserData is Lambda's limit on launch user data (1 MB).
const maxUserData = 1 << 20

// tagKeyPattern is the spec's pattern for a tag key (RequestedTagEntry).
var tagKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9-:]+$`)

// StandIn is an in-memory Lambda Cloud API: the same paths, envelopes,
// error codes and instance states as the real one, with stock that runs
// out, instances that boot in Options.BootTime and become reachable on a
// loopback host, and state kept in Options.StatePath across restarts.
type StandIn struct {
	standin.HTTPBase[state]
	regions map[string]region
	order   []region // GET /regions order
	types   map[string]seedType

	// launchGap, when set, answers 429 to launches closer together than
	// it (Lambda's launch rate limit; off by default).
	launchGap  time.Duration
	lastLaunch time.Time
	// quota, when set, caps the account's live instances.
	quota int
}

// state is what the stand-in persists.
type state struct {
	Instances map[string]*record  `json:"instances"`
	Keys      []sshKey            `json:"ssh_keys"`
	Rulesets  map[string]*ruleset `json:"firewall_rulesets,omitempty"`
	// FileSystems are the account's filesystems by id.
	FileSystems map[string]*fsRecord `json:"file_systems,omitempty"`
}

// record is one instance as the stand-in keeps it. Its status is derived
// from the timestamps, so nothing runs per instance.
type record struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Type         string    `json:"type"`
	Region       string    `json:"region"`
	SSHKeyNames  []string  `json:"ssh_key_names"`
	PublicKeys   []string  `json:"public_keys"`
	UserData     string    `json:"user_data"`
	Tags         []tag     `json:"tags"`
	CreatedAt    time.Time `json:"created_at"`
	TerminatedAt time.Time `json:"terminated_at,omitzero"`
	IP           string    `json:"ip,omitempty"`
	Port         int       `json:"port,omitempty"`
	PrivateIP    string    `json:"private_ip"`
	// FileSystems are the names of the filesystems mounted at launch,
	// Mounts where the machine shows them.
	FileSystems []string        `json:"file_systems,omitempty"`
	Mounts      []standin.Mount `json:"mounts,omitempty"`
	// Firewalls are the instance's rulesets, Ports what they open.
	Firewalls []string           `json:"firewall_rulesets,omitempty"`
	Ports     []standin.OpenPort `json:"ports,omitempty"`
}

// Launch is what the stand-in received at launch for one instance, for
// tests to check what an adapter sent.
type Launch struct {
	Name         string
	InstanceType string
	Region       string
	SSHKeyNames  []string
	// PublicKeys are the registered keys the names referred to.
	PublicKeys []string
	UserData   string
	Tags       map[string]string
}

// NewStandIn returns a stand-in seeded with Lambda's catalog and the
// instances saved at o.StatePath, whose hosts are reopened.
func NewStandIn(o standin.Options) (*StandIn, error) {
	s := &StandIn{regions: map[string]region{}, types: map[string]seedType{}}
	regions, types := scaledCatalog(o.Scale)
	s.order = regions
	for _, r := range regions {
		s.regions[r.Name] = r
	}
	for _, t := range types {
		s.types[t.t.Name] = t
	}
	if err := s.Open(Name, o, s.machines); err != nil {
		return nil, err
	}
	s.Refresh = s.refresh
	if s.State.Instances == nil {
		s.State.Instances = map[string]*record{}
	}
	s.Mu.Lock()
	err := s.refresh()
	s.Mu.Unlock()
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/instance-types", s.listInstanceTypes)
	mux.HandleFunc("GET "+apiPrefix+"/regions", s.listRegions)
	mux.HandleFunc("GET "+apiPrefix+"/ssh-keys", s.listSSHKeys)
	mux.HandleFunc("POST "+apiPrefix+"/ssh-keys", s.addSSHKey)
	mux.HandleFunc("POST "+apiPrefix+"/instance-operations/launch", s.launchInstance)
	mux.HandleFunc("POST "+apiPrefix+"/instance-operations/terminate", s.terminateInstances)
	mux.HandleFunc("GET "+apiPrefix+"/instances", s.listInstances)
	mux.HandleFunc("GET "+apiPrefix+"/instances/{id}", s.getInstance)
	mux.HandleFunc("GET "+apiPrefix+"/file-systems", s.listFilesystems)
	mux.HandleFunc("POST "+apiPrefix+"/filesystems", s.createFilesystem)
	mux.HandleFunc("DELETE "+apiPrefix+"/filesystems/{id}", s.deleteFilesystem)
	s.routePorts(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, "The requested resource was not found.", "")
	})
	s.Serve(s.authorize(mux), faultBody)
	o.Capacity.Register(Name, &s.Mu, s.capacities)
	return s, nil
}

// SetLaunchInterval makes launches closer together than d answer 429, as
// Lambda's launch limit does; 0 turns the check off (the default).
func (s *StandIn) SetLaunchInterval(d time.Duration) {
	s.Mu.Lock()
	s.launchGap = d
	s.Mu.Unlock()
}

// SetQuota caps the account's live instances (0: no cap); a launch past
// it answers global/quota-exceeded.
func (s *StandIn) SetQuota(n int) {
	s.Mu.Lock()
	s.quota = n
	s.Mu.Unlock()
}

// Launch returns what the stand-in received when instance id was launched.
func (s *StandIn) Launch(id string) (Launch, bool) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	rec, ok := s.State.Instances[id]
	if !ok {
		return Launch{}, false
	}
	tags := map[string]string{}
	for _, t := range rec.Tags {
		tags[t.Key] = t.Value
	}
	return Launch{Name: rec.Name, InstanceType: rec.Type, Region: rec.Region, SSHKeyNames: slices.Clone(rec.SSHKeyNames),
		PublicKeys: slices.Clone(rec.PublicKeys), UserData: rec.UserData, Tags: tags}, true
}

// machines lists the instances for the base: their hosts to close and
// their console entries. None is for the base to reopen: refresh opens a
// host as its instance becomes active, after a restart too.
func (s *StandIn) machines() []standin.Host {
	now := s.Now()
	out := make([]standin.Host, 0, len(s.State.Instances))
	for _, rec := range s.State.Instances {
		status := s.status(rec, now)
		e := standin.ConsoleEntry{
			Vendor: Name, ID: rec.ID, Name: rec.Name, State: status, Live: status != statusTerminated,
			InstanceType: rec.Type, Region: rec.Region, CreatedAt: rec.CreatedAt,
		}
		if s.Hosted(rec.ID) {
			e.IP, e.SSHPort = rec.IP, rec.Port
		}
		for _, t := range rec.Tags {
			e.Tags = append(e.Tags, t.Key+"="+t.Value)
		}
		out = append(out, standin.Host{ID: rec.ID, IP: &rec.IP, Port: &rec.Port, Machine: machine(rec), Console: e})
	}
	return out
}

// machine is what the instance received at launch. Lambda gives the
// named SSH keys to the image's default user (ubuntu); root's key comes
// from the cloud-init user data supply sends, as on a real instance.
func machine(rec *record) standin.Machine {
	return standin.Machine{Vendor: Name, ID: rec.ID, Name: rec.Name, UserDataField: "user_data", UserData: rec.UserData, Mounts: rec.Mounts,
		Ports: rec.Ports}
}

// Timing of termination: an instance is "terminating" for half a boot
// time, then "terminated" for a boot time, then gone (404).
func (s *StandIn) terminating() time.Duration { return s.Opts.BootTime / 2 }
func (s *StandIn) retention() time.Duration   { return s.Opts.BootTime }

func (s *StandIn) status(rec *record, now time.Time) string {
	switch {
	case !rec.TerminatedAt.IsZero() && now.Before(rec.TerminatedAt.Add(s.terminating())):
		return statusTerminating
	case !rec.TerminatedAt.IsZero():
		return statusTerminated
	case now.Before(rec.CreatedAt.Add(s.Opts.BootTime)):
		return statusBooting
	}
	return statusActive
}

func (s *StandIn) gone(rec *record, now time.Time) bool {
	return !rec.TerminatedAt.IsZero() && !now.Before(rec.TerminatedAt.Add(s.terminating()+s.retention()))
}

// refresh brings hosts in line with the instances' derived states
// (standin.SyncHosts). s.Mu must be held.
func (s *StandIn) refresh() error {
	now := s.Now()
	return standin.SyncHosts(&s.Base, s.State.Instances, standin.Machines[record]{
		Phase: func(rec *record) standin.HostPhase {
			switch {
			case s.gone(rec, now):
				return standin.HostGone
			case s.status(rec, now) == statusActive:
				return standin.HostRunning
			}
			return standin.HostDown
		},
		Addr:    func(rec *record) (*string, *int) { return &rec.IP, &rec.Port },
		Machine: machine,
	})
}

// authorize enforces Lambda's credentials: Bearer, or Basic with the key
// as user name (with or without the trailing colon).
func (s *StandIn) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Opts.APIKey == "" || s.keyOf(r.Header.Get("Authorization")) == s.Opts.APIKey {
			next.ServeHTTP(w, r)
			return
		}
		writeError(w, http.StatusUnauthorized, codeInvalidAPIKey, "API key was invalid, expired, or deleted.",
			"Check your API key or create a new one, then try again.")
	})
}

func (s *StandIn) keyOf(header string) string {
	scheme, cred, _ := strings.Cut(header, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		return cred
	case "basic":
		if b, err := base64.StdEncoding.DecodeString(cred); err == nil {
			cred = string(b)
		}
		return strings.TrimSuffix(cred, ":")
	}
	return ""
}

// locked runs f under the stand-in's lock after a refresh, and answers
// an internal error if the refresh (a host or a save) failed.
func (s *StandIn) locked(w http.ResponseWriter, f func(now time.Time)) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if err := s.refresh(); err != nil {
		writeInternal(w, err)
		return
	}
	f(s.Now())
}

// price is the type's price now: the list price drifting a little.
func (s *StandIn) price(t instanceType, now time.Time) instanceType {
	t.PriceCentsPerHour = int(math.Round(standin.Drift(float64(t.PriceCentsPerHour), 0.03, t.Name, now)))
	return t
}

// live counts the live instances per type/region, which hold stock.
func (s *StandIn) live() map[string]int {
	n := map[string]int{}
	for _, rec := range s.State.Instances {
		if rec.TerminatedAt.IsZero() {
			n[rec.Type+"/"+rec.Region]++
		}
	}
	return n
}

// capacity is what the stock model says of a type in a region now: its
// stock less the live instances (live counts them per type/region), or
// sold out while it flickers.
func (s *StandIn) capacity(t seedType, region string, live map[string]int, now time.Time) standin.Level {
	key := t.t.Name + "/" + region
	item := standin.Item{Vendor: Name, InstanceType: t.t.Name, Region: region,
		Contract: standin.OnDemand, GPUCount: t.t.Specs.GPUs, NodeCount: 1}
	return s.Opts.Level(item, t.stock[region]-live[key], 0.05, key, now)
}

// capacities lists every type in every region that sells it, for the
// sandbox's capacity ledger; the caller holds s.Mu.
func (s *StandIn) capacities() []standin.Level {
	live, now := s.live(), s.Now()
	var out []standin.Level
	for _, name := range slices.Sorted(maps.Keys(s.types)) {
		t := s.types[name]
		for _, r := range s.order {
			if _, sold := t.stock[r.Name]; sold {
				out = append(out, s.capacity(t, r.Name, live, now))
			}
		}
	}
	return out
}

// hasCapacity says whether a type can be launched in a region now, as the
// sandbox's capacity ledger has it.
func (s *StandIn) hasCapacity(t seedType, region string, live map[string]int, now time.Time) bool {
	return s.Opts.Capacity.Free(s.capacity(t, region, live, now)) > 0
}

func (s *StandIn) listInstanceTypes(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(now time.Time) {
		live := s.live()
		// envelope's data, a map by name, written a type at a time in the
		// order encoding/json writes a map's members: by name.
		st := standin.NewStream(w, http.StatusOK, `{"data":{`)
		for _, name := range slices.Sorted(maps.Keys(s.types)) {
			t := s.types[name]
			item := instanceTypesItem{InstanceType: s.price(t.t, now), RegionsWithCapacityAvailable: []region{}}
			for _, r := range s.order {
				if s.hasCapacity(t, r.Name, live, now) {
					item.RegionsWithCapacityAvailable = append(item.RegionsWithCapacityAvailable, r)
				}
			}
			st.Member(name, item)
		}
		st.End("}}")
	})
}

func (s *StandIn) listRegions(w http.ResponseWriter, r *http.Request) {
	writeData(w, s.order)
}

func (s *StandIn) listSSHKeys(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		writeData(w, append([]sshKey{}, s.State.Keys...))
	})
}

// generatedSSHKey is POST /ssh-keys's answer when Lambda made the pair.
type generatedSSHKey struct {
	sshKey
	PrivateKey string `json:"private_key"`
}

func (s *StandIn) addSSHKey(w http.ResponseWriter, r *http.Request) {
	var req addSSHKeyRequest
	if !decode(w, r, &req) {
		return
	}
	if n := len(req.Name); n < 1 || n > 64 || len(req.PublicKey) > 4096 {
		writeError(w, http.StatusBadRequest, codeInvalidParameters, "name must be 1 to 64 characters and public_key at most 4096.", "")
		return
	}
	var private string
	if req.PublicKey == "" {
		var err error
		if req.PublicKey, private, err = generateKeyPair(); err != nil {
			writeInternal(w, err)
			return
		}
	} else if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(req.PublicKey)); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidParameters, "Invalid public key.", "Provide an OpenSSH public key.")
		return
	}
	s.locked(w, func(time.Time) {
		for _, k := range s.State.Keys {
			if k.Name == req.Name {
				writeError(w, http.StatusBadRequest, codeInvalidParameters, "An SSH key with this name already exists.", "Choose another name.")
				return
			}
		}
		key := sshKey{ID: newID(), Name: req.Name, PublicKey: strings.TrimSpace(req.PublicKey)}
		s.State.Keys = append(s.State.Keys, key)
		if !s.Saved(w) {
			return
		}
		if private != "" {
			writeData(w, generatedSSHKey{key, private})
			return
		}
		writeData(w, key)
	})
}

func generateKeyPair() (public, private string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("generate ssh key: %w", err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", "", fmt.Errorf("generate ssh key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return "", "", fmt.Errorf("generate ssh key: %w", err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))), string(pem.EncodeToMemory(block)), nil
}

// validateLaunch checks a launch body the way Lambda's schema does and
// returns the complaint, or "".
func validateLaunch(req launchRequest) string {
	switch {
	case req.RegionName == "" || req.InstanceTypeName == "":
		return "region_name and instance_type_name are required."
	case len(req.SSHKeyNames) != 1:
		return "Exactly one SSH key must be specified."
	case len(req.Name) > 64:
		return "name must be 64 characters or fewer."
	case len(req.UserData) > maxUserData:
		return "user_data cannot exceed 1MB."
	}
	for _, t := range req.Tags {
		if len(t.Key) > 55 || !tagKeyPattern.MatchString(t.Key) || len(t.Value) > 128 {
			return fmt.Sprintf("Invalid tag %q.", t.Key)
		}
	}
	return ""
}

func (s *StandIn) launchInstance(w http.ResponseWriter, r *http.Request) {
	var req launchRequest
	if !decode(w, r, &req) {
		return
	}
	if msg := validateLaunch(req); msg != "" {
		writeError(w, http.StatusBadRequest, codeInvalidParameters, msg, "")
		return
	}
	s.locked(w, func(now time.Time) {
		if wait := s.lastLaunch.Add(s.launchGap).Sub(now); s.launchGap > 0 && wait > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
			writeError(w, http.StatusTooManyRequests, codeRateLimited, "Too many launch requests.", "Wait before launching again.")
			return
		}
		t, okType := s.types[req.InstanceTypeName]
		_, okRegion := s.regions[req.RegionName]
		key := slices.IndexFunc(s.State.Keys, func(k sshKey) bool { return k.Name == req.SSHKeyNames[0] })
		switch {
		case !okType:
			writeError(w, http.StatusNotFound, codeObjectDoesNotExist, "Instance type "+req.InstanceTypeName+" does not exist.", "List instance types with GET /instance-types.")
			return
		case !okRegion:
			writeError(w, http.StatusNotFound, codeObjectDoesNotExist, "Region "+req.RegionName+" does not exist.", "List regions with GET /regions.")
			return
		case key < 0:
			writeError(w, http.StatusNotFound, codeObjectDoesNotExist, "SSH key "+req.SSHKeyNames[0]+" does not exist.", "Add the key with POST /ssh-keys first.")
			return
		}
		firewalls, msg := s.launchRulesets(req)
		if msg != "" {
			writeError(w, http.StatusBadRequest, codeInvalidParameters, msg, "")
			return
		}
		live := s.live()
		if s.quota > 0 && s.liveTotal() >= s.quota {
			writeError(w, http.StatusBadRequest, codeQuotaExceeded, "Quota exceeded.", "Contact Support to increase your quota.")
			return
		}
		if !s.hasCapacity(t, req.RegionName, live, now) {
			// Lambda's description: launchInstance answers 400 with
			// ApiErrorInsufficientCapacity, whose code is this and whose
			// message is "Not enough capacity to fulfill launch request.".
			writeError(w, http.StatusBadRequest, codeInsufficientCapacity, "Not enough capacity to fulfill launch request.", "Try another region or instance type.")
			return
		}
		mounts, ok := s.mounts(w, req)
		if !ok {
			return
		}
		n := len(s.State.Instances) + 1
		rec := &record{
			ID: newID(), Name: req.Name, Type: t.t.Name, Region: req.RegionName,
			SSHKeyNames: req.SSHKeyNames, PublicKeys: []string{s.State.Keys[key].PublicKey},
			UserData: req.UserData, Tags: req.Tags, CreatedAt: now,
			PrivateIP:   fmt.Sprintf("10.19.%d.%d", n/250%250, n%250+2),
			FileSystems: req.FileSystemNames, Mounts: mounts,
		}
		rec.Firewalls = firewalls
		rec.Ports = s.openedPorts(rec)
		s.State.Instances[rec.ID] = rec
		s.lastLaunch = now
		if !s.Saved(w) {
			return
		}
		writeData(w, launchResponse{InstanceIDs: []string{rec.ID}})
	})
}

func (s *StandIn) liveTotal() int {
	n := 0
	for _, rec := range s.State.Instances {
		if rec.TerminatedAt.IsZero() {
			n++
		}
	}
	return n
}

func (s *StandIn) terminateInstances(w http.ResponseWriter, r *http.Request) {
	var req terminateRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.InstanceIDs) == 0 {
		writeError(w, http.StatusBadRequest, codeInvalidParameters, "instance_ids is required.", "")
		return
	}
	s.locked(w, func(now time.Time) {
		for _, id := range req.InstanceIDs {
			if s.State.Instances[id] == nil {
				writeError(w, http.StatusNotFound, codeObjectDoesNotExist, "Specified instance does not exist.", "")
				return
			}
		}
		out := terminateResponse{TerminatedInstances: []instance{}}
		for _, id := range req.InstanceIDs {
			rec := s.State.Instances[id]
			if rec.TerminatedAt.IsZero() {
				rec.TerminatedAt = now
			}
		}
		if !s.Saved(w) {
			return
		}
		for _, id := range req.InstanceIDs {
			if rec := s.State.Instances[id]; rec != nil {
				out.TerminatedInstances = append(out.TerminatedInstances, s.render(rec, now))
			}
		}
		writeData(w, out)
	})
}

func (s *StandIn) listInstances(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(now time.Time) {
		out := []instance{}
		for _, rec := range s.State.Instances {
			out = append(out, s.render(rec, now))
		}
		slices.SortFunc(out, func(a, b instance) int { return strings.Compare(a.ID, b.ID) })
		writeData(w, out)
	})
}

func (s *StandIn) getInstance(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(now time.Time) {
		rec := s.State.Instances[r.PathValue("id")]
		if rec == nil {
			writeError(w, http.StatusNotFound, codeObjectDoesNotExist, "Specified instance does not exist.", "")
			return
		}
		writeData(w, s.render(rec, now))
	})
}

// render is an instance as Lambda's API shows it.
func (s *StandIn) render(rec *record, now time.Time) instance {
	status := s.status(rec, now)
	out := instance{
		ID: rec.ID, Name: rec.Name, Status: status,
		SSHKeyNames: rec.SSHKeyNames, FileSystemNames: append([]string{}, rec.FileSystems...),
		Region:       s.regions[rec.Region],
		InstanceType: s.price(s.types[rec.Type].t, now),
		Tags:         rec.Tags,
	}
	if status != statusBooting {
		out.PrivateIP = rec.PrivateIP
	}
	if s.Hosted(rec.ID) || status == statusTerminating {
		out.IP, out.Hostname = rec.IP, rec.IP
	}
	ready := actionAvailability{Available: true}
	blocked := actionAvailability{ReasonCode: "vm-has-not-launched", ReasonDescription: "The instance has not launched yet."}
	switch status {
	case statusActive:
		blocked = ready
	case statusTerminating, statusTerminated:
		blocked = actionAvailability{ReasonCode: "vm-is-terminating", ReasonDescription: "The instance is terminating."}
	}
	out.Actions = instanceActions{Migrate: blocked, Rebuild: blocked, Restart: blocked, ColdReboot: blocked, Terminate: ready}
	if status == statusTerminating || status == statusTerminated {
		out.Actions.Terminate = blocked
	}
	return out
}

// codeRateLimited is the stand-in's code for a 429: Lambda publishes its
// limits but documents no 429 body, so this code is the stand-in's own.
const codeRateLimited = "global/rate-limit-exceeded"

// faultBody is the error body of an injected fault, in Lambda's envelope:
// 5xx as the spec's own provider-unavailable example.
func faultBody(status int, message string) (string, []byte) {
	e := errorBody{Code: codeInvalidParameters, Message: "Invalid request data."}
	switch {
	case status == http.StatusTooManyRequests:
		e = errorBody{Code: codeRateLimited, Message: "Too many requests.", Suggestion: "Slow down and try again."}
	case status >= 500:
		e = errorBody{Code: "provider/internal-unavailable", Message: "Provider unavailable", Suggestion: "Try again shortly"}
	case status == http.StatusUnauthorized:
		e = errorBody{Code: codeInvalidAPIKey, Message: "API key was invalid, expired, or deleted.", Suggestion: "Check your API key or create a new one, then try again."}
	}
	e.Message = cmp.Or(message, e.Message)
	b, _ := json.Marshal(apiError{Error: e})
	return "application/json", b
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 2*maxUserData)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidParameters, "Invalid request data: "+err.Error(), "")
		return false
	}
	return true
}

func writeData(w http.ResponseWriter, v any) {
	standin.WriteJSON(w, http.StatusOK, envelope[any]{Data: v})
}

func writeError(w http.ResponseWriter, status int, code, message, suggestion string) {
	standin.WriteJSON(w, status, apiError{Error: errorBody{Code: code, Message: message, Suggestion: suggestion}})
}

func writeInternal(w http.ResponseWriter, err error) {
	writeError(w, http.StatusInternalServerError, codeInternal, "An internal server error occurred: "+err.Error(),
		"Try again later. Contact Support if the problem persists.")
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
