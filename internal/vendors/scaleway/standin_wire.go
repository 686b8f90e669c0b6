package scaleway

import "encoding/json"

// The stand-in's answers, shaped key for key like the answers of
// Scaleway's Instance, Block and Marketplace APIs recorded in the vendor's
// own test cassettes (TestStandInMatchesRecordings compares them). The
// adapter never uses these types: it reads every answer through the SDK's
// (scaleway-sdk-go), so each lifecycle test against the stand-in also
// checks that these shapes decode as Scaleway's do. The SDK's types are not
// used to write the answers because they are not the recorded wire: a
// Server there lacks "bootscript" and "extra_networks" and adds
// "admin_password_*" and "dns", an SBS entry of a server's "volumes" would
// gain "name", "size" and five more keys the recordings never carry, and a
// ServerType drops half of "capabilities". Requests, on the other hand,
// are read into the SDK's own request types (see decodeStrict).

// errorEnvelope is the body of every Scaleway 4xx: a type that says what
// went wrong and fields that depend on it.
type errorEnvelope struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	// Resource and ResourceID: not_found, out_of_stock, transient_state.
	Resource   string `json:"resource,omitempty"`
	ResourceID string `json:"resource_id,omitempty"`
	// CurrentState: transient_state.
	CurrentState string `json:"current_state,omitempty"`
	// Precondition and HelpMessage: precondition_failed.
	Precondition string `json:"precondition,omitempty"`
	HelpMessage  string `json:"help_message,omitempty"`
	// Method and Reason: denied_authentication.
	Method string `json:"method,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Details: invalid_arguments, quotas_exceeded, permissions_denied.
	Details []errorDetail `json:"details,omitempty"`
}

// errorDetail is one entry of an error's details; which fields are set
// depends on the error type.
type errorDetail struct {
	ArgumentName string `json:"argument_name,omitempty"`
	Reason       string `json:"reason,omitempty"`
	HelpMessage  string `json:"help_message,omitempty"`
	Resource     string `json:"resource,omitempty"`
	Quota        *int   `json:"quota,omitempty"`
	Current      *int   `json:"current,omitempty"`
	Action       string `json:"action,omitempty"`
}

// serverTypeList is ListServersTypesResponse: a map keyed by commercial
// type; the total is only in the X-Total-Count header.
type serverTypeList struct {
	Servers map[string]serverType `json:"servers"`
}

// serverType is ServerType. HourlyPrice is EUR per instance-hour; RAM and
// GPU memory are bytes.
type serverType struct {
	AltNames                      []string             `json:"alt_names"`
	Arch                          string               `json:"arch"`
	NCPUs                         int                  `json:"ncpus"`
	RAM                           int64                `json:"ram"`
	GPU                           int                  `json:"gpu"`
	GPUInfo                       *gpuInfo             `json:"gpu_info"`
	MIGProfile                    *string              `json:"mig_profile"`
	VolumesConstraint             sizeRange            `json:"volumes_constraint"`
	PerVolumeConstraint           map[string]sizeRange `json:"per_volume_constraint"`
	ScratchStorageMaxSize         *int64               `json:"scratch_storage_max_size"`
	ScratchStorageMaxVolumesCount int                  `json:"scratch_storage_max_volumes_count"`
	MonthlyPrice                  float64              `json:"monthly_price"`
	HourlyPrice                   float64              `json:"hourly_price"`
	Capabilities                  typeCapabilities     `json:"capabilities"`
	Network                       typeNetwork          `json:"network"`
	BlockBandwidth                int64                `json:"block_bandwidth"`
	EndOfService                  bool                 `json:"end_of_service"`
}

// gpuInfo is ServerType.GpuInfo; GPUName is Scaleway's model name ("L4",
// "H100-SXM", "P100").
type gpuInfo struct {
	GPUManufacturer string `json:"gpu_manufacturer"`
	GPUName         string `json:"gpu_name"`
	GPUMemory       int64  `json:"gpu_memory"`
}

type sizeRange struct {
	MinSize int64 `json:"min_size"`
	MaxSize int64 `json:"max_size"`
}

type typeCapabilities struct {
	BootTypes               []string `json:"boot_types"`
	PlacementGroups         bool     `json:"placement_groups"`
	BlockStorage            bool     `json:"block_storage"`
	HotSnapshotsLocalVolume bool     `json:"hot_snapshots_local_volume"`
	PrivateNetwork          int      `json:"private_network"`
	MaxFileSystems          int      `json:"max_file_systems"`
}

type typeNetwork struct {
	IPv6Support          bool               `json:"ipv6_support"`
	SumInternalBandwidth int64              `json:"sum_internal_bandwidth"`
	SumInternetBandwidth int64              `json:"sum_internet_bandwidth"`
	Interfaces           []networkInterface `json:"interfaces"`
}

type networkInterface struct {
	InternalBandwidth int64 `json:"internal_bandwidth"`
	InternetBandwidth int64 `json:"internet_bandwidth"`
}

// availabilityList is GetServerTypesAvailabilityResponse.
type availabilityList struct {
	Servers map[string]availability `json:"servers"`
}

// availability is one type's stock: "available", "scarce" or "shortage".
type availability struct {
	Availability string `json:"availability"`
}

// The availability values; shortage means none can be started now.
const (
	stockAvailable = "available"
	stockScarce    = "scarce"
	stockShortage  = "shortage"
)

// localImageList is the Marketplace's ListLocalImagesResponse.
type localImageList struct {
	LocalImages []localImage `json:"local_images"`
	TotalCount  int          `json:"total_count"`
}

// localImage is one image label's build for one zone and architecture.
type localImage struct {
	ID                        string   `json:"id"`
	Arch                      string   `json:"arch"`
	Zone                      string   `json:"zone"`
	CompatibleCommercialTypes []string `json:"compatible_commercial_types"`
	Label                     string   `json:"label"`
	Type                      string   `json:"type"`
}

// serverEnvelope is the body of create, get and detach-volume.
type serverEnvelope struct {
	Server server `json:"server"`
}

// serverList is ListServersResponse (total in X-Total-Count).
type serverList struct {
	Servers []server `json:"servers"`
}

// server is Server, with every key the recordings show. The fields the
// stand-in has nothing to say about are raw JSON, so it can answer the
// same shape without a Go type for each.
type server struct {
	ID                string                  `json:"id"`
	Name              string                  `json:"name"`
	Arch              string                  `json:"arch"`
	CommercialType    string                  `json:"commercial_type"`
	BootType          string                  `json:"boot_type"`
	Organization      string                  `json:"organization"`
	Project           string                  `json:"project"`
	Hostname          string                  `json:"hostname"`
	Image             json.RawMessage         `json:"image"`
	Volumes           map[string]serverVolume `json:"volumes"`
	Tags              []string                `json:"tags"`
	State             string                  `json:"state"`
	Protected         bool                    `json:"protected"`
	StateDetail       string                  `json:"state_detail"`
	PublicIP          *publicIP               `json:"public_ip"`
	PublicIPs         []publicIP              `json:"public_ips"`
	MACAddress        string                  `json:"mac_address"`
	RoutedIPEnabled   bool                    `json:"routed_ip_enabled"`
	IPv6              json.RawMessage         `json:"ipv6"`
	ExtraNetworks     []json.RawMessage       `json:"extra_networks"`
	DynamicIPRequired bool                    `json:"dynamic_ip_required"`
	EnableIPv6        bool                    `json:"enable_ipv6"`
	PrivateIP         *string                 `json:"private_ip"`
	CreationDate      string                  `json:"creation_date"`
	ModificationDate  string                  `json:"modification_date"`
	Bootscript        json.RawMessage         `json:"bootscript"`
	SecurityGroup     nameRef                 `json:"security_group"`
	Location          *serverLocation         `json:"location"`
	Maintenances      []json.RawMessage       `json:"maintenances"`
	AllowedActions    []string                `json:"allowed_actions"`
	PlacementGroup    json.RawMessage         `json:"placement_group"`
	PrivateNICs       []json.RawMessage       `json:"private_nics"`
	Zone              string                  `json:"zone"`
	Filesystems       []json.RawMessage       `json:"filesystems"`
	EndOfService      bool                    `json:"end_of_service"`
}

// serverVolume is an SBS volume as a server lists it: no name or size,
// which only the Block API shows.
type serverVolume struct {
	Boot       bool   `json:"boot"`
	VolumeType string `json:"volume_type"`
	ID         string `json:"id"`
	State      string `json:"state"`
	Zone       string `json:"zone"`
}

// publicIP is ServerIP.
type publicIP struct {
	ID               string   `json:"id"`
	Address          string   `json:"address"`
	Dynamic          bool     `json:"dynamic"`
	Gateway          string   `json:"gateway"`
	Netmask          string   `json:"netmask"`
	Family           string   `json:"family"`
	ProvisioningMode string   `json:"provisioning_mode"`
	Tags             []string `json:"tags"`
	State            string   `json:"state"`
	IPAMID           string   `json:"ipam_id"`
}

type nameRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// serverLocation is where a started server runs (null while stopped).
type serverLocation struct {
	ZoneID       string `json:"zone_id"`
	PlatformID   string `json:"platform_id"`
	ClusterID    string `json:"cluster_id"`
	HypervisorID string `json:"hypervisor_id"`
	NodeID       string `json:"node_id"`
}

// taskEnvelope is ServerActionResponse.
type taskEnvelope struct {
	Task task `json:"task"`
}

// task is an asynchronous operation on a server.
type task struct {
	ID           string  `json:"id"`
	Description  string  `json:"description"`
	Status       string  `json:"status"`
	HrefFrom     string  `json:"href_from"`
	HrefResult   string  `json:"href_result"`
	StartedAt    string  `json:"started_at"`
	TerminatedAt *string `json:"terminated_at"`
	Progress     int     `json:"progress"`
	Zone         string  `json:"zone"`
}

// userDataKeys is ListServerUserDataResponse.
type userDataKeys struct {
	UserData []string `json:"user_data"`
}

// blockVolume is the Block API's Volume.
type blockVolume struct {
	ID               string      `json:"id"`
	Name             string      `json:"name"`
	Type             string      `json:"type"`
	Size             int64       `json:"size"`
	ProjectID        string      `json:"project_id"`
	CreatedAt        string      `json:"created_at"`
	UpdatedAt        string      `json:"updated_at"`
	References       []volumeRef `json:"references"`
	ParentSnapshotID *string     `json:"parent_snapshot_id"`
	Status           string      `json:"status"`
	Tags             []string    `json:"tags"`
	Specs            volumeSpecs `json:"specs"`
	LastDetachedAt   *string     `json:"last_detached_at"`
	Zone             string      `json:"zone"`
}

// volumeRef is a Block volume's attachment to a product resource.
type volumeRef struct {
	ID                  string `json:"id"`
	ProductResourceType string `json:"product_resource_type"`
	ProductResourceID   string `json:"product_resource_id"`
	CreatedAt           string `json:"created_at"`
	Type                string `json:"type"`
	Status              string `json:"status"`
}

type volumeSpecs struct {
	PerfIOPS int    `json:"perf_iops"`
	Class    string `json:"class"`
}

// blockVolumeList is the Block API's ListVolumesResponse.
type blockVolumeList struct {
	Volumes    []blockVolume `json:"volumes"`
	TotalCount int           `json:"total_count"`
}
