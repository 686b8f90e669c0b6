package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gpusupply/supply/supplyapi"
)

// CreateKey answers POST /keys (an extension, for admin keys): a new key
// of the account; its Key field is the secret, shown this once.
func (c *Client) CreateKey(ctx context.Context, req supplyapi.APIKeyRequest) (supplyapi.APIKeyInfo, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return supplyapi.APIKeyInfo{}, fmt.Errorf("encode key request: %w", err)
	}
	var out supplyapi.APIKeyInfo
	return out, c.do(ctx, http.MethodPost, "/keys", nil, jsonBody(b), &out)
}

// Keys answers GET /keys: the account's keys that are not revoked.
func (c *Client) Keys(ctx context.Context) ([]supplyapi.APIKeyInfo, error) {
	var out []supplyapi.APIKeyInfo
	return out, c.do(ctx, http.MethodGet, "/keys", nil, nil, &out)
}

// Key answers GET /keys/{id}.
func (c *Client) Key(ctx context.Context, id int64) (supplyapi.APIKeyInfo, error) {
	var out supplyapi.APIKeyInfo
	return out, c.do(ctx, http.MethodGet, keyPath(id), nil, nil, &out)
}

// Me answers GET /keys/me (an extension): the key the client
// authenticates with, its role and caps, as any key may read itself.
func (c *Client) Me(ctx context.Context) (supplyapi.APIKeyInfo, error) {
	var out supplyapi.APIKeyInfo
	return out, c.do(ctx, http.MethodGet, "/keys/me", nil, nil, &out)
}

// UpdateKey answers PATCH /keys/{id}: it sends the fields of req that
// fields names by their JSON names ("role", "max_gpu_count"), a nil one as
// null (which clears it), and the server changes those alone.
func (c *Client) UpdateKey(ctx context.Context, id int64, req supplyapi.APIKeyRequest, fields ...string) (supplyapi.APIKeyInfo, error) {
	b, err := patchBody(map[string]any{"name": req.Name, "role": req.Role, "max_hourly_usd": req.MaxHourlyUSD,
		"max_gpu_count": req.MaxGPUCount, "vendors": req.Vendors, "expires_at": req.ExpiresAt}, fields)
	if err != nil {
		return supplyapi.APIKeyInfo{}, err
	}
	var out supplyapi.APIKeyInfo
	return out, c.do(ctx, http.MethodPatch, keyPath(id), nil, jsonBody(b), &out)
}

// RevokeKey answers DELETE /keys/{id}: every replica refuses the key
// within a second, and its console sessions end.
func (c *Client) RevokeKey(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, keyPath(id), nil, nil, nil)
}

// AccountLimits answers GET /account/limits: the account's spend caps.
func (c *Client) AccountLimits(ctx context.Context) (supplyapi.AccountLimits, error) {
	var out supplyapi.AccountLimits
	return out, c.do(ctx, http.MethodGet, "/account/limits", nil, nil, &out)
}

// SetAccountLimits answers PATCH /account/limits, sending the caps of req
// that fields names ("max_hourly_usd", "max_gpu_count"), a nil one as null
// (no cap); it returns the caps in force.
func (c *Client) SetAccountLimits(ctx context.Context, req supplyapi.AccountLimitsRequest, fields ...string) (supplyapi.AccountLimits, error) {
	b, err := patchBody(map[string]any{"max_hourly_usd": req.MaxHourlyUSD, "max_gpu_count": req.MaxGPUCount}, fields)
	if err != nil {
		return supplyapi.AccountLimits{}, err
	}
	var out supplyapi.AccountLimits
	return out, c.do(ctx, http.MethodPatch, "/account/limits", nil, jsonBody(b), &out)
}

// CreateAccount answers POST /admin/accounts (for admin keys of the
// server's operator account): a new account and its first admin key,
// whose secret is Key.Key, shown this once.
func (c *Client) CreateAccount(ctx context.Context, req supplyapi.AccountRequest) (supplyapi.AccountCreated, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return supplyapi.AccountCreated{}, fmt.Errorf("encode account request: %w", err)
	}
	var out supplyapi.AccountCreated
	return out, c.do(ctx, http.MethodPost, "/admin/accounts", nil, jsonBody(b), &out)
}

func keyPath(id int64) string { return "/keys/" + strconv.FormatInt(id, 10) }

// patchBody is the JSON object of the values that fields names.
func patchBody(values map[string]any, fields []string) ([]byte, error) {
	sent := map[string]any{}
	for _, f := range fields {
		v, ok := values[f]
		if !ok {
			return nil, fmt.Errorf("no field %q to change", f)
		}
		sent[f] = v
	}
	b, err := json.Marshal(sent)
	if err != nil {
		return nil, fmt.Errorf("encode change: %w", err)
	}
	return b, nil
}
