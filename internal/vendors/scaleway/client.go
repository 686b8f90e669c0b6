package scaleway

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/scaleway/scaleway-sdk-go/scw"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/vendors"
)

// userAgent is appended to the SDK's own User-Agent.
const userAgent = "supply/1 (+https://github.com/gpusupply/supply)"

// newSDKClient is Scaleway's SDK client pointed at baseURL. Its requests go
// through hc's transport (or the default one) behind the adapter's rate
// limiter, each bounded by hc's timeout or else by timeout: the SDK sends
// one request of its own (GET /metadata, from ListServers) without the
// caller's context.
func newSDKClient(baseURL string, hc *http.Client, limiter *rate.Limiter, timeout time.Duration) (*scw.Client, error) {
	base := http.DefaultTransport
	if hc != nil {
		if hc.Transport != nil {
			base = hc.Transport
		}
		timeout = cmp.Or(hc.Timeout, timeout)
	}
	// Credentials are not given here: scw.WithAuth insists on an access
	// key and a UUID secret, while Scaleway only reads the secret
	// (X-Auth-Token, scw/../internal/auth/token.go) and the sandbox's keys
	// are not UUIDs. Each call sends the key with scw.WithAuthRequest.
	return scw.NewClient(
		scw.WithAPIURL(strings.TrimRight(baseURL, "/")),
		scw.WithHTTPClient(&http.Client{Transport: &vendors.SDKTransport{Base: vendors.TracedTransport(Name, base), Limiter: limiter}, Timeout: timeout}),
		scw.WithUserAgent(userAgent),
	)
}

// call makes one SDK call under vendors.Client's retry policy: do sends
// the request with the options it is given (the attempt's context and the
// credentials). A repeatable call is sent again after a transient failure
// or a short rate limit. Failures come back as *vendors.Error, classified
// from Scaleway's answer by kindOf.
func (a *Adapter) call(ctx context.Context, op string, repeatable bool, do func(opts ...scw.RequestOption) error) error {
	if a.initErr != nil {
		return &vendors.Error{Vendor: Name, Op: op, Kind: vendors.ErrInvalid, Message: a.initErr.Error()}
	}
	return a.budget.Call(ctx, repeatable, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, a.budget.Timeout)
		defer cancel()
		ctx, ex := vendors.WithExchange(ctx)
		err := do(scw.WithContext(ctx), scw.WithAuthRequest("", a.key))
		if err == nil {
			return nil
		}
		return &vendors.Error{
			Vendor: Name, Op: op, Kind: kindOf(err, ex.Status), Status: ex.Status,
			Message: message(err, ex.Body), RetryAfter: vendors.ParseRetryAfter(ex.RetryAfter),
		}
	})
}

// kindOf classifies a failed SDK call. Scaleway's answer is read by the
// SDK into typed errors (scw/errors.go of scaleway-sdk-go v1.39.0,
// hasResponseError → unmarshalStandardError / unmarshalNonStandardError),
// one per documented error "type"; the branches below say which type each
// stands for. Nothing here matches the message text.
func kindOf(err error, status int) error {
	var (
		invalid      *scw.InvalidArgumentsError
		quota        *scw.QuotasExceededError
		stock        *scw.OutOfStockError
		notFound     *scw.ResourceNotFoundError
		transient    *scw.TransientStateError
		locked       *scw.ResourceLockedError
		denied       *scw.PermissionsDeniedError
		unauthorized *scw.DeniedAuthenticationError
		expired      *scw.ResourceExpiredError
		precondition *scw.PreconditionFailedError
		answer       *scw.ResponseError
		urlErr       *url.Error
	)
	switch {
	// "invalid_arguments" (details: argument_name, reason, help_message;
	// recorded: scaleway-sdk-go test-create-server-with-incorrect-body),
	// and "invalid_request_error" with fields (the Instance API's older
	// validation answer), which the SDK turns into the same type
	// (InvalidRequestError.ToInvalidArgumentsError).
	case errors.As(err, &invalid):
		return vendors.ErrInvalid
	// "quotas_exceeded" (details: resource, quota, current), and an
	// "invalid_request_error" saying "quota exceeded for this resource"
	// (InvalidRequestError.ToQuotasExceededError). A quota is the
	// account's limit: not capacity, and not transient.
	case errors.As(err, &quota):
		return vendors.ErrQuota
	// "out_of_stock" (resource): Scaleway has no hardware for the type.
	case errors.As(err, &stock):
		return vendors.ErrNoCapacity
	// "not_found" (resource, resource_id; recorded for instance_server,
	// volume, MarketplaceImage), and the Instance API's "unknown_resource"
	// (UnknownResource.ToResourceNotFoundError).
	case errors.As(err, &notFound):
		return vendors.ErrNotFound
	// "transient_state" (resource, resource_id, current_state): the
	// resource is starting or stopping; the same request will pass later.
	case errors.As(err, &transient):
		return vendors.ErrTransient
	// "precondition_failed" (precondition, help_message): only
	// "resource_still_in_use" passes by itself (a volume still detaching);
	// "unknown_precondition" and "attribute_must_be_set" are the
	// request's fault.
	case errors.As(err, &precondition):
		if precondition.Precondition == "resource_still_in_use" {
			return vendors.ErrTransient
		}
		return vendors.ErrInvalid
	// "permissions_denied" (details: resource, action; recorded in the
	// CLI's IAM cassettes) and "denied_authentication" (method, reason;
	// recorded: "authentication is denied", reason not_found).
	case errors.As(err, &denied), errors.As(err, &unauthorized):
		return vendors.ErrAuth
	// "locked" (resource, resource_id): Scaleway locked the resource
	// (abuse, billing); "resource_expired": it can no longer be used.
	// Neither passes by retrying.
	case errors.As(err, &locked), errors.As(err, &expired):
		return vendors.ErrInvalid
	// Any other answer (no type the SDK knows, or not JSON: a gateway's
	// 502 page, a 429) is read by its HTTP status.
	case errors.As(err, &answer):
		return vendors.StatusKind(answer.StatusCode)
	// An answer came but could not be read: an error body that is not
	// the JSON it claims, or a garbled 2xx.
	case status >= 300:
		return vendors.StatusKind(status)
	case status != 0:
		return vendors.ErrTransient
	// No answer: a timeout or a reset, after which Scaleway may or may
	// not have acted.
	case errors.As(err, &urlErr), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return vendors.ErrTransient
	}
	// The SDK refused the request before sending it (an empty zone or id).
	return vendors.ErrInvalid
}

// message is a failure in Scaleway's words: the answer's own message and
// type, then the SDK's reading of its details (arguments, quotas).
// Nothing branches on it.
func message(err error, body []byte) string {
	sdk := "resource not found"
	// The SDK answers an "unknown_resource" whose message names no UUID
	// with a nil *ResourceNotFoundError (UnknownResource.ToResourceNotFoundError),
	// whose Error method would dereference it.
	if nf, ok := err.(*scw.ResourceNotFoundError); !ok || nf != nil {
		sdk = strings.TrimPrefix(err.Error(), "scaleway-sdk-go: ")
	}
	var env struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &env) != nil || env.Message == "" {
		return sdk
	}
	words := env.Message
	if env.Type != "" {
		words += " [" + env.Type + "]"
	}
	// A typed error's text is the SDK's reading of the details; a plain
	// ResponseError's only repeats the message.
	if answer := (*scw.ResponseError)(nil); errors.As(err, &answer) {
		return words
	}
	return words + ": " + sdk
}
