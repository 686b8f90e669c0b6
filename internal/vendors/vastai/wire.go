package vastai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// The wire types of Vast.ai's REST API (openapi.yaml in the vendor
// specs), shared by the adapter and the stand-in so both speak the same
// JSON. Only the fields supply reads, sends or a client would expect to
// see are here.

// errorBody is the part every one of Vast's {error, msg} error answers
// shares: error is the machine-readable code the adapter branches on, msg
// the explanation. Search and the instance list answer with just these.
type errorBody struct {
	Error string `json:"error"`
	Msg   string `json:"msg"`
}

// errorEnvelope is the spec's Error schema, {success, error, msg}: the
// answer of most instance operations.
type errorEnvelope struct {
	Success bool `json:"success"`
	errorBody
}

// rentRefusal is a create's error: the envelope and the ask it names.
type rentRefusal struct {
	errorEnvelope
	AskID int64 `json:"ask_id"`
}

// tooFrequent is the 429 body of most endpoints: no code, no Retry-After.
type tooFrequent struct {
	Detail string `json:"detail"`
}

// Error codes of Vast's error envelopes.
const (
	codeAuth          = "auth_error"
	codeInvalidArgs   = "invalid_args"
	codeInvalidPrice  = "invalid_price"
	codeNoSSHKeyForVM = "no_ssh_key_for_vm"
	codeNoSuchAsk     = "no_such_ask"
	codeNotFound      = "not_found"
	codeNoSuchInst    = "no_such_instance"
	codeRateLimit     = "rate_limit_exceeded"
	codeInvalidReq    = "invalid_request"
	codeInvalidToken  = "invalid_token"
)

// filter is one search condition, {"operator": operand}: the operators
// supply uses from the table in search's description.
type filter struct {
	// Eq compares a boolean column.
	Eq *bool `json:"eq,omitempty"`
	// Gte is a numeric column's lower bound.
	Gte *float64 `json:"gte,omitempty"`
}

// is and atLeast are the conditions column = v and column >= v.
func is(v bool) filter         { return filter{Eq: &v} }
func atLeast(v float64) filter { return filter{Gte: &v} }

// searchQuery is the body of POST /api/v0/bundles/: the filters supply
// uses, the contract type and the disk to price offers with.
type searchQuery struct {
	Verified        filter `json:"verified"`
	Rentable        filter `json:"rentable"`
	Rented          filter `json:"rented"`
	NumGPUs         filter `json:"num_gpus"`
	DirectPortCount filter `json:"direct_port_count"`
	Reliability     filter `json:"reliability"`
	DiskSpace       filter `json:"disk_space"`
	// Type is "ondemand" or "bid" (interruptible, priced at min_bid).
	Type             string     `json:"type"`
	Limit            int        `json:"limit"`
	AllocatedStorage float64    `json:"allocated_storage"`
	Order            [][]string `json:"order"`
}

// searchResult is the answer of a search.
type searchResult struct {
	Offers []offer `json:"offers"`
}

// offer is one rentable machine (an "ask"). The spec leaves offers
// free-form; these are the fields its example and Vast's clients show.
type offer struct {
	ID                int64   `json:"id"`
	AskContractID     int64   `json:"ask_contract_id"`
	BundleID          int64   `json:"bundle_id"`
	MachineID         int64   `json:"machine_id"`
	HostID            int64   `json:"host_id"`
	GPUName           string  `json:"gpu_name"`
	GPUArch           string  `json:"gpu_arch"`
	NumGPUs           int     `json:"num_gpus"`
	GPURAM            int     `json:"gpu_ram"` // MB per GPU
	GPUTotalRAM       int     `json:"gpu_total_ram"`
	BWNVLink          float64 `json:"bw_nvlink"`
	CPUName           string  `json:"cpu_name"`
	CPUCores          int     `json:"cpu_cores"`
	CPUCoresEffective float64 `json:"cpu_cores_effective"`
	CPURAM            int     `json:"cpu_ram"` // MB
	DiskSpace         float64 `json:"disk_space"`
	DphBase           float64 `json:"dph_base"`
	DphTotal          float64 `json:"dph_total"`
	MinBid            float64 `json:"min_bid"`
	StorageCost       float64 `json:"storage_cost"` // USD per GB-month
	StorageTotalCost  float64 `json:"storage_total_cost"`
	InetUp            float64 `json:"inet_up"`
	InetDown          float64 `json:"inet_down"`
	Geolocation       string  `json:"geolocation"`
	Reliability       float64 `json:"reliability"`
	Reliability2      float64 `json:"reliability2"`
	Verification      string  `json:"verification"`
	HostingType       int     `json:"hosting_type"`
	StaticIP          bool    `json:"static_ip"`
	DirectPortCount   int     `json:"direct_port_count"`
	CUDAMaxGood       float64 `json:"cuda_max_good"`
	PublicIPAddr      string  `json:"public_ipaddr"`
	Rentable          bool    `json:"rentable"`
	Rented            bool    `json:"rented"`
	IsBid             bool    `json:"is_bid"`
}

// createRequest is the body of PUT /api/v0/asks/{id}/.
type createRequest struct {
	Image         string   `json:"image"`
	Label         string   `json:"label,omitempty"`
	Disk          float64  `json:"disk,omitempty"`
	Runtype       string   `json:"runtype,omitempty"`
	TargetState   string   `json:"target_state,omitempty"`
	Price         *float64 `json:"price,omitempty"`
	Onstart       string   `json:"onstart,omitempty"`
	CancelUnavail *bool    `json:"cancel_unavail,omitempty"`
	Env           string   `json:"env,omitempty"`
}

// createResponse is a successful create: new_contract is the instance id.
type createResponse struct {
	Success     bool  `json:"success"`
	NewContract int64 `json:"new_contract"`
}

// sshKeyRequest attaches a public key (POST /api/v0/instances/{id}/ssh/).
type sshKeyRequest struct {
	SSHKey string `json:"ssh_key"`
}

// okMsg is {success, msg}: the answer of attach and destroy.
type okMsg struct {
	Success bool   `json:"success"`
	Msg     string `json:"msg,omitempty"`
}

// instanceEnvelope is GET /api/v0/instances/{id}/: one instance under a
// plural key, null when there is none.
type instanceEnvelope struct {
	Instances *instance `json:"instances"`
}

// instanceList is a page of GET /api/v1/instances/.
type instanceList struct {
	Success        bool           `json:"success"`
	InstancesFound int            `json:"instances_found"`
	TotalInstances int            `json:"total_instances"`
	LabelCounts    map[string]int `json:"label_counts"`
	NextToken      *string        `json:"next_token"`
	Instances      []instance     `json:"instances"`
}

// instance is a rented machine (a "contract").
type instance struct {
	ID             int64   `json:"id"`
	ActualStatus   *string `json:"actual_status"`
	IntendedStatus string  `json:"intended_status"`
	CurState       string  `json:"cur_state"`
	NextState      string  `json:"next_state"`
	Label          *string `json:"label"`
	ImageUUID      string  `json:"image_uuid"`
	ImageRuntype   string  `json:"image_runtype"`
	Onstart        *string `json:"onstart"`
	StatusMsg      *string `json:"status_msg"`
	PublicIPAddr   string  `json:"public_ipaddr"`
	LocalIPAddrs   string  `json:"local_ipaddrs"`
	SSHHost        string  `json:"ssh_host"`
	SSHPort        int     `json:"ssh_port"`
	MachineID      int64   `json:"machine_id"`
	HostID         int64   `json:"host_id"`
	StartDate      float64 `json:"start_date"`
	GPUName        string  `json:"gpu_name"`
	NumGPUs        int     `json:"num_gpus"`
	GPURAM         int     `json:"gpu_ram"`
	CPUCores       int     `json:"cpu_cores"`
	CPURAM         int     `json:"cpu_ram"`
	DiskSpace      float64 `json:"disk_space"`
	Ports          ports   `json:"ports"`
	Geolocation    string  `json:"geolocation"`
	IsBid          bool    `json:"is_bid"`
	MinBid         float64 `json:"min_bid"`
	DphBase        float64 `json:"dph_base"`
	DphTotal       float64 `json:"dph_total"`
	StorageCost    float64 `json:"storage_cost"`
	DirectPortCnt  int     `json:"direct_port_count"`
	Verification   string  `json:"verification"`
}

// portBinding is one Docker host binding of a container port.
type portBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// ports is an instance's port mappings. Running instances report the
// Docker map {"22/tcp": [{"HostIp": ..., "HostPort": "41022"}]}; the
// spec's Instance schema types it as an array of exposed ports
// ([8080, 8081]), which carries no host port. Both decode: the array form
// as container port → the same port.
type ports map[string][]portBinding

// UnmarshalJSON accepts the Docker map, the spec's array and null.
func (p *ports) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*p = nil
		return nil
	case len(b) > 0 && b[0] == '[':
		var list []int
		if err := json.Unmarshal(b, &list); err != nil {
			return fmt.Errorf("ports array: %w", err)
		}
		m := ports{}
		for _, n := range list {
			s := strconv.Itoa(n)
			m[s+"/tcp"] = []portBinding{{HostPort: s}}
		}
		*p = m
		return nil
	}
	var m map[string][]portBinding
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("ports map: %w", err)
	}
	*p = m
	return nil
}

// hostPort returns the host port that container port (e.g. "22/tcp") is
// published on, or 0.
func (p ports) hostPort(container string) int {
	for _, b := range p[container] {
		if n, err := strconv.Atoi(b.HostPort); err == nil && n > 0 && n < 1<<16 {
			return n
		}
	}
	return 0
}
