package hyperstack

import "time"

// The JSON shapes of Hyperstack's API (openapi.yaml in the vendor specs),
// shared by the adapter and the stand-in so both speak the same wire
// format. Each type names the schema it is; TestWireConformance proves
// every field of every type against that schema in the published
// description, so a name or type the description lacks fails there.

// errorEnvelope is ErrorResponseModel, the body of every 4xx.
type errorEnvelope struct {
	Status      bool   `json:"status"`
	Message     string `json:"message"`
	ErrorReason string `json:"error_reason"`
}

// okEnvelope is ResponseModel, the body of a bare success.
type okEnvelope struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
}

// pageFields are the paging members of Hyperstack's list answers
// (Environments, Keypairs, Instances).
type pageFields struct {
	Count    int `json:"count"`
	Page     int `json:"page"`
	PageSize int `json:"page_size"`
}

// regionList is Regions, the answer of GET /core/regions.
type regionList struct {
	okEnvelope
	Regions []regionFields `json:"regions"`
}

// regionFields is Region_Fields.
type regionFields struct {
	ID          int            `json:"id"`
	Name        string         `json:"name"`
	Country     string         `json:"country"`
	Description string         `json:"description"`
	GreenStatus string         `json:"green_status"`
	Features    map[string]any `json:"features"`
}

// environmentFeatures is Environment_Features.
type environmentFeatures struct {
	GreenStatus      string `json:"green_status"`
	NetworkOptimised bool   `json:"network_optimised"`
}

// environmentFields is Environment_Fields.
type environmentFields struct {
	ID        int                 `json:"id"`
	Name      string              `json:"name"`
	Region    string              `json:"region"`
	CreatedAt time.Time           `json:"created_at"`
	Features  environmentFeatures `json:"features"`
}

// createEnvironmentPayload is Create_Environment, the body of
// POST /core/environments.
type createEnvironmentPayload struct {
	Name   string `json:"name"`
	Region string `json:"region"`
}

// environmentResponse is Environment, the answer of
// POST /core/environments.
type environmentResponse struct {
	okEnvelope
	Environment environmentFields `json:"environment"`
}

// environmentList is Environments, the answer of GET /core/environments.
type environmentList struct {
	okEnvelope
	pageFields
	Environments []environmentFields `json:"environments"`
}

// importKeypairPayload is Import_Keypair_Payload, the body of
// POST /core/keypairs.
type importKeypairPayload struct {
	Name            string `json:"name"`
	EnvironmentName string `json:"environment_name"`
	PublicKey       string `json:"public_key"`
}

// keypairResponse is Import_Keypair_Response, the answer of
// POST /core/keypairs.
type keypairResponse struct {
	okEnvelope
	Keypair keypairFields `json:"keypair"`
}

// keypairList is Keypairs, the answer of GET /core/keypairs.
type keypairList struct {
	okEnvelope
	pageFields
	Keypairs []keypairFields `json:"keypairs"`
}

// keypairFields is Keypair_Fields.
type keypairFields struct {
	ID          int               `json:"id"`
	Name        string            `json:"name"`
	PublicKey   string            `json:"public_key"`
	Fingerprint string            `json:"fingerprint"`
	Environment environmentFields `json:"environment"`
	CreatedAt   time.Time         `json:"created_at"`
}

// flavorList is Flavor_List_Response: flavors grouped by GPU and region.
type flavorList struct {
	Status  bool          `json:"status"`
	Message string        `json:"message"`
	Data    []flavorGroup `json:"data"`
}

// flavorGroup is Flavor_Item_Get_Response.
type flavorGroup struct {
	GPU        string         `json:"gpu"`
	RegionName string         `json:"region_name"`
	Flavors    []flavorFields `json:"flavors"`
}

// flavorFields is Flavor_Fields.
type flavorFields struct {
	ID             int            `json:"id"`
	Name           string         `json:"name"`
	DisplayName    string         `json:"display_name"`
	RegionName     string         `json:"region_name"`
	CPU            int            `json:"cpu"`
	RAM            float64        `json:"ram"`
	Disk           int            `json:"disk"`
	Ephemeral      int            `json:"ephemeral"`
	GPU            string         `json:"gpu"`
	GPUCount       int            `json:"gpu_count"`
	StockAvailable bool           `json:"stock_available"`
	Labels         []labelFields  `json:"labels"`
	Features       map[string]any `json:"features"`
	CreatedAt      time.Time      `json:"created_at"`
}

// labelFields is LableResonse (sic).
type labelFields struct {
	ID    int    `json:"id"`
	Label string `json:"label"`
}

// priceEntry is PricebookModel: USD per hour of one resource; for a GPU,
// Name is the GPU model and Value is per GPU-hour.
type priceEntry struct {
	ID              int     `json:"id"`
	Name            string  `json:"name"`
	Value           float64 `json:"value"`
	OriginalValue   float64 `json:"original_value"`
	DiscountApplied bool    `json:"discount_applied"`
}

// stockList is New_Stock_Retrive_Response (sic): no status or message.
type stockList struct {
	Stocks []stockRegion `json:"stocks"`
}

// stockRegion is New_Stock_Response.
type stockRegion struct {
	Region    string       `json:"region"`
	StockType string       `json:"stock-type"`
	Models    []stockModel `json:"models"`
}

// stockModel is New_Model_Response; its counts are strings.
type stockModel struct {
	Model          string         `json:"model"`
	Available      string         `json:"available"`
	Planned7Days   string         `json:"planned_7_days"`
	Planned30Days  string         `json:"planned_30_days"`
	Planned100Days string         `json:"planned_100_days"`
	Configurations map[string]int `json:"configurations"`
}

// createPayload is Create_Instances_Payload.
type createPayload struct {
	Name                    string                `json:"name"`
	EnvironmentName         string                `json:"environment_name"`
	FlavorName              string                `json:"flavor_name"`
	ImageName               string                `json:"image_name,omitempty"`
	KeyName                 string                `json:"key_name"`
	Count                   int                   `json:"count"`
	AssignFloatingIP        bool                  `json:"assign_floating_ip"`
	EnablePortRandomization bool                  `json:"enable_port_randomization"`
	CreateBootableVolume    bool                  `json:"create_bootable_volume,omitempty"`
	UserData                string                `json:"user_data,omitempty"`
	Labels                  []string              `json:"labels,omitempty"`
	SecurityRules           []securityRulePayload `json:"security_rules,omitempty"`
	CallbackURL             string                `json:"callback_url,omitempty"`
	VolumeName              string                `json:"volume_name,omitempty"`
}

// createResponse is CreateInstancesResponse.
type createResponse struct {
	okEnvelope
	Instances []instanceFields `json:"instances"`
}

// securityRulePayload is Create_Security_Rule_Payload: a firewall rule
// asked for with the VM.
type securityRulePayload struct {
	Direction      string `json:"direction"`
	Ethertype      string `json:"ethertype"`
	Protocol       string `json:"protocol"`
	RemoteIPPrefix string `json:"remote_ip_prefix"`
	PortRangeMin   int    `json:"port_range_min,omitempty"`
	PortRangeMax   int    `json:"port_range_max,omitempty"`
}

// securityRule is Security_Rules_Fields_for_Instance: the rule as the VM
// reports it once created.
type securityRule struct {
	ID int `json:"id"`
	securityRulePayload
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// instanceResponse is Instance, the answer of
// GET /core/virtual-machines/{vm_id}.
type instanceResponse struct {
	okEnvelope
	Instance instanceFields `json:"instance"`
}

// instanceList is Instances, the answer of GET /core/virtual-machines.
type instanceList struct {
	okEnvelope
	pageFields
	Instances []instanceFields `json:"instances"`
}

// instanceFields is Instance_Fields: one VM.
type instanceFields struct {
	ID                      int64               `json:"id"`
	Name                    string              `json:"name"`
	Status                  string              `json:"status"`
	VMState                 string              `json:"vm_state"`
	PowerState              string              `json:"power_state"`
	FixedIP                 string              `json:"fixed_ip,omitempty"`
	FloatingIP              string              `json:"floating_ip,omitempty"`
	FloatingIPStatus        string              `json:"floating_ip_status"`
	Flavor                  instanceFlavor      `json:"flavor"`
	Environment             instanceEnvironment `json:"environment"`
	Keypair                 nameOnly            `json:"keypair"`
	Image                   nameOnly            `json:"image"`
	OS                      string              `json:"os"`
	Labels                  []string            `json:"labels"`
	SecurityRules           []securityRule      `json:"security_rules"`
	VolumeAttachments       []volumeAttachment  `json:"volume_attachments"`
	CreatedAt               time.Time           `json:"created_at"`
	Locked                  bool                `json:"locked"`
	RequiresPublicIP        bool                `json:"requires_public_ip"`
	PortRandomization       bool                `json:"port_randomization"`
	PortRandomizationStatus string              `json:"port_randomization_status,omitempty"`
	Features                map[string]any      `json:"features"`
}

// volumeAttachment is Volume_Attachment_Fields: a volume attached to the
// VM.
type volumeAttachment struct {
	ID     int            `json:"id"`
	Device string         `json:"device"`
	Status string         `json:"status"`
	Volume instanceVolume `json:"volume"`
}

// instanceVolume is Volume_Fields_for_Instance.
type instanceVolume struct {
	ID         int    `json:"id"`
	Name       string `json:"name"`
	Size       int    `json:"size"`
	VolumeType string `json:"volume_type"`
}

// createVolumePayload is Create_Volume_Payload, the body of
// POST /core/volumes.
type createVolumePayload struct {
	Name            string `json:"name"`
	EnvironmentName string `json:"environment_name"`
	Size            int    `json:"size"`
	VolumeType      string `json:"volume_type"`
	Description     string `json:"description,omitempty"`
}

// volumeResponse is Volume, the answer of POST /core/volumes and
// GET /core/volumes/{volume_id}.
type volumeResponse struct {
	okEnvelope
	Volume volumeFields `json:"volume"`
}

// volumeList is Volumes, the answer of GET /core/volumes.
type volumeList struct {
	okEnvelope
	pageFields
	Volumes []volumeFields `json:"volumes"`
}

// volumeFields is Volume_Fields (and Volumes_Fields, the same members).
type volumeFields struct {
	ID          int                `json:"id"`
	Name        string             `json:"name"`
	Description string             `json:"description"`
	Size        int                `json:"size"`
	VolumeType  string             `json:"volume_type"`
	Status      string             `json:"status"`
	Bootable    bool               `json:"bootable"`
	Environment volumeEnvironment  `json:"environment"`
	Attachments []volumeAttachedTo `json:"attachments"`
	CreatedAt   time.Time          `json:"created_at"`
	UpdatedAt   time.Time          `json:"updated_at"`
}

// volumeEnvironment is Environment_Fields_for_Volume.
type volumeEnvironment struct {
	Name     string         `json:"name"`
	Region   string         `json:"region"`
	Features map[string]any `json:"features"`
}

// volumeAttachedTo is Attachments_Fields_for_Volume.
type volumeAttachedTo struct {
	ID         int    `json:"id"`
	InstanceID int64  `json:"instance_id"`
	Device     string `json:"device"`
	Status     string `json:"status"`
	Protected  bool   `json:"protected"`
}

// volumeTypes is Volume_Types, the answer of GET /core/volume-types.
type volumeTypes struct {
	okEnvelope
	VolumeTypes []string `json:"volume_types"`
}

// instanceFlavor is Instance_Flavor_Fields.
type instanceFlavor struct {
	ID        int     `json:"id"`
	Name      string  `json:"name"`
	CPU       int     `json:"cpu"`
	RAM       float64 `json:"ram"`
	Disk      int     `json:"disk"`
	Ephemeral int     `json:"ephemeral"`
	GPU       string  `json:"gpu"`
	GPUCount  int     `json:"gpu_count"`
}

// instanceEnvironment is Instance_Environment_Fields.
type instanceEnvironment struct {
	ID       int                 `json:"id"`
	Name     string              `json:"name"`
	Region   string              `json:"region"`
	OrgID    int                 `json:"org_id"`
	Features environmentFeatures `json:"features"`
}

// nameOnly is Instance_Image_Fields and Instance_Keypair_Fields.
type nameOnly struct {
	Name string `json:"name"`
}
