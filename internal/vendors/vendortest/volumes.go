package vendortest

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// VolumeKit is what a vendor with volumes (vendors.Volumes) brings to the
// suite's Volumes case.
type VolumeKit struct {
	// MountPath is where an instance created with v shows it.
	MountPath func(v vendors.Volume) string
	// ReportsUse: the vendor reports a volume in use while a machine has
	// it, and refuses to delete it then (RunPod says neither).
	ReportsUse bool
}

// volumesCase runs the Volumes case: for a vendor whose kit has volumes,
// a volume made (idempotently), attached at create, keeping a file across
// the deletion of its machine, attached again, refused deletion while
// attached, then deleted; for the others, that neither Info nor the
// adapter claims volumes.
func volumesCase(t *testing.T, kit Kit) {
	if kit.Volumes == nil {
		r := kit.Start(t, standin.Options{})
		if _, ok := r.Vendor.(vendors.Volumes); ok || r.Vendor.Info().Volumes {
			t.Errorf("the kit has no volumes but the adapter says it has (Info %v)", r.Vendor.Info().Volumes)
		}
		return
	}
	ctx := context.Background()
	dir := t.TempDir()
	hosts, err := standin.NewHosts(standin.HostsOptions{Shell: true, MachinesDir: dir + "/machines", VolumesDir: dir + "/volumes"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hosts.CloseAll)
	r := kit.Start(t, standin.Options{BootTime: 300 * time.Millisecond, Hosts: hosts})
	vv, ok := r.Vendor.(vendors.Volumes)
	if !ok || !r.Vendor.Info().Volumes {
		t.Fatalf("the kit has volumes but the adapter implements vendors.Volumes: %v, Info says %v", ok, r.Vendor.Info().Volumes)
	}
	req := kit.Request(t)
	vreq := vendors.VolumeRequest{VolumeID: uuid.NewString(), Owner: vendors.NewOwner(), Region: req.Region, SizeGB: max(10, r.Vendor.Info().MinVolumeGB)}
	vol, err := vv.CreateVolume(ctx, vreq)
	if err != nil {
		t.Fatal(err)
	}
	again, err := vv.CreateVolume(ctx, vreq)
	if err != nil || again.ID != vol.ID || vol.VolumeID != vreq.VolumeID || vol.Owner != vreq.Owner || vol.Region != req.Region {
		t.Fatalf("CreateVolume twice: %+v then %+v, %v; want one volume carrying %s of %s in %s", vol, again, err, vreq.VolumeID, vreq.Owner, req.Region)
	}
	if vol.MountPath != kit.Volumes.MountPath(vol) {
		t.Errorf("the volume's mount path %q, want %q", vol.MountPath, kit.Volumes.MountPath(vol))
	}
	if p := vv.VolumePricePerGBMonth(req.Region); p <= 0 {
		t.Errorf("price per GB-month %v, want a price", p)
	}
	path := kit.Volumes.MountPath(vol)
	first := runningWith(t, r, req, vol, kit.Volumes.ReportsUse)
	if out := sessionOutput(t, first, req.SSHPublicKey, "echo kept > "+path+"/kept.txt && echo written"); out != "written\n" {
		t.Fatalf("writing to the volume: %q", out)
	}
	if kit.Volumes.ReportsUse {
		if err := vv.DeleteVolume(ctx, vol.ID); !errors.Is(err, vendors.ErrInvalid) {
			t.Errorf("deleting an attached volume: %v, want a refusal (invalid)", err)
		}
	}
	if err := r.Vendor.Terminate(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, r.Vendor, first.ID, Gone)
	if got, err := vv.GetVolume(ctx, vol.ID); err != nil || got.State != vendors.VolumeAvailable {
		t.Fatalf("the volume after its machine is gone: %+v, %v; want it available", got, err)
	}
	req2 := kit.Request(t)
	req2.Region, req2.SSHPublicKey = req.Region, req.SSHPublicKey
	second := runningWith(t, r, req2, vol, kit.Volumes.ReportsUse)
	if out := sessionOutput(t, second, req.SSHPublicKey, "cat "+path+"/kept.txt"); out != "kept\n" {
		t.Errorf("the file on the volume, read on a second machine: %q, want kept", out)
	}
	if err := r.Vendor.Terminate(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, r.Vendor, second.ID, Gone)
	if err := vv.DeleteVolume(ctx, vol.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := vv.GetVolume(ctx, vol.ID); !errors.Is(err, vendors.ErrNotFound) {
		t.Errorf("GetVolume after delete: %v, want not found", err)
	}
	if err := vv.DeleteVolume(ctx, vol.ID); err != nil {
		t.Errorf("deleting a gone volume: %v, want nil", err)
	}
}

// runningWith creates an instance from req with vol attached and waits
// until it runs; reportsUse: the volume must read as in use then. On a
// vendor that attaches volumes once the instance runs
// (vendors.LateVolumes), the attach is made as the procure step makes
// it.
func runningWith(t *testing.T, r *Rig, req vendors.CreateRequest, vol vendors.Volume, reportsUse bool) vendors.Instance {
	t.Helper()
	req.Volumes = []vendors.Volume{vol}
	in, err := r.Vendor.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if lv, ok := r.Vendor.(vendors.LateVolumes); ok {
		WaitFor(t, r.Vendor, in.ID, Running)
		attachLate(t, lv, in.ID, req.Volumes)
	}
	if got, err := r.Volumes(vol.ID); err != nil || reportsUse && got.State != vendors.VolumeInUse {
		t.Errorf("the volume of a machine: %+v, %v; want it in use", got, err)
	}
	up, _ := WaitFor(t, r.Vendor, in.ID, Running)
	return up
}

// attachLate calls AttachVolumes until it is done, then once more, which
// must be done at once: what is attached is skipped.
func attachLate(t *testing.T, lv vendors.LateVolumes, instanceID string, vols []vendors.Volume) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		done, err := lv.AttachVolumes(ctx, instanceID, vols)
		if err != nil {
			t.Fatalf("attaching %v: %v", vols, err)
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("attaching %v: never done", vols)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if done, err := lv.AttachVolumes(ctx, instanceID, vols); !done || err != nil {
		t.Errorf("attaching attached volumes again: done %v, %v; want done at once", done, err)
	}
}

// Volumes is GetVolume of the rig's adapter.
func (r *Rig) Volumes(id string) (vendors.Volume, error) {
	return r.Vendor.(vendors.Volumes).GetVolume(context.Background(), id)
}

// sessionOutput runs command on the sandbox host of in, logged in with
// publicKey (made by PublicKey), and returns its output.
func sessionOutput(t *testing.T, in vendors.Instance, publicKey, command string) string {
	t.Helper()
	signer, ok := signers.Load(publicKey)
	if !ok {
		t.Fatalf("%q was not made by PublicKey", publicKey)
	}
	c, err := ssh.Dial("tcp", net.JoinHostPort(in.ExternalIP, strconv.Itoa(in.SSHPort)), &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer.(ssh.Signer))}, Timeout: 5 * time.Second,
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(command)
	if err != nil {
		t.Errorf("%s: %v\n%s", command, err, out)
	}
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}
