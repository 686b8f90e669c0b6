package vendors

import (
	"errors"
	"fmt"
	"time"
)

// Kinds of vendor failure. Every error an adapter returns wraps exactly
// one of them, so callers branch with errors.Is and never on messages.
var (
	// ErrNoCapacity: the vendor has no stock for this type and region now.
	ErrNoCapacity = errors.New("no capacity")
	// ErrQuota: the account's quota or balance does not allow it.
	ErrQuota = errors.New("quota exceeded")
	// ErrAuth: the credentials were refused.
	ErrAuth = errors.New("authentication failed")
	// ErrInvalid: the vendor rejected the request as malformed.
	ErrInvalid = errors.New("invalid request")
	// ErrRateLimited: too many requests; see Error.RetryAfter.
	ErrRateLimited = errors.New("rate limited")
	// ErrTransient: a timeout, a 5xx or a refusal that may pass (an
	// instance still being created cannot be deleted yet).
	ErrTransient = errors.New("transient vendor error")
	// ErrNotFound: the instance (or thing asked for) does not exist.
	ErrNotFound = errors.New("not found")
)

// Error is a failed vendor call: which vendor, which operation, what kind
// of failure, and the vendor's own words.
type Error struct {
	Vendor string
	Op     string
	// Kind is one of the Err* sentinels above.
	Kind error
	// Status is the HTTP status (or gRPC code) when there was one.
	Status int
	// Message is the vendor's explanation, as it gave it.
	Message string
	// RetryAfter is how long the vendor asked us to wait (0: unknown).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s: %v", e.Vendor, e.Op, e.Kind)
	if e.Status != 0 {
		msg += fmt.Sprintf(" (%d)", e.Status)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap lets errors.Is match the Kind.
func (e *Error) Unwrap() error { return e.Kind }

// Retryable reports whether err is worth trying again later as is.
func Retryable(err error) bool {
	return errors.Is(err, ErrTransient) || errors.Is(err, ErrRateLimited)
}

// Unanswered reports whether err is a call that got no answer: a timeout
// or a broken connection, after which the vendor may or may not have acted
// (an ErrTransient without a status).
func Unanswered(err error) bool {
	var e *Error
	return errors.As(err, &e) && errors.Is(e.Kind, ErrTransient) && e.Status == 0
}

// RetryAfter returns the wait a vendor asked for, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// kinds names each kind of failure, for metrics, and says it to people.
var kinds = []struct {
	err          error
	name, reason string
}{
	{ErrNoCapacity, "no_capacity", "no capacity: the vendor has no stock for this type in this region right now"},
	{ErrQuota, "quota", "quota exceeded: the vendor account's quota or balance does not allow this"},
	{ErrAuth, "auth", "authentication failed: the vendor refused supply's credentials"},
	{ErrInvalid, "invalid", "invalid request: the vendor rejected the launch request"},
	{ErrRateLimited, "rate_limited", "rate limited by the vendor"},
	{ErrNotFound, "not_found", "not found at the vendor"},
	{ErrTransient, "transient", "vendor error"},
}

// kindOf is the entry of kinds err wraps, or other's.
func kindOf(err error) (name, reason string) {
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.name, k.reason
		}
	}
	return "other", "vendor error"
}

// Reason is a short human sentence for a failure, used as a resource's
// failure_reason.
func Reason(err error) string {
	_, reason := kindOf(err)
	return reason
}

// KindName names the kind of a failure in metrics: no_capacity, quota,
// auth, invalid, rate_limited, not_found, transient, or other.
func KindName(err error) string {
	name, _ := kindOf(err)
	return name
}

// NotFoundIsInvalid turns a create's 404 (an image or type it names does
// not exist) into ErrInvalid: nothing the caller asked about is missing.
func NotFoundIsInvalid(err error) error {
	var e *Error
	if errors.As(err, &e) && e.Kind == ErrNotFound {
		e.Kind = ErrInvalid
	}
	return err
}
