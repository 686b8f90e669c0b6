package hyperstack

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// volumeRecord is one volume as the stand-in keeps it. Its bytes are a
// directory of the sandbox's hosts (standin.Hosts.VolumeDir), shown at
// vendors.MountPath(Name) on the VM it is attached to.
type volumeRecord struct {
	ID          int       `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Size        int       `json:"size"`
	Type        string    `json:"type"`
	Environment string    `json:"environment"`
	Region      string    `json:"region"`
	CreatedAt   time.Time `json:"created_at"`
	// VMID is the VM it is attached to (0: none).
	VMID int64 `json:"vm_id,omitempty"`
}

// The bounds of Create_Volume_Payload: name maxLength, and size ("1048576GB
// storage capacity per volume").
const (
	maxVolumeName = 50
	maxVolumeGB   = 1048576
)

// volumeKey names a volume's directory among the sandbox's volumes.
func volumeKey(id int) string { return vendorName + "/" + strconv.Itoa(id) }

// renderVolume is v as Volume_Fields; the caller holds s.Mu.
func (s *StandIn) renderVolume(v *volumeRecord) volumeFields {
	out := volumeFields{ID: v.ID, Name: v.Name, Description: v.Description, Size: v.Size, VolumeType: v.Type, Status: "available",
		Environment: volumeEnvironment{Name: v.Environment, Region: v.Region, Features: map[string]any{}},
		Attachments: []volumeAttachedTo{}, CreatedAt: v.CreatedAt, UpdatedAt: v.CreatedAt}
	if v.VMID != 0 {
		out.Status = "in-use"
		out.Attachments = append(out.Attachments, volumeAttachedTo{ID: v.ID, InstanceID: v.VMID, Device: volumeDevice, Status: "ATTACHED"})
	}
	return out
}

// volumeDevice is where a VM sees its volume: after the boot and the
// ephemeral disk.
const volumeDevice = "/dev/vdc"

// volumeByID is the volume id; the caller holds s.Mu.
func (s *StandIn) volumeByID(id int) *volumeRecord {
	i := slices.IndexFunc(s.State.Volumes, func(v *volumeRecord) bool { return v.ID == id })
	if i < 0 {
		return nil
	}
	return s.State.Volumes[i]
}

// volumeNamed is the live volume called name in environment env; the
// caller holds s.Mu.
func (s *StandIn) volumeNamed(env, name string) *volumeRecord {
	for _, v := range s.State.Volumes {
		if v.Name == name && v.Environment == env {
			return v
		}
	}
	return nil
}

func (s *StandIn) listVolumeTypes(w http.ResponseWriter, _ *http.Request) {
	standin.WriteJSON(w, http.StatusOK, volumeTypes{okEnvelope{true, "Getting volume types success"}, []string{volumeType}})
}

func (s *StandIn) listVolumes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	search, env := q.Get("search"), q.Get("environment")
	s.Mu.Lock()
	defer s.Mu.Unlock()
	var match []volumeFields
	for _, v := range s.State.Volumes {
		if search != "" && !strings.Contains(v.Name, search) && strconv.Itoa(v.ID) != search ||
			env != "" && v.Environment != env {
			continue
		}
		match = append(match, s.renderVolume(v))
	}
	start, end, number, size := page(r, len(match))
	standin.WriteJSON(w, http.StatusOK, volumeList{okEnvelope{true, "Getting volumes success"},
		pageFields{len(match), number, size}, standin.NonNil(match[start:end])})
}

// pathVolume is the live volume the path names, or a 404 answered; the
// caller holds s.Mu. Get_Volume documents no 404: the stand-in answers
// one as Delete_volume does and as Hyperstack's error documentation has
// it ("404 Requested resource does not exist").
func (s *StandIn) pathVolume(w http.ResponseWriter, r *http.Request) *volumeRecord {
	id, err := strconv.Atoi(r.PathValue("volume_id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "volume_id must be an integer")
		return nil
	}
	v := s.volumeByID(id)
	if v == nil {
		writeError(w, http.StatusNotFound, "not_found", "Volume %d not found", id)
	}
	return v
}

func (s *StandIn) getVolume(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if v := s.pathVolume(w, r); v != nil {
		standin.WriteJSON(w, http.StatusOK, volumeResponse{okEnvelope{true, "Getting volume details success"}, s.renderVolume(v)})
	}
}

// createVolume makes a blank volume in an environment, available at once.
func (s *StandIn) createVolume(w http.ResponseWriter, r *http.Request) {
	var req createVolumePayload
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "Invalid JSON body: %v", err)
		return
	}
	switch {
	case req.Name == "" || req.EnvironmentName == "" || req.VolumeType == "":
		writeError(w, http.StatusBadRequest, "bad_request", "name, environment_name, size and volume_type are required")
		return
	case len(req.Name) > maxVolumeName:
		writeError(w, http.StatusBadRequest, "bad_request", "name must be at most %d characters", maxVolumeName)
		return
	case req.Size < 1 || req.Size > maxVolumeGB:
		writeError(w, http.StatusBadRequest, "bad_request", "size must be 1 to %d GB", maxVolumeGB)
		return
	case req.VolumeType != volumeType:
		writeError(w, http.StatusBadRequest, "bad_request", "Invalid volume type %s", req.VolumeType)
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	env := s.findEnvironment(req.EnvironmentName)
	if env == nil {
		writeError(w, http.StatusNotFound, "not_found", "Environment %s not found", req.EnvironmentName)
		return
	}
	if s.volumeNamed(env.Name, req.Name) != nil {
		writeError(w, http.StatusConflict, "conflict", "Volume with name %s already exists in environment %s", req.Name, env.Name)
		return
	}
	v := &volumeRecord{ID: s.nextID(), Name: req.Name, Description: req.Description, Size: req.Size, Type: req.VolumeType,
		Environment: env.Name, Region: env.Region, CreatedAt: s.Now().UTC()}
	if _, err := s.Hosts.VolumeDir(volumeKey(v.ID)); err != nil {
		writeError(w, http.StatusInternalServerError, "internal_server_error", "%v", err)
		return
	}
	s.State.Volumes = append(s.State.Volumes, v)
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, volumeResponse{okEnvelope{true, "Volume created successfully"}, s.renderVolume(v)})
}

// deleteVolume deletes a volume that no VM holds, and its bytes, at
// once: Delete_volume's 200 is "Volume successfully deleted".
func (s *StandIn) deleteVolume(w http.ResponseWriter, r *http.Request) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	v := s.pathVolume(w, r)
	switch {
	case v == nil:
		return
	case v.VMID != 0:
		writeError(w, http.StatusBadRequest, "bad_request", "Volume %d is attached to virtual machine %d: detach it first", v.ID, v.VMID)
		return
	}
	s.State.Volumes = slices.DeleteFunc(s.State.Volumes, func(x *volumeRecord) bool { return x == v })
	if err := s.Hosts.RemoveVolume(volumeKey(v.ID)); err != nil {
		writeError(w, http.StatusInternalServerError, "internal_server_error", "%v", err)
		return
	}
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, okEnvelope{true, "Volume deleted successfully"})
}

// attachable is the volume a create's volume_name names in env, or the
// refusal: the description says nothing of several names in the one
// string, so the stand-in takes one. The caller holds s.Mu.
func (s *StandIn) attachable(env, name string) (*volumeRecord, int, string) {
	v := s.volumeNamed(env, name)
	switch {
	case v == nil:
		return nil, http.StatusNotFound, "Volume " + name + " not found in environment " + env
	case v.VMID != 0:
		return nil, http.StatusBadRequest, "Volume " + name + " is attached to virtual machine " + strconv.FormatInt(v.VMID, 10)
	}
	return v, 0, ""
}

// attach gives v to vm, mounted where the adapter's cloud-init mounts it.
func attach(vm *vmRecord, v *volumeRecord) {
	v.VMID = vm.ID
	vm.Mounts = append(vm.Mounts, standin.Mount{Path: vendors.MountPath(v.Name), Volume: volumeKey(v.ID)})
}

// releaseVolumes detaches the volumes of a VM being deleted: they outlive
// it. The caller holds s.Mu.
func (s *StandIn) releaseVolumes(vm *vmRecord) {
	for _, v := range s.State.Volumes {
		if v.VMID == vm.ID {
			v.VMID = 0
		}
	}
	vm.Mounts = nil
}

// attachments are vm's volumes as Volume_Attachment_Fields; the caller
// holds s.Mu.
func (s *StandIn) attachments(vm *vmRecord) []volumeAttachment {
	out := []volumeAttachment{}
	for _, v := range s.State.Volumes {
		if v.VMID == vm.ID {
			out = append(out, volumeAttachment{ID: v.ID, Device: volumeDevice, Status: "ATTACHED",
				Volume: instanceVolume{ID: v.ID, Name: v.Name, Size: v.Size, VolumeType: v.Type}})
		}
	}
	return out
}
