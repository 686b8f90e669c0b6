package vendors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Client is the HTTP plumbing every REST adapter shares: one per vendor,
// with a token bucket at the vendor's published rate limit, a timeout per
// attempt, retries for requests that are safe to repeat, and the vendor's
// error envelope turned into an *Error.
type Client struct {
	// Vendor is the slug used in errors.
	Vendor string
	// BaseURL is prefixed to every request path.
	BaseURL string
	// HTTP does the requests; nil means a client with Timeout. NewClient
	// traces its transport (TracedTransport).
	HTTP *http.Client
	// Limiter spaces requests out; nil means unlimited.
	Limiter *rate.Limiter
	// Authorize sets credentials on each request.
	Authorize func(ctx context.Context, r *http.Request) error
	// ParseError turns a non-2xx answer into an error wrapping one of the
	// Err* kinds; nil means StatusKind on the status alone.
	ParseError func(status int, header http.Header, body []byte) *Error
	// Retries is how many times a repeatable request is retried after a
	// transient failure or a 429.
	Retries int
	// MaxWait caps a vendor's Retry-After so one answer cannot stall a
	// caller; longer waits are returned as ErrRateLimited instead.
	MaxWait time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
}

// ClientConfig is what a REST adapter knows about its vendor's HTTP API
// once its own defaults are applied.
type ClientConfig struct {
	// Vendor is the slug used in errors.
	Vendor string
	// BaseURL is prefixed to every request path.
	BaseURL string
	// HTTP does the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// RateLimit and Burst are the vendor's published request budget.
	RateLimit rate.Limit
	Burst     int
	// Timeout bounds one attempt.
	Timeout time.Duration
	// MaxWait caps the vendor's Retry-After; see Client.MaxWait.
	MaxWait time.Duration
	// Authorize sets credentials on each request.
	Authorize func(ctx context.Context, r *http.Request) error
	// ParseError reads the vendor's error envelope; see Client.ParseError.
	ParseError func(status int, header http.Header, body []byte) *Error
}

// clientRetries is how often every adapter retries a repeatable request:
// enough to ride out a brief hiccup, few enough to fail within a poll.
const clientRetries = 3

// NewClient returns the Client a REST adapter speaks through: a token
// bucket at the published budget and clientRetries retries for requests
// that are safe to repeat.
func NewClient(c ClientConfig) *Client {
	return &Client{
		Vendor:     c.Vendor,
		BaseURL:    c.BaseURL,
		HTTP:       tracedClient(c.Vendor, c.HTTP),
		Limiter:    rate.NewLimiter(c.RateLimit, c.Burst),
		Authorize:  c.Authorize,
		ParseError: c.ParseError,
		Retries:    clientRetries,
		MaxWait:    c.MaxWait,
		Timeout:    c.Timeout,
	}
}

// WithoutRetries is a copy of c, sharing its limiter, that never repeats
// a request: for calls whose repetition would do harm (a create sent as
// PUT) or only spend the budget (a delete the vendor refuses for minutes).
func (c *Client) WithoutRetries() *Client {
	once := *c
	once.Retries = 0
	return &once
}

// BearerAuth is an Authorize func sending token as "Authorization:
// Bearer", the scheme most vendors use for API keys.
func BearerAuth(token string) func(context.Context, *http.Request) error {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

// Request is one vendor API call.
type Request struct {
	// Op names the operation in errors ("launch", "list instance types").
	Op     string
	Method string
	Path   string
	Query  url.Values
	// JSON is encoded as the body when non-nil.
	JSON any
	// Body and ContentType send a raw body instead.
	Body        []byte
	ContentType string
	// Header adds request headers.
	Header http.Header
	// Repeatable marks a request that may be sent again after an
	// ambiguous failure. GET, HEAD, PUT and DELETE are repeatable by
	// default; a POST only when the caller says so (a create never is).
	Repeatable bool
}

func (r Request) repeatable() bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	}
	return r.Repeatable
}

// Do sends req and decodes a 2xx JSON answer into out (nil: discard;
// *[]byte: the raw body; an *Each: element by element as it arrives).
// Failures come back as *Error.
func (c *Client) Do(ctx context.Context, req Request, out any) error {
	var body []byte
	contentType := req.ContentType
	if req.JSON != nil {
		b, err := json.Marshal(req.JSON)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", c.Vendor, req.Op, err)
		}
		body, contentType = b, "application/json"
	} else if req.Body != nil {
		body = req.Body
	}
	return c.Call(ctx, req.repeatable(), func(ctx context.Context) error {
		return c.once(ctx, req, body, contentType, out)
	})
}

// Call runs one vendor operation under Do's retry policy, for adapters
// whose requests a vendor's own SDK sends: try runs once and, when
// repeatable, again after a transient failure or a 429 whose Retry-After
// is within MaxWait, with Do's backoff. try reports vendor failures as
// *Error so that their kind and Retry-After can be read; it spends the
// rate budget (Limiter) and bounds its attempt itself, since one SDK call
// may send several requests (every page of a listing).
func (c *Client) Call(ctx context.Context, repeatable bool, try func(ctx context.Context) error) error {
	attempts := 1
	if repeatable {
		attempts += c.Retries
	}
	var err error
	for attempt := 0; attempt < attempts; attempt++ {
		if attempt > 0 {
			wait := backoff(attempt)
			if ra := RetryAfter(err); ra > wait {
				wait = ra
			}
			if c.MaxWait > 0 && wait > c.MaxWait {
				return err
			}
			select {
			case <-ctx.Done():
				return err
			case <-time.After(wait):
			}
		}
		err = try(ctx)
		if err == nil || !Retryable(err) {
			return err
		}
	}
	return err
}

func backoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << min(attempt-1, 6)
	return d/2 + rand.N(d/2+1)
}

// maxAnswer bounds the answer Do reads: a vendor (or a proxy) that sends
// without end fails the call instead of filling memory.
const maxAnswer = 64 << 20

func (c *Client) once(ctx context.Context, req Request, body []byte, contentType string, out any) error {
	if c.Limiter != nil {
		if err := c.Limiter.Wait(ctx); err != nil {
			return c.fail(req, ErrTransient, 0, "rate limiter: "+err.Error())
		}
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	u := strings.TrimRight(c.BaseURL, "/") + req.Path
	if len(req.Query) > 0 {
		u += "?" + req.Query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(withOp(ctx, req.Op), req.Method, u, rd)
	if err != nil {
		return c.fail(req, ErrInvalid, 0, err.Error())
	}
	if contentType != "" {
		hr.Header.Set("Content-Type", contentType)
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", "supply/1 (+https://github.com/gpusupply/supply)")
	for k, vs := range req.Header {
		hr.Header[k] = vs
	}
	if c.Authorize != nil {
		if err := c.Authorize(ctx, hr); err != nil {
			return err
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		// A timeout or a reset: the vendor may or may not have acted.
		return c.fail(req, ErrTransient, 0, err.Error())
	}
	defer resp.Body.Close()
	answer := io.LimitReader(resp.Body, maxAnswer)
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299
	if s, streamed := out.(streamer); streamed && ok {
		if err := s.decode(answer); err != nil {
			return c.fail(req, ErrTransient, resp.StatusCode, "decode answer: "+err.Error())
		}
		return nil
	}
	data, err := io.ReadAll(answer)
	if err != nil {
		return c.fail(req, ErrTransient, resp.StatusCode, "read answer: "+err.Error())
	}
	if !ok {
		return c.statusError(req, resp, data)
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return c.fail(req, ErrTransient, resp.StatusCode, "decode answer: "+err.Error())
	}
	return nil
}

func (c *Client) statusError(req Request, resp *http.Response, data []byte) error {
	var e *Error
	if c.ParseError != nil {
		e = c.ParseError(resp.StatusCode, resp.Header, data)
	}
	if e == nil {
		e = &Error{Kind: StatusKind(resp.StatusCode), Message: snippet(data)}
	}
	e.Vendor, e.Op, e.Status = c.Vendor, req.Op, resp.StatusCode
	if e.Kind == nil {
		e.Kind = StatusKind(resp.StatusCode)
	}
	if e.RetryAfter == 0 {
		e.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"))
	}
	return e
}

func (c *Client) fail(req Request, kind error, status int, msg string) *Error {
	return &Error{Vendor: c.Vendor, Op: req.Op, Kind: kind, Status: status, Message: msg}
}

// StatusKind is the usual meaning of an HTTP status, for vendors whose
// error bodies say nothing more precise.
func StatusKind(status int) error {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ErrAuth
	case status == http.StatusNotFound || status == http.StatusGone:
		return ErrNotFound
	case status == http.StatusPaymentRequired:
		return ErrQuota
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status >= 500:
		return ErrTransient
	default:
		return ErrInvalid
	}
}

// ParseRetryAfter reads a Retry-After header (seconds or HTTP date).
func ParseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// IsNotFound reports whether err means the thing is gone.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
