package scaleway

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	block "github.com/scaleway/scaleway-sdk-go/api/block/v1alpha1"
	"github.com/scaleway/scaleway-sdk-go/api/instance/v1"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// standInProject is the project the stand-in's images belong to, like
// Scaleway's public image project.
const standInProject = "51b656e3-4865-41e8-adbc-0c45bdd780db"

// imageLabels are the Marketplace labels the stand-in can boot.
var imageLabels = []string{DefaultImage, "ubuntu_noble_gpu_os_13_nvidia", "ubuntu_jammy"}

// StandIn is an in-memory Scaleway: the Instance API's catalog, stock and
// servers (created stopped, given user data, powered on, terminated), the
// Block API's volumes that outlive their servers, and the Marketplace's
// image lookup. It serves everything at the root, like api.scaleway.com,
// so an adapter's BaseURL is the server's URL.
type StandIn struct {
	standin.HTTPBase[savedState]
	offers []offer

	// serverQuota caps servers that exist at once (0: unlimited).
	serverQuota int
}

// savedState is what survives a restart.
type savedState struct {
	Servers []*serverRecord `json:"servers"`
	Volumes []*volumeRecord `json:"volumes"`
	// SecurityGroups are those made through the API (the project's
	// default is not kept: a server without one of these uses it).
	SecurityGroups []*securityGroupRecord `json:"security_groups,omitempty"`
}

type serverRecord struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Zone     string            `json:"zone"`
	Type     string            `json:"type"`
	Project  string            `json:"project"`
	Image    string            `json:"image"`
	Tags     []string          `json:"tags"`
	UserData map[string]string `json:"user_data"`
	// DynamicIP: the server gets a public IPv4 when it starts.
	DynamicIP bool      `json:"dynamic_ip"`
	VolumeID  string    `json:"volume_id"`
	CreatedAt time.Time `json:"created_at"`
	// PoweredOnAt is when poweron was asked (zero: never).
	PoweredOnAt time.Time `json:"powered_on_at,omitzero"`
	// PoweredOffAt is when poweroff was last asked (zero: never).
	PoweredOffAt time.Time `json:"powered_off_at,omitzero"`
	// TerminatedAt is when terminate was asked; DeletedAt when a stopped
	// server was deleted (zero: not asked).
	TerminatedAt time.Time `json:"terminated_at,omitzero"`
	DeletedAt    time.Time `json:"deleted_at,omitzero"`
	// IP and SSHPort are the sandbox host, once the server has run.
	IP      string `json:"ip,omitempty"`
	SSHPort int    `json:"ssh_port,omitempty"`
	// SecurityGroup is the group asked for at create ("": the default);
	// Ports what its rules open, which the sandbox machine listens on.
	SecurityGroup string             `json:"security_group,omitempty"`
	Ports         []standin.OpenPort `json:"ports,omitempty"`
}

type volumeRecord struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Tags      []string  `json:"tags"`
	Zone      string    `json:"zone"`
	Project   string    `json:"project"`
	Size      int64     `json:"size"`
	ServerID  string    `json:"server_id"`
	CreatedAt time.Time `json:"created_at"`
	// DetachedAt is when the volume is free of its deleted server (zero:
	// its server still holds it).
	DetachedAt time.Time `json:"detached_at,omitzero"`
	DeletedAt  time.Time `json:"deleted_at,omitzero"`
}

// phase is a server's place in Scaleway's state machine at some moment.
type phase int

const (
	phaseStopped     phase = iota // created, never powered on
	phaseStarting                 // starting, "allocating node"
	phaseRunning                  // running, "booting kernel", public IP
	phaseTerminating              // stopping, "terminating"
	phaseGone                     // 404
)

// NewStandIn starts a stand-in, reloading its servers from o.StatePath and
// reopening the hosts of those that were running.
func NewStandIn(o standin.Options) (*StandIn, error) {
	s := &StandIn{offers: seedOffers(o.Scale)}
	if err := s.Open(Name, o, s.machines); err != nil {
		return nil, err
	}
	const zone = "/instance/v1/zones/{zone}"
	const block = "/block/v1alpha1/zones/{zone}"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metadata", serveMetadata)
	mux.HandleFunc("GET "+zone+"/products/servers", s.listServerTypes)
	mux.HandleFunc("GET "+zone+"/products/servers/availability", s.listAvailability)
	mux.HandleFunc("GET /marketplace/v2/local-images", s.listLocalImages)
	mux.HandleFunc("GET "+zone+"/servers", s.listServers)
	mux.HandleFunc("POST "+zone+"/servers", s.createServer)
	mux.HandleFunc("GET "+zone+"/servers/{id}", s.getServer)
	mux.HandleFunc("DELETE "+zone+"/servers/{id}", s.deleteServer)
	mux.HandleFunc("POST "+zone+"/servers/{id}/action", s.serverAction)
	mux.HandleFunc("GET "+zone+"/servers/{id}/user_data", s.listUserData)
	mux.HandleFunc("GET "+zone+"/servers/{id}/user_data/{key}", s.getUserData)
	mux.HandleFunc("PATCH "+zone+"/servers/{id}/user_data/{key}", s.setUserData)
	mux.HandleFunc("GET "+block+"/volumes", s.listVolumes)
	mux.HandleFunc("GET "+block+"/volumes/{id}", s.getVolume)
	mux.HandleFunc("PATCH "+block+"/volumes/{id}", s.updateVolume)
	mux.HandleFunc("DELETE "+block+"/volumes/{id}", s.deleteVolume)
	s.routePorts(mux, zone)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, errorEnvelope{Type: "not_found", Message: "resource is not found"})
	})
	s.Serve(s.limit(s.authorize(mux)), faultBody)
	o.Capacity.Register(Name, &s.Mu, s.capacities)
	return s, nil
}

// Zones lists the zones the stand-in sells in (with Options.Scale > 1,
// synthetic ones too): what an adapter's Config.Zones should be to see
// its whole catalog.
func (s *StandIn) Zones() []string { return seedZonesOf(s.offers) }

// SetServerQuota caps how many servers may exist at once (0: no cap).
func (s *StandIn) SetServerQuota(n int) {
	s.Mu.Lock()
	s.serverQuota = n
	s.Mu.Unlock()
}

// volumeBills reports whether a volume still exists; the caller holds s.Mu.
func (s *StandIn) volumeBills(id string) bool {
	v := s.findVolume(id)
	return v != nil && v.DeletedAt.IsZero()
}

// machines lists the servers for the base: their hosts to reopen (the
// running ones) and close, and their console entries.
func (s *StandIn) machines() []standin.Host {
	now := s.Now()
	out := make([]standin.Host, 0, len(s.State.Servers))
	for _, srv := range s.State.Servers {
		v, ph := s.view(srv, now), s.phase(srv, now)
		state := strings.TrimSpace(v.State + " " + v.StateDetail)
		if ph == phaseGone {
			state = "deleted"
		}
		out = append(out, standin.Host{ID: srv.ID, IP: &srv.IP, Port: &srv.SSHPort, Live: ph == phaseRunning, Machine: machine(srv),
			Console: standin.ConsoleEntry{Vendor: Name, ID: srv.Zone + "/" + srv.ID, Name: srv.Name, State: state,
				Live: ph != phaseGone || s.volumeBills(srv.VolumeID), InstanceType: srv.Type, Region: srv.Zone, IP: v.ipv4(),
				SSHPort: srv.SSHPort, Tags: slices.Clone(srv.Tags), CreatedAt: srv.CreatedAt}})
	}
	return out
}

// machine is what the server received: root's key in the cloud-init user
// data (the "cloud-init" key of its user data, set before power-on).
// Scaleway's images also install the AUTHORIZED_KEY tags for root; supply
// sets both to the same key, and the stand-in reads the user data.
func machine(srv *serverRecord) standin.Machine {
	return standin.Machine{Vendor: Name, ID: srv.ID, Name: srv.Name, UserDataField: "user_data/cloud-init",
		UserData: srv.UserData["cloud-init"], Ports: srv.Ports}
}

// limit answers Scaleway's 429, with a Retry-After to the end of the
// minute, to requests over the minute's budget.
func (s *StandIn) limit(next http.Handler) http.Handler {
	return s.Limiter.Wrap(next, s.Now, func(w http.ResponseWriter, win standin.Window) {
		w.Header().Set("Retry-After", strconv.FormatInt(win.Reset, 10))
		writeError(w, http.StatusTooManyRequests, errorEnvelope{Type: "too_many_requests", Message: "rate limit exceeded"})
	})
}

// authorize checks X-Auth-Token, answering Scaleway's 401. The API
// metadata is public: the SDK reads it without credentials.
func (s *StandIn) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metadata" {
			next.ServeHTTP(w, r)
			return
		}
		key := r.Header.Get("X-Auth-Token")
		if key == "" || (s.Opts.APIKey != "" && key != s.Opts.APIKey) {
			writeError(w, http.StatusUnauthorized, errorEnvelope{Type: "denied_authentication", Message: "authentication is denied", Method: "api_key", Reason: "invalid_argument"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// faultBody is the body of an injected failure, in Scaleway's envelope.
func faultBody(status int, message string) (string, []byte) {
	env := errorEnvelope{Type: "server_error", Message: "Internal error"}
	switch {
	case status == http.StatusTooManyRequests:
		env = errorEnvelope{Type: "too_many_requests", Message: "rate limit exceeded"}
	case status < 500:
		env = errorEnvelope{Type: "invalid_request_error", Message: http.StatusText(status)}
	}
	env.Message = cmp.Or(message, env.Message)
	b, _ := json.Marshal(env)
	return "application/json", b
}

// serveMetadata answers GET /metadata, which the SDK's ListServers reads
// to name resources; the values are those scaleway-sdk-go's live test
// expects of api.scaleway.com (scw/client_test.go,
// TestClientGetAPIMetadata).
func serveMetadata(w http.ResponseWriter, _ *http.Request) {
	standin.WriteJSON(w, http.StatusOK, map[string]string{"platform": "external", "partition": "scw", "domain": "scw.eu"})
}

func writeError(w http.ResponseWriter, status int, env errorEnvelope) {
	standin.WriteJSON(w, status, env)
}

func notFound(w http.ResponseWriter, resource, id string) {
	writeError(w, http.StatusNotFound, errorEnvelope{Type: "not_found", Message: "resource is not found", Resource: resource, ResourceID: id})
}

func invalidArgument(w http.ResponseWriter, name, reason, help string) {
	writeError(w, http.StatusBadRequest, errorEnvelope{Type: "invalid_arguments", Message: "invalid argument(s)",
		Details: []errorDetail{{ArgumentName: name, Reason: reason, HelpMessage: help}}})
}

// decodeStrict reads a JSON request body into v, one of the SDK's request
// types, so that the stand-in accepts exactly the fields Scaleway
// describes. A body that is not JSON, or that carries a key v lacks, is
// answered with Scaleway's 400 invalid_arguments, and decodeStrict
// reports false. Scaleway's validator refused unknown keys with "extra
// keys not allowed" in the invalid_request_error answers quoted in
// scaleway/api.scaleway.com issues 39 and 41 (2016-17), which the SDK
// reads as reason "constraint" (InvalidRequestError.ToInvalidArgumentsError);
// no recording shows today's answer to an unknown key.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return true
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		invalidArgument(w, strings.Trim(field, `"`), "constraint", "extra keys not allowed")
		return false
	}
	invalidArgument(w, "body", "format", "invalid JSON: "+err.Error())
	return false
}

// stamp formats a time the way the Instance API does.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000+00:00") }

// blockStamp formats a time the way the Block API does.
func blockStamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// knownZone checks the {zone} of a request, answering 400 when it is not
// one the stand-in serves.
func (s *StandIn) knownZone(w http.ResponseWriter, r *http.Request) (string, bool) {
	zone := r.PathValue("zone")
	for _, o := range s.offers {
		if o.zone == zone {
			return zone, true
		}
	}
	invalidArgument(w, "zone", "constraint", "unknown zone "+zone)
	return "", false
}

// defaultPageSize is the page size Scaleway's lists use when not asked
// (the recorded Link headers say per_page=50).
const defaultPageSize = 50

// The query parameter that sizes a page: the Instance API's "per_page",
// the Block API's "page_size".
const (
	instancePageSize = "per_page"
	blockPageSize    = "page_size"
)

// pageSize reads the page size from the query parameter named sizeParam.
func pageSize(r *http.Request, sizeParam string) int {
	if v, err := strconv.Atoi(r.URL.Query().Get(sizeParam)); err == nil && v > 0 && v <= 100 {
		return v
	}
	return defaultPageSize
}

// paging reads page and the page size named sizeParam.
func paging(r *http.Request, sizeParam string, n int) (start, end int) {
	number, size := 1, pageSize(r, sizeParam)
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		number = v
	}
	start = n
	if number-1 < (n+size-1)/size { // compared as pages, so huge values cannot overflow
		start = (number - 1) * size
	}
	return start, start + min(size, n-start)
}

// pageHeaders sets X-Total-Count and Link as Scaleway does on its maps.
func pageHeaders(w http.ResponseWriter, r *http.Request, path string, n int) {
	w.Header().Set("X-Total-Count", strconv.Itoa(n))
	size := pageSize(r, instancePageSize)
	last := max((n+size-1)/size, 1)
	number := 1
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		number = v
	}
	link := func(page int, rel string) string {
		return fmt.Sprintf("<%s?page=%d&per_page=%d&>; rel=%q", path, page, size, rel)
	}
	var links []string
	if number > 1 {
		links = append(links, link(1, "first"), link(min(number-1, last), "previous"))
	}
	if number < last {
		links = append(links, link(number+1, "next"))
	}
	links = append(links, link(last, "last"))
	w.Header().Set("Link", strings.Join(links, ","))
}

// zoneOffers are the offers of one zone, sorted by type name as
// Scaleway's maps are paged.
func (s *StandIn) zoneOffers(zone string) []offer {
	var out []offer
	for _, o := range s.offers {
		if o.zone == zone {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(x, y offer) int { return strings.Compare(x.typ.name, y.typ.name) })
	return out
}

func (s *StandIn) findOffer(zone, typ string) (offer, bool) {
	for _, o := range s.offers {
		if o.zone == zone && o.typ.name == typ {
			return o, true
		}
	}
	return offer{}, false
}

func (s *StandIn) listServerTypes(w http.ResponseWriter, r *http.Request) {
	zone, ok := s.knownZone(w, r)
	if !ok {
		return
	}
	now := s.Now()
	offers := s.zoneOffers(zone)
	start, end := paging(r, instancePageSize, len(offers))
	resp := serverTypeList{Servers: map[string]serverType{}}
	for _, o := range offers[start:end] {
		resp.Servers[o.typ.name] = serverTypeView(o, now)
	}
	pageHeaders(w, r, "/products/servers", len(offers))
	standin.WriteJSON(w, http.StatusOK, resp)
}

// hourlyPrice is an offer's EUR price at now: its seed price drifting a
// little, to the four decimals Scaleway's prices carry.
func hourlyPrice(o offer, now time.Time) float64 {
	return roundPrice(standin.Drift(o.typ.eurHour, 0.02, "scaleway/"+o.zone+"/"+o.typ.name, now))
}

// serverTypeView renders a type as ServerType, its price drifting a little.
func serverTypeView(o offer, now time.Time) serverType {
	t := o.typ
	price := hourlyPrice(o, now)
	bandwidth := int64(2_500_000_000) * int64(max(t.gpus, 1))
	v := serverType{
		AltNames: []string{}, Arch: "x86_64", NCPUs: t.cpus, RAM: t.ramGiB << 30, GPU: t.gpus,
		VolumesConstraint:     sizeRange{MaxSize: t.localDiskGB * 1_000_000_000},
		PerVolumeConstraint:   map[string]sizeRange{"l_ssd": {}},
		ScratchStorageMaxSize: new(int64),
		MonthlyPrice:          roundPrice(price * hoursPerMonth),
		HourlyPrice:           price,
		Capabilities: typeCapabilities{BootTypes: []string{"local", "rescue"}, PlacementGroups: true, BlockStorage: true,
			HotSnapshotsLocalVolume: t.localDiskGB > 0, PrivateNetwork: 8, MaxFileSystems: 2 * t.gpus},
		Network: typeNetwork{IPv6Support: true, SumInternalBandwidth: bandwidth, SumInternetBandwidth: bandwidth,
			Interfaces: []networkInterface{{InternalBandwidth: bandwidth, InternetBandwidth: bandwidth}}},
		BlockBandwidth: 1_048_576_000,
	}
	if t.localDiskGB > 0 {
		v.PerVolumeConstraint["l_ssd"] = sizeRange{MinSize: 1_000_000_000, MaxSize: 800_000_000_000}
	}
	if t.gpus > 0 {
		v.GPUInfo = &gpuInfo{GPUManufacturer: "NVIDIA", GPUName: t.gpuName, GPUMemory: int64(t.gpuMemGB) << 30}
	}
	return v
}

func (s *StandIn) listAvailability(w http.ResponseWriter, r *http.Request) {
	zone, ok := s.knownZone(w, r)
	if !ok {
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	offers := s.zoneOffers(zone)
	start, end := paging(r, instancePageSize, len(offers))
	resp := availabilityList{Servers: map[string]availability{}}
	for _, o := range offers[start:end] {
		resp.Servers[o.typ.name] = availability{Availability: stockLevel(s.free(o, now))}
	}
	pageHeaders(w, r, "/products/servers/availability", len(offers))
	standin.WriteJSON(w, http.StatusOK, resp)
}

// stockLevel is Scaleway's word for how many servers can start.
func stockLevel(free int) string {
	switch {
	case free <= 0:
		return stockShortage
	case free <= 2:
		return stockScarce
	}
	return stockAvailable
}

// capacity is what the stock model says of o now: its stock less the
// servers holding hardware, or sold out while it flickers. The caller
// holds s.Mu.
func (s *StandIn) capacity(o offer, now time.Time) standin.Level {
	n := o.stock
	for _, srv := range s.State.Servers {
		if srv.Zone == o.zone && srv.Type == o.typ.name {
			if p := s.phase(srv, now); p == phaseStarting || p == phaseRunning || p == phaseTerminating {
				n--
			}
		}
	}
	item := standin.Item{Vendor: Name, InstanceType: o.typ.name, Region: o.zone,
		Contract: standin.OnDemand, GPUCount: o.typ.gpus, NodeCount: 1}
	return s.Opts.Level(item, n, 0.05, o.zone+"/"+o.typ.name, now)
}

// capacities lists the GPU types of every zone (supply rents no CPU
// type), for the sandbox's capacity ledger; the caller holds s.Mu.
func (s *StandIn) capacities() []standin.Level {
	now := s.Now()
	var out []standin.Level
	for _, o := range s.offers {
		if o.typ.gpus > 0 {
			out = append(out, s.capacity(o, now))
		}
	}
	return out
}

// free is how many more servers of o can start now, as the sandbox's
// capacity ledger has it; the caller holds s.Mu.
func (s *StandIn) free(o offer, now time.Time) int {
	return s.Opts.Capacity.Free(s.capacity(o, now))
}

// imageID is the stable id of a label's build in a zone.
func imageID(label, zone string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("scaleway-image/"+label+"/"+zone)).String()
}

func (s *StandIn) listLocalImages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	label, zone, typ := q.Get("image_label"), q.Get("zone"), q.Get("type")
	resp := localImageList{LocalImages: []localImage{}}
	for _, l := range imageLabels {
		if (label != "" && l != label) || (typ != "" && typ != "instance_sbs") {
			continue
		}
		for _, z := range seedZonesOf(s.offers) {
			if zone != "" && z != zone {
				continue
			}
			var types []string
			for _, o := range s.zoneOffers(z) {
				types = append(types, o.typ.name)
			}
			resp.LocalImages = append(resp.LocalImages, localImage{ID: imageID(l, z), Arch: "x86_64", Zone: z,
				CompatibleCommercialTypes: types, Label: l, Type: "instance_sbs"})
		}
	}
	resp.TotalCount = len(resp.LocalImages)
	standin.WriteJSON(w, http.StatusOK, resp)
}

// seedZonesOf lists the zones of offers, in order.
func seedZonesOf(offers []offer) []string {
	var zones []string
	for _, o := range offers {
		if !slices.Contains(zones, o.zone) {
			zones = append(zones, o.zone)
		}
	}
	return zones
}

// imageLabel finds the label an image id in zone was made from.
func imageLabel(id, zone string) (string, bool) {
	for _, l := range imageLabels {
		if imageID(l, zone) == id {
			return l, true
		}
	}
	return "", false
}

// phase derives a server's state from its timestamps: starting for
// BootTime after poweron, then running; terminating for half a boot after
// terminate, then gone.
func (s *StandIn) phase(srv *serverRecord, now time.Time) phase {
	switch {
	case !srv.DeletedAt.IsZero():
		return phaseGone
	case !srv.TerminatedAt.IsZero():
		if now.Sub(srv.TerminatedAt) < s.Opts.BootTime/2 {
			return phaseTerminating
		}
		return phaseGone
	case srv.PoweredOnAt.IsZero():
		return phaseStopped
	}
	if p, ok := s.offPhase(srv, now); ok {
		return p
	}
	switch {
	case now.Sub(srv.PoweredOnAt) < s.Opts.BootTime:
		return phaseStarting
	}
	return phaseRunning
}

// observe opens the host of a server that has just come up; the caller
// holds s.Mu.
func (s *StandIn) observe(srv *serverRecord, now time.Time) {
	if s.phase(srv, now) != phaseRunning || srv.IP != "" || !srv.DynamicIP {
		return
	}
	ip, port, err := s.OpenHost(srv.ID, "", 0, machine(srv))
	if err != nil {
		return // the server stays without an IP and the next look tries again
	}
	srv.IP, srv.SSHPort = ip, port
	// A failed save loses nothing the next change will not write again.
	_ = s.Save()
}

// view renders a server as the Instance API's Server; the caller holds s.Mu.
func (s *StandIn) view(srv *serverRecord, now time.Time) server {
	s.observe(srv, now)
	s.reopen(srv, now)
	label, _ := imageLabel(srv.Image, srv.Zone)
	image, _ := json.Marshal(map[string]any{
		"id": srv.Image, "name": label, "organization": standInProject, "project": standInProject,
		"root_volume":   map[string]any{"volume_type": "sbs_snapshot", "id": imageID(label+"/snapshot", srv.Zone), "size": 0, "name": ""},
		"extra_volumes": map[string]any{}, "public": true, "arch": "x86_64",
		"creation_date": "2025-09-12T09:11:41.420846+00:00", "modification_date": "2025-09-12T09:11:41.420846+00:00",
		"default_bootscript": nil, "from_server": "", "state": "available", "tags": []string{}, "zone": srv.Zone,
	})
	v := server{
		ID: srv.ID, Name: srv.Name, Arch: "x86_64", CommercialType: srv.Type, BootType: "local",
		Organization: srv.Project, Project: srv.Project, Hostname: srv.Name, Image: image,
		Volumes:   map[string]serverVolume{},
		Tags:      standin.NonNil(srv.Tags),
		PublicIPs: []publicIP{}, MACAddress: macAddress(srv.ID), RoutedIPEnabled: true,
		IPv6: json.RawMessage("null"), ExtraNetworks: []json.RawMessage{}, DynamicIPRequired: srv.DynamicIP,
		CreationDate: stamp(srv.CreatedAt), ModificationDate: stamp(srv.CreatedAt),
		Bootscript:    json.RawMessage("null"),
		SecurityGroup: s.groupRef(srv),
		Maintenances:  []json.RawMessage{}, PlacementGroup: json.RawMessage("null"), PrivateNICs: []json.RawMessage{},
		Zone: srv.Zone, Filesystems: []json.RawMessage{},
	}
	if s.phase(srv, now) != phaseTerminating {
		v.Volumes["0"] = serverVolume{VolumeType: "sbs_volume", ID: srv.VolumeID, State: "available", Zone: srv.Zone}
	}
	switch s.phase(srv, now) {
	case phaseStopped:
		v.State, v.AllowedActions = "stopped", []string{"poweron", "backup"}
	case phaseStopping:
		v.State, v.AllowedActions = "stopping", []string{"stop_in_place", "backup"}
		v.ModificationDate = stamp(srv.PoweredOffAt)
	case phaseStarting:
		v.State, v.StateDetail, v.AllowedActions = "starting", "allocating node", []string{"stop_in_place", "backup"}
		v.ModificationDate = stamp(srv.PoweredOnAt)
	case phaseRunning:
		v.State, v.StateDetail = "running", "booting kernel"
		v.AllowedActions = []string{"poweroff", "terminate", "reboot", "stop_in_place", "backup"}
		v.ModificationDate = stamp(srv.PoweredOnAt.Add(s.Opts.BootTime))
		v.Location = &serverLocation{ZoneID: srv.Zone, PlatformID: "14", ClusterID: "16", HypervisorID: "302", NodeID: "47"}
		if srv.IP != "" {
			ip := publicIP{ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte("ip/"+srv.ID)).String(), Address: srv.IP, Dynamic: true,
				Gateway: "62.210.0.1", Netmask: "32", Family: "inet", ProvisioningMode: "dhcp", Tags: []string{},
				State: "pending", IPAMID: uuid.NewSHA1(uuid.NameSpaceURL, []byte("ipam/"+srv.ID)).String()}
			v.PublicIP, v.PublicIPs = &ip, []publicIP{ip}
		}
	default: // terminating
		v.State, v.StateDetail, v.AllowedActions = "stopping", "terminating", []string{"stop_in_place", "backup"}
		v.ModificationDate = stamp(srv.TerminatedAt)
	}
	return v
}

// ipv4 is the server's public IPv4 address, "" before it has one.
func (v server) ipv4() string {
	for _, ip := range v.PublicIPs {
		if ip.Family == "inet" {
			return ip.Address
		}
	}
	return ""
}

// macAddress is a stable Scaleway-style MAC for a server.
func macAddress(id string) string {
	u := uuid.MustParse(id)
	return fmt.Sprintf("de:00:00:%02x:%02x:%02x", u[0], u[1], u[2])
}

// server finds a server that still exists in the request's zone; the
// caller holds s.Mu.
func (s *StandIn) server(r *http.Request, now time.Time) (*serverRecord, bool) {
	id, zone := r.PathValue("id"), r.PathValue("zone")
	for _, srv := range s.State.Servers {
		if srv.ID == id && srv.Zone == zone && s.phase(srv, now) != phaseGone {
			return srv, true
		}
	}
	return nil, false
}

func (s *StandIn) getServer(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	srv, ok := s.server(r, now)
	if !ok {
		notFound(w, "instance_server", r.PathValue("id"))
		return
	}
	standin.WriteJSON(w, http.StatusOK, serverEnvelope{Server: s.view(srv, now)})
}

func (s *StandIn) listServers(w http.ResponseWriter, r *http.Request) {
	zone, ok := s.knownZone(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var tags []string
	if t := q.Get("tags"); t != "" {
		tags = strings.Split(t, ",")
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	var match []*serverRecord
	for _, srv := range s.State.Servers {
		if srv.Zone != zone || s.phase(srv, now) == phaseGone {
			continue
		}
		if (q.Get("project") != "" && srv.Project != q.Get("project")) || !strings.Contains(srv.Name, q.Get("name")) ||
			(q.Get("commercial_type") != "" && srv.Type != q.Get("commercial_type")) {
			continue
		}
		if slices.ContainsFunc(tags, func(t string) bool { return !slices.Contains(srv.Tags, t) }) {
			continue
		}
		match = append(match, srv)
	}
	start, end := paging(r, instancePageSize, len(match))
	resp := serverList{Servers: []server{}}
	for _, srv := range match[start:end] {
		resp.Servers = append(resp.Servers, s.view(srv, now))
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(len(match)))
	standin.WriteJSON(w, http.StatusOK, resp)
}

func (s *StandIn) createServer(w http.ResponseWriter, r *http.Request) {
	zone, ok := s.knownZone(w, r)
	if !ok {
		return
	}
	var req instance.CreateServerRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	// What is missing is named the way Scaleway's recorded 400 names it
	// (scaleway-sdk-go test-create-server-with-incorrect-body): a server
	// needs a type, and an image or volumes to boot from.
	var missing []errorDetail
	required := func(name string) {
		missing = append(missing, errorDetail{ArgumentName: name, Reason: "required", HelpMessage: "required key not provided"})
	}
	if req.CommercialType == "" {
		required("commercial_type")
	}
	if req.Image == nil && len(req.Volumes) == 0 {
		required("image")
		required("volumes")
	}
	if req.Project == nil && req.Organization == nil {
		required("project")
	}
	if len(missing) > 0 {
		writeError(w, http.StatusBadRequest, errorEnvelope{Type: "invalid_arguments", Message: "invalid argument(s)", Details: missing})
		return
	}
	if req.Image == nil || req.Project == nil {
		invalidArgument(w, "image", "required", "the stand-in boots images only, in a project")
		return
	}
	o, ok := s.findOffer(zone, req.CommercialType)
	if !ok {
		invalidArgument(w, "commercial_type", "constraint", "unknown commercial type "+req.CommercialType)
		return
	}
	if _, ok := imageLabel(*req.Image, zone); !ok {
		notFound(w, "instance_image", *req.Image)
		return
	}
	root := req.Volumes["0"]
	if o.typ.localDiskGB == 0 && root != nil && root.VolumeType != instance.VolumeVolumeTypeSbsVolume {
		invalidArgument(w, "volumes.0.volume_type", "constraint", "this commercial type only supports sbs_volume")
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	if s.serverQuota > 0 && s.live(now) >= s.serverQuota {
		quota, current := s.serverQuota, s.live(now)
		writeError(w, http.StatusForbidden, errorEnvelope{Type: "quotas_exceeded", Message: "quota(s) exceeded for this resource",
			Details: []errorDetail{{Resource: "instances", Quota: &quota, Current: &current}}})
		return
	}
	group, ok := s.serverGroup(w, zone, req.SecurityGroup)
	if !ok {
		return
	}
	srv := &serverRecord{
		ID: uuid.NewString(), Name: req.Name, Zone: zone, Type: req.CommercialType, Project: *req.Project,
		Image: *req.Image, Tags: req.Tags, UserData: map[string]string{}, DynamicIP: req.DynamicIPRequired != nil && *req.DynamicIPRequired,
		CreatedAt: now.UTC(),
	}
	if srv.Name == "" {
		srv.Name = "scw-" + srv.ID[:8]
	}
	if group != nil {
		srv.SecurityGroup, srv.Ports = group.ID, openedPorts(group)
	}
	// An image's SBS root volume is named after the image, as every
	// recording shows. None shows a name asked for in volumes["0"] kept
	// for a volume made from an image (only from a snapshot), so the
	// stand-in assumes the worst and ignores it: the adapter must find its
	// root volumes by what it sets on them itself.
	vol := &volumeRecord{ID: uuid.NewString(), Name: imageName(*req.Image, zone) + "_sbs_volume_0", Tags: []string{},
		Zone: zone, Project: *req.Project, Size: 10_000_000_000, ServerID: srv.ID, CreatedAt: now.UTC()}
	if root != nil && root.Size != nil {
		vol.Size = int64(*root.Size)
	}
	srv.VolumeID = vol.ID
	s.State.Servers = append(s.State.Servers, srv)
	s.State.Volumes = append(s.State.Volumes, vol)
	if !s.Saved(w) {
		return
	}
	w.Header().Set("Location", "/instance/v1/zones/"+zone+"/servers/"+srv.ID)
	standin.WriteJSON(w, http.StatusCreated, serverEnvelope{Server: s.view(srv, now)})
}

// imageName is the human name of an image id, for default volume names.
func imageName(id, zone string) string {
	label, _ := imageLabel(id, zone)
	return label
}

// live counts servers that exist; the caller holds s.Mu.
func (s *StandIn) live(now time.Time) int {
	n := 0
	for _, srv := range s.State.Servers {
		if s.phase(srv, now) != phaseGone {
			n++
		}
	}
	return n
}

func (s *StandIn) serverAction(w http.ResponseWriter, r *http.Request) {
	var req instance.ServerActionRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	action := string(req.Action)
	if action == "" {
		invalidArgument(w, "action", "required", "required key not provided")
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	srv, ok := s.server(r, now)
	if !ok {
		notFound(w, "instance_server", r.PathValue("id"))
		return
	}
	v := s.view(srv, now)
	if !slices.Contains(v.AllowedActions, action) {
		if v.State == "starting" || v.State == "stopping" {
			writeError(w, http.StatusConflict, errorEnvelope{Type: "transient_state", Message: "resource is in a transient state",
				Resource: "instance_server", ResourceID: srv.ID, CurrentState: v.State})
			return
		}
		writeError(w, http.StatusBadRequest, errorEnvelope{Type: "precondition_failed", Message: "action not allowed",
			Precondition: "unknown_precondition", HelpMessage: fmt.Sprintf("action %q is not allowed while the server is %s", action, v.State)})
		return
	}
	description := "server_" + action
	switch action {
	case "poweron":
		o, _ := s.findOffer(srv.Zone, srv.Type)
		// Scaleway allocates hardware at poweron ("allocating node"), so
		// that is where stock runs out. Its SDK documents the refusal by
		// its type, "out_of_stock" with the resource (scw/errors.go,
		// OutOfStockError: "resource ... is out of stock"); no recording
		// shows its status, and clients branch on the type.
		if s.free(o, now) <= 0 {
			writeError(w, http.StatusConflict, errorEnvelope{Type: "out_of_stock", Message: "server type is out of stock", Resource: "instance_server"})
			return
		}
		srv.PoweredOnAt, description = now.UTC(), "server_batch_poweron"
	case "poweroff":
		srv.PoweredOffAt = now.UTC()
		s.CloseHost(srv.ID)
	case "terminate":
		srv.TerminatedAt = now.UTC()
		s.RemoveHost(srv.ID)
		// terminate only detaches an SBS volume, after the server stops.
		if vol := s.findVolume(srv.VolumeID); vol != nil {
			vol.DetachedAt = now.Add(s.Opts.BootTime * 3 / 4).UTC()
		}
	default:
		writeError(w, http.StatusBadRequest, errorEnvelope{Type: "precondition_failed", Message: "action not supported by the stand-in",
			Precondition: "unknown_precondition", HelpMessage: action})
		return
	}
	if !s.Saved(w) {
		return
	}
	taskID := uuid.NewString()
	w.Header().Set("Location", "/instance/v1/zones/"+srv.Zone+"/tasks/"+taskID)
	standin.WriteJSON(w, http.StatusAccepted, taskEnvelope{Task: task{
		ID: taskID, Description: description, Status: "pending",
		HrefFrom: "/servers/" + srv.ID + "/action", HrefResult: "/servers/" + srv.ID,
		StartedAt: stamp(now), Zone: srv.Zone,
	}})
}

func (s *StandIn) deleteServer(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	srv, ok := s.server(r, now)
	if !ok {
		notFound(w, "instance_server", r.PathValue("id"))
		return
	}
	if p := s.phase(srv, now); p != phaseStopped {
		writeError(w, http.StatusBadRequest, errorEnvelope{Type: "precondition_failed", Message: "server must be stopped to be deleted",
			Precondition: "unknown_precondition", HelpMessage: "power the server off or terminate it"})
		return
	}
	srv.DeletedAt = now.UTC()
	if vol := s.findVolume(srv.VolumeID); vol != nil {
		vol.DetachedAt = now.Add(s.Opts.BootTime / 4).UTC()
	}
	if !s.Saved(w) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNoContent)
}

func (s *StandIn) listUserData(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	srv, ok := s.server(r, s.Now())
	if !ok {
		notFound(w, "instance_server", r.PathValue("id"))
		return
	}
	keys := make([]string, 0, len(srv.UserData))
	for k := range srv.UserData {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	standin.WriteJSON(w, http.StatusOK, userDataKeys{UserData: keys})
}

func (s *StandIn) getUserData(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	srv, ok := s.server(r, s.Now())
	if !ok {
		notFound(w, "instance_server", r.PathValue("id"))
		return
	}
	text, ok := srv.UserData[r.PathValue("key")]
	if !ok {
		notFound(w, "instance_user_data", r.PathValue("key"))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, text)
}

func (s *StandIn) setUserData(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		invalidArgument(w, "content-type", "constraint", "user data must be sent as text/plain")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil || len(body) > 1<<20 {
		invalidArgument(w, "content", "constraint", "user data must be at most 1 MiB")
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	srv, ok := s.server(r, s.Now())
	if !ok {
		notFound(w, "instance_server", r.PathValue("id"))
		return
	}
	srv.UserData[r.PathValue("key")] = string(body)
	if !s.Saved(w) {
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusNoContent)
}

func (s *StandIn) findVolume(id string) *volumeRecord {
	for _, v := range s.State.Volumes {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// volume finds a volume that still exists in the request's zone; the
// caller holds s.Mu.
func (s *StandIn) volume(r *http.Request) (*volumeRecord, bool) {
	v := s.findVolume(r.PathValue("id"))
	if v == nil || v.Zone != r.PathValue("zone") || !v.DeletedAt.IsZero() {
		return nil, false
	}
	return v, true
}

// volumeView renders a volume as the Block API's Volume; the caller holds
// s.Mu.
func (s *StandIn) volumeView(v *volumeRecord, now time.Time) blockVolume {
	b := blockVolume{
		ID: v.ID, Name: v.Name, Type: "sbs_5k", Size: v.Size, ProjectID: v.Project,
		CreatedAt: blockStamp(v.CreatedAt), UpdatedAt: blockStamp(v.CreatedAt),
		References: []volumeRef{}, Status: "in_use", Tags: standin.NonNil(v.Tags),
		Specs: volumeSpecs{PerfIOPS: 5000, Class: "sbs"}, Zone: v.Zone,
	}
	ref := volumeRef{ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte("ref/"+v.ID)).String(), ProductResourceType: "instance_server",
		ProductResourceID: v.ServerID, CreatedAt: blockStamp(v.CreatedAt), Type: "exclusive", Status: "attached"}
	switch {
	case v.DetachedAt.IsZero():
		b.References = []volumeRef{ref}
	case now.Before(v.DetachedAt):
		ref.Status = "detaching"
		b.References = []volumeRef{ref}
	default:
		at := blockStamp(v.DetachedAt)
		b.Status, b.UpdatedAt, b.LastDetachedAt = "available", at, &at
	}
	return b
}

func (s *StandIn) getVolume(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	v, ok := s.volume(r)
	if !ok {
		notFound(w, "volume", r.PathValue("id"))
		return
	}
	standin.WriteJSON(w, http.StatusOK, s.volumeView(v, s.Now()))
}

// listVolumes answers the Block API's ListVolumes, filtered by project as
// the adapter asks.
func (s *StandIn) listVolumes(w http.ResponseWriter, r *http.Request) {
	zone, ok := s.knownZone(w, r)
	if !ok {
		return
	}
	project := r.URL.Query().Get("project_id")
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	var match []blockVolume
	for _, v := range s.State.Volumes {
		if v.Zone == zone && v.DeletedAt.IsZero() && (project == "" || v.Project == project) {
			match = append(match, s.volumeView(v, now))
		}
	}
	start, end := paging(r, blockPageSize, len(match))
	standin.WriteJSON(w, http.StatusOK, blockVolumeList{Volumes: standin.NonNil(match[start:end]), TotalCount: len(match)})
}

// updateVolume answers the Block API's UpdateVolume: a new name or tags.
// The stand-in's volumes keep their size and IOPS.
func (s *StandIn) updateVolume(w http.ResponseWriter, r *http.Request) {
	var req block.UpdateVolumeRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	if req.Size != nil || req.PerfIops != nil {
		invalidArgument(w, "size", "constraint", "the stand-in does not resize volumes or change their IOPS")
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	v, ok := s.volume(r)
	if !ok {
		notFound(w, "volume", r.PathValue("id"))
		return
	}
	if req.Name != nil {
		v.Name = *req.Name
	}
	if req.Tags != nil {
		v.Tags = slices.Clone(*req.Tags)
	}
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, s.volumeView(v, s.Now()))
}

func (s *StandIn) deleteVolume(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	v, ok := s.volume(r)
	if !ok {
		notFound(w, "volume", r.PathValue("id"))
		return
	}
	if len(s.volumeView(v, now).References) > 0 {
		writeError(w, http.StatusPreconditionFailed, errorEnvelope{Type: "precondition_failed", Message: "resource is still in use",
			Precondition: "resource_still_in_use", HelpMessage: "detach the volume before deleting it"})
		return
	}
	v.DeletedAt = now.UTC()
	if !s.Saved(w) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNoContent)
}
