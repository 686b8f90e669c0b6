package runpod

import (
	"cmp"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// capacityDetail is RunPod's answer when no machine can take a pod.
const capacityDetail = "There are no longer any instances available with the requested specifications. Please refresh and try again."

// StandIn is an in-memory RunPod: the GPU catalog with availability per
// data centre, pods that provision, start and get a direct SSH address
// whose port answers, clusters of pods, and deletion. Paths start /v2/,
// so an adapter's BaseURL is the server's URL.
type StandIn struct {
	standin.HTTPBase[savedState]
	offerings []offering

	// balance is the account's credit in USD (0: unlimited); a pod needs
	// an hour of its cost.
	balance float64
	// denied are the GPU types whose pool the account cannot access.
	denied map[string]bool
	// typeNames are the instance types of the shapes asked for (typeName).
	typeNames map[shape]string
}

// savedState is what survives a restart.
type savedState struct {
	Pods     []*podRecord     `json:"pods"`
	Clusters []*clusterRecord `json:"clusters"`
	// Volumes are the account's network volumes.
	Volumes []*volumeRecord `json:"network_volumes,omitempty"`
}

type podRecord struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Image     string            `json:"image"`
	Args      string            `json:"args"`
	Disk      int               `json:"disk"`
	Env       map[string]string `json:"env"`
	Ports     []string          `json:"ports"`
	GPU       string            `json:"gpu"`
	GPUCount  int               `json:"gpu_count"`
	Cloud     string            `json:"cloud"`
	DC        string            `json:"data_center"`
	ClusterID string            `json:"cluster_id,omitempty"`
	Rank      int               `json:"rank"`
	CreatedAt time.Time         `json:"created_at"`
	// DeletedAt is when the pod was terminated (zero: live).
	DeletedAt time.Time `json:"deleted_at,omitzero"`
	// IP and SSHPort are the sandbox host, once the pod has run.
	IP      string `json:"ip,omitempty"`
	SSHPort int    `json:"ssh_port,omitempty"`
	// StoppedAt and StartedAt are when the pod was last stopped and
	// started (zero: never).
	StoppedAt time.Time `json:"stopped_at,omitzero"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// Mounts are the network volumes mounted at create.
	Mounts []networkMount `json:"mounts,omitempty"`
	// PortMap is where the pod's other ports listen on its host.
	PortMap []standin.OpenPort `json:"port_map,omitempty"`
}

type clusterRecord struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Type      string         `json:"type"`
	Compute   clusterCompute `json:"compute"`
	DC        string         `json:"data_center"`
	CreatedAt time.Time      `json:"created_at"`
	DeletedAt time.Time      `json:"deleted_at,omitzero"`
}

// NewStandIn starts a stand-in, reloading its pods from o.StatePath and
// reopening the hosts of those that were running.
func NewStandIn(o standin.Options) (*StandIn, error) {
	s := &StandIn{offerings: seedOfferings(o.Scale), typeNames: map[shape]string{}}
	if err := s.Open(Name, o, s.machines); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/catalog/gpus", s.listGPUs)
	mux.HandleFunc("GET /v2/catalog/datacenters", s.listDataCenters)
	mux.HandleFunc("GET /v2/pods", s.listPods)
	mux.HandleFunc("POST /v2/pods", s.createPod)
	mux.HandleFunc("GET /v2/pods/{id}", s.getPod)
	mux.HandleFunc("DELETE /v2/pods/{id}", s.deletePod)
	mux.HandleFunc("POST /v2/pods/{id}/action", s.podAction)
	mux.HandleFunc("GET /v2/clusters", s.listClusters)
	mux.HandleFunc("POST /v2/clusters", s.createCluster)
	mux.HandleFunc("GET /v2/clusters/{id}", s.getCluster)
	mux.HandleFunc("DELETE /v2/clusters/{id}", s.deleteCluster)
	mux.HandleFunc("GET /v2/clusters/{id}/pods", s.listClusterPods)
	mux.HandleFunc("GET /v2/network-volumes", s.listVolumes)
	mux.HandleFunc("POST /v2/network-volumes", s.createVolume)
	mux.HandleFunc("GET /v2/network-volumes/{id}", s.getVolume)
	mux.HandleFunc("DELETE /v2/network-volumes/{id}", s.deleteVolume)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "resource not found")
	})
	s.Serve(s.authorize(s.limit(mux)), faultBody)
	o.Capacity.Register(Name, &s.Mu, s.capacities)
	return s, nil
}

// SetBalance sets the account's credit in USD; a pod whose first hour
// costs more is refused with 402 (0: unlimited, the default).
func (s *StandIn) SetBalance(usd float64) {
	s.Mu.Lock()
	s.balance = usd
	s.Mu.Unlock()
}

// DenyPool makes the GPU type's pool one the account cannot access:
// creating a pod or cluster of it is refused with 403, as createPod
// documents ("Your account cannot access the requested pool").
func (s *StandIn) DenyPool(gpuID string) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if s.denied == nil {
		s.denied = map[string]bool{}
	}
	s.denied[gpuID] = true
}

// machines lists the pods for the base: their hosts to reopen and close,
// and their console entries.
func (s *StandIn) machines() []standin.Host {
	now := s.Now()
	out := make([]standin.Host, 0, len(s.State.Pods))
	for _, p := range s.State.Pods {
		var tags []string
		for _, k := range []string{envResource, envCluster} {
			if id := p.Env[k]; id != "" {
				tags = append(tags, k+"="+id)
			}
		}
		status := s.view(p, now).Status
		if !p.DeletedAt.IsZero() {
			status = statusTerminated
		}
		out = append(out, standin.Host{ID: p.ID, IP: &p.IP, Port: &p.SSHPort, Live: p.DeletedAt.IsZero() && !s.stopped(p, now), Machine: machine(p),
			Console: standin.ConsoleEntry{Vendor: Name, ID: p.ID, Name: p.Name, State: status, Live: p.DeletedAt.IsZero(),
				InstanceType: shape{gpuID: p.GPU, count: p.GPUCount, cloud: p.Cloud, cluster: p.ClusterID != ""}.String(),
				Region:       p.DC, IP: p.IP, SSHPort: p.SSHPort, Tags: tags, CreatedAt: p.CreatedAt}})
	}
	return out
}

// machine is what the pod received: root's key in its PUBLIC_KEY
// environment variable (RunPod's way; its images start sshd with it) and
// the container's start command, which carries supply's start-up script.
func machine(p *podRecord) standin.Machine {
	return standin.Machine{Vendor: Name, ID: p.ID, Name: p.Name, Keys: []string{p.Env[envKey]},
		UserDataField: "args", UserData: p.Args, Startup: bootScript(p.Args), Mounts: sandboxMounts(p.Mounts), Ports: podPorts(p)}
}

// newID makes a RunPod-looking id ("7h9k2m4n6p...").
func newID() string { return strings.ToLower(rand.Text()[:14]) }

// authorize checks the bearer token before anything else, as RunPod's
// gateway does.
func (s *StandIn) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case !ok || token == "":
			writeProblem(w, http.StatusUnauthorized, "missing bearer token")
		case s.Opts.APIKey != "" && token != s.Opts.APIKey:
			writeProblem(w, http.StatusUnauthorized, "invalid bearer token")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// limit answers 429 past the per-minute budget with Retry-After and the
// IETF RateLimit headers RunPod sends.
func (s *StandIn) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if win := s.Limiter.Take(s.Now()); win.Limit > 0 {
			w.Header().Set("RateLimit", fmt.Sprintf(`"minute";r=%d;t=%d`, win.Remaining, win.Reset))
			w.Header().Set("RateLimit-Policy", fmt.Sprintf(`"minute";q=%d;w=60`, win.Limit))
			if win.Over {
				w.Header().Set("Retry-After", strconv.FormatInt(win.Reset, 10))
				writeProblem(w, http.StatusTooManyRequests, "rate limit exceeded for the minute window")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// faultBody is the problem+json body of an injected failure.
func faultBody(status int, message string) (string, []byte) {
	b, _ := json.Marshal(problem{Title: http.StatusText(status), Status: status, Detail: cmp.Or(message, strings.ToLower(http.StatusText(status)))})
	return "application/problem+json", b
}

func writeProblem(w http.ResponseWriter, status int, detail string, errs ...string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(problem{Title: http.StatusText(status), Status: status, Detail: detail, Errors: errs})
}

// capacity is what the stock model says of the pods of count GPUs an
// offering can place now, or (nodes > 1) of its clusters of nodes such
// pods: its GPUs not taken by live pods, in whole units, or none while it
// flickers out, as a little stock does over time. The caller holds s.Mu.
func (s *StandIn) capacity(o offering, count, nodes int, now time.Time) standin.Level {
	n := o.stock
	for _, p := range s.State.Pods {
		if p.DeletedAt.IsZero() && p.GPU == o.gpu.id && p.Cloud == o.cloud && p.DC == o.dc && !s.stopped(p, now) {
			n -= p.GPUCount
		}
	}
	item := standin.Item{Vendor: Name, InstanceType: s.typeName(shape{gpuID: o.gpu.id, count: count, cloud: o.cloud, cluster: nodes > 1}),
		Region: o.dc, Contract: standin.OnDemand, GPUCount: count * nodes, NodeCount: nodes}
	return s.Opts.Level(item, max(n, 0)/(count*nodes), 0.05, o.dc+"/"+o.gpu.id+"/"+o.cloud, now)
}

// typeName is a shape's instance type as the adapter names it, made once
// per shape: a catalog read asks for it in every data centre. The caller
// holds s.Mu.
func (s *StandIn) typeName(sh shape) string {
	name, ok := s.typeNames[sh]
	if !ok {
		name = sh.String()
		s.typeNames[sh] = name
	}
	return name
}

// capacities lists, for the sandbox's capacity ledger, every shape an
// adapter's catalog offers of every offering: pods of each of podCounts
// GPUs its cloud sells, and in the secure cloud clusters of each of
// clusterSizes full pods. The caller holds s.Mu.
func (s *StandIn) capacities() []standin.Level {
	now := s.Now()
	var out []standin.Level
	for _, o := range s.offerings {
		if o.gpu.listPrice(o.cloud) <= 0 {
			continue
		}
		for _, count := range podCounts {
			if count <= o.gpu.maxCount(o.cloud) {
				out = append(out, s.capacity(o, count, 1, now))
			}
		}
		if o.cloud == cloudSecure && clusterGPUsPerNode <= o.gpu.maxCount(o.cloud) {
			for _, nodes := range clusterSizes {
				out = append(out, s.capacity(o, clusterGPUsPerNode, nodes, now))
			}
		}
	}
	return out
}

// free is how many pods of count GPUs (or clusters of nodes of them) an
// offering can place now, as the sandbox's capacity ledger has it; the
// caller holds s.Mu.
func (s *StandIn) free(o offering, count, nodes int, now time.Time) int {
	return s.Opts.Capacity.Free(s.capacity(o, count, nodes, now))
}

// level is RunPod's availability level for units placeable shapes.
func level(units int) string {
	switch {
	case units <= 0:
		return availNone
	case units == 1:
		return availLow
	case units < 4:
		return availMedium
	}
	return availHigh
}

var levelRank = map[string]int{availNone: 0, availLow: 1, availMedium: 2, availHigh: 3}

// catalogQuery is listGpuTypes' parameters.
type catalogQuery struct {
	availability bool
	products     []string
	cloud        string
	count        int
}

// parseCatalogQuery applies the spec's rules: include=AVAILABILITY needs
// product, and product, count and cloud are valid only with it.
func parseCatalogQuery(r *http.Request) (catalogQuery, int, string) {
	q := r.URL.Query()
	c := catalogQuery{cloud: cloudSecure, count: 1}
	include := q.Get("include")
	if include != "" && include != "AVAILABILITY" {
		return c, http.StatusUnprocessableEntity, "include: unsupported value " + include
	}
	c.availability = include != ""
	if p := q.Get("product"); p != "" {
		c.products = strings.Split(p, ",")
	}
	for _, p := range c.products {
		if p != "POD" && p != "CLUSTER" && p != "SERVERLESS" {
			return c, http.StatusUnprocessableEntity, "product: unsupported value " + p
		}
	}
	if c.availability != (len(c.products) > 0) {
		return c, http.StatusBadRequest, "include=AVAILABILITY and product must be sent together"
	}
	if !c.availability && (q.Has("count") || q.Has("cloud")) {
		return c, http.StatusBadRequest, "count and cloud are valid only with include=AVAILABILITY"
	}
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, http.StatusUnprocessableEntity, "count must be an integer of at least 1"
		}
		c.count = n
	}
	if v := q.Get("cloud"); v != "" {
		if v != cloudSecure && v != cloudCommunity {
			return c, http.StatusUnprocessableEntity, "cloud must be SECURE or COMMUNITY"
		}
		c.cloud = v
	}
	return c, 0, ""
}

func (s *StandIn) listGPUs(w http.ResponseWriter, r *http.Request) {
	q, status, detail := parseCatalogQuery(r)
	if status != 0 {
		writeProblem(w, status, detail)
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	// gpuList, written a GPU type at a time: each lists every data centre.
	st := standin.NewStream(w, http.StatusOK, `{"gpus":[`)
	for _, g := range seedGPUs {
		t := s.gpuType(g, now)
		if q.availability {
			t.Availability = availNone
			for _, product := range q.products {
				for _, dc := range s.availability(g, product, q.cloud, q.count, now) {
					if levelRank[dc.Availability] > levelRank[t.Availability] {
						t.Availability = dc.Availability
					}
					t.DataCenters = append(t.DataCenters, dc)
				}
			}
			if t.Availability == availNone {
				// Unavailable everywhere: the array is omitted entirely.
				t.DataCenters = nil
			}
			if g.maker == "NVIDIA" {
				t.CUDAVersions = []cudaVersionAvail{{Version: "12.8", Available: t.Availability != availNone}}
			}
		}
		st.Element(&t)
	}
	st.End("]}")
}

// gpuType renders a seeded GPU with prices that drift a little.
func (s *StandIn) gpuType(g seedGPU, now time.Time) gpuType {
	t := gpuType{
		ID: g.id, Name: g.name, Manufacturer: g.maker, Memory: g.memory,
		Secure: g.secure > 0, Community: g.community > 0,
		Price: gpuPrice{
			Secure:    standin.Drift(g.secure, 0.03, "runpod/secure/"+g.id, now),
			Community: standin.Drift(g.community, 0.05, "runpod/community/"+g.id, now),
		},
		MaxCount: gpuMaxCount{Secure: g.maxSecure, Community: g.maxComm},
	}
	if g.pool != "" {
		pool := g.pool
		serverless := roundPrice(g.secure * 2.2)
		t.Pool, t.Price.Serverless = &pool, &serverless
	}
	return t
}

// availability lists, per data centre offering g in cloud, whether a pod
// of count GPUs (product POD) or the smallest cluster of such pods
// (product CLUSTER, secure cloud only: two pods) can be placed; the
// caller holds s.Mu.
func (s *StandIn) availability(g seedGPU, product, cloud string, count int, now time.Time) []dataCenterAvail {
	nodes := 1
	switch product {
	case "CLUSTER":
		if cloud != cloudSecure {
			return nil
		}
		nodes = 2
	case "SERVERLESS":
		return nil
	}
	if g.listPrice(cloud) <= 0 || count > g.maxCount(cloud) {
		return nil
	}
	var out []dataCenterAvail
	for _, o := range s.offerings {
		if o.gpu.id == g.id && o.cloud == cloud {
			out = append(out, dataCenterAvail{ID: o.dc, Name: dataCenterName(o.dc), Availability: level(s.free(o, count, nodes, now))})
		}
	}
	return out
}

func dataCenterName(id string) string {
	for _, dc := range seedDataCenters {
		if id == dc.id {
			return dc.name
		}
		if n, ok := strings.CutPrefix(id, dc.id+vendors.ScaleCopySep); ok {
			return dc.name + " (" + n + ")"
		}
	}
	return id
}

func (s *StandIn) listDataCenters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	withGPUs := slices.Contains(strings.Split(q.Get("include"), ","), "GPU_AVAILABILITY")
	var regions []string
	if v := q.Get("regions"); v != "" {
		regions = strings.Split(v, ",")
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	resp := dataCenterList{DataCenters: []dataCenter{}}
	seen := map[string]int{}
	for _, o := range s.offerings {
		if len(regions) > 0 && !slices.Contains(regions, o.region) {
			continue
		}
		i, ok := seen[o.dc]
		if !ok {
			i, seen[o.dc] = len(resp.DataCenters), len(resp.DataCenters)
			resp.DataCenters = append(resp.DataCenters, dataCenter{
				ID: o.dc, Name: dataCenterName(o.dc), Region: o.region, GlobalNetwork: o.region != "OCEANIA",
				NetworkVolumeTypes: []string{"STANDARD"}, Compliance: []string{"SOC_2_TYPE_2"},
			})
		}
		if withGPUs {
			dc := &resp.DataCenters[i]
			avail := dataCenterAvail{ID: o.gpu.id, Name: o.gpu.name, Availability: level(s.free(o, 1, 1, now))}
			if j := slices.IndexFunc(dc.GPUAvailability, func(a dataCenterAvail) bool { return a.ID == o.gpu.id }); j >= 0 {
				if levelRank[avail.Availability] > levelRank[dc.GPUAvailability[j].Availability] {
					dc.GPUAvailability[j] = avail
				}
			} else {
				dc.GPUAvailability = append(dc.GPUAvailability, avail)
			}
		}
	}
	standin.WriteJSON(w, http.StatusOK, resp)
}

// phase is a pod's place in RunPod's state machine, from its timestamps:
// BootTime splits into PROVISIONING and STARTING, then RUNNING.
func (s *StandIn) phase(p *podRecord, now time.Time) string {
	if status, ok := s.powerStatus(p, now); ok {
		return status
	}
	switch age := now.Sub(p.CreatedAt); {
	case age < s.Opts.BootTime*2/5:
		return statusProvisioning
	case age < s.Opts.BootTime:
		return statusStarting
	}
	return statusRunning
}

// observe opens the host of a pod that has just come up; the caller
// holds s.Mu.
func (s *StandIn) observe(p *podRecord, now time.Time) {
	if !p.DeletedAt.IsZero() || p.IP != "" || s.phase(p, now) != statusRunning || !slices.Contains(p.Ports, "22/tcp") {
		return
	}
	ip, port, err := s.OpenHost(p.ID, "", 0, machine(p))
	if err != nil {
		return // the pod shows no direct SSH yet and the next look tries again
	}
	p.IP, p.SSHPort = ip, port
	p.PortMap = s.Ports(p.ID)
	// A failed save loses nothing the next change will not write again.
	_ = s.Save()
}

// view renders a pod as RunPod's Pod; the caller holds s.Mu.
func (s *StandIn) view(p *podRecord, now time.Time) pod {
	s.observe(p, now)
	s.reopen(p, now)
	status := s.phase(p, now)
	g, _ := findGPU(p.GPU)
	dc := p.DC
	v := pod{
		ID: p.ID, Name: p.Name, Status: status, Image: p.Image, Args: p.Args, Disk: p.Disk,
		Ports: standin.NonNil(p.Ports), Env: p.Env, GPU: &createGPU{ID: p.GPU, Count: p.GPUCount},
		Cloud: p.Cloud, DataCenterID: &dc, Cost: roundPrice(float64(p.GPUCount) * g.listPrice(p.Cloud)),
		CreatedAt: p.CreatedAt, Mounts: podMounts{Network: p.Mounts},
		SSH: podSSH{Proxy: &sshEndpoint{Host: "ssh.runpod.io", Port: 22, Username: p.ID + "-64411eb2",
			Command: "ssh " + p.ID + "-64411eb2@ssh.runpod.io"}},
	}
	if v.Env == nil {
		v.Env = map[string]string{}
	}
	if g.maker == "NVIDIA" {
		cuda := "12.8"
		v.CUDAVersion = &cuda
	}
	if p.ClusterID != "" {
		rank := p.Rank
		v.Cluster = &podCluster{ID: p.ClusterID, Rank: &rank, IP: fmt.Sprintf("10.65.0.%d", rank+1)}
	}
	switch status {
	case statusRunning:
		v.Actions = []string{"stop", "restart", "terminate"}
		started := p.CreatedAt.Add(s.Opts.BootTime)
		v.StartedAt = &started
		v.Runtime = &podRuntime{Uptime: int(now.Sub(started).Seconds()), Ports: []runtimePort{}}
		if p.IP != "" {
			v.SSH.Direct = &sshEndpoint{Host: p.IP, Port: p.SSHPort, Username: "root",
				Command: fmt.Sprintf("ssh root@%s -p %d", p.IP, p.SSHPort)}
			v.Runtime.Ports = runtimePorts(p)
		}
	case statusExited:
		v.Actions = []string{"start", "terminate"}
	default:
		v.Actions = []string{"stop", "terminate"}
	}
	return v
}

func findGPU(id string) (seedGPU, bool) {
	for _, g := range seedGPUs {
		if g.id == id {
			return g, true
		}
	}
	return seedGPU{}, false
}

// pod finds a live pod by the path's id; the caller holds s.Mu.
func (s *StandIn) pod(r *http.Request) (*podRecord, bool) {
	for _, p := range s.State.Pods {
		if p.ID == r.PathValue("id") && p.DeletedAt.IsZero() {
			return p, true
		}
	}
	return nil, false
}

func (s *StandIn) getPod(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	p, ok := s.pod(r)
	if !ok {
		writeProblem(w, http.StatusNotFound, "pod not found")
		return
	}
	standin.WriteJSON(w, http.StatusOK, s.view(p, s.Now()))
}

func (s *StandIn) listPods(w http.ResponseWriter, r *http.Request) {
	withMembers := r.URL.Query().Get("includeClusterPods") == "true"
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	resp := podList{Pods: []pod{}}
	for _, p := range s.State.Pods {
		if p.DeletedAt.IsZero() && (withMembers || p.ClusterID == "") {
			resp.Pods = append(resp.Pods, s.view(p, now))
		}
	}
	standin.WriteJSON(w, http.StatusOK, resp)
}

// decodeStrict reads a JSON body that may carry only known fields
// (unevaluatedProperties: false), answering 422 otherwise.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeProblem(w, http.StatusUnprocessableEntity, "Request validation failed.", err.Error())
		return false
	}
	return true
}

// checkContainer validates what a pod or cluster runs.
func checkContainer(c containerConfig) []string {
	var errs []string
	if c.Image == "" {
		errs = append(errs, "image is required unless templateId is set")
	}
	for _, p := range c.Ports {
		n, proto, ok := strings.Cut(p, "/")
		if _, err := strconv.Atoi(n); err != nil || !ok || (proto != "tcp" && proto != "http") {
			errs = append(errs, fmt.Sprintf("ports: %q is not port/protocol", p))
		}
	}
	return errs
}

// place picks the first preferred data centre with units×count free GPUs
// of gpuID in cloud; the caller holds s.Mu. A refusal comes back as the
// status and detail RunPod would answer.
func (s *StandIn) place(gpuID, cloud string, count, units int, dcs []string, now time.Time) (dc string, status int, detail string) {
	g, ok := findGPU(gpuID)
	if !ok {
		return "", http.StatusBadRequest, fmt.Sprintf("GPU type %q does not exist", gpuID)
	}
	if g.listPrice(cloud) <= 0 || count > g.maxCount(cloud) {
		return "", http.StatusBadRequest, fmt.Sprintf("%s is not offered with %d GPUs in the %s cloud", gpuID, count, cloud)
	}
	if s.denied[gpuID] {
		return "", http.StatusForbidden, "access denied: this account cannot deploy to the " + gpuID + " pool"
	}
	if s.balance > 0 && s.balance < float64(count*units)*g.listPrice(cloud) {
		return "", http.StatusPaymentRequired, "Insufficient balance: add credit to deploy this pod"
	}
	for _, o := range s.offerings {
		if o.gpu.id == gpuID && o.cloud == cloud && (len(dcs) == 0 || slices.Contains(dcs, o.dc)) && s.free(o, count, units, now) >= 1 {
			return o.dc, 0, ""
		}
	}
	// RunPod's description (createPod): "400 covers both "your request
	// breaks a rule" and "no capacity", because capacity exhaustion
	// currently carries no machine-readable code of its own — only a
	// human-readable detail". It quotes no detail; capacityDetail is the
	// one RunPod's REST API answers, as public client code quotes it (see
	// the adapter's capacityPhrases).
	return "", http.StatusBadRequest, capacityDetail
}

func (s *StandIn) createPod(w http.ResponseWriter, r *http.Request) {
	var req createPodRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	errs := checkContainer(req.containerConfig)
	if req.Name == "" {
		errs = append(errs, "name is required")
	}
	if req.Cloud == "" {
		req.Cloud = cloudSecure
	}
	if req.Cloud != cloudSecure && req.Cloud != cloudCommunity {
		errs = append(errs, "cloud must be SECURE or COMMUNITY")
	}
	if len(errs) > 0 {
		writeProblem(w, http.StatusUnprocessableEntity, "Request validation failed.", errs...)
		return
	}
	if req.GPU == nil {
		writeProblem(w, http.StatusBadRequest, "exactly one of gpu or cpu must be set")
		return
	}
	count := max(req.GPU.Count, 1)
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	dc, status, detail := s.place(req.GPU.ID, req.Cloud, count, 1, req.DataCenterIDs, now)
	if status != 0 {
		writeProblem(w, status, detail)
		return
	}
	mounts, detail := s.networkMounts(req.Mounts, dc)
	if detail != "" {
		writeProblem(w, http.StatusBadRequest, detail)
		return
	}
	p := &podRecord{
		ID: newID(), Name: req.Name, Image: req.Image, Args: req.Args, Disk: max(req.Disk, 20),
		Env: req.Env, Ports: req.Ports, GPU: req.GPU.ID, GPUCount: count, Cloud: req.Cloud,
		DC: dc, CreatedAt: now.UTC(), Mounts: mounts,
	}
	s.State.Pods = append(s.State.Pods, p)
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusCreated, s.view(p, now))
}

func (s *StandIn) deletePod(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	p, ok := s.pod(r)
	if !ok {
		writeProblem(w, http.StatusNotFound, "pod not found")
		return
	}
	if p.ClusterID != "" {
		writeProblem(w, http.StatusConflict, "pod belongs to cluster "+p.ClusterID+": delete the cluster instead")
		return
	}
	s.terminate(p)
	if !s.Saved(w) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// terminate ends a pod and its host; the caller holds s.Mu and saves.
func (s *StandIn) terminate(p *podRecord) {
	p.DeletedAt = s.Now().UTC()
	s.RemoveHost(p.ID)
}

// clusterView renders a cluster as RunPod's Cluster; the caller holds s.Mu.
func (s *StandIn) clusterView(c *clusterRecord, now time.Time) cluster {
	v := cluster{ID: c.ID, Name: c.Name, Type: c.Type, Compute: c.Compute, DataCenterID: c.DC,
		Pods: clusterPods{ByStatus: map[string]int{}}, Network: &clusterNetwork{CIDR: "10.65.0.0/24"}, CreatedAt: c.CreatedAt}
	for _, p := range s.members(c.ID) {
		pv := s.view(p, now)
		v.Pods.Total++
		v.Pods.ByStatus[pv.Status]++
		if p.Rank == 0 {
			v.Primary = &clusterPrimary{PodID: p.ID, Status: pv.Status}
			if d := pv.SSH.Direct; d != nil {
				v.Primary.SSHEndpoint = fmt.Sprintf("%s:%d", d.Host, d.Port)
			}
		}
	}
	return v
}

// members lists a cluster's live pods by rank; the caller holds s.Mu.
func (s *StandIn) members(clusterID string) []*podRecord {
	var out []*podRecord
	for _, p := range s.State.Pods {
		if p.ClusterID == clusterID && p.DeletedAt.IsZero() {
			out = append(out, p)
		}
	}
	return out
}

// cluster finds a live cluster by the path's id; the caller holds s.Mu.
func (s *StandIn) cluster(r *http.Request) (*clusterRecord, bool) {
	for _, c := range s.State.Clusters {
		if c.ID == r.PathValue("id") && c.DeletedAt.IsZero() {
			return c, true
		}
	}
	return nil, false
}

func (s *StandIn) listClusters(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	resp := clusterList{Clusters: []cluster{}}
	for _, c := range s.State.Clusters {
		if c.DeletedAt.IsZero() {
			resp.Clusters = append(resp.Clusters, s.clusterView(c, now))
		}
	}
	standin.WriteJSON(w, http.StatusOK, resp)
}

func (s *StandIn) getCluster(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	c, ok := s.cluster(r)
	if !ok {
		writeProblem(w, http.StatusNotFound, "cluster not found")
		return
	}
	standin.WriteJSON(w, http.StatusOK, s.clusterView(c, s.Now()))
}

func (s *StandIn) listClusterPods(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	c, ok := s.cluster(r)
	if !ok {
		writeProblem(w, http.StatusNotFound, "cluster not found")
		return
	}
	now := s.Now()
	resp := podList{Pods: []pod{}}
	for _, p := range s.members(c.ID) {
		resp.Pods = append(resp.Pods, s.view(p, now))
	}
	standin.WriteJSON(w, http.StatusOK, resp)
}

var clusterTypes = []string{"APPLICATION", "TRAINING", "SLURM", "RAY"}

func (s *StandIn) createCluster(w http.ResponseWriter, r *http.Request) {
	var req createClusterRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	errs := checkContainer(req.containerConfig)
	if req.Name == "" {
		errs = append(errs, "name is required")
	}
	if !slices.Contains(clusterTypes, req.Type) {
		errs = append(errs, "type must be one of "+strings.Join(clusterTypes, ", "))
	}
	if c := req.Compute; c.GPUTypeID == "" || c.GPUCountPerPod < 1 || c.PodCount < 2 || c.PodCount > 250 {
		errs = append(errs, "compute needs gpuTypeId, gpuCountPerPod of at least 1 and podCount from 2 to 250")
	}
	if len(errs) > 0 {
		writeProblem(w, http.StatusUnprocessableEntity, "Request validation failed.", errs...)
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	// A cluster is always placed within one data centre, in the secure cloud.
	dc, status, detail := s.place(req.Compute.GPUTypeID, cloudSecure, req.Compute.GPUCountPerPod, req.Compute.PodCount, req.DataCenterIDs, now)
	if status != 0 {
		writeProblem(w, status, detail)
		return
	}
	c := &clusterRecord{ID: newID(), Name: req.Name, Type: req.Type, Compute: req.Compute, DC: dc, CreatedAt: now.UTC()}
	s.State.Clusters = append(s.State.Clusters, c)
	for rank := range req.Compute.PodCount {
		s.State.Pods = append(s.State.Pods, &podRecord{
			ID: newID(), Name: fmt.Sprintf("%s-%d", req.Name, rank), Image: req.Image, Args: req.Args,
			Disk: max(req.Disk, 20), Env: req.Env, Ports: req.Ports, GPU: req.Compute.GPUTypeID,
			GPUCount: req.Compute.GPUCountPerPod, Cloud: cloudSecure, DC: dc, ClusterID: c.ID, Rank: rank,
			CreatedAt: now.UTC(),
		})
	}
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusCreated, s.clusterView(c, now))
}

func (s *StandIn) deleteCluster(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	c, ok := s.cluster(r)
	if !ok {
		writeProblem(w, http.StatusNotFound, "cluster not found")
		return
	}
	for _, p := range s.members(c.ID) {
		s.terminate(p)
	}
	c.DeletedAt = s.Now().UTC()
	if !s.Saved(w) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
