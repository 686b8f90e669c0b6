package vultr

import (
	"context"
	"fmt"
	"regexp"

	"github.com/vultr/govultr/v3"

	"github.com/gpusupply/supply/internal/vendors"
)

// Volumes are Vultr's block storage (the description's /blocks). A block
// has a label and no tags, so supply's marks travel in the label
// (vendors.OwnedName). create-instance's body has no place for a block,
// so one is attached by POST /blocks/{block-id}/attach once the instance
// runs (vendors.LateVolumes), live, without the restart Vultr makes
// otherwise. The machine sees a raw disk at /dev/disk/by-id/virtio- and
// the block's mount_id (the description's blockstorage.mount_id); its
// cloud-init waits for it there, formats it when blank, and mounts it at
// vendors.MountPath(label) (vendors.LateMountScript).
var (
	_ vendors.Volumes     = (*Adapter)(nil)
	_ vendors.LateVolumes = (*Adapter)(nil)
)

// blockType is the block_type supply's volumes are made as: high_perf
// (NVMe), from minBlockGB (storage_opt starts at 40). The description says
// the field will soon be required, so it is always sent.
const blockType = "high_perf"

// minBlockGB is high_perf's smallest block; a smaller volume is refused
// at request time (Info.MinVolumeGB).
const minBlockGB = 10

// volumePricePerGBMonth is Vultr's price of high_perf block storage, $0.10
// per GB-month in every region (its Block Storage pricing page); a
// block's own cost is its whole monthly price, known only once it exists.
const volumePricePerGBMonth = 0.10

// blockActive is the status of a block that can be attached
// (blockstorage.status: "* active").
const blockActive = "active"

// mountIDPattern is what supply writes into the shell of a block's
// mount_id: Vultr's are a region and a hex id ("ewr-example112233").
var mountIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// CreateVolume creates a block labelled for req.VolumeID and its owner, or
// returns the one that already is: Vultr has no idempotency token.
func (a *Adapter) CreateVolume(ctx context.Context, req vendors.VolumeRequest) (vendors.Volume, error) {
	label := vendors.OwnedName(req.Owner, req.VolumeID)
	all, err := a.blocks(ctx)
	if err != nil {
		return vendors.Volume{}, err
	}
	for _, b := range all {
		if b.Label == label {
			return volume(b), nil
		}
	}
	var made *govultr.BlockStorage
	err = a.call(ctx, "create block storage", false, func(ctx context.Context) (err error) {
		made, _, err = a.gv.BlockStorage.Create(ctx, &govultr.BlockStorageCreate{
			Region: req.Region, SizeGB: req.SizeGB, Label: label, BlockType: blockType,
		})
		return err
	})
	if err != nil {
		return vendors.Volume{}, err
	}
	if made == nil || made.ID == "" {
		return vendors.Volume{}, &vendors.Error{Vendor: Name, Op: "create block storage", Kind: vendors.ErrTransient, Message: "create answered no block"}
	}
	return volume(*made), nil
}

// GetVolume returns one block; a gone one answers 404.
func (a *Adapter) GetVolume(ctx context.Context, id string) (vendors.Volume, error) {
	b, err := a.block(ctx, id)
	if err != nil {
		return vendors.Volume{}, err
	}
	return volume(*b), nil
}

// block is GET /blocks/{block-id}.
func (a *Adapter) block(ctx context.Context, id string) (*govultr.BlockStorage, error) {
	var b *govultr.BlockStorage
	err := a.call(ctx, "get block storage", true, func(ctx context.Context) (err error) {
		b, _, err = a.gv.BlockStorage.Get(ctx, id)
		return err
	})
	if err == nil && b == nil {
		err = &vendors.Error{Vendor: Name, Op: "get block storage", Kind: vendors.ErrTransient, Message: "answer without a block"}
	}
	return b, err
}

// ListVolumes returns every block of the account.
func (a *Adapter) ListVolumes(ctx context.Context) ([]vendors.Volume, error) {
	all, err := a.blocks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]vendors.Volume, 0, len(all))
	for _, b := range all {
		out = append(out, volume(b))
	}
	return out, nil
}

// blocks reads every page of GET /blocks.
func (a *Adapter) blocks(ctx context.Context) ([]govultr.BlockStorage, error) {
	return pages(ctx, a, "list block storage", func(ctx context.Context, o *govultr.ListOptions) ([]govultr.BlockStorage, *govultr.Meta, error) {
		b, m, _, err := a.gv.BlockStorage.List(ctx, o)
		return b, m, err
	})
}

// DeleteVolume deletes the block (204); Vultr refuses one attached to an
// instance (400), and a gone one is already deleted.
func (a *Adapter) DeleteVolume(ctx context.Context, id string) error {
	err := a.call(ctx, "delete block storage", true, func(ctx context.Context) error {
		return a.gv.BlockStorage.Delete(ctx, id)
	})
	if vendors.IsNotFound(err) {
		return nil
	}
	return err
}

// VolumePricePerGBMonth is the same in every region.
func (a *Adapter) VolumePricePerGBMonth(string) float64 { return volumePricePerGBMonth }

// AttachVolumes attaches, live, each of vols that instanceID does not
// have yet. Vultr answers an attach 204 and shows it in the block's
// attached_to_instance, so a block just asked for makes done false, and
// the next call finds it attached. A block still pending is waited for;
// one attached to another instance is refused. The attach is not sent
// twice on a lost answer: the next call reads what became of it.
func (a *Adapter) AttachVolumes(ctx context.Context, instanceID string, vols []vendors.Volume) (bool, error) {
	done := true
	for _, v := range vols {
		b, err := a.block(ctx, v.ID)
		if err != nil {
			return false, err
		}
		switch {
		case b.AttachedToInstance == instanceID:
			continue
		case b.AttachedToInstance != "":
			return false, &vendors.Error{Vendor: Name, Op: "attach block storage", Kind: vendors.ErrInvalid,
				Message: fmt.Sprintf("block storage %s is attached to another instance", b.ID)}
		case b.Status != blockActive:
			done = false
			continue
		}
		live := true
		err = a.call(ctx, "attach block storage", false, func(ctx context.Context) error {
			return a.gv.BlockStorage.Attach(ctx, v.ID, &govultr.BlockStorageAttach{InstanceID: instanceID, Live: &live})
		})
		if err != nil {
			return false, err
		}
		done = false
	}
	return done, nil
}

// mountScript is the cloud-init setup that mounts vs once they are
// attached: each is waited for where the description says a mounted block
// shows, /dev/disk/by-id/virtio-<mount_id>. Only supply's blocks are
// taken (an OwnedName label, safe unquoted in the shell), with a mount_id
// of the shape Vultr gives.
func (a *Adapter) mountScript(ctx context.Context, vs []vendors.Volume) (string, error) {
	devices := map[string]string{}
	for _, v := range vs {
		if _, id := vendors.ParseName(v.Name); id == "" {
			return "", &vendors.Error{Vendor: Name, Op: "create instance", Kind: vendors.ErrInvalid,
				Message: fmt.Sprintf("block storage %q (%s) was not made by supply", v.Name, v.ID)}
		}
		b, err := a.block(ctx, v.ID)
		if err != nil {
			return "", err
		}
		if !mountIDPattern.MatchString(b.MountID) {
			return "", &vendors.Error{Vendor: Name, Op: "create instance", Kind: vendors.ErrInvalid,
				Message: fmt.Sprintf("block storage %s has no usable mount_id (%q)", b.ID, b.MountID)}
		}
		devices[v.ID] = "/dev/disk/by-id/virtio-" + b.MountID
	}
	return vendors.LateMountScript(vs, func(v vendors.Volume) string { return devices[v.ID] }), nil
}

// volume is a block as supply sees it: in use while attached, creating
// until active.
func volume(b govultr.BlockStorage) vendors.Volume {
	owner, id := vendors.ParseName(b.Label)
	state := vendors.VolumeCreating
	switch {
	case b.Status == blockActive && b.AttachedToInstance != "":
		state = vendors.VolumeInUse
	case b.Status == blockActive:
		state = vendors.VolumeAvailable
	}
	return vendors.Volume{ID: b.ID, VolumeID: id, Owner: owner, Name: b.Label, Region: b.Region, State: state, MountPath: vendors.MountPath(b.Label)}
}
