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

	"github.com/gpusupply/supply/vendors"
	pb "github.com/gpusupply/supply/vendors/nebius/internal/nebiuspb"
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
		cc, err := grpc.NewClient(host, grpc.WithTransportCredentials(creds), grpc.WithUnaryInterceptor(a.intercept))
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
			a.platforms = pb.NewPlatformServiceClient(cc)
			a.clusters = pb.NewGpuClusterServiceClient(cc)
		}},
		{VPCHost, func(cc *grpc.ClientConn) { a.subnets = pb.NewSubnetServiceClient(cc) }},
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

// classify maps a gRPC status onto the error kinds.
func (a *Adapter) classify(op string, err error) error {
	var ve *vendors.Error
	if errors.As(err, &ve) {
		return err
	}
	st := status.Convert(err)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		st = status.FromContextError(err)
	}
	e := &vendors.Error{Vendor: vendorName, Op: op, Status: int(st.Code()), Message: st.Message()}
	switch st.Code() {
	case codes.NotFound:
		e.Kind = vendors.ErrNotFound
	case codes.Unauthenticated, codes.PermissionDenied:
		e.Kind = vendors.ErrAuth
	case codes.InvalidArgument, codes.AlreadyExists, codes.OutOfRange, codes.Unimplemented:
		e.Kind = vendors.ErrInvalid
	case codes.ResourceExhausted:
		e.Kind = exhaustedKind(st)
		if e.Kind == vendors.ErrRateLimited {
			e.RetryAfter = rateLimitWait
		}
	default:
		// UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN, and ABORTED or
		// FAILED_PRECONDITION: Nebius rejects concurrent operations on one
		// resource, a refusal that passes once the other one finishes.
		e.Kind = vendors.ErrTransient
	}
	return e
}

// exhaustedKind tells capacity, quota and rate limits apart by the
// ServiceError in the status details; without one, Nebius's quota
// message ("Quota limit exceeded") is the only clue.
func exhaustedKind(st *status.Status) error {
	for _, d := range st.Details() {
		se, ok := d.(*pb.ServiceError)
		if !ok {
			continue
		}
		switch se.GetDetails().(type) {
		case *pb.ServiceError_QuotaFailure:
			return vendors.ErrQuota
		case *pb.ServiceError_NotEnoughResources:
			return vendors.ErrNoCapacity
		case *pb.ServiceError_TooManyRequests:
			return vendors.ErrRateLimited
		}
	}
	if strings.Contains(strings.ToLower(st.Message()), "quota") {
		return vendors.ErrQuota
	}
	return vendors.ErrNoCapacity
}

func isAlreadyExists(err error) bool {
	var e *vendors.Error
	return errors.As(err, &e) && e.Status == int(codes.AlreadyExists)
}
