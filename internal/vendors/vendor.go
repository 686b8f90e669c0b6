// Package vendors defines what supply needs from a GPU cloud: read its
// catalog, create an instance, look at it, list the ones we own and
// terminate them. Each cloud lives in its own sub-package (vendors/lambda,
// vendors/hyperstack, ...) with an adapter that speaks the vendor's real
// wire protocol and a stand-in server of that protocol for tests and
// sandbox mode.
package vendors

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync/atomic"
	"time"
)

// Vendor is one GPU cloud. Implementations are safe for concurrent use.
type Vendor interface {
	// Name is the vendor's slug as used in filters and the API ("lambda").
	Name() string
	// Info describes the vendor and what it supports.
	Info() Info
	// Catalog lists everything the vendor sells now: one item per
	// instance type × region × contract, with price and stock.
	Catalog(ctx context.Context) ([]CatalogItem, error)
	// Create launches one instance. It is idempotent on
	// CreateRequest.ResourceID: the id travels with the instance (as a
	// tag, label or name), with CreateRequest.Owner beside it, and a
	// repeated Create for the same id returns the instance that already
	// exists instead of launching a second one.
	Create(ctx context.Context, req CreateRequest) (Instance, error)
	// Get returns one instance by the vendor's id. A missing instance is
	// an error wrapping ErrNotFound.
	Get(ctx context.Context, id string) (Instance, error)
	// List returns every instance carrying supply's tag, in any state
	// short of gone. It is what the reconciler compares with the database.
	List(ctx context.Context) ([]Instance, error)
	// Terminate asks the vendor to delete the instance and whatever it
	// owns (boot disks, keys). It returns nil once the request is
	// accepted or the instance is already gone; callers poll Get until it
	// reports ErrNotFound or StateTerminated before calling it deleted.
	Terminate(ctx context.Context, id string) error
}

// InStock is implemented by a Vendor whose Catalog lists many items
// sold out (Lambda: every type in every region): CatalogInStock lists only
// the items of Catalog that are Available, in the same order. An offer
// index, which keeps nothing else, reads that instead, so that a read does
// not build and drop a listing many times the size of what it keeps.
type InStock interface {
	CatalogInStock(ctx context.Context) ([]CatalogItem, error)
}

// ItemsSize sizes a catalog read's slice of items from the last read's
// count: Go grows a long slice by a quarter at a time, so a listing of tens
// of thousands of items built by appending allocates about five times its
// size on the way, where a slice of the right size is allocated once. An
// adapter keeps one per kind of read; the zero value knows no size yet.
type ItemsSize struct{ last atomic.Int64 }

// Make returns an empty slice with room for the last read's items and an
// eighth more.
func (s *ItemsSize) Make() []CatalogItem {
	n := s.last.Load()
	return make([]CatalogItem, 0, n+n/8)
}

// Keep remembers how many items a read listed, for the next Make, and
// returns them.
func (s *ItemsSize) Keep(items []CatalogItem) []CatalogItem {
	s.last.Store(int64(len(items)))
	return items
}

// Info is a vendor's description and capability set.
type Info struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
	// Spot: the vendor sells interruptible capacity.
	Spot bool `json:"supports_spot"`
	// CloudInit: user data runs as cloud-init (false: a start-up script
	// or container command stands in for it).
	CloudInit bool `json:"supports_cloud_init"`
	// Tags: instances carry our resource id as a tag or label (false:
	// it is carried in the instance name).
	Tags bool `json:"supports_tags"`
	// Clusters: the vendor sells multi-node clusters with a fast fabric.
	Clusters bool `json:"supports_clusters"`
	// Cilium: instances can run Cilium (kernel and network allow it).
	Cilium bool `json:"supports_cilium"`
	// Containers: an "instance" is a container, not a virtual machine.
	Containers bool `json:"containers"`
	// Stop: instances can be stopped and started again (Stopper).
	Stop bool `json:"supports_stop"`
	// Volumes: the vendor has network volumes that outlive a machine
	// (the adapter implements Volumes).
	Volumes bool `json:"supports_volumes"`
	// MaxVolumes bounds how many volumes one machine may attach at
	// create, where the vendor's create has room for fewer than any
	// (Hyperstack: one volume_name); 0 is no bound. More is refused at
	// request time.
	MaxVolumes int `json:"max_volumes,omitempty"`
	// MinVolumeGB is the smallest volume the vendor makes (Verda: 40);
	// 0 is no bound. A smaller one is refused at request time rather than
	// made larger and billed as asked.
	MinVolumeGB int `json:"min_volume_gb,omitempty"`
	// Ports: instances can have ports opened (CreateRequest.Ports).
	Ports bool `json:"supports_ports"`
}

// Contract is how capacity is rented.
type Contract string

// The two contracts of the API.
const (
	OnDemand Contract = "ondemand"
	Spot     Contract = "spot"
)

// CatalogItem is one thing a vendor sells: an instance type in a region
// under a contract. Prices are USD; converting from the vendor's currency
// and unit is the adapter's job.
type CatalogItem struct {
	// InstanceType is the vendor's name for what is launched.
	InstanceType string `json:"instance_type"`
	// Region is the vendor's own region, zone or data-centre id.
	Region string `json:"region"`
	// Country is the ISO 3166-1 alpha-2 code of the region's data centre;
	// the catalog package maps it to a region group.
	Country  string   `json:"country"`
	Contract Contract `json:"contract"`
	// GPUName is the vendor's spelling of the GPU model, mapped through
	// the GPU registry by the offer index.
	GPUName string `json:"gpu_name"`
	// GPUCount is GPUs per node.
	GPUCount int `json:"gpu_count"`
	VCPUs    int `json:"vcpus"`
	// MemoryGB is RAM per node; 0 when the vendor does not say.
	MemoryGB float64 `json:"memory_gb"`
	// BootDiskGB is the boot disk the adapter asks for; 0 when the
	// vendor sizes it.
	BootDiskGB int `json:"boot_disk_gb"`
	// PricePerHour is USD per node-hour for the whole machine, boot disk
	// included.
	PricePerHour float64 `json:"price_per_hour"`
	// BootDiskPricePerHour is the part of PricePerHour that pays for the
	// boot disk (0 when the vendor bundles it).
	BootDiskPricePerHour float64 `json:"boot_disk_price_per_hour"`
	// Available says the vendor reports stock now.
	Available bool `json:"available"`
	// Stock is how many can be launched now when the vendor says;
	// -1 when it only says yes or no.
	Stock int `json:"stock"`
	// Nodes is the node count of a cluster offer; 0 or 1 for one machine.
	Nodes int `json:"nodes,omitempty"`
	// InfinibandGbps is the cluster fabric bandwidth per node.
	InfinibandGbps int `json:"infiniband_gbps,omitempty"`
	// ClusterStorageGB is shared storage that comes with a cluster.
	ClusterStorageGB int `json:"cluster_storage_gb,omitempty"`
	// NoVolumes says the vendor's volumes of Region cannot be attached to
	// this offer's machine: a volume that lives in one zone of a region
	// (EC2's availability zones) reaches only machines launched there,
	// and the offer is priced in another zone (EC2 spot) or its type is
	// not sold in the volumes' zone. An offer query by volume leaves it
	// out, and volume_ids naming it are a 422.
	NoVolumes bool `json:"no_volumes,omitempty"`
	// Extra carries what the adapter needs again at create time
	// (an image id, a flavor id); opaque to everyone else.
	Extra map[string]string `json:"extra,omitempty"`
}

// CreateRequest is everything an adapter needs to launch one node.
type CreateRequest struct {
	// ResourceID is supply's id for the node; the adapter attaches it to
	// the instance so a retry or the reconciler can find it.
	ResourceID string
	// Owner is the installation id of the supply that creates it; the
	// adapter attaches it too (OwnerTag, or OwnedName where the vendor has
	// no tags), so that two installations sharing a vendor account never
	// take each other's instances for their own.
	Owner string
	// Name is a human name for the instance (may be empty).
	Name         string
	InstanceType string
	Region       string
	Contract     Contract
	// SSHPublicKey must let "ssh root@<ip>" in.
	SSHPublicKey string
	// UserData is the renter's own cloud-init document or shell script
	// (may be empty); the adapter combines it with what root access
	// needs, in the form the vendor runs.
	UserData string
	// Item is the catalog item being launched.
	Item CatalogItem
	// Cluster is set when the node belongs to a multi-node cluster offer.
	Cluster *ClusterNode
	// Volumes are the vendor's volumes to attach (vendors with Volumes).
	Volumes []Volume
	// Ports are opened besides SSH (only when Info.Ports).
	Ports []Port
}

// ClusterNode places one node of a cluster. Nodes of one cluster share
// ClusterID; an adapter whose vendor has cluster objects (an InfiniBand
// fabric, a pod group) gets-or-creates that object idempotently on
// ClusterID before creating the node in it.
type ClusterNode struct {
	// ClusterID is supply's id of the cluster parent resource.
	ClusterID string
	// Name is the cluster's human name.
	Name string
	// Index is this node's position (0-based) and Nodes the cluster size.
	Index, Nodes int
}

// ClusterDeleter is implemented by vendors whose clusters are objects of
// their own that outlive their nodes: once every node is gone, supply
// calls DeleteCluster so the fabric or group stops existing (and billing).
// A missing cluster is not an error.
type ClusterDeleter interface {
	DeleteCluster(ctx context.Context, clusterID string) error
}

// State is an instance's lifecycle state, the same for every vendor.
type State string

// Instance states. Adapters map every vendor state onto one of these.
const (
	StatePending     State = "pending"
	StateRunning     State = "running"
	StateStopped     State = "stopped"
	StateTerminating State = "terminating"
	StateTerminated  State = "terminated"
	StateFailed      State = "failed"
	StatePreempted   State = "preempted"
)

// Instance is a vendor's machine as supply sees it.
type Instance struct {
	// ID is the vendor's id, as a string whatever its native type.
	ID string `json:"id"`
	// ResourceID is supply's id read back from the instance's tag or
	// name; empty for instances supply did not create.
	ResourceID string `json:"resource_id"`
	// Owner is the installation id read back beside ResourceID; empty
	// for instances made before installations had ids, or not by supply.
	Owner        string `json:"owner,omitempty"`
	Name         string `json:"name"`
	State        State  `json:"state"`
	VendorState  string `json:"vendor_state"`
	InstanceType string `json:"instance_type"`
	Region       string `json:"region"`
	ExternalIP   string `json:"external_ip"`
	InternalIP   string `json:"internal_ip"`
	// SSHPort is where sshd answers on ExternalIP (22 unless the vendor
	// maps ports).
	SSHPort   int       `json:"ssh_port"`
	CreatedAt time.Time `json:"created_at"`
	// Message is the vendor's own explanation of the state, if any.
	Message string `json:"message,omitempty"`
	// Ports are where a vendor that maps ports put the asked ones.
	Ports []PortMapping `json:"ports,omitempty"`
}

// Tag is the key under which supply marks what it creates; adapters
// whose vendor has no tags put TagValue(resourceID) in the name.
const Tag = "supply-resource"

// NamePrefix starts the name of every instance supply creates, so that
// instances are recognisable in a vendor console and, on vendors without
// tags, the resource id can be read back from the name.
const NamePrefix = "supply-"

// OwnerTag is the key under which an instance carries the installation id
// of the supply that created it, beside Tag.
const OwnerTag = "supply-installation"

// InstanceName is the vendor-side name of the instance for a resource, on
// vendors whose tags carry the owner (a name stays short: Hyperstack
// allows 50 characters).
func InstanceName(resourceID string) string { return NamePrefix + resourceID }

// OwnedName is the vendor-side name of the instance for a resource on
// vendors without tags: it carries the owner too,
// "supply-<installation>-<resource id>".
func OwnedName(owner, resourceID string) string {
	if owner == "" {
		return InstanceName(resourceID)
	}
	return NamePrefix + owner + "-" + resourceID
}

// ParseName reads the owner and resource id back from an InstanceName or
// an OwnedName; both are "" for names supply did not make, and owner is ""
// for an InstanceName.
func ParseName(name string) (owner, resourceID string) {
	rest, ok := strings.CutPrefix(name, NamePrefix)
	if !ok || len(rest) < 36 {
		return "", ""
	}
	owner, resourceID = rest[:len(rest)-36], rest[len(rest)-36:]
	if !isUUID(resourceID) {
		return "", ""
	}
	if owner == "" {
		return "", resourceID
	}
	owner, ok = strings.CutSuffix(owner, "-")
	if !ok || !ValidOwner(owner) {
		return "", ""
	}
	return owner, resourceID
}

// ResourceIDFromName reads the resource id back from an InstanceName or
// an OwnedName; it returns "" for names supply did not make.
func ResourceIDFromName(name string) string {
	_, id := ParseName(name)
	return id
}

// ValidOwner reports whether s is an installation id as NewOwner makes
// them: 12 lowercase hexadecimal digits.
func ValidOwner(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// NewOwner makes a fresh installation id: 12 random hexadecimal digits,
// short enough for every vendor's name limits.
func NewOwner() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// isUUID reports whether s is a UUID in its 36-character text form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// Slugs are the vendors supply has adapters for, as written in vendor
// filters and /available_vendors.
var Slugs = []string{"lambda", "hyperstack", "scaleway", "verda", "runpod", "nebius", "vastai", "vultr", "aws", "digitalocean"}

// Mark is one key/value pair an instance carries for supply.
type Mark struct{ Key, Value string }

// Marks are the key/value pairs an instance carries for supply on vendors
// with tags or labels: the resource id under Tag and, when known, the
// owner under OwnerTag.
func Marks(resourceID, owner string) []Mark {
	out := []Mark{{Tag, resourceID}}
	if owner != "" {
		out = append(out, Mark{OwnerTag, owner})
	}
	return out
}

// MarkText renders Marks as "key=value" strings, for vendors whose tags
// are plain strings.
func MarkText(resourceID, owner string) []string {
	var out []string
	for _, m := range Marks(resourceID, owner) {
		out = append(out, m.Key+"="+m.Value)
	}
	return out
}

// ReadMarks reads the resource id and owner back from an instance's tags,
// given as a lookup by key.
func ReadMarks(get func(key string) string) (resourceID, owner string) {
	return get(Tag), get(OwnerTag)
}

// ReadMarkText reads the resource id and owner back from "key=value"
// strings (any others are ignored).
func ReadMarkText(tags []string) (resourceID, owner string) {
	return ReadMarks(func(key string) string {
		for _, t := range tags {
			if v, ok := strings.CutPrefix(t, key+"="); ok {
				return v
			}
		}
		return ""
	})
}
