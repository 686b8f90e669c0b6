package aws

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// pricingTarget is the X-Amz-Target of the one Price List operation the
// stand-in serves.
const pricingTarget = "AWSPriceListService.GetProducts"

// sandboxOwner is the account id the stand-in's instances belong to.
const sandboxOwner = "123456789012"

// StandIn is an in-memory EC2 (Query protocol, XML answers) and Price
// List API (JSON) on one URL: the same actions, parameters, element names,
// error codes and instance states as the real ones, with stock that runs
// out (refused as InsufficientInstanceCapacity), instances that boot in
// Options.BootTime and become reachable on a loopback host, and state kept
// in Options.StatePath across restarts. It does not verify SigV4
// signatures; it checks that a request is signed with its access key id.
type StandIn struct {
	standin.HTTPBase[state]
	regions []seedRegion
	types   map[string]seedType
	// vcpuLimit, when set, caps the vCPUs of the live instances.
	vcpuLimit int32
}

// state is what the stand-in persists.
type state struct {
	Instances map[string]*record `json:"instances"`
	// Groups are the security groups made, by id (standin_ports.go).
	Groups map[string]*groupRecord `json:"security_groups,omitempty"`
	// Volumes are the EBS volumes made, by id (standin_volumes.go); root
	// volumes are their instances'.
	Volumes map[string]*volumeRecord `json:"volumes,omitempty"`
}

// record is one instance as the stand-in keeps it. Its state is derived
// from the timestamps, so nothing runs per instance.
type record struct {
	ID          string    `json:"id"`
	Region      string    `json:"region"`
	Zone        string    `json:"zone"`
	Type        string    `json:"type"`
	ImageID     string    `json:"image_id"`
	UserData    string    `json:"user_data"`
	ClientToken string    `json:"client_token"`
	Tags        []xmlTag  `json:"tags"`
	Groups      []string  `json:"groups,omitempty"`
	Spot        bool      `json:"spot,omitempty"`
	Params      string    `json:"params"`
	CreatedAt   time.Time `json:"created_at"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	StoppedAt   time.Time `json:"stopped_at,omitzero"`
	EndedAt     time.Time `json:"ended_at,omitzero"`
	EndReason   string    `json:"end_reason,omitempty"`
	IP          string    `json:"ip,omitempty"`
	Port        int       `json:"port,omitempty"`
	PrivateIP   string    `json:"private_ip"`
	// RootDevice, RootGB and RootTags are the root volume its launch
	// described (BlockDeviceMapping, TagSpecification of volumes).
	RootDevice string   `json:"root_device,omitempty"`
	RootGB     int      `json:"root_gb,omitempty"`
	RootTags   []xmlTag `json:"root_tags,omitempty"`
}

// EC2's instance states and their codes (InstanceState).
const (
	statePending      = "pending"
	stateRunning      = "running"
	stateShuttingDown = "shutting-down"
	stateTerminated   = "terminated"
	stateStopping     = "stopping"
	stateStopped      = "stopped"
)

var stateCodes = map[string]int{statePending: 0, stateRunning: 16, stateShuttingDown: 32, stateTerminated: 48, stateStopping: 64, stateStopped: 80}

// Launch is what the stand-in received at launch for one instance, for
// tests to check what an adapter sent.
type Launch struct {
	InstanceType, Region, Zone, ImageID, ClientToken string
	// UserData is decoded from base64.
	UserData string
	Tags     map[string]string
	// SecurityGroups are the SecurityGroupId.N it named.
	SecurityGroups []string
	Spot           bool
}

// NewStandIn returns a stand-in seeded with EC2's GPU catalog and the
// instances saved at o.StatePath, whose hosts are reopened.
func NewStandIn(o standin.Options) (*StandIn, error) {
	s := &StandIn{regions: scaledRegions(o.Scale), types: map[string]seedType{}}
	for _, t := range seedTypes {
		s.types[t.name] = t
	}
	if err := s.Open(Name, o, s.machines); err != nil {
		return nil, err
	}
	s.Refresh = s.refresh
	if s.State.Instances == nil {
		s.State.Instances = map[string]*record{}
	}
	if s.State.Groups == nil {
		s.State.Groups = map[string]*groupRecord{}
	}
	if s.State.Volumes == nil {
		s.State.Volumes = map[string]*volumeRecord{}
	}
	s.Mu.Lock()
	err := s.refresh()
	s.Mu.Unlock()
	if err != nil {
		return nil, err
	}
	s.Serve(http.HandlerFunc(s.dispatch), faultBody)
	o.Capacity.Register(Name, &s.Mu, s.capacities)
	return s, nil
}

// Regions are the stand-in's regions, for an adapter's Config.Regions.
func (s *StandIn) Regions() []string {
	out := make([]string, len(s.regions))
	for i, r := range s.regions {
		out[i] = r.name
	}
	return out
}

// ServeHTTP serves EC2 and the Price List API. Every request is POST /;
// its path is set to "/<Action>" (or "/<X-Amz-Target>") before the faults
// see it, so that a fault or a count names one action (ActionPath).
func (s *StandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ActionPath(r)
	s.HTTPBase.ServeHTTP(w, r)
}

// ActionPath sets r's path to "/<Action>" for an EC2 request (the form's
// Action) and "/<X-Amz-Target>" for a JSON one, leaving r's body as it
// was, so that one action's requests can be told apart by path.
func ActionPath(r *http.Request) {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		r.URL.Path = "/" + t
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
		r.URL.Path = "/" + form.Get("Action")
	}
}

// SetVCPULimit caps the vCPUs of the account's live instances (0: no
// cap); a launch past it is refused with VcpuLimitExceeded.
func (s *StandIn) SetVCPULimit(n int32) {
	s.Mu.Lock()
	s.vcpuLimit = n
	s.Mu.Unlock()
}

// Interrupt terminates the spot instance id as EC2 reclaims spot capacity:
// its StateReason then says Server.SpotInstanceTermination.
func (s *StandIn) Interrupt(id string) bool {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	rec := s.State.Instances[id]
	if rec == nil || !rec.Spot || !rec.EndedAt.IsZero() {
		return false
	}
	rec.EndedAt, rec.EndReason = s.Now(), "Server.SpotInstanceTermination"
	_ = s.Save()
	return true
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
	return Launch{InstanceType: rec.Type, Region: rec.Region, Zone: rec.Zone, ImageID: rec.ImageID, ClientToken: rec.ClientToken,
		UserData: rec.UserData, Tags: tags, SecurityGroups: rec.Groups, Spot: rec.Spot}, true
}

// machines lists the instances for the base: their hosts and console
// entries. None is for the base to reopen: refresh opens a host as its
// instance comes up, after a restart too.
func (s *StandIn) machines() []standin.Host {
	now := s.Now()
	out := make([]standin.Host, 0, len(s.State.Instances))
	for _, rec := range s.State.Instances {
		st := s.status(rec, now)
		e := standin.ConsoleEntry{Vendor: Name, ID: rec.ID, Name: tagOf(rec.Tags, "Name"), State: st, Live: st != stateTerminated,
			InstanceType: rec.Type, Region: rec.Region, CreatedAt: rec.CreatedAt}
		if s.Hosted(rec.ID) {
			e.IP, e.SSHPort = rec.IP, rec.Port
		}
		for _, t := range rec.Tags {
			e.Tags = append(e.Tags, t.Key+"="+t.Value)
		}
		out = append(out, standin.Host{ID: rec.ID, IP: &rec.IP, Port: &rec.Port, Machine: s.machine(rec), Console: e})
	}
	return out
}

// machine is what the instance received at launch: its user data, where
// root's key comes from, as on a real instance of the Deep Learning AMI,
// the ports its security groups open, and the volumes attached to it
// that it mounts. The caller holds s.Mu.
func (s *StandIn) machine(rec *record) standin.Machine {
	return standin.Machine{Vendor: Name, ID: rec.ID, Name: tagOf(rec.Tags, "Name"), UserDataField: "UserData", UserData: rec.UserData,
		Ports: s.openedPorts(rec), Mounts: s.mounts(rec)}
}

func tagOf(tags []xmlTag, key string) string {
	for _, t := range tags {
		if t.Key == key {
			return t.Value
		}
	}
	return ""
}

// Timing: an instance is pending for a boot time after its launch or
// start; stopping and shutting-down last half a boot time; a terminated
// instance stays listed for a boot time, then is gone.
func (s *StandIn) halfBoot() time.Duration { return s.Opts.BootTime / 2 }

func (s *StandIn) status(rec *record, now time.Time) string {
	switch {
	case !rec.EndedAt.IsZero() && now.Before(rec.EndedAt.Add(s.halfBoot())):
		return stateShuttingDown
	case !rec.EndedAt.IsZero():
		return stateTerminated
	case !rec.StoppedAt.IsZero() && now.Before(rec.StoppedAt.Add(s.halfBoot())):
		return stateStopping
	case !rec.StoppedAt.IsZero():
		return stateStopped
	case now.Before(maxTime(rec.CreatedAt, rec.StartedAt).Add(s.Opts.BootTime)):
		return statePending
	}
	return stateRunning
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (s *StandIn) gone(rec *record, now time.Time) bool {
	return !rec.EndedAt.IsZero() && !now.Before(rec.EndedAt.Add(s.halfBoot()+s.Opts.BootTime))
}

// refresh detaches the volumes of terminated instances and brings hosts
// in line with the instances' derived states (standin.SyncHosts). s.Mu
// must be held.
func (s *StandIn) refresh() error {
	now := s.Now()
	if s.detachEnded(now) {
		if err := s.Save(); err != nil {
			return err
		}
	}
	return standin.SyncHosts(&s.Base, s.State.Instances, standin.Machines[record]{
		Phase: func(rec *record) standin.HostPhase {
			switch {
			case s.gone(rec, now):
				return standin.HostGone
			case s.status(rec, now) == stateRunning:
				return standin.HostRunning
			}
			return standin.HostDown
		},
		Addr:    func(rec *record) (*string, *int) { return &rec.IP, &rec.Port },
		Machine: s.machine,
	})
}

// credential is the access key id of a SigV4 Authorization header
// ("AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/<service>/aws4_request, ...").
var credential = regexp.MustCompile(`Credential=([^/,\s]+)/`)

// authorized checks that the request is signed with the stand-in's access
// key id; the signature itself is not verified.
func (s *StandIn) authorized(r *http.Request) bool {
	m := credential.FindStringSubmatch(r.Header.Get("Authorization"))
	return m != nil && (s.Opts.APIKey == "" || m[1] == s.Opts.APIKey)
}

// ec2Handler serves one EC2 action with the request's form and the
// region its signature names.
type ec2Handler func(w http.ResponseWriter, form url.Values, region string)

func (s *StandIn) dispatch(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeEC2Error(w, http.StatusBadRequest, "InvalidAction", "EC2 and the Price List API are served on POST /.")
		return
	}
	if r.Header.Get("X-Amz-Target") != "" {
		s.pricing(w, r)
		return
	}
	if !s.authorized(r) {
		writeEC2Error(w, http.StatusUnauthorized, "AuthFailure", "AWS was not able to validate the provided access credentials")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	form, perr := url.ParseQuery(string(body))
	if err != nil || perr != nil {
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", "The request body is not a form.")
		return
	}
	if v := form.Get("Version"); v != ec2Version {
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("Invalid Version %q: expected %s.", v, ec2Version))
		return
	}
	handlers := map[string]ec2Handler{
		"DescribeInstanceTypes":         s.describeInstanceTypes,
		"DescribeInstanceTypeOfferings": s.describeOfferings,
		"DescribeSpotPriceHistory":      s.describeSpotPrices,
		"DescribeImages":                s.describeImages,
		"RunInstances":                  s.runInstances,
		"DescribeInstances":             s.describeInstances,
		"TerminateInstances":            s.changeState("TerminateInstances"),
		"StopInstances":                 s.changeState("StopInstances"),
		"StartInstances":                s.changeState("StartInstances"),
		"CreateSecurityGroup":           s.createSecurityGroup,
		"AuthorizeSecurityGroupIngress": s.authorizeIngress,
		"DescribeSecurityGroups":        s.describeSecurityGroups,
		"DeleteSecurityGroup":           s.deleteSecurityGroup,
		"DescribeAvailabilityZones":     s.describeAvailabilityZones,
		"CreateVolume":                  s.createVolume,
		"DescribeVolumes":               s.describeVolumes,
		"AttachVolume":                  s.attachVolume,
		"DeleteVolume":                  s.deleteVolume,
	}
	action := form.Get("Action")
	h, ok := handlers[action]
	if !ok {
		writeEC2Error(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("The action %s is not valid for this web service.", action))
		return
	}
	region := signedRegion(r.Header.Get("Authorization"))
	if !slices.Contains(s.Regions(), region) {
		writeEC2Error(w, http.StatusUnauthorized, "AuthFailure", fmt.Sprintf("Region %s is not enabled for this account.", region))
		return
	}
	h(w, form, region)
}

// signedRegion is the region of a SigV4 credential scope: the stand-in
// serves every region on one URL, as EC2's endpoint for a region is.
func signedRegion(auth string) string {
	_, scope, _ := strings.Cut(auth, "Credential=")
	parts := strings.Split(scope, "/")
	if len(parts) < 4 {
		return ""
	}
	return parts[2]
}

// members reads a Query list, prefix.1, prefix.2, ...
func members(form url.Values, prefix string) []string {
	var out []string
	for i := 1; form.Has(prefix + "." + strconv.Itoa(i)); i++ {
		out = append(out, form.Get(prefix+"."+strconv.Itoa(i)))
	}
	return out
}

// filters reads Filter.N.Name and Filter.N.Value.M.
func filters(form url.Values) map[string][]string {
	out := map[string][]string{}
	for i := 1; form.Has(fmt.Sprintf("Filter.%d.Name", i)); i++ {
		out[form.Get(fmt.Sprintf("Filter.%d.Name", i))] = members(form, fmt.Sprintf("Filter.%d.Value", i))
	}
	return out
}

// matchAny says whether v matches one of EC2's filter values, where * and
// ? are wildcards.
func matchAny(values []string, v string) bool {
	for _, p := range values {
		if ok, _ := path.Match(p, v); ok {
			return true
		}
	}
	return false
}

// knownFilters checks that every filter is one the action supports, and
// answers InvalidParameterValue otherwise.
func knownFilters(w http.ResponseWriter, f map[string][]string, known ...string) bool {
	for name := range f {
		if !slices.Contains(known, name) && !(slices.Contains(known, "tag:") && strings.HasPrefix(name, "tag:")) {
			writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("The filter '%s' is invalid", name))
			return false
		}
	}
	return true
}

// page cuts n items at NextToken for MaxResults (at most max), and
// returns the slice bounds and the next token.
func page(form url.Values, n, max int) (from, to int, next string) {
	from, _ = strconv.Atoi(form.Get("NextToken"))
	size, err := strconv.Atoi(form.Get("MaxResults"))
	if err != nil || size <= 0 || size > max {
		size = max
	}
	from = min(max0(from), n)
	to = min(from+size, n)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next
}

func max0(n int) int { return max(n, 0) }

func (s *StandIn) describeInstanceTypes(w http.ResponseWriter, form url.Values, region string) {
	f := filters(form)
	if !knownFilters(w, f, "instance-type") {
		return
	}
	names := members(form, "InstanceType")
	var out []xmlInstanceType
	for _, name := range slices.Sorted(maps.Keys(s.types)) {
		if (len(names) > 0 && !slices.Contains(names, name)) || (f["instance-type"] != nil && !matchAny(f["instance-type"], name)) {
			continue
		}
		t := s.types[name]
		out = append(out, xmlInstanceType{InstanceType: name, CurrentGeneration: true, VCPUInfo: xmlVCPU{t.vcpus},
			MemoryInfo: xmlMemory{t.memoryMiB}, GPUInfo: &xmlGPUInfo{
				GPUs:                items[xmlGPU]{[]xmlGPU{{Name: t.gpu, Manufacturer: "NVIDIA", Count: t.gpus, MemoryInfo: xmlMemory{int64(t.gpuMemoryMiB)}}}},
				TotalGPUMemoryInMiB: t.gpus * t.gpuMemoryMiB,
			}})
	}
	from, to, next := page(form, len(out), 100)
	writeXML(w, "DescribeInstanceTypes", xmlInstanceTypes{RequestID: newRequestID(), InstanceTypes: items[xmlInstanceType]{out[from:to]}, NextToken: next})
}

// sells says whether region sells type name (a synthetic region sells
// what its seed region does).
func (s *StandIn) sells(name, region string) bool {
	t, ok := s.types[name]
	if !ok {
		return false
	}
	_, ok = t.stock[seedRegionOf(region)]
	return ok
}

func (s *StandIn) region(name string) seedRegion {
	for _, r := range s.regions {
		if r.name == name {
			return r
		}
	}
	return seedRegion{}
}

func (s *StandIn) describeOfferings(w http.ResponseWriter, form url.Values, region string) {
	f := filters(form)
	if !knownFilters(w, f, "instance-type", "location") {
		return
	}
	locationType := cmp.Or(form.Get("LocationType"), "region")
	var out []xmlOffering
	for _, name := range slices.Sorted(maps.Keys(s.types)) {
		if !s.sells(name, region) || (f["instance-type"] != nil && !matchAny(f["instance-type"], name)) {
			continue
		}
		locations := []string{region}
		switch locationType {
		case "region":
		case "availability-zone":
			locations = locations[:0]
			for _, z := range s.region(region).zones {
				locations = append(locations, region+z)
			}
		default:
			writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", "Unsupported LocationType "+locationType)
			return
		}
		for _, l := range locations {
			if f["location"] == nil || matchAny(f["location"], l) {
				out = append(out, xmlOffering{InstanceType: name, LocationType: locationType, Location: l})
			}
		}
	}
	from, to, next := page(form, len(out), 1000)
	writeXML(w, "DescribeInstanceTypeOfferings", xmlOfferings{RequestID: newRequestID(), Offerings: items[xmlOffering]{out[from:to]}, NextToken: next})
}

// onDemandPrice is a type's on-demand price in region now: the list
// price, by the region's factor, drifting a little.
func (s *StandIn) onDemandPrice(t seedType, region string, now time.Time) float64 {
	return standin.Drift(t.onDemandPrice*s.region(region).price, 0.02, t.name+"/"+region, now)
}

// spotPrice is a type's spot price in a zone now: 30 to 45% of on
// demand, moving with the zone.
func (s *StandIn) spotPrice(t seedType, zone string, now time.Time) float64 {
	region := zone[:len(zone)-1]
	return standin.Drift(s.onDemandPrice(t, region, now)*0.375, 0.2, "spot:"+t.name+"/"+zone, now)
}

func (s *StandIn) describeSpotPrices(w http.ResponseWriter, form url.Values, region string) {
	f := filters(form)
	if !knownFilters(w, f, "availability-zone", "instance-type", "product-description") {
		return
	}
	names := members(form, "InstanceType")
	products := members(form, "ProductDescription")
	if len(products) > 0 && !slices.Contains(products, "Linux/UNIX") {
		writeXML(w, "DescribeSpotPriceHistory", xmlSpotPrices{RequestID: newRequestID()})
		return
	}
	now := s.Now()
	// EC2 gives, for a start time of now, each type and zone's price in
	// force then: the stand-in's prices change each drift period.
	stamp := now.Truncate(standin.DriftPeriod).UTC()
	var out []xmlSpotPrice
	for _, name := range slices.Sorted(maps.Keys(s.types)) {
		if !s.sells(name, region) || (len(names) > 0 && !slices.Contains(names, name)) {
			continue
		}
		for _, z := range s.region(region).zones {
			zone := region + z
			if f["availability-zone"] != nil && !matchAny(f["availability-zone"], zone) {
				continue
			}
			out = append(out, xmlSpotPrice{AvailabilityZone: zone, InstanceType: name, ProductDescription: "Linux/UNIX",
				SpotPrice: strconv.FormatFloat(s.spotPrice(s.types[name], zone, now), 'f', 6, 64), Timestamp: stamp})
		}
	}
	from, to, next := page(form, len(out), 1000)
	writeXML(w, "DescribeSpotPriceHistory", xmlSpotPrices{RequestID: newRequestID(), Prices: items[xmlSpotPrice]{out[from:to]}, NextToken: next})
}

// imageID is the stand-in's Deep Learning AMI in region.
func imageID(region string) string {
	return fmt.Sprintf("ami-0%016x", fnv64(region))
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func (s *StandIn) describeImages(w http.ResponseWriter, form url.Values, region string) {
	f := filters(form)
	if !knownFilters(w, f, "name", "state", "architecture", "owner-alias") {
		return
	}
	img := xmlImage{ImageID: imageID(region), ImageLocation: "amazon/" + strings.TrimSuffix(ImageName, " *") + " 20261101",
		State: "available", OwnerID: "898082745236", CreationDate: "2026-11-01T08:12:40.000Z", Public: true,
		Architecture: "x86_64", ImageType: "machine", OwnerAlias: "amazon",
		Name:           strings.TrimSuffix(ImageName, " *") + " 20261101",
		Description:    "Supported EC2 instances: G4dn, G5, G6, Gr6, G6e, P4d, P4de, P5, P5e, P5en, P6-B200. NVIDIA driver, CUDA, Docker.",
		RootDeviceType: "ebs", RootDeviceName: "/dev/sda1", Virtualization: "hvm", Hypervisor: "xen", EnaSupport: true}
	owners := members(form, "Owner")
	match := (len(owners) == 0 || slices.Contains(owners, "amazon") || slices.Contains(owners, img.OwnerID)) &&
		(f["name"] == nil || matchAny(f["name"], img.Name)) && (f["state"] == nil || matchAny(f["state"], img.State)) &&
		(f["architecture"] == nil || matchAny(f["architecture"], img.Architecture))
	ids := members(form, "ImageId")
	if len(ids) > 0 && !slices.Contains(ids, img.ImageID) {
		writeEC2Error(w, http.StatusBadRequest, "InvalidAMIID.NotFound", fmt.Sprintf("The image id '[%s]' does not exist", ids[0]))
		return
	}
	out := xmlImages{RequestID: newRequestID()}
	if match {
		out.Images.Items = []xmlImage{img}
	}
	writeXML(w, "DescribeImages", out)
}

// live counts the live instances per type/region, which hold stock, and
// their vCPUs.
func (s *StandIn) live() (map[string]int, int32) {
	n, vcpus := map[string]int{}, int32(0)
	for _, rec := range s.State.Instances {
		if rec.EndedAt.IsZero() {
			n[rec.Type+"/"+rec.Region]++
			if rec.StoppedAt.IsZero() {
				vcpus += s.types[rec.Type].vcpus
			}
		}
	}
	return n, vcpus
}

// capacity is what the stock model says of a type in a region under a
// contract now: its stock less the live instances, or sold out while it
// flickers.
func (s *StandIn) capacity(t seedType, region, contract string, live map[string]int, now time.Time) standin.Level {
	key := t.name + "/" + region
	item := standin.Item{Vendor: Name, InstanceType: t.name, Region: region, Contract: contract, GPUCount: int(t.gpus), NodeCount: 1}
	return s.Opts.Level(item, t.stock[seedRegionOf(region)]-live[key], 0.05, key+"/"+contract, now)
}

// capacities lists every type in every region that sells it, on demand
// and spot, for the sandbox's capacity ledger; the caller holds s.Mu.
func (s *StandIn) capacities() []standin.Level {
	live, _ := s.live()
	now := s.Now()
	var out []standin.Level
	for _, name := range slices.Sorted(maps.Keys(s.types)) {
		for _, r := range s.regions {
			if s.sells(name, r.name) {
				for _, c := range []string{standin.OnDemand, standin.Spot} {
					out = append(out, s.capacity(s.types[name], r.name, c, live, now))
				}
			}
		}
	}
	return out
}

// launchParams are the parameters of a RunInstances that its ClientToken
// stands for: the same token with others is IdempotentParameterMismatch.
func launchParams(form url.Values) string {
	keys := slices.Sorted(maps.Keys(form))
	var b strings.Builder
	for _, k := range keys {
		if k != "ClientToken" {
			fmt.Fprintf(&b, "%s=%s&", k, form.Get(k))
		}
	}
	return b.String()
}

func (s *StandIn) runInstances(w http.ResponseWriter, form url.Values, region string) {
	if form.Get("MinCount") != "1" || form.Get("MaxCount") != "1" {
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", "The stand-in launches one instance at a time: MinCount and MaxCount must be 1.")
		return
	}
	name, image := form.Get("InstanceType"), form.Get("ImageId")
	raw, err := base64.StdEncoding.DecodeString(form.Get("UserData"))
	switch {
	case err != nil:
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", "Invalid BASE64 encoding of user data.")
		return
	case len(raw) > maxUserData:
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", "User data is limited to 16384 bytes")
		return
	case image != imageID(region):
		writeEC2Error(w, http.StatusBadRequest, "InvalidAMIID.NotFound", fmt.Sprintf("The image id '[%s]' does not exist", image))
		return
	}
	t, known := s.types[name]
	if !known {
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("Invalid value '%s' for InstanceType.", name))
		return
	}
	zones := s.region(region).zones
	zone := cmp.Or(form.Get("Placement.AvailabilityZone"), region+zones[0])
	if !strings.HasPrefix(zone, region) || !slices.Contains(zones, strings.TrimPrefix(zone, region)) {
		writeEC2Error(w, http.StatusBadRequest, "InvalidParameterValue", fmt.Sprintf("Invalid availability zone: [%s]", zone))
		return
	}
	if !s.sells(name, region) {
		writeEC2Error(w, http.StatusBadRequest, "Unsupported", fmt.Sprintf("Your requested instance type (%s) is not supported in your requested Availability Zone (%s).", name, zone))
		return
	}
	spot := form.Get("InstanceMarketOptions.MarketType") == "spot"
	contract := standin.OnDemand
	if spot {
		contract = standin.Spot
	}
	tags := specifiedTags(form, "instance")
	token := form.Get("ClientToken")
	s.locked(w, func(now time.Time) {
		groups, ok := s.launchGroups(w, form, region)
		if !ok {
			return
		}
		for _, rec := range s.State.Instances {
			if token != "" && rec.ClientToken == token && rec.Region == region {
				if rec.Params != launchParams(form) {
					writeEC2Error(w, http.StatusBadRequest, "IdempotentParameterMismatch",
						"Arguments on this idempotent request are inconsistent with arguments used in previous request(s).")
					return
				}
				writeXML(w, "RunInstances", s.reservation(rec, now))
				return
			}
		}
		if max := form.Get("InstanceMarketOptions.SpotOptions.MaxPrice"); spot && max != "" {
			if p, err := strconv.ParseFloat(max, 64); err != nil || p < s.spotPrice(t, zone, now) {
				writeEC2Error(w, http.StatusBadRequest, "SpotMaxPriceTooLow",
					fmt.Sprintf("Your Spot request price of %s is lower than the minimum required Spot request fulfillment price of %.4f.", max, s.spotPrice(t, zone, now)))
				return
			}
		}
		live, vcpus := s.live()
		if s.vcpuLimit > 0 && vcpus+t.vcpus > s.vcpuLimit {
			writeEC2Error(w, http.StatusBadRequest, "VcpuLimitExceeded", fmt.Sprintf(
				"You have requested more vCPU capacity than your current vCPU limit of %d allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.", s.vcpuLimit))
			return
		}
		if s.Opts.Capacity.Free(s.capacity(t, region, contract, live, now)) <= 0 {
			// EC2's words for a launch it cannot place: its errors-overview
			// page lists InsufficientInstanceCapacity among the server
			// errors, and the message names the type and zone.
			msg := fmt.Sprintf("We currently do not have sufficient %s capacity in the Availability Zone you requested (%s). Our system will be working on provisioning additional capacity.", name, zone)
			if spot {
				msg = "There is no Spot capacity available that matches your request."
			}
			writeEC2Error(w, http.StatusInternalServerError, "InsufficientInstanceCapacity", msg)
			return
		}
		n := len(s.State.Instances) + 1
		rec := &record{
			ID: "i-0" + randomHex(8), Region: region, Zone: zone, Type: name, ImageID: image, UserData: string(raw),
			ClientToken: token, Tags: tags, Groups: groups, Spot: spot, Params: launchParams(form), CreatedAt: now,
			PrivateIP:  fmt.Sprintf("172.31.%d.%d", n/250%250, n%250+4),
			RootDevice: cmp.Or(form.Get("BlockDeviceMapping.1.DeviceName"), "/dev/sda1"), RootTags: specifiedTags(form, "volume"),
		}
		rec.RootGB, _ = strconv.Atoi(form.Get("BlockDeviceMapping.1.Ebs.VolumeSize"))
		s.State.Instances[rec.ID] = rec
		if !s.Saved(w) {
			return
		}
		writeXML(w, "RunInstances", s.reservation(rec, now))
	})
}

// specifiedTags are the tags of TagSpecification.N whose ResourceType is
// resourceType.
func specifiedTags(form url.Values, resourceType string) []xmlTag {
	var out []xmlTag
	for i := 1; form.Has(fmt.Sprintf("TagSpecification.%d.ResourceType", i)); i++ {
		prefix := fmt.Sprintf("TagSpecification.%d.", i)
		if form.Get(prefix+"ResourceType") != resourceType {
			continue
		}
		for j := 1; form.Has(fmt.Sprintf("%sTag.%d.Key", prefix, j)); j++ {
			out = append(out, xmlTag{Key: form.Get(fmt.Sprintf("%sTag.%d.Key", prefix, j)), Value: form.Get(fmt.Sprintf("%sTag.%d.Value", prefix, j))})
		}
	}
	return out
}

// reservation is the RunInstances answer for rec.
func (s *StandIn) reservation(rec *record, now time.Time) xmlReservation {
	r := s.reservationOf(rec, now)
	r.RequestID = newRequestID()
	return r
}

func (s *StandIn) reservationOf(rec *record, now time.Time) xmlReservation {
	return xmlReservation{ReservationID: "r-0" + rec.ID[3:], OwnerID: sandboxOwner, Groups: s.groupsOf(rec),
		Instances: items[xmlInstance]{[]xmlInstance{s.render(rec, now)}}}
}

var defaultGroup = xmlGroup{GroupID: "sg-0a1b2c3d4e5f60718", GroupName: "default"}

// render is an instance as DescribeInstances shows it.
func (s *StandIn) render(rec *record, now time.Time) xmlInstance {
	st := s.status(rec, now)
	out := xmlInstance{
		InstanceID: rec.ID, ImageID: rec.ImageID, State: xmlState{stateCodes[st], st}, InstanceType: rec.Type,
		LaunchTime: maxTime(rec.CreatedAt, rec.StartedAt).UTC().Truncate(time.Second), Placement: xmlPlacement{rec.Zone, "default"},
		PrivateIPAddress: rec.PrivateIP, Architecture: "x86_64", RootDeviceType: "ebs", RootDeviceName: "/dev/sda1",
		ClientToken: rec.ClientToken, Tags: items[xmlTag]{rec.Tags}, Groups: s.groupsOf(rec),
		PrivateDNSName: "ip-" + strings.ReplaceAll(rec.PrivateIP, ".", "-") + "." + rec.Region + ".compute.internal",
	}
	if rec.Spot {
		out.InstanceLifecycle = "spot"
	}
	if s.Hosted(rec.ID) {
		out.IPAddress = rec.IP
	}
	switch {
	case rec.EndReason != "":
		out.StateReason = &xmlStateReason{rec.EndReason, rec.EndReason + ": Spot instance termination"}
		out.Reason = "Server initiated shutdown"
	case !rec.EndedAt.IsZero():
		out.StateReason = &xmlStateReason{"Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated shutdown"}
		out.Reason = fmt.Sprintf("User initiated (%s GMT)", rec.EndedAt.UTC().Format("2006-01-02 15:04:05"))
	case !rec.StoppedAt.IsZero():
		out.StateReason = &xmlStateReason{"Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated shutdown"}
		out.Reason = fmt.Sprintf("User initiated (%s GMT)", rec.StoppedAt.UTC().Format("2006-01-02 15:04:05"))
	}
	return out
}

func (s *StandIn) describeInstances(w http.ResponseWriter, form url.Values, region string) {
	f := filters(form)
	if !knownFilters(w, f, "tag:", "tag-key", "instance-state-name", "instance-type") {
		return
	}
	ids := members(form, "InstanceId")
	s.locked(w, func(now time.Time) {
		for _, id := range ids {
			if rec := s.State.Instances[id]; rec == nil || rec.Region != region {
				writeEC2Error(w, http.StatusBadRequest, "InvalidInstanceID.NotFound", fmt.Sprintf("The instance ID '%s' does not exist", id))
				return
			}
		}
		var out []xmlReservation
		for _, id := range slices.Sorted(maps.Keys(s.State.Instances)) {
			rec := s.State.Instances[id]
			if rec.Region != region || (len(ids) > 0 && !slices.Contains(ids, id)) || !s.matches(rec, f, now) {
				continue
			}
			out = append(out, s.reservationOf(rec, now))
		}
		from, to, next := page(form, len(out), 1000)
		writeXML(w, "DescribeInstances", xmlReservations{RequestID: newRequestID(), Reservations: items[xmlReservation]{out[from:to]}, NextToken: next})
	})
}

// matches says whether rec passes DescribeInstances' filters.
func (s *StandIn) matches(rec *record, f map[string][]string, now time.Time) bool {
	for name, values := range f {
		switch key, isTag := strings.CutPrefix(name, "tag:"); {
		case isTag:
			if v := tagOf(rec.Tags, key); !slices.ContainsFunc(rec.Tags, func(t xmlTag) bool { return t.Key == key }) || !matchAny(values, v) {
				return false
			}
		case name == "tag-key":
			if !slices.ContainsFunc(rec.Tags, func(t xmlTag) bool { return matchAny(values, t.Key) }) {
				return false
			}
		case name == "instance-state-name":
			if !matchAny(values, s.status(rec, now)) {
				return false
			}
		case name == "instance-type":
			if !matchAny(values, rec.Type) {
				return false
			}
		}
	}
	return true
}

// changeState serves TerminateInstances, StopInstances and
// StartInstances, which EC2 answers alike: each instance's previous and
// current state. Like EC2, stopping a stopped instance or starting a
// running one changes nothing and is no error; stopping a pending or
// terminated one is IncorrectInstanceState.
func (s *StandIn) changeState(action string) ec2Handler {
	return func(w http.ResponseWriter, form url.Values, region string) {
		ids := members(form, "InstanceId")
		if len(ids) == 0 {
			writeEC2Error(w, http.StatusBadRequest, "MissingParameter", "The request must contain the parameter InstanceId")
			return
		}
		s.locked(w, func(now time.Time) {
			for _, id := range ids {
				rec := s.State.Instances[id]
				if rec == nil || rec.Region != region {
					writeEC2Error(w, http.StatusBadRequest, "InvalidInstanceID.NotFound", fmt.Sprintf("The instance ID '%s' does not exist", id))
					return
				}
				if code, msg := s.refusal(action, rec, now); code != "" {
					writeEC2Error(w, http.StatusBadRequest, code, msg)
					return
				}
			}
			out := xmlStateChanges{RequestID: newRequestID()}
			for _, id := range ids {
				rec := s.State.Instances[id]
				before := s.status(rec, now)
				switch {
				case action == "TerminateInstances" && rec.EndedAt.IsZero():
					rec.EndedAt = now
				case action == "StopInstances" && before == stateRunning:
					rec.StoppedAt = now
				case action == "StartInstances" && before == stateStopped:
					rec.StoppedAt, rec.StartedAt = time.Time{}, now
				}
				after := s.status(rec, now)
				out.Instances.Items = append(out.Instances.Items, xmlStateChange{InstanceID: id,
					CurrentState: xmlState{stateCodes[after], after}, PreviousState: xmlState{stateCodes[before], before}})
			}
			if !s.Saved(w) {
				return
			}
			if err := s.refresh(); err != nil {
				writeInternal(w, err)
				return
			}
			writeXML(w, action, out)
		})
	}
}

// refusal is EC2's error code and message for action on rec now, or "".
func (s *StandIn) refusal(action string, rec *record, now time.Time) (string, string) {
	st := s.status(rec, now)
	incorrect := fmt.Sprintf("The instance '%s' is not in a state from which it can be %s.", rec.ID, map[string]string{
		"StopInstances": "stopped", "StartInstances": "started"}[action])
	switch action {
	case "StopInstances":
		if st != stateRunning && st != stateStopping && st != stateStopped {
			return "IncorrectInstanceState", incorrect
		}
		if rec.Spot {
			return "UnsupportedOperation", "You can't stop the Spot Instance '" + rec.ID + "' because it is associated with a one-time Spot Instance request. You can only stop Spot Instances associated with persistent Spot Instance requests."
		}
	case "StartInstances":
		if st != stateStopped && st != statePending && st != stateRunning {
			return "IncorrectInstanceState", incorrect
		}
		if st == stateStopped {
			live, _ := s.live()
			// The stopped instance holds its unit: start it if the type
			// has any stock in the region at all.
			live[rec.Type+"/"+rec.Region]--
			if s.Opts.Capacity.Free(s.capacity(s.types[rec.Type], rec.Region, standin.OnDemand, live, now)) <= 0 {
				return "InsufficientInstanceCapacity", fmt.Sprintf("Insufficient capacity to start instance %s of type %s.", rec.ID, rec.Type)
			}
		}
	}
	return "", ""
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

// faultBody is the error body of an injected fault in EC2's envelope,
// with EC2's codes for the status: RequestLimitExceeded for throttling
// (EC2 answers it with 503), InternalError and Unavailable for the server
// errors, AuthFailure for 401.
func faultBody(status int, message string) (string, []byte) {
	code, msg := "InvalidParameterValue", "Invalid request."
	switch {
	case status == http.StatusTooManyRequests:
		code, msg = "RequestLimitExceeded", "Request limit exceeded."
	case status == http.StatusServiceUnavailable:
		code, msg = "Unavailable", "The server is overloaded and can't handle the request."
	case status >= 500:
		code, msg = "InternalError", "An internal error has occurred."
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		code, msg = "AuthFailure", "AWS was not able to validate the provided access credentials"
	}
	return "text/xml;charset=UTF-8", ec2ErrorBody(code, cmp.Or(message, msg))
}

func writeInternal(w http.ResponseWriter, err error) {
	writeEC2Error(w, http.StatusInternalServerError, "InternalError", "An internal error has occurred: "+err.Error())
}

func newRequestID() string {
	b := randomHex(16)
	return b[:8] + "-" + b[8:12] + "-" + b[12:16] + "-" + b[16:20] + "-" + b[20:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
