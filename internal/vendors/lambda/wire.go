package lambda

// The wire types of the Lambda Cloud API (OpenAPI "Lambda Cloud API"
// v1.10.0), shared by the adapter and the stand-in so that both speak the
// same JSON. Only the fields supply reads or sends are here.

// envelope is every successful answer: {"data": ...}.
type envelope[T any] struct {
	Data T `json:"data"`
}

// apiError is the body of every failed answer: {"error": {...}}.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Suggestion string `json:"suggestion,omitempty"`
}

// Error codes the adapter branches on (the spec's ApiError* schemas).
const (
	codeInvalidAPIKey        = "global/invalid-api-key"
	codeInvalidParameters    = "global/invalid-parameters"
	codeInsufficientCapacity = "instance-operations/launch/insufficient-capacity"
	codeQuotaExceeded        = "global/quota-exceeded"
	codeFileSystemWrongPlace = "instance-operations/launch/file-system-in-wrong-region"
	codeObjectDoesNotExist   = "global/object-does-not-exist"
	codeNotFound             = "global/not-found"
	codeAccountInactive      = "global/account-inactive"
	codeInvalidAddress       = "global/invalid-address"
	codeForbidden            = "global/forbidden"
	codeConflict             = "global/conflict"
	codeDuplicate            = "global/duplicate"
	codeInternal             = "global/internal-error"
	codeFileSystemInUse      = "filesystems/filesystem-in-use"
	codeFirewallInUse        = "firewall-rulesets/firewall-ruleset-in-use"
	// codeProviderPrefix marks errors of Lambda's upstream providers
	// (see providerKinds).
	codeProviderPrefix = "provider/"
)

type region struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type instanceTypeSpecs struct {
	VCPUs      int `json:"vcpus"`
	MemoryGiB  int `json:"memory_gib"`
	StorageGiB int `json:"storage_gib"`
	GPUs       int `json:"gpus"`
}

type instanceType struct {
	Name              string            `json:"name"`
	Description       string            `json:"description"`
	GPUDescription    string            `json:"gpu_description"`
	PriceCentsPerHour int               `json:"price_cents_per_hour"`
	Specs             instanceTypeSpecs `json:"specs"`
}

type instanceTypesItem struct {
	InstanceType                 instanceType `json:"instance_type"`
	RegionsWithCapacityAvailable []region     `json:"regions_with_capacity_available"`
}

type sshKey struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	PublicKey string `json:"public_key"`
}

type addSSHKeyRequest struct {
	Name      string `json:"name"`
	PublicKey string `json:"public_key,omitempty"`
}

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type launchRequest struct {
	RegionName       string         `json:"region_name"`
	InstanceTypeName string         `json:"instance_type_name"`
	SSHKeyNames      []string       `json:"ssh_key_names"`
	Name             string         `json:"name,omitempty"`
	UserData         string         `json:"user_data,omitempty"`
	Tags             []tag          `json:"tags,omitempty"`
	FileSystemNames  []string       `json:"file_system_names,omitempty"`
	FirewallRulesets []rulesetEntry `json:"firewall_rulesets,omitempty"`
}

type launchResponse struct {
	InstanceIDs []string `json:"instance_ids"`
}

type terminateRequest struct {
	InstanceIDs []string `json:"instance_ids"`
}

type terminateResponse struct {
	TerminatedInstances []instance `json:"terminated_instances"`
}

type actionAvailability struct {
	Available         bool   `json:"available"`
	ReasonCode        string `json:"reason_code,omitempty"`
	ReasonDescription string `json:"reason_description,omitempty"`
}

type instanceActions struct {
	Migrate    actionAvailability `json:"migrate"`
	Rebuild    actionAvailability `json:"rebuild"`
	Restart    actionAvailability `json:"restart"`
	ColdReboot actionAvailability `json:"cold_reboot"`
	Terminate  actionAvailability `json:"terminate"`
}

type instance struct {
	ID              string          `json:"id"`
	Name            string          `json:"name,omitempty"`
	IP              string          `json:"ip,omitempty"`
	PrivateIP       string          `json:"private_ip,omitempty"`
	Status          string          `json:"status"`
	SSHKeyNames     []string        `json:"ssh_key_names"`
	FileSystemNames []string        `json:"file_system_names"`
	Region          region          `json:"region"`
	InstanceType    instanceType    `json:"instance_type"`
	Hostname        string          `json:"hostname,omitempty"`
	Actions         instanceActions `json:"actions"`
	Tags            []tag           `json:"tags,omitempty"`
}

// Instance statuses (the spec's InstanceStatus enum).
const (
	statusBooting     = "booting"
	statusActive      = "active"
	statusUnhealthy   = "unhealthy"
	statusTerminating = "terminating"
	statusTerminated  = "terminated"
	statusPreempted   = "preempted"
)
