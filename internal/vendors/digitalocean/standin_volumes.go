package digitalocean

import (
	"crypto/rand"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// volRecord is one block storage volume as the stand-in keeps it. Its
// bytes are a directory of the sandbox's hosts (standin.Hosts.VolumeDir),
// shown on the Droplet it is attached to.
type volRecord struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Region     string    `json:"region"`
	SizeGB     int       `json:"size_gigabytes"`
	Filesystem string    `json:"filesystem_type"`
	Tags       []string  `json:"tags"`
	CreatedAt  time.Time `json:"created_at"`
}

// volumeNamePattern is volume_base.yml's rule for a name: lowercase
// letters, digits and "-", beginning with a letter, at most 64.
var volumeNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`)

// volumeKey names a volume's directory among the sandbox's volumes.
func volumeKey(id string) string { return Name + "/" + id }

// attachedTo is the Droplet a volume is attached to, or 0.
func (s *StandIn) attachedTo(id string) int {
	for _, rec := range s.State.Droplets {
		if slices.Contains(rec.Volumes, id) {
			return rec.ID
		}
	}
	return 0
}

func (s *StandIn) renderVolume(v *volRecord) volumeBody {
	out := volumeBody{ID: v.ID, Name: v.Name, Description: "", SizeGB: v.SizeGB, CreatedAt: v.CreatedAt.UTC().Format(time.RFC3339),
		FilesystemType: v.Filesystem, FilesystemLabel: "", Tags: append([]string{}, v.Tags...), DropletIDs: []int{},
		Region: s.region(&record{Region: v.Region})}
	if d := s.attachedTo(v.ID); d != 0 {
		out.DropletIDs = []int{d}
	}
	return out
}

func (s *StandIn) listVolumes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.locked(w, func(time.Time) {
		all := []volumeBody{}
		for _, id := range slices.Sorted(maps.Keys(s.State.Volumes)) {
			v := s.State.Volumes[id]
			if q.Get("name") != "" && v.Name != q.Get("name") || q.Get("region") != "" && v.Region != q.Get("region") {
				continue
			}
			all = append(all, s.renderVolume(v))
		}
		got, links := page(r, all)
		standin.WriteJSON(w, http.StatusOK, volumesList{Volumes: got, Links: links, Meta: meta{Total: len(all)}})
	})
}

func (s *StandIn) createVolume(w http.ResponseWriter, r *http.Request) {
	var req volumeCreate
	if !decode(w, r, &req) {
		return
	}
	switch {
	case !volumeNamePattern.MatchString(req.Name):
		writeError(w, http.StatusBadRequest, "bad_request", "Name must be lowercase letters, numbers and \"-\", beginning with a letter, at most 64 characters.")
		return
	case req.SizeGB < 1 || req.SizeGB > 16384:
		writeError(w, http.StatusBadRequest, "bad_request", "size_gigabytes must be between 1 and 16384.")
		return
	}
	s.locked(w, func(now time.Time) {
		if _, ok := s.regions[req.Region]; !ok {
			writeError(w, http.StatusBadRequest, "bad_request", "You specified an invalid region for the volume.")
			return
		}
		for _, v := range s.State.Volumes {
			if v.Name == req.Name && v.Region == req.Region {
				writeError(w, http.StatusConflict, "conflict", "A volume with this name already exists in this region.")
				return
			}
		}
		v := &volRecord{ID: newUUID(), Name: req.Name, Region: req.Region, SizeGB: req.SizeGB, Filesystem: req.FilesystemType,
			Tags: req.Tags, CreatedAt: now}
		if _, err := s.Hosts.VolumeDir(volumeKey(v.ID)); err != nil {
			writeError(w, http.StatusInternalServerError, "server_error", "Server Error: "+err.Error())
			return
		}
		if s.State.Volumes == nil {
			s.State.Volumes = map[string]*volRecord{}
		}
		s.State.Volumes[v.ID] = v
		if !s.Saved(w) {
			return
		}
		standin.WriteJSON(w, http.StatusCreated, volumeAnswer{Volume: s.renderVolume(v)})
	})
}

func (s *StandIn) getVolume(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		v := s.State.Volumes[r.PathValue("id")]
		if v == nil {
			writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
			return
		}
		standin.WriteJSON(w, http.StatusOK, volumeAnswer{Volume: s.renderVolume(v)})
	})
}

// deleteVolume deletes a volume that no Droplet has (204).
func (s *StandIn) deleteVolume(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		v := s.State.Volumes[r.PathValue("id")]
		switch {
		case v == nil:
			writeError(w, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
			return
		case s.attachedTo(v.ID) != 0:
			writeError(w, http.StatusConflict, "conflict", "This volume is attached to a Droplet: detach it first.")
			return
		}
		if err := s.Hosts.RemoveVolume(volumeKey(v.ID)); err != nil {
			writeError(w, http.StatusInternalServerError, "server_error", "Server Error: "+err.Error())
			return
		}
		delete(s.State.Volumes, v.ID)
		if !s.Saved(w) {
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// attach resolves a create's volumes (ids, or godo's {"id": ...}) to the
// Droplet's volume ids and mounts, or says why not: a volume unknown,
// elsewhere, or attached already (godo's ErrVolumeAlreadyAttached words).
func (s *StandIn) attach(req createRequest) (ids []string, mounts []standin.Mount, complaint string) {
	for _, ref := range req.Volumes {
		id := fmt.Sprint(ref)
		if m, ok := ref.(map[string]any); ok {
			id = fmt.Sprint(m["id"])
		}
		v := s.State.Volumes[id]
		switch {
		case v == nil:
			return nil, nil, "Volume " + id + " not found."
		case v.Region != req.Region:
			return nil, nil, "Volume " + id + " is in " + v.Region + ": a Droplet and its volumes must be in the same region."
		case s.attachedTo(id) != 0:
			return nil, nil, "This volume is already attached to Droplet " + strconv.Itoa(s.attachedTo(id)) + "."
		}
		ids = append(ids, id)
		mounts = append(mounts, standin.Mount{Path: mountPath(v.Name), Volume: volumeKey(id)})
	}
	return ids, mounts, ""
}

// newUUID is a random UUID, as DigitalOcean's volume ids are.
func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
