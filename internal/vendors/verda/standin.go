package verda

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// basePath is where Verda's API lives on its host.
const basePath = "/v1"

// defaultTokenTTL is the lifetime of an access token, as Verda issues them.
const defaultTokenTTL = time.Hour

// unlimitedBalance is the stand-in account's balance until SetBalance.
const unlimitedBalance = 1e9

// StandIn is an in-memory Verda: OAuth2 tokens, instance types with spot
// prices, availability per location that runs out, SSH keys, start-up
// scripts, and instances that are ordered, provision, run with an IP whose
// SSH port answers, and are deleted. It serves the API under /v1, so an
// adapter's BaseURL is server.URL + "/v1". Options.APIKey is the client
// secret it accepts (any client id; "" accepts any secret).
type StandIn struct {
	standin.HTTPBase[savedState]
	offers    []offer
	locations []location

	// access and refresh are the tokens issued (access → expiry); they
	// live in memory only, so a restart makes clients authenticate again.
	access   map[string]time.Time
	refresh  map[string]bool
	tokenTTL time.Duration
	balance  float64
}

// savedState is what survives a restart.
type savedState struct {
	Keys      []*sshKey         `json:"keys"`
	Scripts   []*startupScript  `json:"scripts"`
	Instances []*instanceRecord `json:"instances"`
	Volumes   []*volumeRecord   `json:"volumes,omitempty"`
}

// instanceRecord is one instance as the stand-in keeps it.
type instanceRecord struct {
	ID           string    `json:"id"`
	Hostname     string    `json:"hostname"`
	Description  string    `json:"description"`
	Location     string    `json:"location"`
	InstanceType string    `json:"instance_type"`
	Image        string    `json:"image"`
	IsSpot       bool      `json:"is_spot"`
	SSHKeyIDs    []string  `json:"ssh_key_ids"`
	ScriptID     string    `json:"startup_script_id,omitempty"`
	OSVolumeID   string    `json:"os_volume_id"`
	OSVolumeGB   int       `json:"os_volume_gb"`
	OSVolumeName string    `json:"os_volume_name,omitempty"`
	Price        float64   `json:"price_per_hour"`
	CreatedAt    time.Time `json:"created_at"`
	// DeletedAt is when deletion was asked (zero: not asked).
	DeletedAt time.Time `json:"deleted_at,omitzero"`
	// IP and SSHPort are the sandbox host, once the instance has run.
	IP      string `json:"ip,omitempty"`
	SSHPort int    `json:"ssh_port,omitempty"`
	// PublicKeys and Script are what the keys and the start-up script
	// held at deploy: the instance keeps them whatever becomes of the
	// account's copies.
	PublicKeys []string `json:"public_keys,omitempty"`
	Script     string   `json:"startup_script,omitempty"`
	// StoppedAt and StartedAt are when the instance was last shut down
	// and started (zero: never).
	StoppedAt time.Time `json:"stopped_at,omitzero"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// Mounts are its data volumes, where its start-up script mounts them.
	Mounts []standin.Mount `json:"mounts,omitempty"`
}

// phase is an instance's place in Verda's state machine at some moment.
type phase int

const (
	phaseOrdered      phase = iota // ordered: not yet deletable
	phaseProvisioning              // provisioning: not yet deletable
	phaseRunning                   // running, with an IP
	phaseDeleting                  // deleting
	phaseGone                      // deleted: 404
)

// NewStandIn starts a stand-in, reloading its instances from o.StatePath
// and reopening the hosts of those that were running.
func NewStandIn(o standin.Options) (*StandIn, error) {
	s := &StandIn{access: map[string]time.Time{}, refresh: map[string]bool{}, tokenTTL: defaultTokenTTL, balance: unlimitedBalance}
	s.offers, s.locations = seedOffers(o.Scale)
	if err := s.Open(Name, o, s.machines); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/oauth2/token", s.issueToken)
	mux.HandleFunc("GET /v1/instance-types", s.listInstanceTypes)
	mux.HandleFunc("GET /v1/locations", s.listLocations)
	mux.HandleFunc("GET /v1/instance-availability", s.listAvailability)
	mux.HandleFunc("GET /v1/instance-availability/{type}", s.checkAvailability)
	mux.HandleFunc("GET /v1/volume-types", s.listVolumeTypes)
	mux.HandleFunc("GET /v1/balance", s.getBalance)
	mux.HandleFunc("GET /v1/ssh-keys", s.listKeys)
	mux.HandleFunc("POST /v1/ssh-keys", s.addKey)
	mux.HandleFunc("DELETE /v1/ssh-keys/{id}", s.deleteKey)
	mux.HandleFunc("GET /v1/scripts", s.listScripts)
	mux.HandleFunc("POST /v1/scripts", s.addScript)
	mux.HandleFunc("DELETE /v1/scripts/{id}", s.deleteScript)
	mux.HandleFunc("GET /v1/instances", s.listInstances)
	mux.HandleFunc("POST /v1/instances", s.deploy)
	mux.HandleFunc("PUT /v1/instances", s.action)
	mux.HandleFunc("GET /v1/instances/{id}", s.getInstance)
	mux.HandleFunc("GET /v1/volumes", s.listVolumes)
	mux.HandleFunc("POST /v1/volumes", s.createVolume)
	mux.HandleFunc("PUT /v1/volumes", s.volumeActionRequest)
	mux.HandleFunc("GET /v1/volumes/{id}", s.getVolume)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "Not found")
	})
	s.Serve(s.limit(s.authorize(mux)), faultBody)
	o.Capacity.Register(Name, &s.Mu, s.capacities)
	return s, nil
}

// SetBalance sets the account balance in USD; a deploy needs at least an
// hour of the instance's price, or it is refused with 402.
func (s *StandIn) SetBalance(usd float64) {
	s.Mu.Lock()
	s.balance = usd
	s.Mu.Unlock()
}

// SetTokenTTL sets the lifetime of access tokens issued from now on.
func (s *StandIn) SetTokenTTL(d time.Duration) {
	s.Mu.Lock()
	s.tokenTTL = d
	s.Mu.Unlock()
}

// RevokeTokens invalidates every access token issued so far, as a
// rotation of the client secret would.
func (s *StandIn) RevokeTokens() {
	s.Mu.Lock()
	clear(s.access)
	s.Mu.Unlock()
}

// Scripts returns the start-up scripts the account holds, by id.
func (s *StandIn) Scripts() map[string]string {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	out := map[string]string{}
	for _, sc := range s.State.Scripts {
		out[sc.ID] = sc.Script
	}
	return out
}

// machines lists the instances for the base: their hosts to reopen and
// close, and their console entries.
func (s *StandIn) machines() []standin.Host {
	now := s.Now()
	out := make([]standin.Host, 0, len(s.State.Instances))
	for _, in := range s.State.Instances {
		out = append(out, standin.Host{ID: in.ID, IP: &in.IP, Port: &in.SSHPort, Live: in.DeletedAt.IsZero() && !s.offline(in, now), Machine: machine(in),
			Console: standin.ConsoleEntry{Vendor: Name, ID: in.ID, Name: in.Hostname, State: s.view(in, now).Status, Live: s.phase(in, now) != phaseGone,
				InstanceType: in.InstanceType, Region: in.Location, IP: in.IP, SSHPort: in.SSHPort, Tags: []string{in.Description}, CreatedAt: in.CreatedAt}})
	}
	return out
}

// machine is what the instance received at deploy: the account's SSH
// keys it named, which Verda's images install for root, its start-up
// script, and its data volumes, mounted.
func machine(in *instanceRecord) standin.Machine {
	return standin.Machine{Vendor: Name, ID: in.ID, Name: in.Hostname, Keys: in.PublicKeys,
		UserDataField: "startup script", UserData: in.Script, Mounts: in.Mounts}
}

// limit answers Verda's 429, with a Retry-After to the end of the
// minute, to requests over the minute's budget.
func (s *StandIn) limit(next http.Handler) http.Handler {
	return s.Limiter.Wrap(next, s.Now, func(w http.ResponseWriter, win standin.Window) {
		w.Header().Set("Retry-After", strconv.FormatInt(win.Reset, 10))
		writeError(w, http.StatusTooManyRequests, "too_many_requests", "Too many requests")
	})
}

// publicPaths need no token: the token exchange, and the instance types,
// which the published description marks as open.
var publicPaths = []string{basePath + "/oauth2/token", basePath + "/instance-types"}

// authorize checks the bearer token.
func (s *StandIn) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(publicPaths, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.Mu.Lock()
		expiry, known := s.access[token]
		valid := ok && known && s.Now().Before(expiry)
		s.Mu.Unlock()
		if !valid {
			writeError(w, http.StatusUnauthorized, "unauthorized_request", "Invalid or expired access token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// faultBody is the body of an injected failure, in Verda's envelope.
func faultBody(status int, message string) (string, []byte) {
	b, _ := json.Marshal(apiError{Code: strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_"), Message: cmp.Or(message, http.StatusText(status))})
	return "application/json", b
}

func writeError(w http.ResponseWriter, status int, code, format string, args ...any) {
	standin.WriteJSON(w, status, apiError{Code: code, Message: fmt.Sprintf(format, args...)})
}

// writeID answers a create with the bare id as text, as Verda does.
func writeID(w http.ResponseWriter, status int, id string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(id))
}

func writeInternal(w http.ResponseWriter, err error) {
	writeError(w, http.StatusInternalServerError, "internal_error", "%v", err)
}

// decode reads a JSON body, answering 400 itself when it cannot.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "Invalid JSON body: %v", err)
		return false
	}
	return true
}

func (s *StandIn) issueToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if !decode(w, r, &req) {
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	switch req.GrantType {
	case grantClientCredentials:
		switch {
		case req.ClientID == "":
			writeError(w, http.StatusBadRequest, "invalid_request", "client_id was not specified")
			return
		case req.ClientSecret == "":
			writeError(w, http.StatusBadRequest, "invalid_request", "client_secret was not specified")
			return
		case s.Opts.APIKey != "" && req.ClientSecret != s.Opts.APIKey:
			writeError(w, http.StatusUnauthorized, "unauthorized_request", "Invalid client id or client secret")
			return
		}
	case grantRefreshToken:
		if !s.refresh[req.RefreshToken] {
			writeError(w, http.StatusBadRequest, "invalid_grant", "Invalid refresh token")
			return
		}
		delete(s.refresh, req.RefreshToken)
	default:
		writeError(w, http.StatusBadRequest, "invalid_request", "unsupported grant type")
		return
	}
	resp := tokenResponse{AccessToken: uuid.NewString(), TokenType: "Bearer", ExpiresIn: int(s.tokenTTL / time.Second),
		RefreshToken: uuid.NewString(), Scope: "fullAccess"}
	s.access[resp.AccessToken] = s.Now().Add(s.tokenTTL)
	s.refresh[resp.RefreshToken] = true
	standin.WriteJSON(w, http.StatusOK, resp)
}

func (s *StandIn) listInstanceTypes(w http.ResponseWriter, r *http.Request) {
	now := s.Now()
	out := make([]any, 0, len(seedTypes))
	for i, t := range seedTypes {
		it := instanceType{
			ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(t.name)).String(), InstanceType: t.name, Model: t.model,
			Name: t.name, DisplayName: displayName(t),
			CPU:          cpuSpec{Description: fmt.Sprintf("%d CPU", t.cores), NumberOfCores: float64(t.cores)},
			GPU:          gpuSpec{Description: gpuDescription(t), NumberOfGPUs: float64(t.gpus)},
			GPUMemory:    sizeSpec{Description: fmt.Sprintf("%g GB GPU RAM", t.gpuMemGB*float64(t.gpus)), SizeInGigabytes: t.gpuMemGB * float64(t.gpus)},
			Memory:       sizeSpec{Description: fmt.Sprintf("%g GB RAM", t.memGB), SizeInGigabytes: t.memGB},
			Storage:      storageSpec{Description: "dynamic"},
			PricePerHour: flexFloat(standin.Drift(t.price, 0.03, "verda/"+t.name, now)),
			SpotPrice:    flexFloat(standin.Drift(t.spot, 0.05, "verda/spot/"+t.name, now)),
			Currency:     "usd", Manufacturer: "NVIDIA", BestFor: []string{}, Description: displayName(t),
		}
		if i%2 == 1 {
			// Verda sends some prices as strings; so does the stand-in.
			out = append(out, pricesAsStrings(it))
			continue
		}
		out = append(out, it)
	}
	standin.WriteJSON(w, http.StatusOK, out)
}

func gpuDescription(t seedType) string {
	if t.gpus == 0 {
		return ""
	}
	return fmt.Sprintf("%dx %s", t.gpus, t.gpu)
}

func displayName(t seedType) string {
	if t.gpus == 0 {
		return fmt.Sprintf("%d CPU %g GB", t.cores, t.memGB)
	}
	return fmt.Sprintf("%dx %s", t.gpus, t.model)
}

// pricesAsStrings renders an instance type with its prices as strings.
func pricesAsStrings(it instanceType) map[string]any {
	b, _ := json.Marshal(it)
	var m map[string]any
	json.Unmarshal(b, &m)
	m["price_per_hour"] = strconv.FormatFloat(float64(it.PricePerHour), 'f', -1, 64)
	m["spot_price"] = strconv.FormatFloat(float64(it.SpotPrice), 'f', -1, 64)
	return m
}

func (s *StandIn) listLocations(w http.ResponseWriter, r *http.Request) {
	standin.WriteJSON(w, http.StatusOK, s.locations)
}

func (s *StandIn) listVolumeTypes(w http.ResponseWriter, r *http.Request) {
	standin.WriteJSON(w, http.StatusOK, seedVolumePrices)
}

func (s *StandIn) getBalance(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	standin.WriteJSON(w, http.StatusOK, balance{Amount: s.balance, Currency: "usd"})
}

// spotQuery reads is_spot (the current API) or isSpot (the 2023 spec).
func spotQuery(r *http.Request) bool {
	q := r.URL.Query()
	v := q.Get("is_spot")
	if v == "" {
		v = q.Get("isSpot")
	}
	return v == "true"
}

// locationQuery reads location_code or locationCode.
func locationQuery(r *http.Request) string {
	q := r.URL.Query()
	if v := q.Get("location_code"); v != "" {
		return v
	}
	return q.Get("locationCode")
}

func spotIndex(spot bool) int {
	if spot {
		return 1
	}
	return 0
}

// capacity is what the stock model says of o on demand or spot now: its
// stock under that contract less the instances not yet gone, or sold out
// while it flickers. The caller holds s.Mu.
func (s *StandIn) capacity(o offer, spot bool, now time.Time) standin.Level {
	key, contract := o.location+"/"+o.t.name, standin.OnDemand
	if spot {
		key, contract = key+"/spot", standin.Spot
	}
	n := o.stock[spotIndex(spot)]
	for _, in := range s.State.Instances {
		if in.Location == o.location && in.InstanceType == o.t.name && in.IsSpot == spot && s.phase(in, now) != phaseGone {
			n--
		}
	}
	item := standin.Item{Vendor: Name, InstanceType: o.t.name, Region: o.location,
		Contract: contract, GPUCount: o.t.gpus, NodeCount: 1}
	return s.Opts.Level(item, n, 0.05, key, now)
}

// capacities lists every GPU type of every location under each contract
// it is priced for (supply rents no CPU node), for the sandbox's capacity
// ledger; the caller holds s.Mu.
func (s *StandIn) capacities() []standin.Level {
	now := s.Now()
	var out []standin.Level
	for _, o := range s.offers {
		if o.t.gpus < 1 {
			continue
		}
		for spot, price := range []float64{o.t.price, o.t.spot} {
			if price > 0 {
				out = append(out, s.capacity(o, spot == 1, now))
			}
		}
	}
	return out
}

// available is how many more of o can be deployed now, as the sandbox's
// capacity ledger has it; the caller holds s.Mu.
func (s *StandIn) available(o offer, spot bool, now time.Time) int {
	return s.Opts.Capacity.Free(s.capacity(o, spot, now))
}

func (s *StandIn) findOffer(loc, typ string) (offer, bool) {
	for _, o := range s.offers {
		if o.location == loc && o.t.name == typ {
			return o, true
		}
	}
	return offer{}, false
}

func (s *StandIn) listAvailability(w http.ResponseWriter, r *http.Request) {
	spot, only := spotQuery(r), locationQuery(r)
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	out := []locationAvailability{}
	for _, l := range s.locations {
		if only != "" && l.Code != only {
			continue
		}
		la := locationAvailability{LocationCode: l.Code, Availabilities: []string{}}
		for _, o := range s.offers {
			if o.location == l.Code && s.available(o, spot, now) > 0 {
				la.Availabilities = append(la.Availabilities, o.t.name)
			}
		}
		out = append(out, la)
	}
	standin.WriteJSON(w, http.StatusOK, out)
}

func (s *StandIn) checkAvailability(w http.ResponseWriter, r *http.Request) {
	spot, loc := spotQuery(r), locationQuery(r)
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	ok := false
	for _, o := range s.offers {
		if o.t.name == r.PathValue("type") && (loc == "" || o.location == loc) {
			ok = ok || s.available(o, spot, now) > 0
		}
	}
	standin.WriteJSON(w, http.StatusOK, ok)
}

func (s *StandIn) listKeys(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	standin.WriteJSON(w, http.StatusOK, standin.NonNil(s.State.Keys))
}

func (s *StandIn) addKey(w http.ResponseWriter, r *http.Request) {
	var req sshKeyRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Name == "" || req.Key == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "name and key are required")
		return
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(req.Key)); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", "Invalid SSH key")
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	k := &sshKey{ID: uuid.NewString(), Name: req.Name, Key: req.Key}
	s.State.Keys = append(s.State.Keys, k)
	if !s.Saved(w) {
		return
	}
	writeID(w, http.StatusCreated, k.ID)
}

func (s *StandIn) deleteKey(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	remove(s, w, &s.State.Keys, r.PathValue("id"), func(k *sshKey) string { return k.ID })
}

func (s *StandIn) listScripts(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	standin.WriteJSON(w, http.StatusOK, standin.NonNil(s.State.Scripts))
}

func (s *StandIn) addScript(w http.ResponseWriter, r *http.Request) {
	var req scriptRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Name == "" || req.Script == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "name and script are required")
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	sc := &startupScript{ID: uuid.NewString(), Name: req.Name, Script: req.Script}
	s.State.Scripts = append(s.State.Scripts, sc)
	if !s.Saved(w) {
		return
	}
	writeID(w, http.StatusOK, sc.ID)
}

func (s *StandIn) deleteScript(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	remove(s, w, &s.State.Scripts, r.PathValue("id"), func(sc *startupScript) string { return sc.ID })
}

// remove deletes the element with id from list and answers; the caller
// holds s.Mu.
func remove[T any](s *StandIn, w http.ResponseWriter, list *[]T, id string, idOf func(T) string) {
	i := slices.IndexFunc(*list, func(v T) bool { return idOf(v) == id })
	if i < 0 {
		writeError(w, http.StatusNotFound, "not_found", "Not found: %s", id)
		return
	}
	*list = slices.Delete(*list, i, i+1)
	if !s.Saved(w) {
		return
	}
	w.WriteHeader(http.StatusOK)
}

// phase derives an instance's state from its timestamps: a quarter of
// BootTime ordered, the rest provisioning; deletion takes half a boot.
func (s *StandIn) phase(in *instanceRecord, now time.Time) phase {
	boot := s.Opts.BootTime
	if !in.DeletedAt.IsZero() {
		if now.Sub(in.DeletedAt) < boot/2 {
			return phaseDeleting
		}
		return phaseGone
	}
	if p, ok := s.powerPhase(in, now); ok {
		return p
	}
	switch age := now.Sub(in.CreatedAt); {
	case age < boot/4:
		return phaseOrdered
	case age < boot:
		return phaseProvisioning
	}
	return phaseRunning
}

// observe opens the host of an instance that has just come up; the
// caller holds s.Mu.
func (s *StandIn) observe(in *instanceRecord, now time.Time) {
	if s.phase(in, now) != phaseRunning || in.IP != "" {
		return
	}
	ip, port, err := s.OpenHost(in.ID, "", 0, machine(in))
	if err != nil {
		return // it stays without an IP and the next look tries again
	}
	in.IP, in.SSHPort = ip, port
	// A failed save loses nothing the next change will not write again.
	_ = s.Save()
}

// view renders an instance as the API returns it; the caller holds s.Mu.
func (s *StandIn) view(in *instanceRecord, now time.Time) instance {
	s.observe(in, now)
	s.reopen(in, now)
	o, _ := s.findOffer(in.Location, in.InstanceType)
	t := o.t
	v := instance{
		ID: in.ID, CreatedAt: in.CreatedAt.Format(time.RFC3339Nano),
		CPU:       cpuSpec{Description: fmt.Sprintf("%d CPU", t.cores), NumberOfCores: float64(t.cores)},
		GPU:       gpuSpec{Description: gpuDescription(t), NumberOfGPUs: float64(t.gpus)},
		GPUMemory: sizeSpec{Description: fmt.Sprintf("%g GB GPU RAM", t.gpuMemGB*float64(t.gpus)), SizeInGigabytes: t.gpuMemGB * float64(t.gpus)},
		Memory:    sizeSpec{Description: fmt.Sprintf("%g GB RAM", t.memGB), SizeInGigabytes: t.memGB},
		Storage:   sizeSpec{Description: fmt.Sprintf("%d GB NVMe", in.OSVolumeGB), SizeInGigabytes: float64(in.OSVolumeGB)},
		Hostname:  in.Hostname, Description: in.Description, Location: in.Location,
		PricePerHour: flexFloat(in.Price), IsSpot: in.IsSpot, InstanceType: in.InstanceType, Image: in.Image,
		OSName: "Ubuntu 24.04", SSHKeyIDs: standin.NonNil(in.SSHKeyIDs), OSVolumeID: &in.OSVolumeID,
	}
	if in.ScriptID != "" {
		v.StartupScriptID = &in.ScriptID
	}
	switch s.phase(in, now) {
	case phaseOrdered:
		v.Status = "ordered"
	case phaseProvisioning:
		v.Status = "provisioning"
	case phaseRunning:
		v.Status = "running"
		if in.IP != "" {
			ip := in.IP
			v.IP = &ip
		}
	case phaseDeleting, phaseGone:
		v.Status = "deleting"
	default:
		v.Status = powerStatus(s.phase(in, now))
	}
	return v
}

// live finds an instance that still exists; the caller holds s.Mu.
func (s *StandIn) live(id string, now time.Time) (*instanceRecord, bool) {
	for _, in := range s.State.Instances {
		if in.ID == id && s.phase(in, now) != phaseGone {
			return in, true
		}
	}
	return nil, false
}

func (s *StandIn) getInstance(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	in, ok := s.live(r.PathValue("id"), now)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "Invalid instance id")
		return
	}
	standin.WriteJSON(w, http.StatusOK, s.view(in, now))
}

func (s *StandIn) listInstances(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	out := []instance{}
	for _, in := range s.State.Instances {
		if s.phase(in, now) == phaseGone {
			continue
		}
		if v := s.view(in, now); status == "" || v.Status == status {
			out = append(out, v)
		}
	}
	standin.WriteJSON(w, http.StatusOK, out)
}

// deployBody is deployRequest as the API accepts it: ssh_key_ids may be
// one id or a list.
type deployBody struct {
	deployRequest
	SSHKeyIDs json.RawMessage `json:"ssh_key_ids"`
}

// actionBody is instanceAction as the API accepts it: id may be one id
// or a list, and a delete may name volume_ids to delete with it.
type actionBody struct {
	Action    string          `json:"action"`
	ID        json.RawMessage `json:"id"`
	VolumeIDs []string        `json:"volume_ids,omitempty"`
}

// idList reads a field that is one id or a list of them.
func idList(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil && len(many) > 0 {
		return many, true
	}
	return nil, false
}

func (s *StandIn) deploy(w http.ResponseWriter, r *http.Request) {
	var req deployBody
	if !decode(w, r, &req) {
		return
	}
	keyIDs, ok := idList(req.SSHKeyIDs)
	switch {
	case req.InstanceType == "" || req.Image == "" || req.Hostname == "" || req.Description == "" || req.LocationCode == "":
		writeError(w, http.StatusBadRequest, "invalid_request", "instance_type, image, hostname, description and location_code are required")
		return
	case !ok:
		writeError(w, http.StatusBadRequest, "invalid_request", "ssh_key_ids is required")
		return
	case !slices.Contains(seedImages, req.Image):
		writeError(w, http.StatusBadRequest, "invalid_request", "Invalid image: %s", req.Image)
		return
	case req.OSVolume.Size < 0 || (req.OSVolume.Size > 0 && req.OSVolume.Name == ""):
		writeError(w, http.StatusBadRequest, "invalid_request", "os_volume needs a name and a size")
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	o, ok := s.findOffer(req.LocationCode, req.InstanceType)
	if !ok {
		writeError(w, http.StatusBadRequest, "invalid_request", "Instance type %s is not offered in %s", req.InstanceType, req.LocationCode)
		return
	}
	var publicKeys []string
	for _, id := range keyIDs {
		i := slices.IndexFunc(s.State.Keys, func(k *sshKey) bool { return k.ID == id })
		if i < 0 {
			writeError(w, http.StatusBadRequest, "invalid_request", "Invalid ssh key id: %s", id)
			return
		}
		publicKeys = append(publicKeys, s.State.Keys[i].Key)
	}
	var script string
	if req.StartupScriptID != "" {
		i := slices.IndexFunc(s.State.Scripts, func(sc *startupScript) bool { return sc.ID == req.StartupScriptID })
		if i < 0 {
			writeError(w, http.StatusBadRequest, "invalid_request", "Invalid startup script id: %s", req.StartupScriptID)
			return
		}
		script = s.State.Scripts[i].Script
	}
	volumes, ok := s.attachExisting(w, req.ExistingVolumes, req.LocationCode)
	if !ok {
		return
	}
	price := o.t.price
	if req.IsSpot {
		price = o.t.spot
	}
	price = standin.Drift(price, 0.03, "verda/"+o.t.name, now)
	if s.balance < price {
		writeError(w, http.StatusPaymentRequired, "insufficient_funds", "Not enough balance to deploy %s: an hour costs %.2f USD", req.InstanceType, price)
		return
	}
	if s.available(o, req.IsSpot, now) < 1 {
		// Verda's description: the deploy's 503 is "Not enough resources
		// at the moment" (public-api.yml, POST /instances).
		writeError(w, http.StatusServiceUnavailable, "insufficient_resources", "Not enough resources at the moment to deploy %s in %s", req.InstanceType, req.LocationCode)
		return
	}
	size := req.OSVolume.Size
	if size == 0 {
		size = DefaultOSVolumeGB
	}
	in := &instanceRecord{
		ID: uuid.NewString(), Hostname: req.Hostname, Description: req.Description, Location: req.LocationCode,
		InstanceType: req.InstanceType, Image: req.Image, IsSpot: req.IsSpot, SSHKeyIDs: keyIDs,
		ScriptID: req.StartupScriptID, PublicKeys: publicKeys, Script: script, OSVolumeID: uuid.NewString(), OSVolumeGB: size,
		OSVolumeName: cmp.Or(req.OSVolume.Name, req.Hostname+"-os"), Price: math.Round(price*100) / 100, CreatedAt: now.UTC(),
	}
	for _, v := range volumes {
		attach(in, v)
	}
	s.State.Instances = append(s.State.Instances, in)
	if !s.Saved(w) {
		return
	}
	writeID(w, http.StatusAccepted, in.ID)
}

func (s *StandIn) action(w http.ResponseWriter, r *http.Request) {
	var req actionBody
	if !decode(w, r, &req) {
		return
	}
	ids, ok := idList(req.ID)
	if !ok || req.Action == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "id and action are required")
		return
	}
	if req.Action != actionDelete && req.Action != actionShutdown && req.Action != actionStart {
		writeError(w, http.StatusBadRequest, "invalid_request", "The stand-in performs only the delete, shutdown and start actions, not %q", req.Action)
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	results := make([]actionResult, 0, len(ids))
	failed := 0
	for _, id := range ids {
		res := actionResult{Action: req.Action, InstanceID: id, Status: "deleting"}
		in, ok := s.live(id, now)
		switch {
		case !ok:
			res.Error, res.StatusCode = "Invalid instance id", http.StatusNotFound
		case req.Action != actionDelete:
			s.power(in, req.Action, now, &res)
		case s.phase(in, now) == phaseOrdered || s.phase(in, now) == phaseProvisioning:
			res.Error, res.StatusCode = "Can't discontinue a provisioning instance", http.StatusBadRequest
		case s.phase(in, now) == phaseDeleting:
			res.Error, res.StatusCode = "Can't discontinue a discontinued instance", http.StatusBadRequest
		default:
			in.DeletedAt = now.UTC()
			s.RemoveHost(in.ID)
			if err := s.releaseVolumes(in, req.VolumeIDs, now); err != nil {
				writeInternal(w, err)
				return
			}
		}
		if res.Error != "" {
			res.Status = "error"
			failed++
		}
		results = append(results, res)
	}
	if !s.Saved(w) {
		return
	}
	switch {
	case failed == 0:
		standin.WriteJSON(w, http.StatusAccepted, results)
	case len(ids) == 1:
		// One instance: its refusal is the answer, in the error envelope.
		code := "invalid_request"
		if results[0].StatusCode == http.StatusNotFound {
			code = "not_found"
		}
		writeError(w, results[0].StatusCode, code, "%s", results[0].Error)
	default:
		standin.WriteJSON(w, http.StatusMultiStatus, results)
	}
}
