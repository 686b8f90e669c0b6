package vultr

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/vultr/govultr/v3"
	"golang.org/x/time/rate"

	"github.com/gpusupply/supply/internal/vendors"
)

// userAgent is added to govultr's own ("govultr/3.34.0").
const userAgent = "supply/1 (+https://github.com/gpusupply/supply)"

// newClient is govultr's client pointed at baseURL, its requests sent
// through transport (the key, the rate budget, the answer noted for the
// call that made it). govultr's retries are off: vendors.Client decides
// what is repeated, and a create answered 500 must not be sent twice.
// govultr's documentation authenticates with golang.org/x/oauth2's static
// token source, which only sets "Authorization: Bearer <key>"; the
// transport sets that header itself, so oauth2 is not needed.
func newClient(baseURL, key string, hc *http.Client, limiter *rate.Limiter) *govultr.Client {
	base := http.DefaultTransport
	if hc != nil && hc.Transport != nil {
		base = hc.Transport
	}
	gv := govultr.NewClient(&http.Client{Transport: &vendors.SDKTransport{Base: vendors.TracedTransport(Name, base), Limiter: limiter, Bearer: key}})
	gv.SetRetryLimit(0)
	gv.SetUserAgent(gv.UserAgent + " " + userAgent)
	// A malformed base URL fails every call at its request, which the
	// calls report as an invalid request.
	_ = gv.SetBaseURL(strings.TrimRight(baseURL, "/"))
	return gv
}

// call makes one govultr call under vendors.Client's retry policy: a
// repeatable call is sent again after a transient failure or a short rate
// limit. Failures come back as *vendors.Error classified by kindOf.
func (a *Adapter) call(ctx context.Context, op string, repeatable bool, do func(ctx context.Context) error) error {
	return a.budget.Call(ctx, repeatable, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, a.budget.Timeout)
		defer cancel()
		ctx, ex := vendors.WithExchange(ctx)
		err := do(ctx)
		if err == nil {
			return nil
		}
		return &vendors.Error{
			Vendor: Name, Op: op, Kind: kindOf(err, ex.Status, ex.Body), Status: ex.Status,
			Message: message(err, ex.Body), RetryAfter: vendors.ParseRetryAfter(ex.RetryAfter),
		}
	})
}

// pages reads every page of a listing, following meta.links.next (the
// description's "Meta and Pagination": an empty next is the last page).
func pages[T any](ctx context.Context, a *Adapter, op string, list func(ctx context.Context, o *govultr.ListOptions) ([]T, *govultr.Meta, error)) ([]T, error) {
	var all []T
	o := &govultr.ListOptions{PerPage: perPage}
	for {
		var (
			page []T
			meta *govultr.Meta
		)
		err := a.call(ctx, op, true, func(ctx context.Context) (err error) {
			page, meta, err = list(ctx, o)
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if meta == nil || meta.Links == nil || meta.Links.Next == "" || meta.Links.Next == o.Cursor {
			return all, nil
		}
		o.Cursor = meta.Links.Next
	}
}

// perPage is the page size asked for: the description's maximum.
const perPage = 500

// apiError is Vultr's error body: the description's introduction says
// every 4xx answers a JSON object with an "error" attribute; govultr
// v3.34.0 reads it with a "status" beside it (govultr.go, apiError).
type apiError struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// refusals classifies Vultr's 400 answers by their words. The 2023
// description documents no error codes or texts (its 4xx entries carry a
// description only), so these are the words Vultr answers with as its
// users report them; the stand-in answers each of them:
//   - "Plan is not available in the selected region": create-instance
//     when the region has no stock of the plan (vultr-cli and terraform
//     users' reports, quoted in issue 26's brief) — a capacity refusal;
//   - "Unable to create server: ... limit" / "maximum": the account's
//     instance or monthly fee limit (the same reports) — a quota;
//   - "Invalid ...": "Invalid plan", "Invalid region", "Invalid SSH key"
//     and the like — the request's fault.
var refusals = vendors.Phrases{
	{Phrase: "not available in the selected region", Kind: vendors.ErrNoCapacity},
	{Phrase: "limit", Kind: vendors.ErrQuota},
	{Phrase: "maximum", Kind: vendors.ErrQuota},
	{Phrase: "invalid", Kind: vendors.ErrInvalid},
}

// kindOf classifies a failed govultr call from the answer's status and
// words, or from the failure when there was no answer.
func kindOf(err error, status int, body []byte) error {
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		var e apiError
		_ = json.Unmarshal(body, &e)
		if kind := refusals.Kind(e.Error); kind != nil {
			return kind
		}
		return vendors.ErrInvalid
	case status >= 300:
		// 401 and 403 the key, 404 the instance, 429 the rate limit
		// (30 requests per second per IP), 5xx Vultr's trouble.
		return vendors.StatusKind(status)
	case status != 0:
		// A 2xx govultr could not read.
		return vendors.ErrTransient
	}
	var urlErr *url.Error
	switch {
	// No answer: a timeout or a reset, after which Vultr may or may not
	// have acted.
	case errors.As(err, &urlErr), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return vendors.ErrTransient
	case strings.Contains(err.Error(), "gave up after"):
		// govultr's retry client gave up without an answer (its
		// vultrErrorHandler's words).
		return vendors.ErrTransient
	}
	// govultr refused to make the request (a malformed URL).
	return vendors.ErrInvalid
}

// message is a failure in Vultr's words: the error attribute of its
// answer, else govultr's text.
func message(err error, body []byte) string {
	var e apiError
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	return err.Error()
}
