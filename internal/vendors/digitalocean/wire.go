package digitalocean

// The stand-in's answers, shaped as DigitalOcean's description has them
// (resources/*/models, shared/): godo's own types leave out, by
// omitempty, fields the description requires (locked, features,
// backup_ids), so the server side keeps its own. The adapter reads them
// with godo's types.

// sizeBody is a size (sizes/models/size.yml).
type sizeBody struct {
	Slug         string     `json:"slug"`
	Memory       int        `json:"memory"`
	VCPUs        int        `json:"vcpus"`
	Disk         int        `json:"disk"`
	Transfer     float64    `json:"transfer"`
	PriceMonthly float64    `json:"price_monthly"`
	PriceHourly  float64    `json:"price_hourly"`
	Regions      []string   `json:"regions"`
	Available    bool       `json:"available"`
	Description  string     `json:"description"`
	DiskInfo     []diskInfo `json:"disk_info,omitempty"`
	GPUInfo      *gpuInfo   `json:"gpu_info,omitempty"`
}

// diskInfo is sizes/models/disk_info.yml.
type diskInfo struct {
	Type string `json:"type"`
	Size amount `json:"size"`
}

// amount is a quantity with its unit (disk_info.size, gpu_info.vram).
type amount struct {
	Amount int    `json:"amount"`
	Unit   string `json:"unit"`
}

// gpuInfo is sizes/models/gpu_info.yml.
type gpuInfo struct {
	Count int    `json:"count"`
	Model string `json:"model"`
	VRAM  amount `json:"vram"`
}

// pageLinks is shared/pages.yml#/page_links.
type pageLinks struct {
	Pages *pages `json:"pages,omitempty"`
}

// pages are the first/prev/next/last links of a listing.
type pages struct {
	First string `json:"first,omitempty"`
	Prev  string `json:"prev,omitempty"`
	Next  string `json:"next,omitempty"`
	Last  string `json:"last,omitempty"`
}

// meta is shared/models/meta_properties.yml.
type meta struct {
	Total int `json:"total"`
}

// sizesList is GET /v2/sizes's answer (sizes/responses/all_sizes.yml).
type sizesList struct {
	Sizes []sizeBody `json:"sizes"`
	Links pageLinks  `json:"links"`
	Meta  meta       `json:"meta"`
}

// regionBody is regions/models/region.yml.
type regionBody struct {
	Name      string   `json:"name"`
	Slug      string   `json:"slug"`
	Features  []string `json:"features"`
	Available bool     `json:"available"`
	Sizes     []string `json:"sizes"`
}

// imageBody is images/models/image.yml, as a Droplet shows its image.
type imageBody struct {
	ID           int      `json:"id"`
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	Distribution string   `json:"distribution"`
	Slug         string   `json:"slug"`
	Public       bool     `json:"public"`
	Regions      []string `json:"regions"`
	CreatedAt    string   `json:"created_at"`
	MinDiskSize  int      `json:"min_disk_size"`
	SizeGB       float64  `json:"size_gigabytes"`
	Description  string   `json:"description"`
	Tags         []string `json:"tags"`
	Status       string   `json:"status"`
}

// networkV4 is droplets/models/network_v4.yml.
type networkV4 struct {
	IPAddress string `json:"ip_address"`
	Netmask   string `json:"netmask"`
	Gateway   string `json:"gateway"`
	Type      string `json:"type"`
}

// networks are a Droplet's addresses.
type networks struct {
	V4 []networkV4 `json:"v4"`
	V6 []struct{}  `json:"v6"`
}

// dropletBody is droplets/models/droplet.yml.
type dropletBody struct {
	ID               int        `json:"id"`
	Name             string     `json:"name"`
	Memory           int        `json:"memory"`
	VCPUs            int        `json:"vcpus"`
	Disk             int        `json:"disk"`
	DiskInfo         []diskInfo `json:"disk_info,omitempty"`
	Locked           bool       `json:"locked"`
	Status           string     `json:"status"`
	CreatedAt        string     `json:"created_at"`
	Features         []string   `json:"features"`
	BackupIDs        []int      `json:"backup_ids"`
	NextBackupWindow *struct{}  `json:"next_backup_window"`
	SnapshotIDs      []int      `json:"snapshot_ids"`
	Image            imageBody  `json:"image"`
	VolumeIDs        []string   `json:"volume_ids"`
	Size             sizeBody   `json:"size"`
	SizeSlug         string     `json:"size_slug"`
	Networks         networks   `json:"networks"`
	Region           regionBody `json:"region"`
	Tags             []string   `json:"tags"`
	VPCUUID          string     `json:"vpc_uuid,omitempty"`
	GPUInfo          *gpuInfo   `json:"gpu_info,omitempty"`
}

// dropletAnswer is GET /v2/droplets/{id}'s answer.
type dropletAnswer struct {
	Droplet dropletBody `json:"droplet"`
}

// actionLink is shared/models/action_link.yml.
type actionLink struct {
	ID   int    `json:"id"`
	Rel  string `json:"rel"`
	HREF string `json:"href"`
}

// createdLinks are the links of a create's answer.
type createdLinks struct {
	Actions []actionLink `json:"actions"`
}

// dropletCreated is POST /v2/droplets's answer for one Droplet.
type dropletCreated struct {
	Droplet dropletBody  `json:"droplet"`
	Links   createdLinks `json:"links"`
}

// dropletsList is GET /v2/droplets's answer.
type dropletsList struct {
	Droplets []dropletBody `json:"droplets"`
	Links    pageLinks     `json:"links"`
	Meta     meta          `json:"meta"`
}

// createRequest is the single-Droplet create body as the stand-in reads
// it (droplet_single_create.yml); names, for several, is refused.
type createRequest struct {
	Name     string   `json:"name"`
	Names    []string `json:"names"`
	Region   string   `json:"region"`
	Size     string   `json:"size"`
	Image    any      `json:"image"`
	SSHKeys  []any    `json:"ssh_keys"`
	UserData string   `json:"user_data"`
	Tags     []string `json:"tags"`
	Volumes  []any    `json:"volumes"`
}

// sshKey is ssh_keys/models/sshKeys.yml.
type sshKey struct {
	ID          int    `json:"id"`
	Fingerprint string `json:"fingerprint"`
	PublicKey   string `json:"public_key"`
	Name        string `json:"name"`
}

// sshKeyAnswer is the answer of a key's create and get.
type sshKeyAnswer struct {
	SSHKey sshKey `json:"ssh_key"`
}

// keyCreate is POST /v2/account/keys's body.
type keyCreate struct {
	Name      string `json:"name"`
	PublicKey string `json:"public_key"`
}

// actionRequest is a Droplet action's body (droplet_actions.yml#/droplet_action).
type actionRequest struct {
	Type string `json:"type"`
}

// actionBody is actions/models/action.yml.
type actionBody struct {
	ID           int        `json:"id"`
	Status       string     `json:"status"`
	Type         string     `json:"type"`
	StartedAt    string     `json:"started_at"`
	CompletedAt  *string    `json:"completed_at"`
	ResourceID   int        `json:"resource_id"`
	ResourceType string     `json:"resource_type"`
	Region       regionBody `json:"region"`
	RegionSlug   string     `json:"region_slug"`
}

// actionAnswer is POST /v2/droplets/{droplet_id}/actions's answer.
type actionAnswer struct {
	Action actionBody `json:"action"`
}

// volumeBody is volumes/models/volume_full.yml.
type volumeBody struct {
	ID              string     `json:"id"`
	Region          regionBody `json:"region"`
	DropletIDs      []int      `json:"droplet_ids"`
	Name            string     `json:"name"`
	Description     string     `json:"description"`
	SizeGB          int        `json:"size_gigabytes"`
	CreatedAt       string     `json:"created_at"`
	FilesystemType  string     `json:"filesystem_type"`
	FilesystemLabel string     `json:"filesystem_label"`
	Tags            []string   `json:"tags"`
}

// volumeAnswer is the answer of a volume's create and get.
type volumeAnswer struct {
	Volume volumeBody `json:"volume"`
}

// volumesList is GET /v2/volumes's answer.
type volumesList struct {
	Volumes []volumeBody `json:"volumes"`
	Links   pageLinks    `json:"links"`
	Meta    meta         `json:"meta"`
}

// volumeCreate is POST /v2/volumes's body as the stand-in reads it
// (volumes_ext4.yml).
type volumeCreate struct {
	Name           string   `json:"name"`
	Region         string   `json:"region"`
	SizeGB         int      `json:"size_gigabytes"`
	FilesystemType string   `json:"filesystem_type"`
	Tags           []string `json:"tags"`
}

// addresses are a rule's sources or destinations (firewall_rule.yml).
type addresses struct {
	Addresses []string `json:"addresses"`
}

// inboundRule is an inbound rule of firewall_rule.yml.
type inboundRule struct {
	Protocol string    `json:"protocol"`
	Ports    string    `json:"ports"`
	Sources  addresses `json:"sources"`
}

// outboundRule is an outbound rule of firewall_rule.yml.
type outboundRule struct {
	Protocol     string    `json:"protocol"`
	Ports        string    `json:"ports"`
	Destinations addresses `json:"destinations"`
}

// pendingChange is one of a firewall's pending_changes.
type pendingChange struct {
	DropletID int    `json:"droplet_id"`
	Removing  bool   `json:"removing"`
	Status    string `json:"status"`
}

// firewallBody is firewalls/models/firewall.yml.
type firewallBody struct {
	ID             string          `json:"id"`
	Status         string          `json:"status"`
	CreatedAt      string          `json:"created_at"`
	PendingChanges []pendingChange `json:"pending_changes"`
	Name           string          `json:"name"`
	DropletIDs     []int           `json:"droplet_ids"`
	Tags           []string        `json:"tags"`
	InboundRules   []inboundRule   `json:"inbound_rules"`
	OutboundRules  []outboundRule  `json:"outbound_rules"`
}

// firewallAnswer is the answer of a firewall's create and get.
type firewallAnswer struct {
	Firewall firewallBody `json:"firewall"`
}

// firewallsList is GET /v2/firewalls's answer.
type firewallsList struct {
	Firewalls []firewallBody `json:"firewalls"`
	Links     pageLinks      `json:"links"`
	Meta      meta           `json:"meta"`
}

// firewallCreate is POST /v2/firewalls's body as the stand-in reads it.
type firewallCreate struct {
	Name          string         `json:"name"`
	InboundRules  []inboundRule  `json:"inbound_rules"`
	OutboundRules []outboundRule `json:"outbound_rules"`
	DropletIDs    []int          `json:"droplet_ids"`
	Tags          []string       `json:"tags"`
}

// firewallDroplets is POST /v2/firewalls/{firewall_id}/droplets's body.
type firewallDroplets struct {
	DropletIDs []int `json:"droplet_ids"`
}
