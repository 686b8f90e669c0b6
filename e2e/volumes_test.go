package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/store/storetest"
	"github.com/gpusupply/supply/supplyapi"
)

// waitVolume polls GET /volumes/{id} until the volume has status.
func waitVolume(t *testing.T, s *Server, id uuid.UUID, status string) supplyapi.Volume {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var v supplyapi.Volume
		s.JSON(t, http.MethodGet, "/volumes/"+id.String(), "", nil, http.StatusOK, &v)
		if v.Status == status {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("volume %s never became %s: %+v\n%s", id, status, v, s.tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rentWithVolume procures the cheapest H100 offer where vol can attach,
// with vol, and waits until it is ready; it returns the resource and its
// ssh line.
func rentWithVolume(t *testing.T, s *Server, vol supplyapi.Volume, publicKey string) (uuid.UUID, string) {
	t.Helper()
	var res supplyapi.OfferResult
	s.JSON(t, http.MethodPost, "/get_offers", "application/json",
		[]byte(fmt.Sprintf(`{"compute":{"gpu_type":"H100"},"volume_id":%q,"limit":50}`, vol.ID)), http.StatusOK, &res)
	if len(res.Offers) == 0 {
		t.Fatalf("no offer where volume %s can attach", vol.ID)
	}
	for _, o := range res.Offers {
		if o.Vendor != vol.Vendor || o.VendorRegion != vol.VendorRegion {
			t.Fatalf("get_offers with volume_id answered an offer at %s in %s; the volume is at %s in %s", o.Vendor, o.VendorRegion, vol.Vendor, vol.VendorRegion)
		}
	}
	o := res.Offers[0]
	body, _ := json.Marshal(supplyapi.ProcureOfferRequest{OfferID: o.OfferID, SSHPublicKey: publicKey, VolumeIDs: []uuid.UUID{vol.ID}})
	var resp supplyapi.ProcureOfferResponse
	s.JSON(t, http.MethodPost, "/procure_offer", "application/json", body, http.StatusOK, &resp)
	st := pollStatus(t, s, o.OfferID, time.Minute, settled)
	if st.ProcurementStatus != supplyapi.ProcurementReady || len(st.Instances) != 1 || st.Instances[0].SSHCommand == nil {
		t.Fatalf("procurement with a volume: %+v", st)
	}
	return resp.ResourceIDs[0], *st.Instances[0].SSHCommand
}

// deleteResource deletes a resource and waits until the vendor confirmed.
func deleteResource(t *testing.T, s *Server, id uuid.UUID) {
	t.Helper()
	s.JSON(t, http.MethodDelete, "/resources/"+id.String(), "", nil, http.StatusOK, nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var r supplyapi.ResourceSummary
		s.JSON(t, http.MethodGet, "/resources/"+id.String(), "", nil, http.StatusOK, &r)
		if r.Status == supplyapi.ResourceDeleted {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("resource %s not deleted: %+v", id, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestVolumeOutlivesItsMachine, through the real binary on both engines
// with a sandbox shell: a volume made at Lambda, one at RunPod, one at
// Verda, one at Hyperstack, one at Nebius and one at Vultr (attached once
// the machine runs) is attached at procurement,
// a file written to it over ssh survives the deletion of the machine and
// is read back on a second machine it is attached to; it cannot be deleted
// while attached, shows in usage, and is gone with its bytes once deleted.
// Vendors without volumes say so and refuse at request time.
func TestVolumeOutlivesItsMachine(t *testing.T) {
	client := sshClient(t)
	for _, engine := range storetest.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			key, public := renterKey(t, t.TempDir(), "renter")
			s := Start(t, engine, "--sandbox-shell", "--sandbox-boot-time", "1s")
			requireDocumented(t, s.WaitVendors(t), "supports_volumes", hasVolumes)
			status, _, body := s.Do(t, http.MethodPost, "/volumes", "application/json",
				[]byte(`{"vendor":"scaleway","region":"fr-par-2","size_gb":10,"name":"data"}`))
			if status != http.StatusUnprocessableEntity || !strings.Contains(string(body), "scaleway does not support volumes") {
				t.Errorf("a volume at scaleway: %d %s, want a 422 naming the vendor and the capability", status, body)
			}
			// Lambda's filesystems grow with use; RunPod's volumes take 10 to
			// 4096 GB; Verda's block volumes at least 40 (its description
			// sets no maximum); Hyperstack's at most 1048576; Nebius's disks
			// are sized in GiB, their limits only linked to; Vultr's high_perf
			// blocks 10 to 10,000, attached after the create; AWS's gp3
			// volumes 1 to 16,384 GiB, attached after the create too, in
			// the zone of the offers get_offers answers for them. Each is
			// big enough that seconds cost something.
			for vendor, size := range map[string]int{"lambda": 100000, "runpod": 4000, "verda": 40000, "hyperstack": 100000, "nebius": 4000, "vultr": 10000, "aws": 16000} {
				o := offerOf(t, s, vendor, 0)
				var vol supplyapi.Volume
				s.JSON(t, http.MethodPost, "/volumes", "application/json",
					[]byte(fmt.Sprintf(`{"offer_id":%q,"size_gb":%d,"name":"data"}`, o.OfferID, size)), http.StatusCreated, &vol)
				vol = waitVolume(t, s, vol.ID, supplyapi.VolumeAvailable)

				first, line := rentWithVolume(t, s, vol, public)
				if out, code := sshLine(t, client, key, line, "echo kept > "+vol.MountPath+"/kept.txt"); code != 0 {
					t.Fatalf("writing to the volume: exit %d, %s", code, out)
				}
				if status, _, body := s.Do(t, http.MethodDelete, "/volumes/"+vol.ID.String(), "", nil); status != http.StatusConflict ||
					!strings.Contains(string(body), first.String()) {
					t.Errorf("deleting an attached volume: %d %s, want a 409 naming the machine", status, body)
				}
				deleteResource(t, s, first)
				waitVolume(t, s, vol.ID, supplyapi.VolumeAvailable)

				second, line := rentWithVolume(t, s, vol, public)
				if out, code := sshLine(t, client, key, line, "cat "+vol.MountPath+"/kept.txt"); code != 0 || out != "kept\n" {
					t.Errorf("the file on a second machine: exit %d, %q; want kept", code, out)
				}
				var usage supplyapi.Usage
				s.JSON(t, http.MethodGet, "/usage?group_by=gpu_type", "", nil, http.StatusOK, &usage)
				found := false
				for _, g := range usage.Groups {
					found = found || g.Key == "volumes" && g.Cost > 0
				}
				if !found {
					t.Errorf("usage by GPU type: %+v, want the volume's cost", usage)
				}
				if out := s.Command(t, "volumes", "list", "--url", s.URL, "--api-key", s.Key); !strings.Contains(out, vol.ID.String()) || !strings.Contains(out, "attached") {
					t.Errorf("supply volumes list:\n%s\nwant the volume, attached", out)
				}
				deleteResource(t, s, second)
				s.JSON(t, http.MethodDelete, "/volumes/"+vol.ID.String(), "", nil, http.StatusOK, nil)
				gone := waitVolume(t, s, vol.ID, supplyapi.VolumeDeleted)
				if gone.DeletedAt == nil || gone.AccruedCost <= 0 {
					t.Errorf("deleted volume %+v: want deleted_at and its cost", gone)
				}
				if left, _ := filepath.Glob(filepath.Join(s.DataDir, "sandbox", "volumes", vendor, "*", "kept.txt")); len(left) != 0 {
					t.Errorf("the volume's bytes outlived its deletion: %q", left)
				}
			}
			if _, err := os.Stat(filepath.Join(s.DataDir, "sandbox", "volumes")); err != nil {
				t.Errorf("no sandbox volumes directory: %v", err)
			}
		})
	}
}
