package nebius

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gpusupply/supply/internal/vendors"
	pb "github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb"
	"github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb/vpcpb"
)

// Nebius's service hosts (its endpoints.md): each API lives on its own.
const (
	ComputeHost    = "compute.api.nebius.cloud:443"
	VPCHost        = "vpc.api.nebius.cloud:443"
	TokensHost     = "tokens.iam.api.nebius.cloud:443"
	CalculatorHost = "api.calculator.billing-data-plane.api.nebius.cloud:443"
	CapacityHost   = "capacity-advisor.billing-cpl.api.nebius.cloud:443"
)

// rateLimitWait is how long a RESOURCE_EXHAUSTED "too many requests" asks
// us to wait: Nebius publishes no limit and sends no retry hint.
const rateLimitWait = 5 * time.Second

// dial opens one connection per service host (or a single one to
// endpoint), each going through the adapter's interceptor.
func (a *Adapter) dial(c Config) error {
	creds := credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	if c.Insecure {
		creds = insecure.NewCredentials()
	}
	conns := map[string]*grpc.ClientConn{}
	open := func(host string) (*grpc.ClientConn, error) {
		if c.Endpoint != "" {
			host = c.Endpoint
		}
		if cc, ok := conns[host]; ok {
			return cc, nil
		}
		cc, err := grpc.NewClient(host, append(vendors.TracedGRPC(Name),
			grpc.WithTransportCredentials(creds), grpc.WithUnaryInterceptor(a.intercept))...)
		if err != nil {
			return nil, err
		}
		conns[host] = cc
		a.conns = append(a.conns, cc)
		return cc, nil
	}
	for _, s := range []struct {
		host string
		set  func(*grpc.ClientConn)
	}{
		{ComputeHost, func(cc *grpc.ClientConn) {
			a.instances = pb.NewInstanceServiceClient(cc)
			a.disks = pb.NewDiskServiceClient(cc)
			a.platforms = pb.NewPlatformServiceClient(cc)
			a.clusters = pb.NewGpuClusterServiceClient(cc)
			// README "API Endpoints": operations are read on the endpoint of
			// the service that started them.
			a.operations = pb.NewOperationServiceClient(cc)
		}},
		{VPCHost, func(cc *grpc.ClientConn) {
			a.subnets = pb.NewSubnetServiceClient(cc)
			a.groups = vpcpb.NewSecurityGroupServiceClient(cc)
			a.rules = vpcpb.NewSecurityRuleServiceClient(cc)
			a.vpcOperations = pb.NewOperationServiceClient(cc)
		}},
		{TokensHost, func(cc *grpc.ClientConn) { a.tokens.exchange = pb.NewTokenExchangeServiceClient(cc) }},
		{CalculatorHost, func(cc *grpc.ClientConn) { a.calculator = pb.NewCalculatorServiceClient(cc) }},
		{CapacityHost, func(cc *grpc.ClientConn) { a.advice = pb.NewResourceAdviceServiceClient(cc) }},
	} {
		cc, err := open(s.host)
		if err != nil {
			return err
		}
		s.set(cc)
	}
	return nil
}

// intercept is every call's plumbing: the rate limit, the bearer token,
// a timeout per attempt, retries for calls that are safe to repeat, and
// the gRPC status turned into a *vendors.Error.
func (a *Adapter) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	op := opName(method)
	attempts := 1
	if repeatable(method) {
		attempts += a.retries
	}
	var err error
	for attempt := range attempts {
		if attempt > 0 {
			select {
			case <-time.After(backoff(attempt)):
			case <-ctx.Done():
				return a.classify(op, ctx.Err())
			}
		}
		if err := a.limiter.Wait(ctx); err != nil {
			return a.classify(op, err)
		}
		callCtx := ctx
		if method != exchangeMethod {
			token, err := a.tokens.get(ctx)
			if err != nil {
				return err
			}
			callCtx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		}
		callCtx, cancel := context.WithTimeout(callCtx, a.timeout)
		err = invoker(callCtx, method, req, reply, cc, opts...)
		cancel()
		if err == nil {
			return nil
		}
		verr := a.classify(op, err)
		if errors.Is(verr, vendors.ErrAuth) && method != exchangeMethod {
			a.tokens.reset() // a restarted IAM may have forgotten it
		}
		if !errors.Is(verr, vendors.ErrTransient) || ctx.Err() != nil {
			return verr
		}
		err = verr
	}
	return err
}

// repeatable says whether a call may be sent again after an ambiguous
// failure: everything but a Create, which would launch twice (a lost
// Create is found again by name on the next Create instead).
func repeatable(method string) bool { return !strings.HasSuffix(method, "/Create") }

// opName is "InstanceService/Create" for "/nebius.compute.v1.InstanceService/Create".
func opName(method string) string {
	service, call, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	return service[strings.LastIndex(service, ".")+1:] + "/" + call
}

// backoff waits 200 ms, 400 ms, 800 ms ... with jitter before a retry.
func backoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << attempt
	return d/2 + rand.N(d/2)
}

// classify turns a failed call, or a failed Operation's status, into a
// *vendors.Error. Nebius's README ("Error Details") says both carry a
// google.rpc.Status whose details may hold a nebius.common.v1.ServiceError;
// its detail, when there is one we know, decides the kind, and the gRPC
// code otherwise.
func (a *Adapter) classify(op string, err error) error {
	var ve *vendors.Error
	if errors.As(err, &ve) {
		return err
	}
	st := status.Convert(err)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		st = status.FromContextError(err)
	}
	e := &vendors.Error{Vendor: vendorName, Op: op, Status: int(st.Code()), Message: st.Message(), Kind: kindOf(st)}
	if e.Kind == vendors.ErrRateLimited {
		e.RetryAfter = rateLimitWait
	}
	return e
}

// serviceErrorKinds is the kind of each ServiceError detail, keyed by
// its field in the details oneof. Source: nebius/common/v1/error.proto
// (nebius/api at vendor-specs/nebius/api/COMMIT); the comment quotes the
// published description of the detail's message. Every detail published
// there is listed (TestEveryServiceErrorDetailClassified); one added
// later, which our trimmed error.proto does not know, leaves the kind to
// the code.
var serviceErrorKinds = map[protoreflect.Name]error{
	// BadRequest: "The request is invalid."
	"bad_request": vendors.ErrInvalid,
	// BadResourceState: "in a bad state and cannot be used". Whether the
	// state passes Nebius does not say; a state usually does (a resource
	// still busy), so it is retried (our reading).
	"bad_resource_state": vendors.ErrTransient,
	// ResourceNotFound: "Resource we are trying to interact with does not exist."
	"resource_not_found": vendors.ErrNotFound,
	// ResourceAlreadyExists: "Resource we are trying to create already exists."
	"resource_already_exists": vendors.ErrInvalid,
	// OutOfRange: "element with requested parameters is exceeding the particular range."
	"out_of_range": vendors.ErrInvalid,
	// PermissionDenied: "insufficient access rights to a resource."
	"permission_denied": vendors.ErrAuth,
	// ResourceConflict: "a difference between the actual resource state and the expected one."
	"resource_conflict": vendors.ErrTransient,
	// OperationAborted: "aborted by a subsequent operation."
	"operation_aborted": vendors.ErrTransient,
	// OperationConflict: "Wait until the conflicting operation finishes, then you can retry."
	"operation_conflict": vendors.ErrTransient,
	// TooManyRequests: "You initiated too many requests to the service at once."
	"too_many_requests": vendors.ErrRateLimited,
	// QuotaFailure: "exceeding specified limits or allocations."
	"quota_failure": vendors.ErrQuota,
	// NotEnoughResources: "not enough resources available to perform the requested action."
	"not_enough_resources": vendors.ErrNoCapacity,
	// InternalError: "Generic internal error."
	"internal_error": vendors.ErrTransient,
}

// codeKinds is the kind of a status without a ServiceError detail, by
// gRPC code. Nebius documents no meaning of its own for codes: its
// operation.proto (Operation.status) points to googleapis'
// google/rpc/code.proto and names the codes a failed operation may carry
// (CANCELLED, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION,
// ABORTED, INTERNAL); the kinds follow code.proto's descriptions. Codes
// not listed are transient: UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL,
// UNKNOWN, CANCELLED, and ABORTED or FAILED_PRECONDITION, which Nebius
// gives concurrent operations on one resource (README "Parallel
// Operations"), a refusal that passes once the other one finishes.
var codeKinds = map[codes.Code]error{
	codes.NotFound:          vendors.ErrNotFound,
	codes.Unauthenticated:   vendors.ErrAuth,
	codes.PermissionDenied:  vendors.ErrAuth,
	codes.InvalidArgument:   vendors.ErrInvalid,
	codes.AlreadyExists:     vendors.ErrInvalid,
	codes.OutOfRange:        vendors.ErrInvalid,
	codes.Unimplemented:     vendors.ErrInvalid,
	codes.ResourceExhausted: vendors.ErrNoCapacity, // see quotaPhrases
}

// quotaPhrases tell a quota failure from a capacity one when a
// RESOURCE_EXHAUSTED status carries no ServiceError. Nebius documents no
// wording: the phrase is what dstack matches ("Quota limit exceeded",
// core/backends/nebius/resources.py), shortened.
var quotaPhrases = vendors.Phrases{{Phrase: "quota", Kind: vendors.ErrQuota}}

// kindOf is the vendor error kind of a status.
func kindOf(st *status.Status) error {
	for _, d := range st.Details() {
		se, ok := d.(*pb.ServiceError)
		if !ok {
			continue
		}
		m := se.ProtoReflect()
		if f := m.WhichOneof(m.Descriptor().Oneofs().ByName("details")); f != nil {
			if kind, ok := serviceErrorKinds[f.Name()]; ok {
				return kind
			}
		}
	}
	kind, ok := codeKinds[st.Code()]
	switch {
	case !ok:
		return vendors.ErrTransient
	case kind == vendors.ErrNoCapacity && quotaPhrases.Kind(st.Message()) != nil:
		return quotaPhrases.Kind(st.Message())
	}
	return kind
}

func isAlreadyExists(err error) bool {
	var e *vendors.Error
	return errors.As(err, &e) && e.Status == int(codes.AlreadyExists)
}
