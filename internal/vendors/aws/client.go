package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	sdk "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/pricing"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/vendors"
)

// pricingRegion is where the Price List API is served (it also answers in
// eu-central-1 and ap-south-1; every region's prices are in each).
const pricingRegion = "us-east-1"

// sdkConfig is the SDK configuration the clients are made from: static
// credentials when the Config names them (tests, the sandbox), otherwise
// the SDK's default chain (environment, shared config and credentials
// files, SSO, the instance or task role).
func sdkConfig(c Config) (sdk.Config, error) {
	if c.AccessKeyID != "" {
		return sdk.Config{
			Region:      pricingRegion,
			Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""),
		}, nil
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		return sdk.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// clientOptions points a client at c.Endpoint (a stand-in) when set, sends
// its requests through the adapter's transport, and turns the SDK's own
// retries off: vendors.Client.Call retries what is safe to repeat, and a
// RunInstances must be sent once.
func clientOptions(c Config, hc *http.Client) (endpoint *string, httpClient *http.Client, retryer sdk.Retryer) {
	if c.Endpoint != "" {
		endpoint = sdk.String(c.Endpoint)
	}
	return endpoint, hc, sdk.NopRetryer{}
}

// newEC2 is EC2's client for region.
func newEC2(cfg sdk.Config, c Config, hc *http.Client, region string) *ec2.Client {
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		o.Region = region
		o.BaseEndpoint, o.HTTPClient, o.Retryer = clientOptions(c, hc)
	})
}

// newPricing is the Price List API's client.
func newPricing(cfg sdk.Config, c Config, hc *http.Client) *pricing.Client {
	return pricing.NewFromConfig(cfg, func(o *pricing.Options) {
		o.Region = pricingRegion
		o.BaseEndpoint, o.HTTPClient, o.Retryer = clientOptions(c, hc)
	})
}

// transport is the http.RoundTripper under the SDK clients: every request
// (each page of a listing is one) spends the budget of the bucket its call
// put in the context, as EC2 meters each request against its action's
// bucket.
type transport struct{ base http.RoundTripper }

type bucketKey struct{}

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if l, ok := r.Context().Value(bucketKey{}).(*rate.Limiter); ok {
		if err := l.Wait(r.Context()); err != nil {
			return nil, fmt.Errorf("rate limiter: %w", err)
		}
	}
	return t.base.RoundTrip(r)
}

// call runs one SDK call under vendors.Client's retry policy, spending
// bucket's budget per request: a repeatable call (a read, a terminate) is
// sent again after a transient failure, a create never. Each attempt is
// bounded by the configured timeout. Failures come back as *vendors.Error
// classified by kindOf.
func (a *Adapter) call(ctx context.Context, op string, bucket *rate.Limiter, repeatable bool, do func(ctx context.Context) error) error {
	if a.initErr != nil {
		return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrAuth, Message: a.initErr.Error()}
	}
	return a.budget.Call(ctx, repeatable, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(context.WithValue(ctx, bucketKey{}, bucket), a.budget.Timeout)
		defer cancel()
		err := do(ctx)
		if err == nil {
			return nil
		}
		kind, status := kindOf(err)
		return &vendors.Error{Vendor: Name, Op: op, Kind: kind, Status: status, Message: message(err)}
	})
}

// codeKinds classifies EC2's error codes. EC2's model declares no error
// shapes, so the codes come from AWS's "Error codes for the Amazon EC2
// API" (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html,
// client and server error tables), which the SDK hands over unchanged as
// smithy.APIError.ErrorCode() (aws-sdk-go-v2/service/ec2 v1.349.0,
// deserializers.go: awsEc2query_deserializeOpError* read <Code>).
var codeKinds = map[string]error{
	// "There is not enough capacity to fulfill your request": server
	// error table; also a StateReason code Server.InsufficientInstanceCapacity.
	"InsufficientInstanceCapacity":         vendors.ErrNoCapacity,
	"InsufficientHostCapacity":             vendors.ErrNoCapacity,
	"InsufficientReservedInstanceCapacity": vendors.ErrNoCapacity,
	// "You've reached the limit on the number of instances you can run
	// concurrently" and "the limit on the number of vCPUs": account limits.
	"InstanceLimitExceeded":        vendors.ErrQuota,
	"VcpuLimitExceeded":            vendors.ErrQuota,
	"MaxSpotInstanceCountExceeded": vendors.ErrQuota,
	"PendingVerification":          vendors.ErrQuota,
	// "The request can't be fulfilled because the Spot maximum price is
	// lower than the current Spot price": no capacity at our price.
	"SpotMaxPriceTooLow": vendors.ErrNoCapacity,
	// "The specified instance type is not supported in this Availability
	// Zone" (and other unsupported requests).
	"Unsupported":                 vendors.ErrInvalid,
	"UnsupportedOperation":        vendors.ErrInvalid,
	"InvalidParameterValue":       vendors.ErrInvalid,
	"InvalidParameter":            vendors.ErrInvalid,
	"InvalidParameterCombination": vendors.ErrInvalid,
	"MissingParameter":            vendors.ErrInvalid,
	"InvalidAMIID.NotFound":       vendors.ErrInvalid,
	"InvalidAMIID.Malformed":      vendors.ErrInvalid,
	"InvalidUserData.Malformed":   vendors.ErrInvalid,
	"InvalidInstanceType":         vendors.ErrInvalid,
	"InvalidKeyPair.NotFound":     vendors.ErrInvalid,
	"InvalidGroup.NotFound":       vendors.ErrInvalid,
	// Security groups: a group name already taken in the VPC, a rule the
	// group already has (the adapter finds its group again and authorizes
	// only missing rules, so either is a bug), and "The specified object
	// has dependent resources": a group that an instance, or its network
	// interface for a while after it, still holds, and lets go of once
	// the instance is gone.
	"InvalidGroup.Duplicate":      vendors.ErrInvalid,
	"InvalidPermission.Duplicate": vendors.ErrInvalid,
	"InvalidPermission.Malformed": vendors.ErrInvalid,
	"DependencyViolation":         vendors.ErrTransient,
	// "The request uses the same client token as a previous, but
	// non-identical request": our token is the resource id, so the
	// parameters changed under the same resource.
	"IdempotentParameterMismatch": vendors.ErrInvalid,
	// "The maximum request rate permitted by the Amazon EC2 APIs has been
	// exceeded for your account".
	"RequestLimitExceeded": vendors.ErrRateLimited,
	"Throttling":           vendors.ErrRateLimited,
	// Credentials: "AWS was not able to validate the provided access
	// credentials", "You are not authorized to perform this operation",
	// an unknown or disabled access key, an expired token, a signature
	// that does not match, an account without EC2.
	"AuthFailure":           vendors.ErrAuth,
	"UnauthorizedOperation": vendors.ErrAuth,
	"InvalidClientTokenId":  vendors.ErrAuth,
	"OptInRequired":         vendors.ErrAuth,
	"SignatureDoesNotMatch": vendors.ErrAuth,
	"ExpiredToken":          vendors.ErrAuth,
	"Blocked":               vendors.ErrAuth,
	// EBS volumes: "The specified volume does not exist" (a malformed id
	// names none either), "The specified volume and instance are in
	// different Availability Zones", "The specified EBS volume is
	// attached to an instance" (DeleteVolume of an attached one), and the
	// account's limits on volumes and storage, and on an instance's
	// attachments.
	"InvalidVolume.NotFound":     vendors.ErrNotFound,
	"InvalidVolumeID.Malformed":  vendors.ErrNotFound,
	"InvalidVolume.ZoneMismatch": vendors.ErrInvalid,
	"VolumeInUse":                vendors.ErrInvalid,
	"InvalidZone.NotFound":       vendors.ErrInvalid,
	"VolumeLimitExceeded":        vendors.ErrQuota,
	"MaxIOPSLimitExceeded":       vendors.ErrQuota,
	"AttachmentLimitExceeded":    vendors.ErrQuota,
	// "The specified instance does not exist".
	"InvalidInstanceID.NotFound":  vendors.ErrNotFound,
	"InvalidInstanceID.Malformed": vendors.ErrNotFound,
	// "The instance is not in a state in which the operation can be
	// performed": asked of the instance as it is now, the request is wrong.
	"IncorrectInstanceState": vendors.ErrInvalid,
	"IncorrectState":         vendors.ErrInvalid,
	// Server errors: "An internal error has occurred", "The server is
	// overloaded", "The request has failed due to a temporary failure".
	"InternalError":      vendors.ErrTransient,
	"InternalFailure":    vendors.ErrTransient,
	"ServiceUnavailable": vendors.ErrTransient,
	"Unavailable":        vendors.ErrTransient,
	// The Price List API's own errors (botocore pricing model, GetProducts
	// errors: InvalidParameterException, NotFoundException,
	// ThrottlingException, InternalErrorException, AccessDeniedException...).
	"InvalidParameterException":   vendors.ErrInvalid,
	"InvalidNextTokenException":   vendors.ErrInvalid,
	"ExpiredNextTokenException":   vendors.ErrInvalid,
	"NotFoundException":           vendors.ErrInvalid,
	"ThrottlingException":         vendors.ErrRateLimited,
	"InternalErrorException":      vendors.ErrTransient,
	"ServiceUnavailableException": vendors.ErrTransient,
	"AccessDeniedException":       vendors.ErrAuth,
}

// kindOf classifies a failed SDK call by the error code of EC2's (or the
// Price List API's) answer, then by its HTTP status; a call that got no
// answer (a timeout, a reset) is transient. It returns the status too.
func kindOf(err error) (error, int) {
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		if kind, ok := codeKinds[api.ErrorCode()]; ok {
			return kind, status
		}
	}
	var urlErr *url.Error
	switch {
	case status >= 300:
		return vendors.StatusKind(status), status
	case status != 0:
		// An answer that broke off or could not be read: the connection
		// or the attempt's deadline ended it.
		return vendors.ErrTransient, status
	case errors.As(err, &urlErr), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return vendors.ErrTransient, 0
	case errors.As(err, new(*smithy.OperationError)):
		// An answer that could not be read, or a request the SDK refused
		// to sign or send: the SDK's own failure, not worth a retry.
		var se *smithy.SerializationError
		if errors.As(err, &se) {
			return vendors.ErrInvalid, 0
		}
		return vendors.ErrTransient, 0
	}
	return vendors.ErrInvalid, 0
}

// message is a failure in AWS's words: "Code: Message", or the SDK's text.
func message(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return err.Error()
}
