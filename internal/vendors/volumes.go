package vendors

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// VolumeState is a volume's lifecycle state, the same for every vendor.
type VolumeState string

// Volume states. Adapters map every vendor state onto one of these.
const (
	VolumeCreating  VolumeState = "creating"
	VolumeAvailable VolumeState = "available"
	VolumeInUse     VolumeState = "in_use"
	VolumeDeleting  VolumeState = "deleting"
)

// Volume is a vendor's network volume (or shared file system) as supply
// sees it: storage that outlives the machines it is attached to.
type Volume struct {
	// ID is the vendor's id of the volume.
	ID string `json:"id"`
	// VolumeID is supply's id read back from the volume's tag or name;
	// empty for volumes supply did not create.
	VolumeID string `json:"volume_id"`
	// Owner is the installation id read back beside VolumeID.
	Owner string `json:"owner,omitempty"`
	// Name is the vendor-side name; Region the vendor's region.
	Name   string      `json:"name"`
	Region string      `json:"region"`
	State  VolumeState `json:"state"`
	// MountPath is where an instance it is attached to shows it.
	MountPath string `json:"mount_path"`
}

// VolumeRequest is everything an adapter needs to create one volume.
type VolumeRequest struct {
	// VolumeID is supply's id of the volume; the adapter attaches it (as
	// a tag, label or name, with Owner beside it) so that a repeated
	// CreateVolume finds the volume instead of making another.
	VolumeID string
	Owner    string
	Region   string
	SizeGB   int
}

// Volumes is implemented by a Vendor whose description has network
// volumes that can be attached to an instance, at create time or, with
// LateVolumes, once it runs (its Info says Volumes).
// CreateRequest.Volumes names those to attach.
type Volumes interface {
	// CreateVolume creates one volume, idempotently on req.VolumeID.
	CreateVolume(ctx context.Context, req VolumeRequest) (Volume, error)
	// GetVolume returns one volume by the vendor's id; a missing volume is
	// an error wrapping ErrNotFound.
	GetVolume(ctx context.Context, id string) (Volume, error)
	// ListVolumes returns every volume of the account, supply's or not:
	// the reconciler tells them apart by VolumeID and Owner.
	ListVolumes(ctx context.Context) ([]Volume, error)
	// DeleteVolume asks the vendor to delete the volume; nil once the
	// request is accepted or the volume is already gone. Callers poll
	// GetVolume until ErrNotFound before calling it deleted.
	DeleteVolume(ctx context.Context, id string) error
	// VolumePricePerGBMonth is the vendor's price of a GB of volume for a
	// month (730 hours) in region, in USD.
	VolumePricePerGBMonth(region string) float64
}

// LateVolumes is implemented by a Volumes vendor whose create request
// cannot name volumes (Vultr's block storage, AWS's AttachVolume): they
// are attached once the instance runs. CreateRequest.Volumes still names
// them, so that the machine's first boot can wait for them and mount
// them. The procure step calls AttachVolumes each time it
// sees the instance running, and counts the instance ready only once it
// says done and SSH answers.
type LateVolumes interface {
	// AttachVolumes attaches to instanceID each of vols it does not have
	// yet; one already attached is skipped, so a repeated call after a
	// crash or a timeout asks nothing twice. done is false while an
	// attach is still in progress: the caller asks again later. A
	// refusal (a volume attached elsewhere, say) is an error as Create's
	// are.
	AttachVolumes(ctx context.Context, instanceID string, vols []Volume) (done bool, err error)
}

// lateMountWait is how long a machine's first boot waits for a volume
// attached after it runs: the procure step attaches it before its
// provision timeout (20 minutes by default) or gives the machine up.
const lateMountWait = 30 * time.Minute

// LateMountScript is MountScript for the volumes of a LateVolumes vendor,
// as cloud-init boot shell. The first boot runs it before the procure
// step attaches them, so it waits for each volume's device, device(v) (a
// path the vendor's description gives it, written into the shell as it
// is), for up to lateMountWait, then mounts it as MountScript does with
// that device as its only candidate. It waits in the background, so that
// the boot, and the renter's own runcmd, go on meanwhile; its output is
// /var/log/supply-volumes.log.
func LateMountScript(vs []Volume, device func(v Volume) string) string {
	if len(vs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("(\n")
	for _, v := range vs {
		dev := device(v)
		fmt.Fprintf(&b, "i=0; until [ -b %s ] || [ $i -ge %d ]; do sleep 2; i=$((i+1)); done\n", dev, int(lateMountWait/(2*time.Second)))
		b.WriteString(MountScript([]Volume{v}, func(int, Volume) []string { return []string{dev} }))
	}
	b.WriteString(") >>/var/log/supply-volumes.log 2>&1 &\n")
	return b.String()
}

// HoursPerMonth is the month volume prices are quoted for.
const HoursPerMonth = 730
