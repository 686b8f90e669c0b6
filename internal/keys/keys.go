// Package keys administers accounts, their API keys and their spend caps:
// what /keys, /account/limits and /admin/accounts do over the API and what
// supply keys create and supply accounts limits do on the server's host.
// Both run this code, so a key made either way is the same key.
package keys

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/apikeys"
	"github.com/gpusupply/supply/internal/offers"
	"github.com/gpusupply/supply/internal/printable"
	"github.com/gpusupply/supply/internal/refusal"
	"github.com/gpusupply/supply/internal/roles"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// touchEvery is how stale a key's last-used time may get: a lookup writes
// it only when it is older, so a busy key costs a write a minute at most.
const touchEvery = time.Minute

// Store is what the keys need of the database: its queries, and a
// transaction that holds the account while a change to an admin key is
// checked against the account's other admin keys.
type Store interface {
	store.Queries
	InTx(ctx context.Context, fn func(tx store.Tx) error) error
}

// Service administers keys, accounts and caps in a store.
type Service struct {
	store Store
	now   func() time.Time
}

// New is a Service over st.
func New(st Store) *Service { return &Service{store: st, now: time.Now} }

// Fields names the fields a PATCH body carried (its top-level keys), so
// that an absent field stays as it is while null clears it.
type Fields map[string]bool

// Lookup is the apikeys.Lookup of the store's keys. It moves the key's
// last-used time forward when that is more than touchEvery old.
func (s *Service) Lookup(ctx context.Context, hash []byte) (apikeys.Key, []byte, error) {
	k, err := s.store.APIKeyByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return apikeys.Key{}, nil, apikeys.ErrUnknownKey
	}
	if err != nil {
		return apikeys.Key{}, nil, err
	}
	if now := s.now(); k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= touchEvery {
		// Last use only informs a listing: a request is not refused
		// because it could not be written.
		_ = s.store.TouchAPIKey(ctx, k.ID, now)
	}
	return apikeys.Key{ID: k.ID, AccountID: k.AccountID, Name: k.Name, Role: roles.Role(k.Role), ExpiresAt: k.ExpiresAt}, k.Hash, nil
}

// Create makes a key of the account as req says (a member unless req names
// a role) and returns it with its secret, which nothing keeps.
func (s *Service) Create(ctx context.Context, accountID int64, req supplyapi.APIKeyRequest) (supplyapi.APIKeyInfo, error) {
	if req.Role == "" {
		req.Role = string(roles.Member)
	}
	k := store.APIKey{AccountID: accountID}
	if err := apply(&k, req, nil, s.now()); err != nil {
		return supplyapi.APIKeyInfo{}, err
	}
	secret, prefix, hash, err := apikeys.Generate()
	if err != nil {
		return supplyapi.APIKeyInfo{}, fmt.Errorf("create key: %w", err)
	}
	k.Prefix, k.Hash = prefix, hash
	if k, err = s.store.CreateAPIKey(ctx, k); err != nil {
		return supplyapi.APIKeyInfo{}, fmt.Errorf("create key: %w", err)
	}
	info := Info(k)
	info.Key = secret
	return info, nil
}

// List is the account's keys that are not revoked, oldest first.
func (s *Service) List(ctx context.Context, accountID int64) ([]supplyapi.APIKeyInfo, error) {
	ks, err := s.store.AccountAPIKeys(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	out := make([]supplyapi.APIKeyInfo, 0, len(ks))
	for _, k := range ks {
		out = append(out, Info(k))
	}
	return out, nil
}

// Get is the account's key id; a refusal.ErrNotFound if it has none, or
// it was revoked.
func (s *Service) Get(ctx context.Context, accountID, id int64) (supplyapi.APIKeyInfo, error) {
	k, err := s.key(ctx, accountID, id)
	return Info(k), err
}

// Update changes the fields of the key that fields names to req's. It
// refuses to take the admin role from the account's last admin key.
func (s *Service) Update(ctx context.Context, accountID, id int64, req supplyapi.APIKeyRequest, fields Fields) (supplyapi.APIKeyInfo, error) {
	var k store.APIKey
	err := s.changeKey(ctx, accountID, id, func(q store.Queries, was store.APIKey) (bool, error) {
		k = was
		if err := apply(&k, req, fields, s.now()); err != nil {
			return false, err
		}
		return k.Role != string(roles.Admin), notFound(q.UpdateAPIKey(ctx, k), id)
	})
	if err != nil {
		return supplyapi.APIKeyInfo{}, err
	}
	return Info(k), nil
}

// Revoke ends the account's key id for good, and with it the console
// sessions opened with it. It refuses to revoke the account's last admin
// key: nobody could make keys or change caps after it.
func (s *Service) Revoke(ctx context.Context, accountID, id int64) error {
	return s.changeKey(ctx, accountID, id, func(q store.Queries, _ store.APIKey) (bool, error) {
		return true, notFound(q.RevokeAPIKey(ctx, accountID, id), id)
	})
}

// changeKey runs change on the account's key id in a transaction that
// holds the account, and rolls it back when the key was an admin key,
// change says it no longer is one, and no other admin key of the account
// is left: two admins revoking each other at once cannot both succeed.
func (s *Service) changeKey(ctx context.Context, accountID, id int64, change func(q store.Queries, was store.APIKey) (notAdmin bool, err error)) error {
	return s.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.LockAccount(ctx, accountID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		was, err := tx.AccountAPIKey(ctx, accountID, id)
		if err != nil {
			return notFound(err, id)
		}
		notAdmin, err := change(tx, was)
		if err != nil || was.Role != string(roles.Admin) || !notAdmin {
			return err
		}
		left, err := tx.AccountAPIKeys(ctx, accountID)
		if err != nil {
			return err
		}
		now := s.now()
		for _, k := range left {
			if k.Role == string(roles.Admin) && !k.ExpiredAt(now) {
				return nil
			}
		}
		return refusal.Errorf(refusal.ErrConflict, "API key %d is the account's last admin key: make another admin key first", id)
	})
}

func (s *Service) key(ctx context.Context, accountID, id int64) (store.APIKey, error) {
	k, err := s.store.AccountAPIKey(ctx, accountID, id)
	return k, notFound(err, id)
}

// notFound words the store's ErrNotFound for key id as the API answers it.
func notFound(err error, id int64) error {
	if errors.Is(err, store.ErrNotFound) {
		return refusal.Errorf(refusal.ErrNotFound, "API key %d not found", id)
	}
	if err != nil {
		return fmt.Errorf("key %d: %w", id, err)
	}
	return nil
}

// Limits are the account's spend caps.
func (s *Service) Limits(ctx context.Context, accountID int64) (supplyapi.AccountLimits, error) {
	acc, err := s.store.AccountByID(ctx, accountID)
	if err != nil {
		return supplyapi.AccountLimits{}, fmt.Errorf("account limits: %w", err)
	}
	return supplyapi.AccountLimits{MaxHourlyUSD: acc.MaxHourlyUSD, MaxGPUCount: acc.MaxGPUCount}, nil
}

// SetLimits changes the caps that fields names to req's (null: no cap) and
// returns the caps in force.
func (s *Service) SetLimits(ctx context.Context, accountID int64, req supplyapi.AccountLimitsRequest, fields Fields) (supplyapi.AccountLimits, error) {
	limits, err := s.Limits(ctx, accountID)
	if err != nil {
		return limits, err
	}
	if err := setCaps(&limits.MaxHourlyUSD, &limits.MaxGPUCount, req.MaxHourlyUSD, req.MaxGPUCount, fields); err != nil {
		return limits, err
	}
	if err := s.store.SetAccountLimits(ctx, accountID, limits.MaxHourlyUSD, limits.MaxGPUCount); err != nil {
		return limits, fmt.Errorf("account limits: %w", err)
	}
	return limits, nil
}

// CreateAccount makes a new account and its first key, an admin key named
// keyName; a refusal.ErrConflict if the name is taken.
func (s *Service) CreateAccount(ctx context.Context, req supplyapi.AccountRequest) (supplyapi.AccountCreated, error) {
	if err := checkName("name", req.Name); err != nil {
		return supplyapi.AccountCreated{}, err
	}
	if _, err := s.store.AccountByName(ctx, req.Name); err == nil {
		return supplyapi.AccountCreated{}, refusal.Errorf(refusal.ErrConflict, "Account %q already exists", req.Name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return supplyapi.AccountCreated{}, fmt.Errorf("create account: %w", err)
	}
	acc, err := s.store.EnsureAccount(ctx, req.Name)
	if err != nil {
		return supplyapi.AccountCreated{}, fmt.Errorf("create account: %w", err)
	}
	key, err := s.Create(ctx, acc.ID, supplyapi.APIKeyRequest{Name: req.KeyName, Role: string(roles.Admin)})
	if err != nil {
		return supplyapi.AccountCreated{}, err
	}
	return supplyapi.AccountCreated{ID: acc.ID, Name: acc.Name, Key: key}, nil
}

// Info is k as the API shows it, without its secret.
func Info(k store.APIKey) supplyapi.APIKeyInfo {
	vendors := []string{}
	if k.Vendors != "" {
		vendors = strings.Split(k.Vendors, ",")
	}
	return supplyapi.APIKeyInfo{
		ID: k.ID, Name: k.Name, Role: k.Role, Prefix: k.Prefix, MaxHourlyUSD: k.MaxHourlyUSD, MaxGPUCount: k.MaxGPUCount,
		Vendors: vendors, ExpiresAt: k.ExpiresAt, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt,
	}
}

// vendorName is what a vendor's name looks like ("runpod", "lambda").
var vendorName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// apply sets k's fields from req: those fields names, or all of them when
// fields is nil (a new key). A field req gets wrong is an
// *offers.QueryError, which the API answers with 422.
func apply(k *store.APIKey, req supplyapi.APIKeyRequest, fields Fields, now time.Time) error {
	set := func(field string) bool { return fields == nil || fields[field] }
	if set("name") {
		if err := checkName("name", req.Name); err != nil {
			return err
		}
		k.Name = req.Name
	}
	if set("role") {
		role, err := roles.Parse(req.Role)
		if err != nil {
			return bodyError("role", "Value error, "+err.Error(), req.Role)
		}
		k.Role = string(role)
	}
	if err := setCaps(&k.MaxHourlyUSD, &k.MaxGPUCount, req.MaxHourlyUSD, req.MaxGPUCount, fields); err != nil {
		return err
	}
	if set("vendors") {
		for _, v := range req.Vendors {
			if !vendorName.MatchString(v) {
				return bodyError("vendors", "Value error, a vendor is named in lower case letters, digits, - and _ (runpod, lambda)", v)
			}
		}
		k.Vendors = strings.Join(req.Vendors, ",")
	}
	if set("expires_at") {
		if req.ExpiresAt != nil && !req.ExpiresAt.After(now) {
			return bodyError("expires_at", "Value error, expires_at must be in the future", req.ExpiresAt.Format(time.RFC3339))
		}
		k.ExpiresAt = req.ExpiresAt
	}
	return nil
}

// setCaps sets the caps fields names (all when nil) to usd and gpus,
// refusing negative or non-finite ones.
func setCaps(toUSD **float64, toGPUs **int64, usd *float64, gpus *int64, fields Fields) error {
	if fields == nil || fields["max_hourly_usd"] {
		if usd != nil && (*usd < 0 || math.IsNaN(*usd) || math.IsInf(*usd, 0)) {
			return bodyError("max_hourly_usd", "Input should be greater than or equal to 0", *usd)
		}
		*toUSD = usd
	}
	if fields == nil || fields["max_gpu_count"] {
		if gpus != nil && *gpus < 0 {
			return bodyError("max_gpu_count", "Input should be greater than or equal to 0", *gpus)
		}
		*toGPUs = gpus
	}
	return nil
}

// checkName refuses a name a console or terminal would print wrongly.
func checkName(field, name string) error {
	if err := printable.Check(name); err != nil {
		return bodyError(field, "Value error, "+field+" "+err.Error(), name)
	}
	return nil
}

func bodyError(field, msg string, input any) error {
	return &offers.QueryError{Loc: []any{"body", field}, Type: "value_error", Msg: msg, Input: input}
}
