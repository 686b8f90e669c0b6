package aws

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
	"github.com/gpusupply/supply/internal/vendors/vendortest"
)

// TestVolumesAttachedLate: a volume lives in its region's volume zone
// (the first the region lists); an instance created with it launches
// there, with cloud-init that waits for its NVMe device, and RunInstances
// names no volume of it; AttachVolumes attaches it as /dev/sdf, says done
// only once EC2 says attached, and asks nothing more then. Another
// instance cannot have it, nor can a spot offer priced in another zone.
func TestVolumesAttachedLate(t *testing.T) {
	f := serve(t, standin.Options{BootTime: 200 * time.Millisecond}, nil)
	ctx := context.Background()
	vol, err := f.A.CreateVolume(ctx, vendors.VolumeRequest{VolumeID: uuid.NewString(), Owner: vendors.NewOwner(), Region: "us-east-1", SizeGB: 10})
	if err != nil {
		t.Fatal(err)
	}
	_, vid, _ := strings.Cut(vol.ID, "/")
	f.SI.Mu.Lock()
	zone := f.SI.State.Volumes[vid].Zone
	f.SI.Mu.Unlock()
	if zone != "us-east-1a" || vol.State != vendors.VolumeCreating || vol.MountPath != vendors.MountPath(vol.Name) {
		t.Errorf("volume %+v in %s, want it creating in us-east-1a", vol, zone)
	}
	req := createRequest(t, "us-east-1", "g5.xlarge")
	req.Volumes = []vendors.Volume{vol}
	in, err := f.A.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	_, iid, _ := strings.Cut(in.ID, "/")
	launch, _ := f.SI.Launch(iid)
	device := "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + strings.Replace(vid, "-", "", 1)
	if launch.Zone != zone || !strings.Contains(launch.UserData, device) || !strings.Contains(launch.UserData, vol.MountPath) {
		t.Errorf("launch in %s, user data:\n%s\nwant %s, waiting for %s and mounting %s", launch.Zone, launch.UserData, zone, device, vol.MountPath)
	}
	vendortest.WaitFor(t, f.A, in.ID, vendortest.Running)
	calls := 0
	for done := false; !done; time.Sleep(20 * time.Millisecond) {
		if done, err = f.A.AttachVolumes(ctx, in.ID, req.Volumes); err != nil {
			t.Fatal(err)
		}
		if calls++; calls > 100 {
			t.Fatal("never attached")
		}
	}
	attaches := f.Rig.Count(call("AttachVolume"))
	if done, err := f.A.AttachVolumes(ctx, in.ID, req.Volumes); !done || err != nil || calls < 2 || attaches != 1 || f.Rig.Count(call("AttachVolume")) != 1 {
		t.Errorf("again: done %v, %v; %d calls to attach, %d AttachVolume; want done at once, after one attach and a look", done, err, calls, attaches)
	}
	f.SI.Mu.Lock()
	dev := f.SI.State.Volumes[vid].Device
	f.SI.Mu.Unlock()
	if got, err := f.A.GetVolume(ctx, vol.ID); err != nil || got.State != vendors.VolumeInUse || dev != "/dev/sdf" {
		t.Errorf("attached volume %+v at %s, %v; want in use at /dev/sdf", got, dev, err)
	}

	other, err := f.A.Create(ctx, createRequest(t, "us-east-1", "g5.xlarge"))
	if err != nil {
		t.Fatal(err)
	}
	vendortest.WaitFor(t, f.A, other.ID, vendortest.Running)
	if _, err := f.A.AttachVolumes(ctx, other.ID, req.Volumes); !errors.Is(err, vendors.ErrInvalid) || !strings.Contains(err.Error(), "another instance") {
		t.Errorf("attaching a volume another instance has: %v, want a refusal", err)
	}
	spot := request(t, vendors.CatalogItem{InstanceType: "g5.xlarge", Region: "us-east-1", Contract: vendors.Spot, Extra: map[string]string{extraZone: "us-east-1b"}})
	spot.Volumes = req.Volumes
	if _, err := f.A.Create(ctx, spot); !errors.Is(err, vendors.ErrInvalid) || !strings.Contains(err.Error(), "us-east-1b") {
		t.Errorf("a spot launch in another zone than its volume: %v, want a refusal naming the zones", err)
	}
	foreign := createRequest(t, "us-east-1", "g5.xlarge")
	foreign.Volumes = []vendors.Volume{{ID: vol.ID, Name: "x; rm -rf /"}}
	if _, err := f.A.Create(ctx, foreign); !errors.Is(err, vendors.ErrInvalid) {
		t.Errorf("a volume supply did not make: %v, want a refusal", err)
	}
}

// TestVolumeZoneOffers: the catalog marks the offers the region's
// volumes cannot reach, spot priced in another zone than theirs; and a
// root volume, tagged with its instance's marks, is listed without
// passing for one of supply's volumes.
func TestVolumeZoneOffers(t *testing.T) {
	f := serve(t, standin.Options{BootTime: 50 * time.Millisecond}, nil)
	ctx := context.Background()
	items, err := f.A.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reached, unreached := 0, 0
	for _, it := range items {
		want := it.Contract == vendors.Spot && it.Extra[extraZone] != it.Region+"a"
		if it.NoVolumes != want {
			t.Errorf("%s/%s %s in %q: NoVolumes %v, want %v", it.InstanceType, it.Region, it.Contract, it.Extra[extraZone], it.NoVolumes, want)
		}
		if it.Contract == vendors.Spot && it.NoVolumes {
			unreached++
		} else if it.Contract == vendors.Spot {
			reached++
		}
	}
	if reached == 0 || unreached == 0 {
		t.Errorf("spot offers the volumes reach: %d, that they do not: %d; want some of each", reached, unreached)
	}

	req := createRequest(t, "us-east-1", "g5.xlarge")
	in, err := f.A.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.A.ListVolumes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, iid, _ := strings.Cut(in.ID, "/")
	if len(list) != 1 || list[0].ID != volumeID("us-east-1", rootVolumeID(&record{ID: iid})) || list[0].VolumeID != "" || list[0].Owner != "" {
		t.Errorf("volumes with one instance's root volume: %+v, want it alone, as no volume of supply's", list)
	}
}
