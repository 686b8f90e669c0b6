package digitalocean

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// tagPattern is the description's pattern for a tag name (tags/models/tag.yml).
var tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_\-\:]+$`)

// maxUserData is DigitalOcean's limit on user data (64 KiB, droplet_create.yml).
const maxUserData = 64 << 10

// StandIn is an in-memory DigitalOcean API v2 for GPU Droplets: sizes
// whose regions list where they can be created now, SSH keys, Droplets
// that boot in Options.BootTime and become reachable on a loopback host,
// pagination, the rate-limit headers, and errors in DigitalOcean's error
// model, with state kept in Options.StatePath across restarts.
type StandIn struct {
	standin.HTTPBase[state]
	sizes   map[string]seedSize
	order   []seedSize
	regions map[string]regionBody
	// dropletLimit, when set, caps the account's Droplets.
	dropletLimit int
}

// state is what the stand-in persists.
type state struct {
	Droplets  map[string]*record    `json:"droplets"`
	Keys      []sshKey              `json:"ssh_keys"`
	Volumes   map[string]*volRecord `json:"volumes,omitempty"`
	Firewalls map[string]*fwRecord  `json:"firewalls,omitempty"`
	NextID    int                   `json:"next_id"`
}

// record is one Droplet as the stand-in keeps it; its status follows
// from CreatedAt and the boot time.
type record struct {
	ID        int       `json:"id"`
	Name      string    `json:"name"`
	Size      string    `json:"size"`
	Region    string    `json:"region"`
	Image     string    `json:"image"`
	SSHKeys   []string  `json:"ssh_keys"`
	UserData  string    `json:"user_data"`
	Tags      []string  `json:"tags"`
	CreatedAt time.Time `json:"created_at"`
	IP        string    `json:"ip,omitempty"`
	Port      int       `json:"port,omitempty"`
	PrivateIP string    `json:"private_ip"`
	// Off: the Droplet was powered off (and not on again since).
	Off bool `json:"off,omitempty"`
	// Volumes are the ids of the volumes attached at create, Mounts where
	// the machine shows them.
	Volumes []string        `json:"volumes,omitempty"`
	Mounts  []standin.Mount `json:"mounts,omitempty"`
}

// Create is what the stand-in received for one Droplet, for tests.
type Create struct {
	Name, Size, Region, Image, UserData string
	Tags                                []string
	// PublicKeys are the account keys the request named.
	PublicKeys []string
}

// NewStandIn returns a stand-in seeded with DigitalOcean's GPU sizes and
// the Droplets saved at o.StatePath, whose hosts are reopened.
func NewStandIn(o standin.Options) (*StandIn, error) {
	s := &StandIn{sizes: map[string]seedSize{}, order: seedSizes, regions: map[string]regionBody{}}
	for _, z := range seedSizes {
		s.sizes[z.s.Slug] = z
	}
	for _, r := range seedRegions {
		s.regions[r.Slug] = r
	}
	if err := s.Open(Name, o, s.machines); err != nil {
		return nil, err
	}
	s.Refresh = s.refresh
	if s.State.Droplets == nil {
		s.State.Droplets = map[string]*record{}
	}
	s.Mu.Lock()
	err := s.refresh()
	s.Mu.Unlock()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/sizes", s.listSizes)
	mux.HandleFunc("GET /v2/account/keys/{key}", s.getKey)
	mux.HandleFunc("POST /v2/account/keys", s.createKey)
	mux.HandleFunc("GET /v2/droplets", s.listDroplets)
	mux.HandleFunc("POST /v2/droplets", s.createDroplet)
	mux.HandleFunc("GET /v2/droplets/{id}", s.getDroplet)
	mux.HandleFunc("DELETE /v2/droplets/{id}", s.deleteDroplet)
	mux.HandleFunc("POST /v2/droplets/{id}/actions", s.dropletAction)
	mux.HandleFunc("GET /v2/firewalls", s.listFirewalls)
	mux.HandleFunc("POST /v2/firewalls", s.createFirewall)
	mux.HandleFunc("GET /v2/firewalls/{id}", s.getFirewall)
	mux.HandleFunc("DELETE /v2/firewalls/{id}", s.deleteFirewall)
	mux.HandleFunc("POST /v2/firewalls/{id}/droplets", s.addDroplets)
	mux.HandleFunc("GET /v2/volumes", s.listVolumes)
	mux.HandleFunc("POST /v2/volumes", s.createVolume)
	mux.HandleFunc("GET /v2/volumes/{id}", s.getVolume)
	mux.HandleFunc("DELETE /v2/volumes/{id}", s.deleteVolume)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
	})
	s.Serve(s.limit(s.authorize(mux)), faultBody)
	o.Capacity.Register(Name, &s.Mu, s.capacities)
	return s, nil
}

// SetDropletLimit caps the account's Droplets (0: no cap), as
// DigitalOcean's per-account Droplet limit does.
func (s *StandIn) SetDropletLimit(n int) {
	s.Mu.Lock()
	s.dropletLimit = n
	s.Mu.Unlock()
}

// Created returns what the stand-in received when Droplet id was created.
func (s *StandIn) Created(id string) (Create, bool) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	rec, ok := s.State.Droplets[id]
	if !ok {
		return Create{}, false
	}
	c := Create{Name: rec.Name, Size: rec.Size, Region: rec.Region, Image: rec.Image, UserData: rec.UserData, Tags: slices.Clone(rec.Tags)}
	for _, k := range s.State.Keys {
		if slices.Contains(rec.SSHKeys, k.Fingerprint) {
			c.PublicKeys = append(c.PublicKeys, k.PublicKey)
		}
	}
	return c, true
}

// machines lists the Droplets for the base: their hosts to close and
// their console entries. refresh opens a host as its Droplet becomes
// active, after a restart too.
func (s *StandIn) machines() []standin.Host {
	now := s.Now()
	out := make([]standin.Host, 0, len(s.State.Droplets))
	for id, rec := range s.State.Droplets {
		e := standin.ConsoleEntry{Vendor: Name, ID: id, Name: rec.Name, State: s.status(rec, now), Live: true,
			InstanceType: rec.Size, Region: rec.Region, Tags: slices.Clone(rec.Tags), CreatedAt: rec.CreatedAt}
		if s.Hosted(id) {
			e.IP, e.SSHPort = rec.IP, rec.Port
		}
		out = append(out, standin.Host{ID: id, IP: &rec.IP, Port: &rec.Port, Machine: s.machine(rec), Console: e})
	}
	return out
}

// machine is what the Droplet received at create (the account keys go
// to root on a real Droplet, and so does the key of supply's cloud-init),
// with the ports its firewalls open.
func (s *StandIn) machine(rec *record) standin.Machine {
	return standin.Machine{Vendor: Name, ID: strconv.Itoa(rec.ID), Name: rec.Name, UserDataField: "user_data", UserData: rec.UserData,
		Mounts: rec.Mounts, Ports: s.openedPorts(rec)}
}

func (s *StandIn) status(rec *record, now time.Time) string {
	if rec.Off {
		return statusOff
	}
	if now.Before(rec.CreatedAt.Add(s.Opts.BootTime)) {
		return statusNew
	}
	return statusActive
}

// refresh opens the host of every Droplet that became active (at its
// previous address after a restart) and closes that of one powered off
// (standin.SyncHosts). s.Mu must be held.
func (s *StandIn) refresh() error {
	now := s.Now()
	return standin.SyncHosts(&s.Base, s.State.Droplets, standin.Machines[record]{
		Phase: func(rec *record) standin.HostPhase {
			if s.status(rec, now) == statusActive {
				return standin.HostRunning
			}
			return standin.HostDown
		},
		Addr:    func(rec *record) (*string, *int) { return &rec.IP, &rec.Port },
		Machine: s.machine,
	})
}

// locked runs f under the lock after a refresh.
func (s *StandIn) locked(w http.ResponseWriter, f func(now time.Time)) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if err := s.refresh(); err != nil {
		writeError(w, http.StatusInternalServerError, "server_error", "Server Error: "+err.Error())
		return
	}
	f(s.Now())
}

// limit sends DigitalOcean's rate-limit headers on every answer and
// answers 429 past the per-minute budget, with retry-after (description.yml,
// "Rate Limit": "API rate limit exceeded").
func (s *StandIn) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := s.Now()
		win := s.Limiter.Take(now)
		if win.Limit > 0 {
			w.Header().Set("ratelimit-limit", strconv.Itoa(win.Limit))
			w.Header().Set("ratelimit-remaining", strconv.Itoa(win.Remaining))
			w.Header().Set("ratelimit-reset", strconv.FormatInt(now.Unix()+win.Reset, 10))
		}
		if win.Over {
			w.Header().Set("retry-after", strconv.FormatInt(win.Reset, 10))
			writeError(w, http.StatusTooManyRequests, "too_many_requests", "API rate limit exceeded.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorize checks the bearer token.
func (s *StandIn) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || s.Opts.APIKey != "" && token != s.Opts.APIKey {
			writeError(w, http.StatusUnauthorized, "unauthorized", "Unable to authenticate you.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// live counts the Droplets per size/region, which hold stock.
func (s *StandIn) live() map[string]int {
	n := map[string]int{}
	for _, rec := range s.State.Droplets {
		n[rec.Size+"/"+rec.Region]++
	}
	return n
}

func (s *StandIn) capacity(z seedSize, region string, live map[string]int, now time.Time) standin.Level {
	key := z.s.Slug + "/" + region
	count := 0
	if z.s.GPUInfo != nil {
		count = z.s.GPUInfo.Count
	}
	item := standin.Item{Vendor: Name, InstanceType: z.s.Slug, Region: region, Contract: standin.OnDemand, GPUCount: count, NodeCount: 1}
	return s.Opts.Level(item, z.stock[region]-live[key], 0.05, key, now)
}

// capacities lists every GPU size in every region that sells it, for the
// sandbox's capacity ledger; the caller holds s.Mu.
func (s *StandIn) capacities() []standin.Level {
	live, now := s.live(), s.Now()
	var out []standin.Level
	for _, z := range s.order {
		if z.s.GPUInfo == nil {
			continue
		}
		for _, r := range slices.Sorted(maps.Keys(z.stock)) {
			out = append(out, s.capacity(z, r, live, now))
		}
	}
	return out
}

func (s *StandIn) hasCapacity(z seedSize, region string, live map[string]int, now time.Time) bool {
	return s.Opts.Capacity.Free(s.capacity(z, region, live, now)) > 0
}

// render is a size as GET /v2/sizes shows it now: the regions where it
// can be created, and available when there is one.
func (s *StandIn) render(z seedSize, live map[string]int, now time.Time) sizeBody {
	out := z.s
	out.Regions = []string{}
	for _, r := range seedRegions {
		if _, sold := z.stock[r.Slug]; sold && s.hasCapacity(z, r.Slug, live, now) {
			out.Regions = append(out.Regions, r.Slug)
		}
	}
	out.Available = len(out.Regions) > 0
	return out
}

// page cuts a listing by the page and per_page query (default 20, at most
// 200, as shared/parameters.yml says) and makes its links.
func page[T any](r *http.Request, all []T) ([]T, pageLinks) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	per = min(cmp.Or(max(per, 0), 20), 200)
	n, _ := strconv.Atoi(q.Get("page"))
	n = max(n, 1)
	last := max((len(all)+per-1)/per, 1)
	link := func(p int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(per))
		return "https://api.digitalocean.com" + r.URL.Path + "?" + v.Encode()
	}
	var links pageLinks
	if n < last {
		links.Pages = &pages{Next: link(n + 1), Last: link(last)}
	} else if n > 1 {
		links.Pages = &pages{First: link(1), Prev: link(n - 1)}
	}
	from := min((n-1)*per, len(all))
	return all[from:min(from+per, len(all))], links
}

func (s *StandIn) listSizes(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(now time.Time) {
		live := s.live()
		all := make([]sizeBody, 0, len(s.order))
		for _, z := range s.order {
			all = append(all, s.render(z, live, now))
		}
		got, links := page(r, all)
		standin.WriteJSON(w, http.StatusOK, sizesList{Sizes: got, Links: links, Meta: meta{Total: len(all)}})
	})
}

// findKey is the account key named by id or fingerprint, or -1.
func (s *StandIn) findKey(idOrFingerprint string) int {
	return slices.IndexFunc(s.State.Keys, func(k sshKey) bool {
		return k.Fingerprint == idOrFingerprint || strconv.Itoa(k.ID) == idOrFingerprint
	})
}

func (s *StandIn) getKey(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		i := s.findKey(r.PathValue("key"))
		if i < 0 {
			writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
			return
		}
		standin.WriteJSON(w, http.StatusOK, sshKeyAnswer{SSHKey: s.State.Keys[i]})
	})
}

func (s *StandIn) createKey(w http.ResponseWriter, r *http.Request) {
	var req keyCreate
	if !decode(w, r, &req) {
		return
	}
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(req.PublicKey))
	if err != nil || req.Name == "" {
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "Key invalid, key should be of the form 'type key [comment]'")
		return
	}
	s.locked(w, func(time.Time) {
		fp := ssh.FingerprintLegacyMD5(key)
		if s.findKey(fp) >= 0 {
			writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "SSH Key is already in use on your account")
			return
		}
		s.State.NextID++
		k := sshKey{ID: s.State.NextID, Fingerprint: fp, PublicKey: strings.TrimSpace(req.PublicKey), Name: req.Name}
		s.State.Keys = append(s.State.Keys, k)
		if !s.Saved(w) {
			return
		}
		standin.WriteJSON(w, http.StatusCreated, sshKeyAnswer{SSHKey: k})
	})
}

// validateCreate checks a create body as the description does and
// returns the complaint, or "".
func validateCreate(req createRequest) string {
	switch {
	case len(req.Names) > 0:
		return "The stand-in creates one Droplet at a time: send name, not names."
	case req.Name == "" || req.Size == "" || req.Image == nil:
		return "name, size and image are required."
	case len(req.UserData) > maxUserData:
		return "user_data may not exceed 64 KiB."
	}
	for _, t := range req.Tags {
		if !tagPattern.MatchString(t) || len(t) > 255 {
			return fmt.Sprintf("Tag %q is invalid: tags may contain letters, numbers, colons, dashes, and underscores.", t)
		}
	}
	return ""
}

func (s *StandIn) createDroplet(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !decode(w, r, &req) {
		return
	}
	if msg := validateCreate(req); msg != "" {
		writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", msg)
		return
	}
	s.locked(w, func(now time.Time) {
		z, okSize := s.sizes[req.Size]
		_, okRegion := s.regions[req.Region]
		var keys []string
		for _, k := range req.SSHKeys {
			i := s.findKey(fmt.Sprint(k))
			if i < 0 {
				writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", fmt.Sprintf("SSH key %v not found.", k))
				return
			}
			keys = append(keys, s.State.Keys[i].Fingerprint)
		}
		volumes, mounts, complaint := s.attach(req)
		live := s.live()
		switch {
		case complaint != "":
			writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", complaint)
		case !okSize:
			writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "You specified an invalid size for Droplet creation.")
		case !okRegion:
			writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "You specified an invalid region for Droplet creation.")
		case s.dropletLimit > 0 && len(s.State.Droplets) >= s.dropletLimit:
			writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "creating this/these droplet(s) will exceed your droplet limit")
		case !s.hasCapacity(z, req.Region, live, now):
			// The words of DigitalOcean's refusal of a size a region
			// cannot create now.
			writeError(w, http.StatusUnprocessableEntity, "unprocessable_entity", "Size is not available in this region.")
		default:
			s.State.NextID++
			id := s.State.NextID
			rec := &record{ID: id, Name: req.Name, Size: req.Size, Region: req.Region, Image: fmt.Sprint(req.Image),
				SSHKeys: keys, UserData: req.UserData, Tags: req.Tags, CreatedAt: now, Volumes: volumes, Mounts: mounts,
				PrivateIP: fmt.Sprintf("10.116.%d.%d", id/250%250, id%250+2)}
			s.State.Droplets[strconv.Itoa(id)] = rec
			if !s.Saved(w) {
				return
			}
			standin.WriteJSON(w, http.StatusAccepted, dropletCreated{Droplet: s.droplet(rec, now),
				Links: createdLinks{Actions: []actionLink{{ID: 7000000 + id, Rel: "create", HREF: fmt.Sprintf("https://api.digitalocean.com/v2/actions/%d", 7000000+id)}}}})
		}
	})
}

func (s *StandIn) listDroplets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("type") == "gpus" && q.Get("tag_name") != "" {
		writeError(w, http.StatusBadRequest, "bad_request", "type and tag_name cannot be combined.")
		return
	}
	s.locked(w, func(now time.Time) {
		all := []dropletBody{}
		for _, id := range slices.SortedFunc(maps.Keys(s.State.Droplets), func(a, b string) int {
			return s.State.Droplets[a].ID - s.State.Droplets[b].ID
		}) {
			rec := s.State.Droplets[id]
			gpus := s.sizes[rec.Size].s.GPUInfo != nil
			if gpus != (q.Get("type") == "gpus") ||
				q.Get("tag_name") != "" && !slices.Contains(rec.Tags, q.Get("tag_name")) ||
				q.Get("name") != "" && rec.Name != q.Get("name") {
				continue
			}
			all = append(all, s.droplet(rec, now))
		}
		got, links := page(r, all)
		standin.WriteJSON(w, http.StatusOK, dropletsList{Droplets: got, Links: links, Meta: meta{Total: len(all)}})
	})
}

func (s *StandIn) getDroplet(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(now time.Time) {
		rec := s.State.Droplets[r.PathValue("id")]
		if rec == nil {
			writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
			return
		}
		standin.WriteJSON(w, http.StatusOK, dropletAnswer{Droplet: s.droplet(rec, now)})
	})
}

// deleteDroplet destroys a Droplet at once: DigitalOcean answers 204 and
// then 404 for it.
func (s *StandIn) deleteDroplet(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		id := r.PathValue("id")
		if s.State.Droplets[id] == nil {
			writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
			return
		}
		s.RemoveHost(id)
		s.unassign(s.State.Droplets[id].ID)
		delete(s.State.Droplets, id)
		if !s.Saved(w) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// droplet is a Droplet as the API shows it.
func (s *StandIn) droplet(rec *record, now time.Time) dropletBody {
	z := s.sizes[rec.Size].s
	z.Regions = []string{rec.Region}
	status := s.status(rec, now)
	out := dropletBody{
		ID: rec.ID, Name: rec.Name, Memory: z.Memory, VCPUs: z.VCPUs, Disk: z.Disk, DiskInfo: z.DiskInfo,
		Status: status, CreatedAt: rec.CreatedAt.UTC().Format(time.RFC3339),
		Features: []string{"monitoring", "droplet_agent", "private_networking"}, BackupIDs: []int{}, SnapshotIDs: []int{},
		Image: imageBody{ID: 170000000, Name: "AI/ML Ready", Type: "base", Distribution: "Ubuntu", Slug: rec.Image, Public: true,
			Regions: []string{rec.Region}, CreatedAt: "2025-01-15T00:00:00Z", MinDiskSize: 30, SizeGB: 12.5,
			Description: "Ubuntu 22.04 with GPU drivers", Tags: []string{}, Status: "available"},
		VolumeIDs: append([]string{}, rec.Volumes...), Size: z, SizeSlug: rec.Size, Region: s.region(rec), Tags: append([]string{}, rec.Tags...),
		Networks: networks{V4: []networkV4{}, V6: []struct{}{}}, GPUInfo: z.GPUInfo,
	}
	if status == statusActive {
		out.Networks.V4 = append(out.Networks.V4, networkV4{IPAddress: rec.PrivateIP, Netmask: "255.255.240.0", Gateway: "10.116.0.1", Type: "private"})
		if s.Hosted(strconv.Itoa(rec.ID)) {
			out.Networks.V4 = append(out.Networks.V4, networkV4{IPAddress: rec.IP, Netmask: "255.255.255.0", Gateway: rec.IP, Type: "public"})
		}
	}
	return out
}

// region is the Droplet's region as its answers embed it.
func (s *StandIn) region(rec *record) regionBody {
	r := s.regions[rec.Region]
	r.Features, r.Available, r.Sizes = []string{"backups", "ipv6", "metadata", "install_agent", "storage"}, true, []string{rec.Size}
	return r
}

// faultBody is an injected failure in DigitalOcean's error model.
func faultBody(status int, message string) (string, []byte) {
	id := strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
	if status >= 500 {
		id = "server_error"
	}
	b, _ := json.Marshal(apiError{ID: id, Message: cmp.Or(message, http.StatusText(status))})
	return "application/json", b
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 2*maxUserData)).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "Invalid request body: "+err.Error())
		return false
	}
	return true
}

func writeError(w http.ResponseWriter, status int, id, message string) {
	standin.WriteJSON(w, status, apiError{ID: id, Message: message, RequestID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", time.Now().UnixNano()&0xffffffff)})
}
