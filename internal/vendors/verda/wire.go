package verda

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The JSON shapes of Verda's API as the current SDK speaks it, shared by
// the adapter and the stand-in so both use one wire format.
// TestWireConformance proves every field of every type against the
// published (2023, DataCrunch) description, with the named allowances of
// specPatches where today's API has moved on.

// apiError is Verda's error envelope: {"code": "...", "message": "..."},
// as the token endpoint documents it.
type apiError struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// tokenRequest is the body of POST /oauth2/token, for both grants.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// The two OAuth2 grants Verda accepts.
const (
	grantClientCredentials = "client_credentials"
	grantRefreshToken      = "refresh_token"
)

// tokenResponse is the 200 answer of POST /oauth2/token.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// flexFloat is a price that Verda sends as a JSON number or as a string
// holding one ("2.29"); both decode to the same value.
type flexFloat float64

// UnmarshalJSON accepts 2.29, "2.29", "" and null.
func (f *flexFloat) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(strings.TrimSpace(s))
	}
	if len(b) == 0 || string(b) == "null" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("price %q is not a number", b)
	}
	*f = flexFloat(v)
	return nil
}

// cpuSpec, gpuSpec, sizeSpec and storageSpec are the {description, ...}
// objects Verda describes hardware with. The counts are JSON numbers in
// the description (not integers), so they are read as such: a count sent
// as 8.0 must not fail the whole answer.
type cpuSpec struct {
	Description   string  `json:"description"`
	NumberOfCores float64 `json:"number_of_cores"`
}

type gpuSpec struct {
	Description  string  `json:"description"`
	NumberOfGPUs float64 `json:"number_of_gpus"`
}

type sizeSpec struct {
	Description     string  `json:"description"`
	SizeInGigabytes float64 `json:"size_in_gigabytes"`
}

type storageSpec struct {
	Description string `json:"description"`
}

// instanceType is one entry of GET /instance-types. Prices are USD per
// instance-hour for the machine alone (volumes are billed apart).
type instanceType struct {
	ID           string      `json:"id"`
	InstanceType string      `json:"instance_type"`
	Model        string      `json:"model"`
	Name         string      `json:"name"`
	DisplayName  string      `json:"display_name,omitempty"`
	CPU          cpuSpec     `json:"cpu"`
	GPU          gpuSpec     `json:"gpu"`
	GPUMemory    sizeSpec    `json:"gpu_memory"`
	Memory       sizeSpec    `json:"memory"`
	Storage      storageSpec `json:"storage"`
	PricePerHour flexFloat   `json:"price_per_hour"`
	SpotPrice    flexFloat   `json:"spot_price"`
	Currency     string      `json:"currency"`
	Manufacturer string      `json:"manufacturer"`
	BestFor      []string    `json:"best_for"`
	Description  string      `json:"description"`
}

// location is one entry of GET /locations.
type location struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	CountryCode string `json:"country_code"`
}

// locationAvailability is one entry of GET /instance-availability: the
// instance types that can be deployed in a location now. The 2023 schema
// spells the list "availabilites" while its example and the SDK say
// "availabilities"; the adapter reads both.
type locationAvailability struct {
	LocationCode   string   `json:"location_code"`
	Availabilities []string `json:"availabilities"`
	Misspelled     []string `json:"availabilites,omitempty"`
}

// types returns the available types under whichever key was sent.
func (l locationAvailability) types() []string {
	return append(l.Availabilities, l.Misspelled...)
}

// volumeType is one entry of GET /volume-types.
type volumeType struct {
	Type  string          `json:"type"`
	Price volumeTypePrice `json:"price"`
}

type volumeTypePrice struct {
	PricePerMonthPerGB float64 `json:"price_per_month_per_gb"`
	Currency           string  `json:"currency"`
}

// osVolumeType is the volume type instances boot from.
const osVolumeType = "NVMe"

// sshKey is one entry of GET /ssh-keys.
type sshKey struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Key  string `json:"key"`
}

// sshKeyRequest is the body of POST /ssh-keys.
type sshKeyRequest struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// startupScript is one entry of GET /scripts.
type startupScript struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Script string `json:"script"`
}

// scriptRequest is the body of POST /scripts.
type scriptRequest struct {
	Name   string `json:"name"`
	Script string `json:"script"`
}

// balance is UserBalance, the answer of GET /balance.
type balance struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

// osVolume sizes the boot volume of a new instance.
type osVolume struct {
	Name string `json:"name"`
	Size int    `json:"size"`
}

// deployRequest is the body of POST /instances.
type deployRequest struct {
	InstanceType    string   `json:"instance_type"`
	Image           string   `json:"image"`
	Hostname        string   `json:"hostname"`
	Description     string   `json:"description"`
	LocationCode    string   `json:"location_code"`
	SSHKeyIDs       []string `json:"ssh_key_ids"`
	StartupScriptID string   `json:"startup_script_id,omitempty"`
	OSVolume        osVolume `json:"os_volume"`
	IsSpot          bool     `json:"is_spot"`
	// ExistingVolumes are detached volumes to attach at deploy.
	ExistingVolumes []string `json:"existing_volumes,omitempty"`
}

// instance is one instance as GET /instances and GET /instances/{id}
// return it. The current API names the location "location"; the 2023
// spec calls it "location_code": both are read.
type instance struct {
	ID              string    `json:"id"`
	IP              *string   `json:"ip"`
	Status          string    `json:"status"`
	CreatedAt       string    `json:"created_at"`
	CPU             cpuSpec   `json:"cpu"`
	GPU             gpuSpec   `json:"gpu"`
	GPUMemory       sizeSpec  `json:"gpu_memory"`
	Memory          sizeSpec  `json:"memory"`
	Storage         sizeSpec  `json:"storage"`
	Hostname        string    `json:"hostname"`
	Description     string    `json:"description"`
	Location        string    `json:"location,omitempty"`
	LocationCode    string    `json:"location_code,omitempty"`
	PricePerHour    flexFloat `json:"price_per_hour"`
	IsSpot          bool      `json:"is_spot"`
	InstanceType    string    `json:"instance_type"`
	Image           string    `json:"image"`
	OSName          string    `json:"os_name"`
	StartupScriptID *string   `json:"startup_script_id"`
	SSHKeyIDs       []string  `json:"ssh_key_ids"`
	OSVolumeID      *string   `json:"os_volume_id"`
}

// where returns the instance's location under either name.
func (in instance) where() string {
	if in.Location != "" {
		return in.Location
	}
	return in.LocationCode
}

// instanceAction is the body of PUT /instances.
type instanceAction struct {
	Action string   `json:"action"`
	ID     []string `json:"id"`
}

// actionDelete removes an instance and its OS volume, ending billing.
const actionDelete = "delete"

// actionResult is one element of PUT /instances' 202/207 answer.
type actionResult struct {
	Action     string `json:"action"`
	InstanceID string `json:"instanceId"`
	Status     string `json:"status"`
	Error      string `json:"error,omitempty"`
	StatusCode int    `json:"statusCode,omitempty"`
}

// plainID reads the id a create answers with: the bare id as text (what
// the API usually sends), a JSON string (what the description says), or
// the created object itself (a deploy sometimes answers with the whole
// Instance: the SDK's createWithPlainTextResponse reads both).
func plainID(body []byte) (string, error) {
	b := bytes.TrimSpace(body)
	switch {
	case len(b) == 0:
		return "", fmt.Errorf("empty answer")
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		return strings.TrimSpace(s), nil
	case b[0] == '{':
		var obj instance
		if err := json.Unmarshal(b, &obj); err != nil || obj.ID == "" {
			return "", fmt.Errorf("answer %.80q carries no id", b)
		}
		return obj.ID, nil
	}
	return string(b), nil
}
