package vultr

// The stand-in's wire types: Vultr API v2 as its 2023 OpenAPI description
// has them (components/schemas plans, region, ssh, instance, meta), plus
// the Cloud GPU fields of govultr v3.34.0's Plan (gpu_vram_gb, gpu_type),
// which the newer API answers and the 2023 description lacks. The adapter
// reads them with govultr's own types; TestWireConformance holds these to
// the description.

// planWire is one plan of GET /plans.
type planWire struct {
	ID          string   `json:"id"`
	VCPUCount   int      `json:"vcpu_count"`
	RAM         int      `json:"ram"`
	Disk        int      `json:"disk"`
	DiskCount   int      `json:"disk_count"`
	Bandwidth   int      `json:"bandwidth"`
	MonthlyCost int      `json:"monthly_cost"`
	Type        string   `json:"type"`
	Locations   []string `json:"locations"`
	// From govultr v3.34.0's Plan, not in the 2023 description.
	GPUVRAM int    `json:"gpu_vram_gb"`
	GPUType string `json:"gpu_type"`
}

type regionWire struct {
	ID        string   `json:"id"`
	City      string   `json:"city"`
	Country   string   `json:"country"`
	Continent string   `json:"continent"`
	Options   []string `json:"options"`
}

type linksWire struct {
	Next string `json:"next"`
	Prev string `json:"prev"`
}

type metaWire struct {
	Total int       `json:"total"`
	Links linksWire `json:"links"`
}

type plansPage struct {
	Plans []planWire `json:"plans"`
	Meta  metaWire   `json:"meta"`
}

type regionsPage struct {
	Regions []regionWire `json:"regions"`
	Meta    metaWire     `json:"meta"`
}

type availabilityWire struct {
	AvailablePlans []string `json:"available_plans"`
}

type sshKeyWire struct {
	ID          string `json:"id"`
	DateCreated string `json:"date_created"`
	Name        string `json:"name"`
	SSHKey      string `json:"ssh_key"`
}

type sshKeysPage struct {
	SSHKeys []sshKeyWire `json:"ssh_keys"`
	Meta    metaWire     `json:"meta"`
}

type sshKeyAnswer struct {
	SSHKey sshKeyWire `json:"ssh_key"`
}

// createSSHKeyWire is POST /ssh-keys's body.
type createSSHKeyWire struct {
	Name   string `json:"name"`
	SSHKey string `json:"ssh_key"`
}

// createInstanceWire is what the stand-in reads of POST /instances.
type createInstanceWire struct {
	Region   string   `json:"region"`
	Plan     string   `json:"plan"`
	OsID     int      `json:"os_id"`
	Label    string   `json:"label"`
	Hostname string   `json:"hostname"`
	Tags     []string `json:"tags"`
	SSHKeyID []string `json:"sshkey_id"`
	UserData string   `json:"user_data"`
	// FirewallGroupID is the group the instance joins.
	FirewallGroupID string `json:"firewall_group_id"`
}

type instanceWire struct {
	ID               string   `json:"id"`
	OS               string   `json:"os"`
	RAM              int      `json:"ram"`
	Disk             int      `json:"disk"`
	MainIP           string   `json:"main_ip"`
	VCPUCount        int      `json:"vcpu_count"`
	Region           string   `json:"region"`
	Plan             string   `json:"plan"`
	DefaultPassword  string   `json:"default_password,omitempty"`
	DateCreated      string   `json:"date_created"`
	Status           string   `json:"status"`
	AllowedBandwidth int      `json:"allowed_bandwidth"`
	NetmaskV4        string   `json:"netmask_v4"`
	GatewayV4        string   `json:"gateway_v4"`
	PowerStatus      string   `json:"power_status"`
	ServerStatus     string   `json:"server_status"`
	Label            string   `json:"label"`
	InternalIP       string   `json:"internal_ip"`
	KVM              string   `json:"kvm"`
	Hostname         string   `json:"hostname"`
	OsID             int      `json:"os_id"`
	AppID            int      `json:"app_id"`
	ImageID          string   `json:"image_id"`
	FirewallGroupID  string   `json:"firewall_group_id"`
	Features         []string `json:"features"`
	Tags             []string `json:"tags"`
	UserScheme       string   `json:"user_scheme"`
}

type instanceAnswer struct {
	Instance instanceWire `json:"instance"`
}

type instancesPage struct {
	Instances []instanceWire `json:"instances"`
	Meta      metaWire       `json:"meta"`
}

type firewallGroupWire struct {
	ID            string `json:"id"`
	Description   string `json:"description"`
	DateCreated   string `json:"date_created"`
	DateModified  string `json:"date_modified"`
	InstanceCount int    `json:"instance_count"`
	RuleCount     int    `json:"rule_count"`
	MaxRuleCount  int    `json:"max_rule_count"`
}

type firewallGroupsPage struct {
	FirewallGroups []firewallGroupWire `json:"firewall_groups"`
	Meta           metaWire            `json:"meta"`
}

type firewallGroupAnswer struct {
	FirewallGroup firewallGroupWire `json:"firewall_group"`
}

// createFirewallGroupWire is POST /firewalls's body.
type createFirewallGroupWire struct {
	Description string `json:"description"`
}

type firewallRuleWire struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	IPType     string `json:"ip_type"`
	Action     string `json:"action"`
	Protocol   string `json:"protocol"`
	Port       string `json:"port"`
	Subnet     string `json:"subnet"`
	SubnetSize int    `json:"subnet_size"`
	Source     string `json:"source"`
	Notes      string `json:"notes"`
}

type firewallRulesPage struct {
	FirewallRules []firewallRuleWire `json:"firewall_rules"`
	Meta          metaWire           `json:"meta"`
}

type firewallRuleAnswer struct {
	FirewallRule firewallRuleWire `json:"firewall_rule"`
}

// createFirewallRuleWire is POST /firewalls/{firewall-group-id}/rules's
// body.
type createFirewallRuleWire struct {
	IPType     string `json:"ip_type"`
	Protocol   string `json:"protocol"`
	Subnet     string `json:"subnet"`
	SubnetSize int    `json:"subnet_size"`
	Port       string `json:"port"`
	Source     string `json:"source"`
	Notes      string `json:"notes"`
}

// blockWire is the description's blockstorage schema.
type blockWire struct {
	ID                 string `json:"id"`
	Cost               int    `json:"cost"`
	Status             string `json:"status"`
	SizeGB             int    `json:"size_gb"`
	Region             string `json:"region"`
	AttachedToInstance string `json:"attached_to_instance"`
	DateCreated        string `json:"date_created"`
	Label              string `json:"label"`
	MountID            string `json:"mount_id"`
}

type blocksPage struct {
	Blocks []blockWire `json:"blocks"`
	Meta   metaWire    `json:"meta"`
}

type blockAnswer struct {
	Block blockWire `json:"block"`
}

// createBlockWire is POST /blocks's body.
type createBlockWire struct {
	Region    string `json:"region"`
	SizeGB    int    `json:"size_gb"`
	Label     string `json:"label"`
	BlockType string `json:"block_type"`
}

// attachBlockWire is POST /blocks/{block-id}/attach's body; Live is nil
// when not sent.
type attachBlockWire struct {
	InstanceID string `json:"instance_id"`
	Live       *bool  `json:"live"`
}

// detachBlockWire is POST /blocks/{block-id}/detach's body.
type detachBlockWire struct {
	Live *bool `json:"live"`
}
