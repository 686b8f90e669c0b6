package nebius

import (
	"cmp"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash/fnv"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb"
	"github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb/vpcpb"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// The stand-in's account: one tenant, one service account and key, and a
// project per region.
const (
	StandInTenantID         = "tenant-e00supplysandbox"
	StandInServiceAccountID = "serviceaccount-e00supplysandbox"
	StandInPublicKeyID      = "publickey-e00supplysandbox"
)

// accessTokenLifetime is how long an exchanged access token is honoured.
const accessTokenLifetime = 12 * time.Hour

// maxUserData is InstanceSpec.cloud_init_user_data's published limit.
const maxUserData = 32768

// knownImageFamilies are the image families the stand-in can boot.
var knownImageFamilies = []string{DefaultImageFamily, "ubuntu24.04-cuda12", "ubuntu24.04-cuda13.0", "ubuntu22.04-driverless"}

// StandIn is an in-process Nebius: an IAM that exchanges the service
// account's JWTs for access tokens, compute (platforms, VMs with managed
// boot disks that boot, get a public address whose SSH port answers, get
// preempted and are deleted; data disks attached to them and mounted on
// their hosts; GPU clusters; operations), VPC subnets and security
// groups whose rules open ports on those hosts, the
// billing calculator and the capacity advisor, all over gRPC.
type StandIn struct {
	standin.Base[savedState]
	offers []offer
	// regions are the regions of the offers by project id, for the
	// calls that name a project: a lookup per call, not a scan.
	regions map[string]string
	key     *rsa.PrivateKey
	server  *grpc.Server

	// quota caps live VMs (0: unlimited).
	quota int
	// calls counts the calls that reached the stand-in, by method.
	calls map[string]int
}

// savedState is what survives a restart.
type savedState struct {
	NextID int `json:"next_id"`
	// PrivateKeyPEM is the service account's key, kept so credentials
	// handed out before a restart still work after it.
	PrivateKeyPEM string               `json:"private_key_pem"`
	Tokens        map[string]time.Time `json:"tokens"`
	VMs           []*vmRecord          `json:"vms"`
	Clusters      []*clusterRecord     `json:"clusters"`
	Operations    []*opRecord          `json:"operations"`
	Disks         []*diskRecord        `json:"disks,omitempty"`
	Groups        []*groupRecord       `json:"groups,omitempty"`
	Rules         []*ruleRecord        `json:"rules,omitempty"`
}

type vmRecord struct {
	ID      string            `json:"id"`
	Project string            `json:"project"`
	Region  string            `json:"region"`
	Name    string            `json:"name"`
	Labels  map[string]string `json:"labels"`
	// Spec is the InstanceSpec as received, in protojson.
	Spec        string `json:"spec"`
	Offer       string `json:"offer"`
	Preemptible bool   `json:"preemptible"`
	ClusterID   string `json:"cluster_id,omitempty"`
	// Disks are the ids of its secondary disks, Mounts where it mounts
	// them.
	Disks  []string        `json:"disks,omitempty"`
	Mounts []standin.Mount `json:"mounts,omitempty"`
	// Groups are the security groups of its interface.
	Groups      []string  `json:"groups,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	PreemptedAt time.Time `json:"preempted_at,omitzero"`
	// StoppedAt and StartedAt are the last Stop and Start asked of it.
	StoppedAt time.Time `json:"stopped_at,omitzero"`
	StartedAt time.Time `json:"started_at,omitzero"`
	DeletedAt time.Time `json:"deleted_at,omitzero"`
	// IP and SSHPort are the sandbox host, once the VM has run.
	IP      string `json:"ip,omitempty"`
	SSHPort int    `json:"ssh_port,omitempty"`
	// Failed: its create was refused (no capacity, quota); it holds
	// nothing and ends in ERROR.
	Failed bool `json:"failed,omitempty"`
}

type clusterRecord struct {
	ID        string            `json:"id"`
	Project   string            `json:"project"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels"`
	Fabric    string            `json:"fabric"`
	CreatedAt time.Time         `json:"created_at"`
}

type opRecord struct {
	ID          string `json:"id"`
	ResourceID  string `json:"resource_id"`
	Description string `json:"description"`
	Delete      bool   `json:"delete"`
	// Until is the phase a Stop or a Start finishes at (zero: a create
	// or a delete).
	Until     phase     `json:"until,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Failure is the google.rpc.Status (protojson) a failed operation
	// finishes with.
	Failure string `json:"failure,omitempty"`
}

// phase is a VM's place in Nebius's state machine at some moment.
type phase int

const (
	phaseCreating phase = iota // CREATING
	phaseStarting              // STARTING: booting, no public address yet
	phaseRunning               // RUNNING
	phaseStopping              // STOPPING: asked to stop
	phaseStopped               // STOPPED: asked to, or preempted
	phaseFailed                // ERROR: its create failed
	phaseDeleting              // DELETING
	phaseGone                  // deleted: NOT_FOUND
)

// NewStandIn makes a stand-in, reloading its state from o.StatePath and
// reopening the hosts of the VMs that were running. o.APIKey, when set,
// is the service account id it accepts instead of StandInServiceAccountID.
func NewStandIn(o standin.Options) (*StandIn, error) {
	s := &StandIn{offers: seedOffers(o.Scale), regions: map[string]string{}, calls: map[string]int{}}
	for _, of := range s.offers {
		s.regions[projectID(of.region)] = of.region
	}
	if err := s.Open(vendorName, o, s.machines); err != nil {
		return nil, err
	}
	if s.State.Tokens == nil {
		s.State.Tokens = map[string]time.Time{}
	}
	if err := s.loadKey(); err != nil {
		return nil, fmt.Errorf("nebius stand-in: %w", err)
	}
	s.server = grpc.NewServer(grpc.ChainUnaryInterceptor(s.injectFaults, s.authorize))
	pb.RegisterTokenExchangeServiceServer(s.server, tokenServer{s: s})
	pb.RegisterInstanceServiceServer(s.server, instanceServer{s: s})
	pb.RegisterDiskServiceServer(s.server, diskServer{s: s})
	pb.RegisterPlatformServiceServer(s.server, platformServer{s: s})
	pb.RegisterGpuClusterServiceServer(s.server, clusterServer{s: s})
	pb.RegisterOperationServiceServer(s.server, operationServer{s: s})
	pb.RegisterSubnetServiceServer(s.server, subnetServer{s: s})
	vpcpb.RegisterSecurityGroupServiceServer(s.server, groupServer{s: s})
	vpcpb.RegisterSecurityRuleServiceServer(s.server, ruleServer{s: s})
	pb.RegisterCalculatorServiceServer(s.server, calculatorServer{s: s})
	pb.RegisterResourceAdviceServiceServer(s.server, adviceServer{s: s})
	o.Capacity.Register(Name, &s.Mu, s.capacities)
	return s, nil
}

// loadKey restores the service account's key, or makes one.
func (s *StandIn) loadKey() error {
	if s.State.PrivateKeyPEM != "" {
		k, err := parsePrivateKey(s.State.PrivateKeyPEM)
		s.key = k
		return err
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generate service account key: %w", err)
	}
	s.key = k
	s.State.PrivateKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	return nil
}

// Serve answers gRPC on l until Stop.
func (s *StandIn) Serve(l net.Listener) error { return s.server.Serve(l) }

// Stop closes the listeners and cuts every open call.
func (s *StandIn) Stop() { s.server.Stop() }

// Faults is where tests and the sandbox inject failures. Rules match
// with Method "POST" (or empty) and PathPrefix a full gRPC method name
// ("/nebius.compute.v1.InstanceService/Create"); Status is an HTTP status
// turned into its gRPC code (429: RESOURCE_EXHAUSTED, too many requests).
func (s *StandIn) Faults() *standin.Faults { return s.Base.Faults() }

// Calls is how many calls of a method ("/nebius.compute.v1.InstanceService/Create")
// have reached the stand-in, injected failures included.
func (s *StandIn) Calls(method string) int {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	return s.calls[method]
}

// SetInstanceQuota caps how many VMs may exist at once (0: no cap).
func (s *StandIn) SetInstanceQuota(n int) {
	s.Mu.Lock()
	s.quota = n
	s.Mu.Unlock()
}

// serviceAccountID is the service account the stand-in accepts.
func (s *StandIn) serviceAccountID() string {
	if s.Opts.APIKey != "" {
		return s.Opts.APIKey
	}
	return StandInServiceAccountID
}

// Projects maps every region of the stand-in to its project id.
func (s *StandIn) Projects() map[string]string {
	out := map[string]string{}
	for _, o := range s.offers {
		out[o.region] = projectID(o.region)
	}
	return out
}

// AdapterConfig is the adapter configuration for this stand-in served at
// endpoint (host:port): its credentials, tenant and projects, plaintext,
// and SSH ports from its hosts.
func (s *StandIn) AdapterConfig(endpoint string) Config {
	return Config{
		ServiceAccountID: s.serviceAccountID(),
		PublicKeyID:      StandInPublicKeyID,
		PrivateKeyPEM:    s.State.PrivateKeyPEM,
		TenantID:         StandInTenantID,
		Projects:         s.Projects(),
		Endpoint:         endpoint,
		Insecure:         true,
		SSHPort:          s.Hosts.Port,
		// Operations finish within a fraction of BootTime here.
		OperationPoll: 100 * time.Millisecond,
		Now:           s.Opts.Now,
	}
}

// Preempt stops a preemptible VM as Nebius does when it needs the
// capacity back.
func (s *StandIn) Preempt(id string) error {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	vm := s.findVM(id, s.Now())
	if vm == nil || !vm.Preemptible {
		return fmt.Errorf("no preemptible VM %s", id)
	}
	vm.PreemptedAt = s.Now().UTC()
	s.CloseHost(vm.ID)
	return s.Save()
}

// spec is the VM's InstanceSpec as received.
func (vm *vmRecord) spec() *pb.InstanceSpec {
	spec := &pb.InstanceSpec{}
	_ = protojson.Unmarshal([]byte(vm.Spec), spec) // written by Create from a valid message
	return spec
}

// machines lists the VMs for the base: their hosts to reopen (the running
// ones) and close, and their console entries.
func (s *StandIn) machines() []standin.Host {
	now := s.Now()
	out := make([]standin.Host, 0, len(s.State.VMs))
	for _, vm := range s.State.VMs {
		ph := s.phase(vm, now)
		e := standin.ConsoleEntry{
			Vendor: vendorName, ID: vm.ID, Name: vm.Name, State: s.view(vm, now).GetStatus().GetState().String(),
			Live: ph != phaseGone, InstanceType: strings.Replace(vm.Offer[len(vm.Region)+1:], "/", ":", 1),
			Region: vm.Region, SSHPort: vm.SSHPort, CreatedAt: vm.CreatedAt,
		}
		if ph == phaseRunning {
			e.IP = vm.IP
		}
		for k, v := range vm.Labels {
			e.Tags = append(e.Tags, k+"="+v)
		}
		out = append(out, standin.Host{ID: vm.ID, IP: &vm.IP, Port: &vm.SSHPort, Live: ph == phaseRunning, Machine: s.machine(vm), Console: e})
	}
	return out
}

// machine is what the VM received: root's key in its cloud-init user data
// (Nebius's images have no key of their own), its secondary disks,
// mounted where that cloud-init mounts them, and the ports its security
// groups let in; the caller holds s.Mu.
func (s *StandIn) machine(vm *vmRecord) standin.Machine {
	return standin.Machine{Vendor: Name, ID: vm.ID, Name: vm.Name, UserDataField: "cloud_init_user_data",
		UserData: vm.spec().GetCloudInitUserData(), Mounts: vm.Mounts, Ports: s.openedPorts(vm)}
}

// newID makes a Nebius-style id: "<kind>-e00" and 17 lowercase hex digits.
func (s *StandIn) newID(kind string) string {
	s.State.NextID++
	return fmt.Sprintf("%s-e00%017x", kind, s.State.NextID)
}

// projectID and subnetID are the fixed ids of a region's project and its
// default subnet.
func projectID(region string) string { return "project-e00" + hash17(region) }
func subnetID(region string) string  { return "vpcsubnet-e00" + hash17(region) }

func hash17(s string) string {
	h := fnv.New64a()
	h.Write([]byte(s))
	return fmt.Sprintf("%017x", h.Sum64())[:17]
}

// regionOf finds the region of one of the stand-in's projects.
func (s *StandIn) regionOf(project string) (string, bool) {
	region, ok := s.regions[project]
	return region, ok
}

// serviceStatus is a gRPC status carrying Nebius's ServiceError detail.
func serviceStatus(code codes.Code, se *pb.ServiceError, format string, args ...any) *status.Status {
	st := status.New(code, fmt.Sprintf(format, args...))
	if d, err := st.WithDetails(se); err == nil {
		st = d
	}
	return st
}

// serviceError is serviceStatus as a call's error.
func serviceError(code codes.Code, se *pb.ServiceError, format string, args ...any) error {
	return serviceStatus(code, se, format, args...).Err()
}

func notFound(service, id string) error {
	return serviceError(codes.NotFound, &pb.ServiceError{Service: service, Code: "ResourceNotFound",
		Details: &pb.ServiceError_ResourceNotFound{ResourceNotFound: &pb.ResourceNotFound{ResourceId: id}}},
		"resource %s not found", id)
}

func badRequest(field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return serviceError(codes.InvalidArgument, &pb.ServiceError{Service: "compute", Code: "BadRequest",
		Details: &pb.ServiceError_BadRequest{BadRequest: &pb.BadRequest{Violations: []*pb.BadRequest_Violation{{Field: field, Message: msg}}}}},
		"%s", msg)
}

// faultStatus is the gRPC form of an injected HTTP-style status.
func faultStatus(httpStatus int, message string) error {
	switch httpStatus {
	case http.StatusBadRequest:
		return badRequest("", "%s", cmp.Or(message, "injected bad request"))
	case http.StatusUnauthorized:
		return status.Error(codes.Unauthenticated, cmp.Or(message, "access token is invalid"))
	case http.StatusForbidden:
		return status.Error(codes.PermissionDenied, cmp.Or(message, "permission denied"))
	case http.StatusNotFound:
		return status.Error(codes.NotFound, cmp.Or(message, "not found"))
	case http.StatusConflict:
		return status.Error(codes.AlreadyExists, cmp.Or(message, "already exists"))
	case http.StatusTooManyRequests:
		return serviceError(codes.ResourceExhausted, &pb.ServiceError{Service: "compute", Code: "TooManyRequests",
			Details: &pb.ServiceError_TooManyRequests{TooManyRequests: &pb.TooManyRequests{Violation: "requests per second"}}},
			"%s", cmp.Or(message, "too many requests"))
	case http.StatusServiceUnavailable:
		return status.Error(codes.Unavailable, cmp.Or(message, "service unavailable"))
	case http.StatusGatewayTimeout:
		return status.Error(codes.DeadlineExceeded, cmp.Or(message, "deadline exceeded"))
	}
	return status.Error(codes.Internal, cmp.Or(message, "internal error"))
}

// injectFaults applies the Faults rules by full method name.
func (s *StandIn) injectFaults(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	s.Mu.Lock()
	s.calls[info.FullMethod]++
	s.Mu.Unlock()
	latency, rule := s.Faults().Match(http.MethodPost, info.FullMethod)
	delay := latency
	if rule != nil {
		delay += rule.Delay
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	if rule == nil || rule.Status == 0 {
		return handler(ctx, req)
	}
	if rule.AfterHandler {
		handler(ctx, req) // "created but answered 500": the answer is lost
	}
	return nil, faultStatus(rule.Status, rule.Message)
}

// authorize checks the bearer access token on everything but the token
// exchange itself.
func (s *StandIn) authorize(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if info.FullMethod == exchangeMethod {
		return handler(ctx, req)
	}
	md, _ := metadata.FromIncomingContext(ctx)
	token := ""
	if v := md.Get("authorization"); len(v) == 1 {
		token, _ = strings.CutPrefix(v[0], "Bearer ")
	}
	s.Mu.Lock()
	expires, ok := s.State.Tokens[token]
	s.Mu.Unlock()
	if !ok || !s.Now().Before(expires) {
		return nil, status.Error(codes.Unauthenticated, "access token is missing, invalid or expired")
	}
	return handler(ctx, req)
}

type tokenServer struct {
	pb.UnimplementedTokenExchangeServiceServer
	s *StandIn
}

// Exchange checks the service account's JWT (RS256, the known key id,
// iss = sub = the service account, not expired, signed by its key) and
// issues an access token.
func (t tokenServer) Exchange(_ context.Context, req *pb.ExchangeTokenRequest) (*pb.CreateTokenResponse, error) {
	s := t.s
	if req.GetGrantType() != grantTypeExchange || req.GetSubjectTokenType() != tokenTypeJWT {
		return nil, status.Errorf(codes.InvalidArgument, "grant_type must be %s and subject_token_type %s", grantTypeExchange, tokenTypeJWT)
	}
	if err := s.verifyJWT(req.GetSubjectToken()); err != nil {
		return nil, status.Errorf(codes.Unauthenticated, "subject token rejected: %v", err)
	}
	b := make([]byte, 24)
	rand.Read(b)
	token := "ne1" + hex.EncodeToString(b)
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	for k, exp := range s.State.Tokens {
		if !now.Before(exp) {
			delete(s.State.Tokens, k)
		}
	}
	s.State.Tokens[token] = now.Add(accessTokenLifetime)
	if err := s.Save(); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &pb.CreateTokenResponse{AccessToken: token, IssuedTokenType: tokenTypeAccess, TokenType: "Bearer",
		ExpiresIn: int64(accessTokenLifetime / time.Second)}, nil
}

func (s *StandIn) verifyJWT(jwt string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a JWT")
	}
	var h jwtHeader
	var c jwtClaims
	if err := decodeSegment(parts[0], &h); err != nil {
		return err
	}
	if err := decodeSegment(parts[1], &c); err != nil {
		return err
	}
	switch {
	case h.Alg != "RS256":
		return fmt.Errorf("alg %q, want RS256", h.Alg)
	case h.Kid != StandInPublicKeyID:
		return fmt.Errorf("unknown key id %q", h.Kid)
	case c.Iss != s.serviceAccountID() || c.Sub != c.Iss:
		return fmt.Errorf("iss %q / sub %q is not the service account", c.Iss, c.Sub)
	case s.Now().Unix() >= c.Exp:
		return fmt.Errorf("expired")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("bad signature")
	}
	return nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return fmt.Errorf("JWT segment: %w", err)
	}
	return json.Unmarshal(b, v)
}

// page cuts n items to the page a token and size ask for; the token is
// the offset of the page.
func page(token string, size int64, n int) (start, end int, next string, err error) {
	if token != "" {
		v, perr := strconv.Atoi(token)
		if perr != nil || v < 0 || v > n {
			return 0, 0, "", status.Errorf(codes.InvalidArgument, "invalid page_token %q", token)
		}
		start = v
	}
	if size <= 0 || size > 1000 {
		size = 1000
	}
	end = start + int(min(size, int64(n-start)))
	if end < n {
		next = strconv.Itoa(end)
	}
	return start, end, next, nil
}

// phase derives a VM's state from its timestamps: BootTime splits into
// CREATING and STARTING; a refused VM fails where it would have started;
// deletion takes half a boot.
func (s *StandIn) phase(vm *vmRecord, now time.Time) phase {
	boot := s.Opts.BootTime
	switch {
	case !vm.DeletedAt.IsZero():
		if now.Sub(vm.DeletedAt) < boot/2 {
			return phaseDeleting
		}
		return phaseGone
	case !vm.PreemptedAt.IsZero():
		return phaseStopped
	}
	if p, ok := s.powerPhase(vm, now); ok {
		return p
	}
	switch age := now.Sub(vm.CreatedAt); {
	case age < boot*3/10:
		return phaseCreating
	case vm.Failed:
		return phaseFailed
	case age < boot:
		return phaseStarting
	}
	return phaseRunning
}

// findVM finds a VM that still exists; the caller holds s.Mu.
func (s *StandIn) findVM(id string, now time.Time) *vmRecord {
	for _, vm := range s.State.VMs {
		if vm.ID == id && s.phase(vm, now) != phaseGone {
			return vm
		}
	}
	return nil
}

// view renders a VM as Nebius's Instance; the caller holds s.Mu. A VM
// that has just come up gets its host.
func (s *StandIn) view(vm *vmRecord, now time.Time) *pb.Instance {
	ph := s.phase(vm, now)
	if ph == phaseRunning && vm.IP == "" {
		if ip, port, err := s.OpenHost(vm.ID, "", 0, s.machine(vm)); err == nil {
			vm.IP, vm.SSHPort = ip, port
			_ = s.Save() // a failed save loses nothing the next change will not write
		}
	}
	s.reopen(vm, ph)
	spec := vm.spec()
	spec.Stopped = vm.StoppedAt.After(vm.StartedAt)
	nic := &pb.NetworkInterfaceStatus{Index: 0, Name: "eth0", MacAddress: macOf(vm.ID),
		IpAddress: &pb.IPAddressStatus{Address: privateIP(vm.ID) + "/32"}}
	if ph == phaseRunning && vm.IP != "" {
		nic.PublicIpAddress = &pb.PublicIPAddressStatus{Address: vm.IP + "/32"}
	}
	st := &pb.InstanceStatus{NetworkInterfaces: []*pb.NetworkInterfaceStatus{nic}}
	switch ph {
	case phaseCreating:
		st.State, st.Reconciling = pb.InstanceStatus_CREATING, true
	case phaseStarting:
		st.State, st.Reconciling = pb.InstanceStatus_STARTING, true
	case phaseRunning:
		st.State = pb.InstanceStatus_RUNNING
	case phaseStopping:
		st.State, st.Reconciling = pb.InstanceStatus_STOPPING, true
	case phaseStopped:
		st.State = pb.InstanceStatus_STOPPED
	case phaseFailed:
		st.State = pb.InstanceStatus_ERROR
	default:
		st.State, st.Reconciling = pb.InstanceStatus_DELETING, true
	}
	return &pb.Instance{
		Metadata: &pb.ResourceMetadata{Id: vm.ID, ParentId: vm.Project, Name: vm.Name, ResourceVersion: 1,
			CreatedAt: timestamppb.New(vm.CreatedAt), UpdatedAt: timestamppb.New(vm.CreatedAt), Labels: vm.Labels},
		Spec:   spec,
		Status: st,
	}
}

func privateIP(id string) string {
	h := fnv.New32a()
	h.Write([]byte(id))
	n := h.Sum32()
	return fmt.Sprintf("10.%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xfe|1)
}

func macOf(id string) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	n := h.Sum64()
	return fmt.Sprintf("d0:0d:%02x:%02x:%02x:%02x", n>>24&0xff, n>>16&0xff, n>>8&0xff, n&0xff)
}

// capacity is what the stock model says of o's on-demand or preemptible
// VMs now: its stock, which both share, less the VMs that hold it, or sold
// out while it flickers, as real stock comes and goes. A GPU cluster is
// VMs of its preset, so its nodes draw on the on-demand item. The caller
// holds s.Mu.
func (s *StandIn) capacity(o offer, preemptible bool, now time.Time) standin.Level {
	n := o.stock
	for _, vm := range s.State.VMs {
		if vm.Offer == o.key() && s.holds(vm, now) {
			n--
		}
	}
	contract := standin.OnDemand
	if preemptible {
		contract = standin.Spot
	}
	item := standin.Item{Vendor: Name, InstanceType: instanceType(o.platform.name, o.preset.name), Region: o.region,
		Contract: contract, GPUCount: o.preset.gpus, NodeCount: 1}
	return s.Opts.Level(item, n, 0.05, o.key(), now)
}

// capacities lists every GPU preset of every region, on demand and, where
// its platform takes them, preemptible, for the sandbox's capacity ledger;
// the caller holds s.Mu.
func (s *StandIn) capacities() []standin.Level {
	now := s.Now()
	var out []standin.Level
	for _, o := range s.offers {
		if o.preset.gpus == 0 {
			continue
		}
		out = append(out, s.capacity(o, false, now))
		if o.platform.preemptible > 0 {
			out = append(out, s.capacity(o, true, now))
		}
	}
	return out
}

// available is how many more VMs of o can start now on demand or
// preemptible, as the sandbox's capacity ledger has it; the caller holds
// s.Mu.
func (s *StandIn) available(o offer, preemptible bool, now time.Time) int {
	return s.Opts.Capacity.Free(s.capacity(o, preemptible, now))
}

// holds says whether a VM takes up stock and quota: it exists and its
// create was not refused.
func (s *StandIn) holds(vm *vmRecord, now time.Time) bool {
	return !vm.Failed && s.phase(vm, now) != phaseGone
}

func (s *StandIn) findOffer(region, platform, preset string) (offer, bool) {
	for _, o := range s.offers {
		if o.region == region && o.platform.name == platform && o.preset.name == preset {
			return o, true
		}
	}
	return offer{}, false
}

// live counts the VMs that hold quota; the caller holds s.Mu.
func (s *StandIn) live(now time.Time) int {
	n := 0
	for _, vm := range s.State.VMs {
		if s.holds(vm, now) {
			n++
		}
	}
	return n
}

// operation records a new operation on a resource; the caller holds s.Mu.
// failure, when not nil, is the error it finishes with.
func (s *StandIn) operation(resourceID, description string, del bool, failure *status.Status, now time.Time) (*pb.Operation, error) {
	return s.record(&opRecord{ResourceID: resourceID, Description: description, Delete: del}, failure, now)
}

// record records op, new, finishing with failure when not nil; the
// caller holds s.Mu.
func (s *StandIn) record(op *opRecord, failure *status.Status, now time.Time) (*pb.Operation, error) {
	op.ID, op.CreatedAt = s.newID("computeoperation"), now.UTC()
	if failure != nil {
		b, err := protojson.Marshal(failure.Proto())
		if err != nil {
			return nil, status.Error(codes.Internal, err.Error())
		}
		op.Failure = string(b)
	}
	s.State.Operations = append(s.State.Operations, op)
	if err := s.Save(); err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return s.opView(op, now), nil
}

// opView renders an operation, whose status is null until it finishes:
// a VM's create when the VM leaves CREATING (to boot, or to fail with
// the operation's error), its delete when it is gone; a GPU cluster's
// operations finish at once. When Nebius finishes a create is not
// published: this is our reading; dstack (core/backends/nebius/compute.py,
// _wait_for_instance) stops waiting at the same point, the VM STARTING.
func (s *StandIn) opView(op *opRecord, now time.Time) *pb.Operation {
	out := &pb.Operation{Id: op.ID, Description: op.Description, CreatedAt: timestamppb.New(op.CreatedAt),
		CreatedBy: s.serviceAccountID(), ResourceId: op.ResourceID}
	done := true
	for _, vm := range s.State.VMs {
		if vm.ID != op.ResourceID {
			continue
		}
		ph := s.phase(vm, now)
		switch {
		case op.Delete:
			done = ph == phaseGone
		case op.Until != 0:
			done = ph == op.Until
		default:
			done = ph != phaseCreating
		}
	}
	if !done {
		return out
	}
	out.FinishedAt = timestamppb.New(now)
	out.Status = &rpcstatus.Status{Code: int32(codes.OK)}
	if op.Failure != "" {
		// Written by operation from a valid status.
		_ = protojson.Unmarshal([]byte(op.Failure), out.Status)
	}
	return out
}

type operationServer struct {
	pb.UnimplementedOperationServiceServer
	s *StandIn
}

func (o operationServer) Get(_ context.Context, req *pb.GetOperationRequest) (*pb.Operation, error) {
	s := o.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	for _, op := range s.State.Operations {
		if op.ID == req.GetId() {
			return s.opView(op, s.Now()), nil
		}
	}
	return nil, notFound("compute", req.GetId())
}

type instanceServer struct {
	pb.UnimplementedInstanceServiceServer
	s *StandIn
}

func (i instanceServer) Get(_ context.Context, req *pb.GetInstanceRequest) (*pb.Instance, error) {
	s := i.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	vm := s.findVM(req.GetId(), now)
	if vm == nil {
		return nil, notFound("compute", req.GetId())
	}
	return s.view(vm, now), nil
}

func (i instanceServer) GetByName(_ context.Context, req *pb.GetByNameRequest) (*pb.Instance, error) {
	s := i.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	if vm := s.vmByName(req.GetParentId(), req.GetName(), now); vm != nil {
		return s.view(vm, now), nil
	}
	return nil, notFound("compute", req.GetParentId()+"/"+req.GetName())
}

func (s *StandIn) vmByName(project, name string, now time.Time) *vmRecord {
	for _, vm := range s.State.VMs {
		if vm.Project == project && vm.Name == name && s.phase(vm, now) != phaseGone {
			return vm
		}
	}
	return nil
}

func (i instanceServer) List(_ context.Context, req *pb.ListInstancesRequest) (*pb.ListInstancesResponse, error) {
	s := i.s
	if _, ok := s.regionOf(req.GetParentId()); !ok {
		return nil, notFound("iam", req.GetParentId())
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	var match []*vmRecord
	for _, vm := range s.State.VMs {
		if vm.Project == req.GetParentId() && s.phase(vm, now) != phaseGone {
			match = append(match, vm)
		}
	}
	start, end, next, err := page(req.GetPageToken(), req.GetPageSize(), len(match))
	if err != nil {
		return nil, err
	}
	resp := &pb.ListInstancesResponse{NextPageToken: next}
	for _, vm := range match[start:end] {
		resp.Items = append(resp.Items, s.view(vm, now))
	}
	return resp, nil
}

// Create validates a CreateInstanceRequest the way Nebius does and
// starts the VM.
func (i instanceServer) Create(_ context.Context, req *pb.CreateInstanceRequest) (*pb.Operation, error) {
	s := i.s
	md, spec := req.GetMetadata(), req.GetSpec()
	region, ok := s.regionOf(md.GetParentId())
	if !ok {
		return nil, notFound("iam", md.GetParentId())
	}
	if err := validateSpec(spec, region); err != nil {
		return nil, err
	}
	res := spec.GetResources()
	o, ok := s.findOffer(region, res.GetPlatform(), res.GetPreset())
	if !ok {
		return nil, badRequest("spec.resources", "platform %s preset %s is not available in %s", res.GetPlatform(), res.GetPreset(), region)
	}
	if spec.GetPreemptible() != nil && o.platform.preemptible == 0 {
		return nil, badRequest("spec.preemptible", "platform %s does not allow preemptible instances", o.platform.name)
	}
	body, err := protojson.Marshal(spec)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	if md.GetName() == "" {
		return nil, badRequest("metadata.name", "name is required")
	}
	if s.vmByName(md.GetParentId(), md.GetName(), now) != nil {
		return nil, status.Errorf(codes.AlreadyExists, "instance %q already exists in %s", md.GetName(), md.GetParentId())
	}
	vm := &vmRecord{Project: md.GetParentId(), Region: region, Name: md.GetName(), Labels: md.GetLabels(),
		Spec: string(body), Offer: o.key(), Preemptible: spec.GetPreemptible() != nil, CreatedAt: now.UTC()}
	if id := spec.GetGpuCluster().GetId(); id != "" {
		c := s.findCluster(id)
		switch {
		case c == nil || c.Project != vm.Project:
			return nil, notFound("compute", id)
		case !o.preset.clustering:
			return nil, badRequest("spec.gpu_cluster", "preset %s does not allow GPU clustering", o.preset.name)
		case c.Fabric != o.fabric:
			return nil, badRequest("spec.gpu_cluster", "cluster %s is on fabric %s; %s is on %s", id, c.Fabric, region, o.fabric)
		}
		vm.ClusterID = id
	}
	if vm.Disks, vm.Mounts, err = s.attach(vm.Project, spec.GetSecondaryDisks(), now); err != nil {
		return nil, err
	}
	if vm.Groups, err = s.groups(vm.Project, region, spec.GetNetworkInterfaces()); err != nil {
		return nil, err
	}
	// Quota and stock are judged as the VM is placed: the call succeeds
	// and its operation fails (README "Error Details": an error comes
	// from the call or from the operation). The wording is the
	// stand-in's own and avoids the adapter's quotaPhrases, so a test
	// passes only if the ServiceError detail, not the words, decides.
	var failure *status.Status
	switch {
	case s.quota > 0 && s.live(now) >= s.quota:
		failure = serviceStatus(codes.ResourceExhausted, &pb.ServiceError{Service: "compute", Code: "QuotaFailure",
			Details: &pb.ServiceError_QuotaFailure{QuotaFailure: &pb.QuotaFailure{Violations: []*pb.QuotaFailure_Violation{{
				Quota: "compute.instance.count", Message: "limit reached", Limit: strconv.Itoa(s.quota), Requested: "1"}}}}},
			"Limit reached for compute.instance.count: %d of %d in use", s.live(now), s.quota)
	case s.available(o, vm.Preemptible, now) < 1:
		// Nebius's description: a create's operation fails with
		// RESOURCE_EXHAUSTED (operation.proto lists it among a failed
		// operation's codes) carrying a ServiceError whose details are
		// NotEnoughResources, "not enough resources available to perform
		// the requested action" (common/v1/error.proto).
		failure = serviceStatus(codes.ResourceExhausted, &pb.ServiceError{Service: "compute", Code: "NotEnoughResources",
			Details: &pb.ServiceError_NotEnoughResources{NotEnoughResources: &pb.NotEnoughResources{Violations: []*pb.NotEnoughResources_Violation{{
				ResourceType: o.platform.name, Message: "not enough resources for preset " + o.preset.name, Requested: "1"}}}}},
			"Not enough resources to create instance with platform %s and preset %s in %s", o.platform.name, o.preset.name, region)
	}
	vm.ID = s.newID("computeinstance")
	vm.Failed = failure != nil
	s.State.VMs = append(s.State.VMs, vm)
	return s.operation(vm.ID, "Create instance", false, failure, now)
}

// validateSpec checks the fields Nebius requires of a new instance.
func validateSpec(spec *pb.InstanceSpec, region string) error {
	res := spec.GetResources()
	if res.GetPlatform() == "" || res.GetPreset() == "" {
		return badRequest("spec.resources", "platform and preset are required")
	}
	nics := spec.GetNetworkInterfaces()
	if len(nics) == 0 || len(nics) > 8 {
		return badRequest("spec.network_interfaces", "between 1 and 8 network interfaces are required")
	}
	for _, nic := range nics {
		if nic.GetSubnetId() != subnetID(region) {
			return badRequest("spec.network_interfaces.subnet_id", "subnet %q not found in the project", nic.GetSubnetId())
		}
		if nic.GetName() == "" || nic.GetIpAddress() == nil {
			return badRequest("spec.network_interfaces", "name and ip_address are required")
		}
	}
	disk := spec.GetBootDisk()
	if disk == nil || disk.GetAttachMode() != pb.AttachedDiskSpec_READ_WRITE {
		return badRequest("spec.boot_disk", "a READ_WRITE boot disk is required")
	}
	if md := disk.GetManagedDisk(); md != nil {
		ds := md.GetSpec()
		if md.GetName() == "" || ds.GetSizeGibibytes() <= 0 || ds.GetType() == pb.DiskSpec_UNSPECIFIED {
			return badRequest("spec.boot_disk.managed_disk", "name, size and type are required")
		}
		if !slices.Contains(knownImageFamilies, ds.GetSourceImageFamily().GetImageFamily()) {
			return badRequest("spec.boot_disk.managed_disk.spec.source_image_family", "image family %q not found", ds.GetSourceImageFamily().GetImageFamily())
		}
	} else if disk.GetExistingDisk().GetId() == "" {
		return badRequest("spec.boot_disk", "existing_disk or managed_disk is required")
	}
	if len(spec.GetCloudInitUserData()) > maxUserData {
		return badRequest("spec.cloud_init_user_data", "value length must be at most %d characters", maxUserData)
	}
	if p := spec.GetPreemptible(); p != nil && p.GetOnPreemption() != pb.PreemptibleSpec_STOP {
		return badRequest("spec.preemptible.on_preemption", "only STOP is supported")
	}
	return nil
}

func (i instanceServer) Delete(_ context.Context, req *pb.DeleteInstanceRequest) (*pb.Operation, error) {
	s := i.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	vm := s.findVM(req.GetId(), now)
	if vm == nil {
		return nil, notFound("compute", req.GetId())
	}
	if vm.DeletedAt.IsZero() {
		vm.DeletedAt = now.UTC()
		s.RemoveHost(vm.ID)
	}
	return s.operation(vm.ID, "Delete instance", true, nil, now)
}

type platformServer struct {
	pb.UnimplementedPlatformServiceServer
	s *StandIn
}

// List answers the platforms sold in the project's region, each with the
// presets sold there.
func (p platformServer) List(_ context.Context, req *pb.ListPlatformsRequest) (*pb.ListPlatformsResponse, error) {
	s := p.s
	region, ok := s.regionOf(req.GetParentId())
	if !ok {
		return nil, notFound("iam", req.GetParentId())
	}
	var items []*pb.Platform
	byName := map[string]*pb.Platform{}
	for _, o := range s.offers {
		if o.region != region {
			continue
		}
		pl, ok := byName[o.platform.name]
		if !ok {
			pl = &pb.Platform{
				Metadata: &pb.ResourceMetadata{Id: "computeplatform-e00" + hash17(o.platform.name), ParentId: req.GetParentId(), Name: o.platform.name},
				Spec: &pb.PlatformSpec{HumanReadableName: o.platform.human, GpuMemoryGigabytes: int32(o.platform.gpuMemoryGB),
					GpuCountQuotaType: "compute.instance.gpu." + strings.TrimPrefix(o.platform.name, "gpu-")},
				Status: &pb.PlatformStatus{AllowedForPreemptibles: o.platform.preemptible > 0},
			}
			byName[o.platform.name] = pl
			items = append(items, pl)
		}
		pl.Spec.Presets = append(pl.Spec.Presets, &pb.Preset{Name: o.preset.name, AllowGpuClustering: o.preset.clustering,
			Resources: &pb.PresetResources{VcpuCount: int32(o.preset.vcpus), MemoryGibibytes: int32(o.preset.memGiB), GpuCount: int32(o.preset.gpus)}})
	}
	start, end, next, err := page(req.GetPageToken(), req.GetPageSize(), len(items))
	if err != nil {
		return nil, err
	}
	return &pb.ListPlatformsResponse{Items: items[start:end], NextPageToken: next}, nil
}

type subnetServer struct {
	pb.UnimplementedSubnetServiceServer
	s *StandIn
}

func (n subnetServer) List(_ context.Context, req *pb.ListSubnetsRequest) (*pb.ListSubnetsResponse, error) {
	region, ok := n.s.regionOf(req.GetParentId())
	if !ok {
		return nil, notFound("iam", req.GetParentId())
	}
	return &pb.ListSubnetsResponse{Items: []*pb.Subnet{{Metadata: &pb.ResourceMetadata{
		Id: subnetID(region), ParentId: req.GetParentId(), Name: "default-subnet-" + hash17(region)[:8]},
		Spec: &pb.SubnetSpec{NetworkId: networkID(region)}}}}, nil
}

type clusterServer struct {
	pb.UnimplementedGpuClusterServiceServer
	s *StandIn
}

// findCluster finds a GPU cluster; the caller holds s.Mu.
func (s *StandIn) findCluster(id string) *clusterRecord {
	for _, c := range s.State.Clusters {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// clusterView renders a GPU cluster; the caller holds s.Mu.
func (s *StandIn) clusterView(c *clusterRecord, now time.Time) *pb.GpuCluster {
	st := &pb.GpuClusterStatus{}
	for _, vm := range s.State.VMs {
		if vm.ClusterID == c.ID && s.phase(vm, now) != phaseGone {
			st.Instances = append(st.Instances, vm.ID)
		}
	}
	return &pb.GpuCluster{
		Metadata: &pb.ResourceMetadata{Id: c.ID, ParentId: c.Project, Name: c.Name, ResourceVersion: 1,
			CreatedAt: timestamppb.New(c.CreatedAt), UpdatedAt: timestamppb.New(c.CreatedAt), Labels: c.Labels},
		Spec:   &pb.GpuClusterSpec{InfinibandFabric: c.Fabric},
		Status: st,
	}
}

func (g clusterServer) Get(_ context.Context, req *pb.GetGpuClusterRequest) (*pb.GpuCluster, error) {
	s := g.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if c := s.findCluster(req.GetId()); c != nil {
		return s.clusterView(c, s.Now()), nil
	}
	return nil, notFound("compute", req.GetId())
}

func (g clusterServer) GetByName(_ context.Context, req *pb.GetByNameRequest) (*pb.GpuCluster, error) {
	s := g.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	for _, c := range s.State.Clusters {
		if c.Project == req.GetParentId() && c.Name == req.GetName() {
			return s.clusterView(c, s.Now()), nil
		}
	}
	return nil, notFound("compute", req.GetParentId()+"/"+req.GetName())
}

func (g clusterServer) Create(_ context.Context, req *pb.CreateGpuClusterRequest) (*pb.Operation, error) {
	s := g.s
	md := req.GetMetadata()
	region, ok := s.regionOf(md.GetParentId())
	if !ok {
		return nil, notFound("iam", md.GetParentId())
	}
	fabric := req.GetSpec().GetInfinibandFabric()
	if !slices.ContainsFunc(s.offers, func(o offer) bool { return o.region == region && o.fabric == fabric }) {
		return nil, badRequest("spec.infiniband_fabric", "fabric %q is not in %s", fabric, region)
	}
	if md.GetName() == "" {
		return nil, badRequest("metadata.name", "name is required")
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	for _, c := range s.State.Clusters {
		if c.Project == md.GetParentId() && c.Name == md.GetName() {
			return nil, status.Errorf(codes.AlreadyExists, "GPU cluster %q already exists", md.GetName())
		}
	}
	c := &clusterRecord{ID: s.newID("computegpucluster"), Project: md.GetParentId(), Name: md.GetName(),
		Labels: md.GetLabels(), Fabric: fabric, CreatedAt: now.UTC()}
	s.State.Clusters = append(s.State.Clusters, c)
	return s.operation(c.ID, "Create GPU cluster", false, nil, now)
}

func (g clusterServer) Delete(_ context.Context, req *pb.DeleteGpuClusterRequest) (*pb.Operation, error) {
	s := g.s
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	c := s.findCluster(req.GetId())
	if c == nil {
		return nil, notFound("compute", req.GetId())
	}
	if n := len(s.clusterView(c, now).GetStatus().GetInstances()); n > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "GPU cluster %s still has %d instances", c.ID, n)
	}
	s.State.Clusters = slices.DeleteFunc(s.State.Clusters, func(x *clusterRecord) bool { return x == c })
	return s.operation(c.ID, "Delete GPU cluster", true, nil, now)
}

type calculatorServer struct {
	pb.UnimplementedCalculatorServiceServer
	s *StandIn
}

// Estimate prices a VM (with its managed boot disk, if it has one) or a
// disk, per hour and per 720-hour month, as decimal strings.
func (c calculatorServer) Estimate(_ context.Context, req *pb.EstimateRequest) (*pb.EstimateResponse, error) {
	s := c.s
	now := s.Now()
	var hourly float64
	switch spec := req.GetResourceSpec().GetResourceSpec().(type) {
	case *pb.ResourceSpec_ComputeInstanceSpec:
		region, ok := s.regionOf(spec.ComputeInstanceSpec.GetMetadata().GetParentId())
		if !ok {
			return nil, notFound("iam", spec.ComputeInstanceSpec.GetMetadata().GetParentId())
		}
		is := spec.ComputeInstanceSpec.GetSpec()
		o, ok := s.findOffer(region, is.GetResources().GetPlatform(), is.GetResources().GetPreset())
		if !ok {
			return nil, badRequest("resource_spec.compute_instance_spec.spec.resources", "platform %s preset %s is not available in %s",
				is.GetResources().GetPlatform(), is.GetResources().GetPreset(), region)
		}
		price, ok := vmPrice(o, is.GetPreemptible() != nil, now)
		if !ok {
			return nil, badRequest("resource_spec.compute_instance_spec.spec.preemptible", "platform %s does not allow preemptible instances", o.platform.name)
		}
		hourly = price + float64(is.GetBootDisk().GetManagedDisk().GetSpec().GetSizeGibibytes())*diskGiBHour
	case *pb.ResourceSpec_ComputeDiskSpec:
		size := spec.ComputeDiskSpec.GetSpec().GetSizeGibibytes()
		if size <= 0 {
			return nil, badRequest("resource_spec.compute_disk_spec.spec.size_gibibytes", "size is required")
		}
		hourly = float64(size) * diskGiBHour
	default:
		return nil, badRequest("resource_spec", "exactly one resource type is required")
	}
	return &pb.EstimateResponse{HourlyCost: cost(hourly), MonthlyCost: cost(hourly * 720)}, nil
}

// vmPrice is a VM's hourly price at now: GPUs × the platform's GPU-hour
// price (CPU-only presets: vCPUs × the vCPU-hour), drifting a little.
func vmPrice(o offer, preemptible bool, now time.Time) (float64, bool) {
	p := o.platform
	if p.cpuHour > 0 {
		return float64(o.preset.vcpus) * p.cpuHour, !preemptible
	}
	unit, contract := p.onDemand, "ondemand"
	if preemptible {
		unit, contract = p.preemptible, "preemptible"
	}
	if unit == 0 {
		return 0, false
	}
	return float64(o.preset.gpus) * standin.Drift(unit, 0.03, "nebius/"+p.name+"/"+contract, now), true
}

func cost(usd float64) *pb.ResourceGroupCost {
	return &pb.ResourceGroupCost{CostType: &pb.ResourceGroupCost_General{General: &pb.GeneralTotalCost{Total: &pb.CostBreakdown{
		Cost:        strconv.FormatFloat(usd, 'f', 9, 64),
		CostRounded: strconv.FormatFloat(math.Ceil(usd*100)/100, 'f', 2, 64),
	}}}}
}

type adviceServer struct {
	pb.UnimplementedResourceAdviceServiceServer
	s *StandIn
}

// List gives the tenant's capacity per region, platform and preset: how
// many VMs can start now on demand and preemptible.
func (a adviceServer) List(_ context.Context, req *pb.ListResourceAdviceRequest) (*pb.ListResourceAdviceResponse, error) {
	s := a.s
	if req.GetParentId() != StandInTenantID {
		return nil, status.Errorf(codes.PermissionDenied, "no access to tenant %q", req.GetParentId())
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	// A page token is the place in s.offers to go on from: pages are cut
	// from the offers with GPUs as they lie, without collecting those
	// first (a scaled catalog has tens of thousands, and a read asks for
	// them a hundred at a time).
	start, end, _, err := page(req.GetPageToken(), req.GetPageSize(), len(s.offers))
	if err != nil {
		return nil, err
	}
	size := end - start // at most; a short page ends the list anyway
	resp := &pb.ListResourceAdviceResponse{}
	next := start
	for ; next < len(s.offers) && len(resp.Items) < size; next++ {
		if o := s.offers[next]; o.preset.gpus > 0 {
			resp.Items = append(resp.Items, s.advice(o, now))
		}
	}
	for next < len(s.offers) && s.offers[next].preset.gpus == 0 {
		next++
	}
	if next < len(s.offers) {
		resp.NextPageToken = strconv.Itoa(next)
	}
	return resp, nil
}

// advice is what ResourceAdviceService says of offer o now; the caller
// holds s.Mu.
func (s *StandIn) advice(o offer, now time.Time) *pb.ResourceAdvice {
	fresh := func(available int) *pb.ResourceAdviceStatus_Availability {
		return &pb.ResourceAdviceStatus_Availability{DataState: pb.ResourceAdviceStatus_Availability_DATA_STATE_FRESH,
			Available: uint32(available), Limit: uint32(o.stock), EffectiveAt: timestamppb.New(now)}
	}
	st := &pb.ResourceAdviceStatus{OnDemand: fresh(s.available(o, false, now)), Reserved: fresh(0), Preemptible: fresh(0)}
	if o.platform.preemptible > 0 {
		st.Preemptible = fresh(s.available(o, true, now))
	}
	spec := &pb.ResourceAdviceSpec{Region: o.region, ResourceDetails: &pb.ResourceAdviceSpec_ComputeInstance{ComputeInstance: &pb.ComputeInstanceDetails{
		Platform: o.platform.name, GpuMemoryGigabytes: int32(o.platform.gpuMemoryGB),
		Preset: &pb.ComputeInstanceDetails_Preset{Name: o.preset.name, Resources: &pb.ComputeInstanceDetails_Preset_Resources{
			VcpuCount: int32(o.preset.vcpus), MemoryGibibytes: int32(o.preset.memGiB), GpuCount: int32(o.preset.gpus)}},
	}}}
	if o.preset.clustering {
		spec.Fabric = o.fabric
	}
	return &pb.ResourceAdvice{Metadata: &pb.ResourceMetadata{ParentId: StandInTenantID}, Spec: spec, Status: st}
}
