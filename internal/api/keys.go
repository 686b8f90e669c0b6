package api

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/internal/apikeys"
	"github.com/gpusupply/supply/internal/keys"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/supplyapi"
)

// The team operations are extensions of the Supply API: an admin key
// manages its account's keys and caps, and an admin key of the operator
// account creates accounts.

// KeyService administers keys, caps and accounts (package keys'
// Service). Its refusals wrap refusal.ErrNotFound (404) or
// refusal.ErrConflict (409); a field it rejects is an *offers.QueryError (422).
type KeyService interface {
	Create(ctx context.Context, accountID int64, req supplyapi.APIKeyRequest) (supplyapi.APIKeyInfo, error)
	List(ctx context.Context, accountID int64) ([]supplyapi.APIKeyInfo, error)
	Get(ctx context.Context, accountID, id int64) (supplyapi.APIKeyInfo, error)
	Update(ctx context.Context, accountID, id int64, req supplyapi.APIKeyRequest, fields keys.Fields) (supplyapi.APIKeyInfo, error)
	Revoke(ctx context.Context, accountID, id int64) error
	Limits(ctx context.Context, accountID int64) (supplyapi.AccountLimits, error)
	SetLimits(ctx context.Context, accountID int64, req supplyapi.AccountLimitsRequest, fields keys.Fields) (supplyapi.AccountLimits, error)
	CreateAccount(ctx context.Context, req supplyapi.AccountRequest) (supplyapi.AccountCreated, error)
}

type keyIDInput struct {
	KeyID int64 `path:"key_id" minimum:"1"`
}

type keyBodyInput struct {
	KeyID int64 `path:"key_id" minimum:"1"`
	bodyInput
}

type keyOutput struct {
	Body supplyapi.APIKeyInfo
}

type keysOutput struct {
	Body []supplyapi.APIKeyInfo
}

type limitsOutput struct {
	Body supplyapi.AccountLimits
}

type accountCreatedOutput struct {
	Body supplyapi.AccountCreated
}

func (a *API) registerKeys() {
	op := operation(roles.Admin, "create_key", http.MethodPost, "/keys", tagAccount, "Create an API key")
	op.DefaultStatus = http.StatusCreated
	op.Description = "Extension. The answer carries the key itself, as key, this once: only its hash is kept. " +
		"A key's role is admin, member or viewer (default member); its caps hold as well as the account's."
	op.SkipValidateBody = true
	huma.Register(a.huma, op, a.createKey)
	a.documentBody(a.huma.OpenAPI().Paths["/keys"].Post, reflect.TypeFor[supplyapi.APIKeyRequest]())
	huma.Register(a.huma, operation(roles.Admin, "list_keys", http.MethodGet, "/keys", tagAccount, "The account's API keys"), a.listKeys)
	huma.Register(a.huma, operation(roles.Admin, "get_key", http.MethodGet, "/keys/{key_id}", tagAccount, "One API key"), a.getKey)
	op = operation(roles.Viewer, "get_own_key", http.MethodGet, "/keys/me", tagAccount, "The API key of the request: its role, caps and vendors")
	op.Description = "Extension. Any key may read itself, so that a client (the MCP server) offers only what the key may do."
	huma.Register(a.huma, op, a.ownKey)
	op = operation(roles.Admin, "update_key", http.MethodPatch, "/keys/{key_id}", tagAccount, "Change an API key's name, role, caps, vendors or expiry")
	op.Description = "Extension. Only the fields sent change; null clears a cap, the vendors or the expiry. " +
		"Every replica applies a change within a second. The account's last admin key keeps its role (409)."
	op.SkipValidateBody = true
	huma.Register(a.huma, op, a.updateKey)
	a.documentBody(a.huma.OpenAPI().Paths["/keys/{key_id}"].Patch, reflect.TypeFor[supplyapi.APIKeyRequest]())
	op = operation(roles.Admin, "revoke_key", http.MethodDelete, "/keys/{key_id}", tagAccount, "Revoke an API key")
	op.Description = "Extension. The key is refused (401) within a second on every replica, and its console sessions end. " +
		"The account's last admin key cannot be revoked (409): make another admin key first."
	op.DefaultStatus = http.StatusNoContent
	huma.Register(a.huma, op, a.revokeKey)

	huma.Register(a.huma, operation(roles.Admin, "get_account_limits", http.MethodGet, "/account/limits", tagAccount, "The account's spend caps"),
		a.accountLimits)
	op = operation(roles.Admin, "update_account_limits", http.MethodPatch, "/account/limits", tagAccount, "Change the account's spend caps")
	op.Description = "Extension. Only the caps sent change; null clears one. A procurement that would take the account's live " +
		"resources over a cap is refused with 403."
	op.SkipValidateBody = true
	huma.Register(a.huma, op, a.updateAccountLimits)
	a.documentBody(a.huma.OpenAPI().Paths["/account/limits"].Patch, reflect.TypeFor[supplyapi.AccountLimitsRequest]())

	op = operation(roles.Operator, "create_account", http.MethodPost, "/admin/accounts", tagAccount, "Create an account and its first admin key")
	op.DefaultStatus = http.StatusCreated
	op.Description = "Extension, for admin keys of the server's operator account (supply server --operator-account). " +
		"The answer carries the new admin key itself, as key.key, this once."
	op.SkipValidateBody = true
	huma.Register(a.huma, op, a.createAccount)
	a.documentBody(a.huma.OpenAPI().Paths["/admin/accounts"].Post, reflect.TypeFor[supplyapi.AccountRequest]())
}

// decodePatch reads a PATCH body into into and says which fields it sent.
func decodePatch(d *bodyDecoder, in bodyInput, into any) (keys.Fields, error) {
	if err := d.decode(in.contentType, in.RawBody, into); err != nil {
		return nil, err
	}
	// The decoder has read the body as a JSON object already.
	var sent map[string]json.RawMessage
	_ = json.Unmarshal(in.RawBody, &sent)
	fields := keys.Fields{}
	for f := range sent {
		fields[f] = true
	}
	return fields, nil
}

func (a *API) createKey(ctx context.Context, in *bodyInput) (*keyOutput, error) {
	var req supplyapi.APIKeyRequest
	if err := a.keyDecoder.decode(in.contentType, in.RawBody, &req); err != nil {
		return nil, err
	}
	k, err := a.cfg.Keys.Create(ctx, AccountID(ctx), req)
	if err != nil {
		return nil, a.provisionError(ctx, "create key", err)
	}
	a.log.InfoContext(ctx, "API key created", "account_id", AccountID(ctx), "new_key_id", k.ID, "role", k.Role)
	return &keyOutput{Body: k}, nil
}

func (a *API) listKeys(ctx context.Context, _ *struct{}) (*keysOutput, error) {
	ks, err := a.cfg.Keys.List(ctx, AccountID(ctx))
	if err != nil {
		return nil, a.provisionError(ctx, "list keys", err)
	}
	return &keysOutput{Body: ks}, nil
}

func (a *API) getKey(ctx context.Context, in *keyIDInput) (*keyOutput, error) {
	k, err := a.cfg.Keys.Get(ctx, AccountID(ctx), in.KeyID)
	if err != nil {
		return nil, a.provisionError(ctx, "get key", err)
	}
	return &keyOutput{Body: k}, nil
}

func (a *API) ownKey(ctx context.Context, _ *struct{}) (*keyOutput, error) {
	k, _ := ctx.Value(requestKey{}).(apikeys.Key)
	return a.getKey(ctx, &keyIDInput{KeyID: k.ID})
}

func (a *API) updateKey(ctx context.Context, in *keyBodyInput) (*keyOutput, error) {
	var req supplyapi.APIKeyRequest
	fields, err := decodePatch(a.keyDecoder, in.bodyInput, &req)
	if err != nil {
		return nil, err
	}
	k, err := a.cfg.Keys.Update(ctx, AccountID(ctx), in.KeyID, req, fields)
	if err != nil {
		return nil, a.provisionError(ctx, "update key", err)
	}
	a.cfg.Auth.Forget(k.ID)
	a.log.InfoContext(ctx, "API key changed", "account_id", AccountID(ctx), "changed_key_id", k.ID, "role", k.Role)
	return &keyOutput{Body: k}, nil
}

func (a *API) revokeKey(ctx context.Context, in *keyIDInput) (*struct{}, error) {
	if err := a.cfg.Keys.Revoke(ctx, AccountID(ctx), in.KeyID); err != nil {
		return nil, a.provisionError(ctx, "revoke key", err)
	}
	a.cfg.Auth.Forget(in.KeyID)
	a.log.InfoContext(ctx, "API key revoked", "account_id", AccountID(ctx), "revoked_key_id", in.KeyID)
	return nil, nil
}

func (a *API) accountLimits(ctx context.Context, _ *struct{}) (*limitsOutput, error) {
	l, err := a.cfg.Keys.Limits(ctx, AccountID(ctx))
	if err != nil {
		return nil, a.provisionError(ctx, "account limits", err)
	}
	return &limitsOutput{Body: l}, nil
}

func (a *API) updateAccountLimits(ctx context.Context, in *bodyInput) (*limitsOutput, error) {
	var req supplyapi.AccountLimitsRequest
	fields, err := decodePatch(a.limitsDecoder, *in, &req)
	if err != nil {
		return nil, err
	}
	l, err := a.cfg.Keys.SetLimits(ctx, AccountID(ctx), req, fields)
	if err != nil {
		return nil, a.provisionError(ctx, "update account limits", err)
	}
	a.log.InfoContext(ctx, "account limits changed", "account_id", AccountID(ctx))
	return &limitsOutput{Body: l}, nil
}

func (a *API) createAccount(ctx context.Context, in *bodyInput) (*accountCreatedOutput, error) {
	var req supplyapi.AccountRequest
	if err := a.accountDecoder.decode(in.contentType, in.RawBody, &req); err != nil {
		return nil, err
	}
	acc, err := a.cfg.Keys.CreateAccount(ctx, req)
	if err != nil {
		return nil, a.provisionError(ctx, "create account", err)
	}
	a.log.InfoContext(ctx, "account created", "new_account_id", acc.ID, "name", acc.Name)
	return &accountCreatedOutput{Body: acc}, nil
}
