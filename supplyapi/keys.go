package supplyapi

import "time"

// Roles of API keys (APIKeyInfo.Role).
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
	RoleViewer = "viewer"
)

// APIKeyInfo is an API key as GET /keys lists it (an extension of the
// Supply API). Key, the secret, is set only in the answer to POST /keys.
type APIKeyInfo struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	Role         string     `json:"role" enum:"admin,member,viewer" doc:"admin: everything in the account, keys and caps included; member: find, rent, see and delete the account's machines; viewer: read only"`
	Prefix       string     `json:"prefix" doc:"The first characters of the key, to recognise it"`
	MaxHourlyUSD *float64   `json:"max_hourly_usd" doc:"Cap on the hourly price of the live resources this key procured; null: none (the account's caps hold too)"`
	MaxGPUCount  *int64     `json:"max_gpu_count" doc:"Cap on the GPUs of the live resources this key procured; null: none"`
	Vendors      []string   `json:"vendors" nullable:"false" doc:"The vendors this key may rent from; empty: every vendor"`
	ExpiresAt    *time.Time `json:"expires_at" doc:"When the key stops working; null: never"`
	CreatedAt    time.Time  `json:"created_at"`
	LastUsedAt   *time.Time `json:"last_used_at" doc:"When a request last came with the key, to the minute; null: never"`
	Key          string     `json:"key,omitempty" doc:"The key itself: only in the answer that created it"`
}

// APIKeyRequest is the body of POST /keys and PATCH /keys/{key_id}. A
// PATCH changes only the fields it names; null clears a cap, the vendors
// or the expiry.
type APIKeyRequest struct {
	Name         string     `json:"name,omitempty" maxLength:"100" doc:"What the key is for (a colleague, a CI job)"`
	Role         string     `json:"role,omitempty" enum:"admin,member,viewer" doc:"Default for a new key: member"`
	MaxHourlyUSD *float64   `json:"max_hourly_usd,omitempty" nullable:"true" minimum:"0" doc:"Cap on the hourly price of the live resources this key procures; null: none"`
	MaxGPUCount  *int64     `json:"max_gpu_count,omitempty" nullable:"true" minimum:"0" doc:"Cap on the GPUs of the live resources this key procures; null: none"`
	Vendors      []string   `json:"vendors,omitempty" nullable:"true" maxItems:"50" doc:"Only these vendors; null or empty: every vendor"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty" nullable:"true" doc:"When the key stops working (RFC 3339); null: never"`
}

// AccountRequest is the body of POST /admin/accounts.
type AccountRequest struct {
	Name    string `json:"name" minLength:"1" maxLength:"100" doc:"The new account's name"`
	KeyName string `json:"key_name,omitempty" maxLength:"100" doc:"The name of its first key, an admin key"`
}

// AccountCreated answers POST /admin/accounts: the account and its first
// key, whose secret (Key.Key) is shown only here.
type AccountCreated struct {
	ID   int64      `json:"id"`
	Name string     `json:"name"`
	Key  APIKeyInfo `json:"key"`
}

// Actor is the API key whose request made a change (Event.Actor).
type Actor struct {
	KeyID int64  `json:"key_id"`
	Name  string `json:"name"`
	// Tool is an extension: the MCP tool whose request made the change.
	Tool string `json:"tool,omitempty" doc:"The MCP tool (POST /mcp, supply mcp) whose API request made the change; absent for any other request"`
}

// AccountLimitsRequest is the body of PATCH /account/limits: only the caps
// it names change, and null clears one.
type AccountLimitsRequest struct {
	MaxHourlyUSD *float64 `json:"max_hourly_usd,omitempty" nullable:"true" minimum:"0" doc:"Cap on the hourly price of the account's live resources; null: none"`
	MaxGPUCount  *int64   `json:"max_gpu_count,omitempty" nullable:"true" minimum:"0" doc:"Cap on the GPUs of the account's live resources; null: none"`
}
