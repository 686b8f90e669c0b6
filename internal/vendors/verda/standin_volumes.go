package verda

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// volumeRecord is one data volume as the stand-in keeps it. Its bytes are
// a directory of the sandbox's hosts (standin.Hosts.VolumeDir), shown at
// vendors.MountPath(Name) on the instance it is attached to.
type volumeRecord struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Size       int       `json:"size"`
	Type       string    `json:"type"`
	Location   string    `json:"location"`
	InstanceID string    `json:"instance_id,omitempty"`
	Target     string    `json:"target,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	// DeletedAt is when it went to the trash (zero: it did not).
	DeletedAt time.Time `json:"deleted_at,omitzero"`
}

// maxVolumeName is DeployVolume's name maxLength.
const maxVolumeName = 60

// volumeKey names a volume's directory among the sandbox's volumes.
func volumeKey(id string) string { return Name + "/" + id }

// volumeStatus is Verda's VolumeStatus of v.
func volumeStatus(v *volumeRecord) string {
	switch {
	case !v.DeletedAt.IsZero():
		return volumeDeleted
	case v.InstanceID != "":
		return "attached"
	}
	return "detached"
}

func (s *StandIn) renderVolume(v *volumeRecord) volume {
	out := volume{ID: v.ID, Status: volumeStatus(v), Name: v.Name, Size: float64(v.Size), Type: v.Type,
		CreatedAt: v.CreatedAt.Format(time.RFC3339Nano), LocationCode: v.Location}
	if v.InstanceID != "" {
		out.InstanceID, out.Target = &v.InstanceID, &v.Target
	}
	return out
}

// osVolume renders the boot volume of an instance not yet gone; the
// caller holds s.Mu.
func (s *StandIn) renderOSVolume(in *instanceRecord, now time.Time) volume {
	target := "vda"
	status := "attached"
	if s.phase(in, now) == phaseDeleting {
		status = "deleting"
	}
	return volume{ID: in.OSVolumeID, Status: status, InstanceID: &in.ID, Name: in.OSVolumeName, Size: float64(in.OSVolumeGB),
		Type: osVolumeType, IsOSVolume: true, CreatedAt: in.CreatedAt.Format(time.RFC3339Nano), Target: &target, LocationCode: in.Location}
}

func (s *StandIn) listVolumes(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	out := []volume{}
	for _, in := range s.State.Instances {
		if s.phase(in, now) != phaseGone {
			out = append(out, s.renderOSVolume(in, now))
		}
	}
	for _, v := range s.State.Volumes {
		out = append(out, s.renderVolume(v))
	}
	out = slices.DeleteFunc(out, func(v volume) bool { return status != "" && v.Status != status })
	standin.WriteJSON(w, http.StatusOK, out)
}

func (s *StandIn) getVolume(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	if v := s.volumeByID(id); v != nil {
		standin.WriteJSON(w, http.StatusOK, s.renderVolume(v))
		return
	}
	for _, in := range s.State.Instances {
		if in.OSVolumeID == id && s.phase(in, now) != phaseGone {
			standin.WriteJSON(w, http.StatusOK, s.renderOSVolume(in, now))
			return
		}
	}
	writeError(w, http.StatusNotFound, "not_found", "Volume not found")
}

// volumeByID is the data volume id, in the trash or not; the caller holds
// s.Mu.
func (s *StandIn) volumeByID(id string) *volumeRecord {
	i := slices.IndexFunc(s.State.Volumes, func(v *volumeRecord) bool { return v.ID == id })
	if i < 0 {
		return nil
	}
	return s.State.Volumes[i]
}

// createVolume makes a volume, detached, or attached to the shut-down
// instance the body names (403 "Instance to attach to is not shutdown"
// otherwise). It answers the id as text, as the instance deploy does.
func (s *StandIn) createVolume(w http.ResponseWriter, r *http.Request) {
	var req deployVolume
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.Name == "" || len(req.Name) > maxVolumeName:
		writeError(w, http.StatusBadRequest, "invalid_request", "name is required, at most %d characters", maxVolumeName)
		return
	case req.Size < minVolumeGB || req.Size != float64(int(req.Size)):
		writeError(w, http.StatusBadRequest, "invalid_request", "size must be a whole number of GB, at least %d", minVolumeGB)
		return
	case !slices.ContainsFunc(seedVolumePrices, func(t volumeType) bool { return t.Type == req.Type }):
		writeError(w, http.StatusBadRequest, "invalid_request", "Invalid volume type: %s", req.Type)
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	// LocationCode's default is FIN-01.
	v := &volumeRecord{ID: uuid.NewString(), Name: req.Name, Size: int(req.Size), Type: req.Type, Location: cmp.Or(req.LocationCode, "FIN-01"), CreatedAt: now.UTC()}
	var attachTo *instanceRecord
	if req.InstanceID != "" {
		in, ok := s.live(req.InstanceID, now)
		if !ok {
			writeError(w, http.StatusBadRequest, "invalid_request", "Invalid instance id")
			return
		}
		if !s.offline(in, now) {
			writeError(w, http.StatusForbidden, "forbidden", "Instance to attach to is not shutdown")
			return
		}
		attachTo, v.Location = in, in.Location
	}
	if !slices.ContainsFunc(s.locations, func(l location) bool { return l.Code == v.Location }) {
		writeError(w, http.StatusBadRequest, "invalid_request", "Invalid location: %s", v.Location)
		return
	}
	if _, err := s.Hosts.VolumeDir(volumeKey(v.ID)); err != nil {
		writeInternal(w, err)
		return
	}
	s.State.Volumes = append(s.State.Volumes, v)
	if attachTo != nil {
		attach(attachTo, v)
	}
	if !s.Saved(w) {
		return
	}
	writeID(w, http.StatusAccepted, v.ID)
}

// attach gives v to in, after the disks it has, mounted where the
// adapter's start-up script mounts it.
func attach(in *instanceRecord, v *volumeRecord) {
	v.InstanceID, v.Target = in.ID, "vd"+string(rune('b'+len(in.Mounts)))
	in.Mounts = append(in.Mounts, standin.Mount{Path: vendors.MountPath(v.Name), Volume: volumeKey(v.ID)})
}

// detach takes v from the instance it is attached to, if any.
func (s *StandIn) detach(v *volumeRecord) {
	for _, in := range s.State.Instances {
		if in.ID == v.InstanceID {
			in.Mounts = slices.DeleteFunc(in.Mounts, func(m standin.Mount) bool { return m.Volume == volumeKey(v.ID) })
		}
	}
	v.InstanceID, v.Target = "", ""
}

// volumeActionBody is volumeAction as the API accepts it: id may be one
// id or a list.
type volumeActionBody struct {
	ID         json.RawMessage `json:"id"`
	Action     string          `json:"action"`
	InstanceID string          `json:"instance_id,omitempty"`
}

// volumeActionRequest performs attach, detach or delete on every volume
// named, or on none: "to attach, detach or delete a volume, the target /
// attached instance should be shutdown" (403 otherwise).
func (s *StandIn) volumeActionRequest(w http.ResponseWriter, r *http.Request) {
	var req volumeActionBody
	if !decode(w, r, &req) {
		return
	}
	ids, ok := idList(req.ID)
	if !ok || req.Action == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "id and action are required")
		return
	}
	if req.Action != volumeAttach && req.Action != volumeDetach && req.Action != volumeDelete {
		writeError(w, http.StatusBadRequest, "invalid_request", "The stand-in performs only the attach, detach and delete volume actions, not %q", req.Action)
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	var target *instanceRecord
	if req.Action == volumeAttach {
		in, ok := s.live(req.InstanceID, now)
		switch {
		case !ok:
			writeError(w, http.StatusBadRequest, "invalid_request", "Invalid instance id")
			return
		case !s.offline(in, now):
			writeError(w, http.StatusForbidden, "forbidden", "The instance to attach to must be shut down")
			return
		}
		target = in
	}
	var vols []*volumeRecord
	for _, id := range ids {
		v := s.volumeByID(id)
		if v == nil || !v.DeletedAt.IsZero() {
			writeError(w, http.StatusNotFound, "not_found", "Volume not found: %s", id)
			return
		}
		if msg := s.refusal(v, req.Action, target, now); msg != "" {
			writeError(w, http.StatusForbidden, "forbidden", "%s", msg)
			return
		}
		vols = append(vols, v)
	}
	for _, v := range vols {
		switch req.Action {
		case volumeAttach:
			attach(target, v)
		case volumeDetach:
			s.detach(v)
		case volumeDelete:
			s.detach(v)
			v.DeletedAt = now.UTC()
			if err := s.Hosts.RemoveVolume(volumeKey(v.ID)); err != nil {
				writeInternal(w, err)
				return
			}
		}
	}
	if !s.Saved(w) {
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// refusal says why action cannot be done to v now ("" when it can); the
// caller holds s.Mu.
func (s *StandIn) refusal(v *volumeRecord, action string, target *instanceRecord, now time.Time) string {
	var holder *instanceRecord
	if v.InstanceID != "" {
		holder, _ = s.live(v.InstanceID, now)
	}
	switch {
	case action == volumeAttach && v.InstanceID != "":
		return "Volume " + v.ID + " is attached already"
	case action == volumeAttach && v.Location != target.Location:
		return "Volume " + v.ID + " is in " + v.Location + ", the instance in " + target.Location
	case action == volumeDetach && v.InstanceID == "":
		return "Volume " + v.ID + " is not attached"
	case holder != nil && !s.offline(holder, now):
		return "Volume " + v.ID + " is attached to an instance that is not shut down"
	}
	return ""
}

// attachExisting checks a deploy's existing_volumes: each a detached data
// volume in the instance's location. It answers the refusal and returns
// false when one is not; the caller holds s.Mu.
func (s *StandIn) attachExisting(w http.ResponseWriter, ids []string, location string) ([]*volumeRecord, bool) {
	var out []*volumeRecord
	for _, id := range ids {
		v := s.volumeByID(id)
		switch {
		case v == nil || !v.DeletedAt.IsZero():
			writeError(w, http.StatusBadRequest, "invalid_request", "Invalid volume id: %s", id)
			return nil, false
		case v.InstanceID != "":
			writeError(w, http.StatusBadRequest, "invalid_request", "Volume %s is attached to another instance", id)
			return nil, false
		case v.Location != location:
			writeError(w, http.StatusBadRequest, "invalid_request", "Volume %s is in %s, not %s", id, v.Location, location)
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// releaseVolumes applies an instance's delete to its data volumes: those
// in volumeIDs go to the trash, the rest are detached ("If not providing
// a volume_ids array, only the OS volume will be deleted and the rest
// detached"); the caller holds s.Mu.
func (s *StandIn) releaseVolumes(in *instanceRecord, volumeIDs []string, now time.Time) error {
	for _, v := range s.State.Volumes {
		if v.InstanceID != in.ID {
			continue
		}
		s.detach(v)
		if slices.Contains(volumeIDs, v.ID) {
			v.DeletedAt = now.UTC()
			if err := s.Hosts.RemoveVolume(volumeKey(v.ID)); err != nil {
				return err
			}
		}
	}
	return nil
}
