// Package client is a Go client of the Supply API: find GPU offers across
// vendors, procure one, wait until it is reachable over SSH and give it back.
//
// Every method takes a context and answers the API's own types (package
// supplyapi, which the server uses too), so a program sees exactly what the
// server sent; the client imports nothing else of the server. A refusal of the server is a *Error that carries the status and the
// server's sentence:
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("SUPPLY_API_KEY"))
//	res, err := c.GetOffers(ctx, supplyapi.OfferQuery{Compute: supplyapi.OfferQueryCompute{GPUType: "H100"}})
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/supplyapi"
)

// DefaultUserAgent is the User-Agent sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "supply-go-client"

// maxErrorBody bounds how much of an error answer is read: a detail is a
// sentence or a list of field errors, never megabytes.
const maxErrorBody = 1 << 20

// Client talks to one Supply server with one API key. It is safe for
// concurrent use.
type Client struct {
	baseURL   string
	apiKey    string
	http      *http.Client
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests with hc instead of http.DefaultClient, for
// timeouts, proxies or custom transports.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http = hc } }

// WithUserAgent sets the User-Agent header, so server logs tell programs apart.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New is a client of the server at baseURL (e.g. http://127.0.0.1:8080)
// that authenticates with apiKey; an empty key sends no Authorization.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{
		baseURL:   strings.TrimRight(baseURL, "/"),
		apiKey:    apiKey,
		http:      http.DefaultClient,
		userAgent: DefaultUserAgent,
	}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// GPUs answers GET /available_gpus: GPU family → canonical names.
func (c *Client) GPUs(ctx context.Context) (map[string][]string, error) {
	var out map[string][]string
	return out, c.do(ctx, http.MethodGet, "/available_gpus", nil, nil, &out)
}

// Vendors answers GET /available_vendors: every vendor and the health of
// its catalog.
func (c *Client) Vendors(ctx context.Context) ([]supplyapi.VendorStatus, error) {
	var out []supplyapi.VendorStatus
	return out, c.do(ctx, http.MethodGet, "/available_vendors", nil, nil, &out)
}

// Regions answers GET /available_regions: the region groups offers are
// filtered by.
func (c *Client) Regions(ctx context.Context) ([]string, error) {
	var out []string
	return out, c.do(ctx, http.MethodGet, "/available_regions", nil, nil, &out)
}

// Contracts answers GET /available_contracts: ondemand and spot.
func (c *Client) Contracts(ctx context.Context) ([]string, error) {
	var out []string
	return out, c.do(ctx, http.MethodGet, "/available_contracts", nil, nil, &out)
}

// GetOffers queries offers, cheapest first. The server accepts JSON as
// well as YAML, and JSON is what an OfferQuery marshals to.
func (c *Client) GetOffers(ctx context.Context, q supplyapi.OfferQuery) (supplyapi.OfferResult, error) {
	body, err := json.Marshal(q)
	if err != nil {
		return supplyapi.OfferResult{}, fmt.Errorf("encode offer query: %w", err)
	}
	var out supplyapi.OfferResult
	return out, c.do(ctx, http.MethodPost, "/get_offers", nil, jsonBody(body), &out)
}

// GetOffersYAML sends a YAML query document as it is, for queries kept in
// files; the server validates it exactly like GetOffers' query.
func (c *Client) GetOffersYAML(ctx context.Context, doc []byte) (supplyapi.OfferResult, error) {
	var out supplyapi.OfferResult
	return out, c.do(ctx, http.MethodPost, "/get_offers", nil, &body{contentType: "application/yaml", data: doc}, &out)
}

// Offer answers GET /offers/{offer_id}: the offer and whether it is still
// available.
func (c *Client) Offer(ctx context.Context, offerID uuid.UUID) (supplyapi.OfferDetails, error) {
	var out supplyapi.OfferDetails
	return out, c.do(ctx, http.MethodGet, "/offers/"+offerID.String(), nil, nil, &out)
}

// Procure starts procuring an offer and answers before the vendor has
// finished; follow it with OfferStatus, WaitReady or WaitProcurement. A
// non-empty idempotencyKey makes a retry of the same request answer like
// the first one instead of procuring twice. With req.Fallback set, a
// vendor's refusal for capacity moves the procurement to the next
// cheapest equivalent offer, and it may wait for stock (supplyapi.Fallback);
// its status lists each offer tried in Attempts.
func (c *Client) Procure(ctx context.Context, req supplyapi.ProcureOfferRequest, idempotencyKey string) (supplyapi.ProcureOfferResponse, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return supplyapi.ProcureOfferResponse{}, fmt.Errorf("encode procure request: %w", err)
	}
	in := jsonBody(b)
	in.idempotencyKey = idempotencyKey
	var out supplyapi.ProcureOfferResponse
	return out, c.do(ctx, http.MethodPost, "/procure_offer", nil, in, &out)
}

// OfferStatus answers GET /offers/{offer_id}/status: how far procurement
// has come, and how to reach the instances once they run.
func (c *Client) OfferStatus(ctx context.Context, offerID uuid.UUID) (supplyapi.OfferStatusResponse, error) {
	var out supplyapi.OfferStatusResponse
	return out, c.do(ctx, http.MethodGet, "/offers/"+offerID.String()+"/status", nil, nil, &out)
}

// Cancel answers POST /offers/{offer_id}/cancel (an extension): it ends
// a procurement still under way, whether it is trying an offer or waiting
// for stock, as a forced delete of its resources would, and answers its
// status. A procurement that has ended already is a *Error 409.
func (c *Client) Cancel(ctx context.Context, offerID uuid.UUID) (supplyapi.OfferStatusResponse, error) {
	var out supplyapi.OfferStatusResponse
	return out, c.do(ctx, http.MethodPost, "/offers/"+offerID.String()+"/cancel", nil, nil, &out)
}

// ResourceFilter narrows Resources; empty fields match all.
type ResourceFilter struct {
	// OfferID is the offer the resources were procured from.
	OfferID *uuid.UUID
	// Status is one resource status (supplyapi.ResourceRunning, ...).
	Status string
	// CreatedBy is the id of the API key that procured the resources.
	CreatedBy int64
}

// Resources lists the account's resources, newest first, deleted ones
// included unless the filter asks for one status.
func (c *Client) Resources(ctx context.Context, f ResourceFilter) ([]supplyapi.ResourceSummary, error) {
	q := url.Values{}
	if f.OfferID != nil {
		q.Set("offer_id", f.OfferID.String())
	}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.CreatedBy != 0 {
		q.Set("created_by", strconv.FormatInt(f.CreatedBy, 10))
	}
	var out []supplyapi.ResourceSummary
	return out, c.do(ctx, http.MethodGet, "/resources", q, nil, &out)
}

// Resource answers GET /resources/{resource_id}; forceRefresh makes the
// server re-sync with the vendor first even when its state is fresh.
func (c *Client) Resource(ctx context.Context, resourceID uuid.UUID, forceRefresh bool) (supplyapi.ResourceSummary, error) {
	q := url.Values{}
	if forceRefresh {
		q.Set("force_refresh", "true")
	}
	var out supplyapi.ResourceSummary
	return out, c.do(ctx, http.MethodGet, "/resources/"+resourceID.String(), q, nil, &out)
}

// Delete starts deleting a resource; it is deleted once the vendor confirms
// (see WaitDeleted). force also deletes a resource that is still
// provisioning, cancelling the provisioning.
func (c *Client) Delete(ctx context.Context, resourceID uuid.UUID, force bool) (supplyapi.DeleteResourceResponse, error) {
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	var out supplyapi.DeleteResourceResponse
	return out, c.do(ctx, http.MethodDelete, "/resources/"+resourceID.String(), q, nil, &out)
}

// SetAutoDelete answers PATCH /resources/{resource_id} (an extension):
// the resource (a cluster: all of it) is deleted after from now, or never
// when after is nil.
func (c *Client) SetAutoDelete(ctx context.Context, resourceID uuid.UUID, after *supplyapi.Duration) (supplyapi.ResourceSummary, error) {
	if after == nil {
		after = &supplyapi.Duration{}
	}
	b, err := json.Marshal(supplyapi.AutoDeleteRequest{AutoDeleteAfter: after})
	if err != nil {
		return supplyapi.ResourceSummary{}, fmt.Errorf("encode auto-delete request: %w", err)
	}
	var out supplyapi.ResourceSummary
	return out, c.do(ctx, http.MethodPatch, "/resources/"+resourceID.String(), nil, jsonBody(b), &out)
}

// Account answers GET /account (an extension): the account's spend caps
// and what its live resources cost now.
func (c *Client) Account(ctx context.Context) (supplyapi.AccountInfo, error) {
	var out supplyapi.AccountInfo
	return out, c.do(ctx, http.MethodGet, "/account", nil, nil, &out)
}

// Usage answers GET /usage (an extension): what the account's resources
// cost within [from, to), grouped by groupBy ("", vendor, gpu_type or
// day). A zero from or to leaves it to the server (30 days ago, now).
func (c *Client) Usage(ctx context.Context, from, to time.Time, groupBy string) (supplyapi.Usage, error) {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("from", from.UTC().Format(time.RFC3339Nano))
	}
	if !to.IsZero() {
		q.Set("to", to.UTC().Format(time.RFC3339Nano))
	}
	if groupBy != "" {
		q.Set("group_by", groupBy)
	}
	var out supplyapi.Usage
	return out, c.do(ctx, http.MethodGet, "/usage", q, nil, &out)
}

// body is a request body and the headers that describe it.
type body struct {
	contentType    string
	data           []byte
	idempotencyKey string
}

func jsonBody(b []byte) *body { return &body{contentType: "application/json", data: b} }

// do sends one request and decodes a 2xx JSON answer into out (nil: an
// answer without a body); any other answer becomes a *Error and a failed
// connection an *UnreachableError.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in *body, out any) error {
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var reader io.Reader
	if in != nil {
		reader = bytes.NewReader(in.data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, reader)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if in != nil {
		req.Header.Set("Content-Type", in.contentType)
		if in.idempotencyKey != "" {
			req.Header.Set("Idempotency-Key", in.idempotencyKey)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: %w", method, path, ctx.Err())
		}
		return &UnreachableError{URL: c.baseURL, Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errorFromResponse(resp)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// unwrapURLError drops the "Get "http://...":" prefix of a transport
// error: the UnreachableError names the server already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorFromResponse reads the {"detail": ...} of a refusal.
func errorFromResponse(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var envelope struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(raw, &envelope) != nil || len(envelope.Detail) == 0 {
		return e
	}
	if json.Unmarshal(envelope.Detail, &e.Detail) == nil {
		return e
	}
	if json.Unmarshal(envelope.Detail, &e.Validation) != nil {
		e.Detail = string(envelope.Detail)
	}
	return e
}
