package runpod

import (
	"net/http"
	"slices"
	"time"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// volumeRecord is one network volume as the stand-in keeps it. Its bytes
// are a directory of the sandbox's hosts (standin.Hosts.VolumeDir), shown
// in every pod that mounts it.
type volumeRecord struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Size       int       `json:"size"`
	DataCenter string    `json:"data_center"`
	CreatedAt  time.Time `json:"created_at"`
}

// volumeKey names a network volume's directory among the sandbox's volumes.
func volumeKey(id string) string { return Name + "/" + id }

// standardTier is the storage tier the stand-in gives every volume: the
// description's default when a create names none.
const standardTier = "STANDARD"

func (v *volumeRecord) view() networkVolume {
	return networkVolume{ID: v.ID, Name: v.Name, Size: v.Size, DataCenter: v.DataCenter, Type: standardTier}
}

func (s *StandIn) volumeByID(id string) *volumeRecord {
	i := slices.IndexFunc(s.State.Volumes, func(v *volumeRecord) bool { return v.ID == id })
	if i < 0 {
		return nil
	}
	return s.State.Volumes[i]
}

func (s *StandIn) listVolumes(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	out := networkVolumeList{NetworkVolumes: []networkVolume{}}
	for _, v := range s.State.Volumes {
		out.NetworkVolumes = append(out.NetworkVolumes, v.view())
	}
	standin.WriteJSON(w, http.StatusOK, out)
}

func (s *StandIn) getVolume(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	v := s.volumeByID(r.PathValue("id"))
	if v == nil {
		writeProblem(w, http.StatusNotFound, "network volume not found")
		return
	}
	standin.WriteJSON(w, http.StatusOK, v.view())
}

// createVolume checks the body as CreateNetworkVolumeRequest says: a
// name, a data centre that sells, and 10 to 4096 GB.
func (s *StandIn) createVolume(w http.ResponseWriter, r *http.Request) {
	var req createNetworkVolumeRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	var errs []string
	if req.Name == "" {
		errs = append(errs, "name is required")
	}
	if req.Size < 10 || req.Size > 4096 {
		errs = append(errs, "size must be between 10 and 4096")
	}
	if !slices.ContainsFunc(s.offerings, func(o offering) bool { return o.dc == req.DataCenter }) {
		errs = append(errs, "dataCenter "+req.DataCenter+" does not exist")
	}
	if len(errs) > 0 {
		writeProblem(w, http.StatusUnprocessableEntity, "Request validation failed.", errs...)
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	v := &volumeRecord{ID: newID(), Name: req.Name, Size: req.Size, DataCenter: req.DataCenter, CreatedAt: s.Now().UTC()}
	if _, err := s.Hosts.VolumeDir(volumeKey(v.ID)); err != nil {
		writeProblem(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.State.Volumes = append(s.State.Volumes, v)
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusCreated, v.view())
}

func (s *StandIn) deleteVolume(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	v := s.volumeByID(r.PathValue("id"))
	if v == nil {
		writeProblem(w, http.StatusNotFound, "network volume not found")
		return
	}
	if err := s.Hosts.RemoveVolume(volumeKey(v.ID)); err != nil {
		writeProblem(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.State.Volumes = slices.DeleteFunc(s.State.Volumes, func(x *volumeRecord) bool { return x == v })
	if !s.Saved(w) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// networkMounts checks a pod's mounts (at most one network volume, in the
// pod's data centre dc) and returns them, or the detail RunPod would
// answer with its 400.
func (s *StandIn) networkMounts(m *podMounts, dc string) ([]networkMount, string) {
	if m == nil || len(m.Network) == 0 {
		return nil, ""
	}
	if len(m.Network) > 1 {
		return nil, "mounts.network: at most one network volume"
	}
	for _, n := range m.Network {
		v := s.volumeByID(n.VolumeID)
		switch {
		case v == nil:
			return nil, "network volume " + n.VolumeID + " not found"
		case v.DataCenter != dc:
			return nil, "network volume " + n.VolumeID + " is in " + v.DataCenter + ", not in the pod's data center " + dc
		case n.Path == "":
			return nil, "mounts.network: path is required"
		}
	}
	return m.Network, ""
}

// sandboxMounts are a pod's network volumes as its sandbox host shows them.
func sandboxMounts(ms []networkMount) []standin.Mount {
	var out []standin.Mount
	for _, m := range ms {
		out = append(out, standin.Mount{Path: m.Path, Volume: volumeKey(m.VolumeID)})
	}
	return out
}
