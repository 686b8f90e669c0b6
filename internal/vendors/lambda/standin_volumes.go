package lambda

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// fsRecord is one filesystem as the stand-in keeps it. Its bytes are a
// directory of the sandbox's hosts (standin.Hosts.VolumeDir), shown on
// every instance it is mounted on.
type fsRecord struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Region    string    `json:"region"`
	CreatedAt time.Time `json:"created_at"`
}

// fsNamePattern is the spec's pattern for a filesystem's name
// (FilesystemCreateRequest), at most 60 characters.
var fsNamePattern = regexp.MustCompile(`^[a-zA-Z]+[0-9a-zA-Z-]*$`)

// fsMountRoot is where Lambda mounts a filesystem by default: the
// Filesystem schema's mount_point, /lambda/nfs/<name>.
const fsMountRoot = "/lambda/nfs/"

// standInUser is who made every filesystem of the stand-in's account.
var standInUser = user{ID: "5a1d6a4c0e2b4f7e9d3c8b1a2f6e4d0c", Email: "sandbox@supply.invalid", Status: "active"}

// volumeKey names a filesystem's directory among the sandbox's volumes.
func volumeKey(id string) string { return Name + "/" + id }

// inUse reports whether a live instance mounts the filesystem.
func (s *StandIn) inUse(fs *fsRecord) bool {
	for _, rec := range s.State.Instances {
		if rec.TerminatedAt.IsZero() && slices.Contains(rec.FileSystems, fs.Name) {
			return true
		}
	}
	return false
}

func (s *StandIn) renderFS(fs *fsRecord) filesystem {
	return filesystem{ID: fs.ID, Name: fs.Name, MountPoint: fsMountRoot + fs.Name, Created: createdAt(fs.CreatedAt),
		CreatedBy: standInUser, IsInUse: s.inUse(fs), Region: s.regions[fs.Region]}
}

func (s *StandIn) listFilesystems(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		out := []filesystem{}
		for _, fs := range s.State.FileSystems {
			out = append(out, s.renderFS(fs))
		}
		slices.SortFunc(out, func(a, b filesystem) int { return strings.Compare(a.ID, b.ID) })
		writeData(w, out)
	})
}

func (s *StandIn) createFilesystem(w http.ResponseWriter, r *http.Request) {
	var req filesystemCreateRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.Name) > 60 || !fsNamePattern.MatchString(req.Name) || req.Region == "" {
		writeError(w, http.StatusBadRequest, codeInvalidParameters, "name must match ^[a-zA-Z]+[0-9a-zA-Z-]*$ (at most 60 characters) and region is required.", "")
		return
	}
	s.locked(w, func(now time.Time) {
		if _, ok := s.regions[req.Region]; !ok {
			writeError(w, http.StatusBadRequest, codeInvalidParameters, "Region "+req.Region+" does not exist.", "List regions with GET /regions.")
			return
		}
		for _, fs := range s.State.FileSystems {
			if fs.Name == req.Name {
				writeError(w, http.StatusBadRequest, codeDuplicate, "A filesystem with this name already exists.", "Choose another name.")
				return
			}
		}
		fs := &fsRecord{ID: newID(), Name: req.Name, Region: req.Region, CreatedAt: now}
		if _, err := s.Hosts.VolumeDir(volumeKey(fs.ID)); err != nil {
			writeInternal(w, err)
			return
		}
		if s.State.FileSystems == nil {
			s.State.FileSystems = map[string]*fsRecord{}
		}
		s.State.FileSystems[fs.ID] = fs
		if !s.Saved(w) {
			return
		}
		writeData(w, s.renderFS(fs))
	})
}

func (s *StandIn) deleteFilesystem(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		fs := s.State.FileSystems[r.PathValue("id")]
		switch {
		case fs == nil:
			writeError(w, http.StatusNotFound, codeObjectDoesNotExist, "Filesystem was not found.", "")
			return
		case s.inUse(fs):
			writeError(w, http.StatusBadRequest, codeFileSystemInUse, "The filesystem is mounted on an instance.", "Terminate the instances that use it first.")
			return
		}
		if err := s.Hosts.RemoveVolume(volumeKey(fs.ID)); err != nil {
			writeInternal(w, err)
			return
		}
		delete(s.State.FileSystems, fs.ID)
		if !s.Saved(w) {
			return
		}
		writeData(w, filesystemDeleteResponse{DeletedIDs: []string{fs.ID}})
	})
}

// mounts resolves a launch's file_system_names to where the instance
// mounts them, or answers the error Lambda would and returns false: a
// name the account does not have, or a filesystem in another region
// (ApiErrorFileSystemInWrongRegion).
func (s *StandIn) mounts(w http.ResponseWriter, req launchRequest) ([]standin.Mount, bool) {
	var out []standin.Mount
	for _, name := range req.FileSystemNames {
		fs := s.filesystemNamed(name)
		switch {
		case fs == nil:
			writeError(w, http.StatusNotFound, codeObjectDoesNotExist, "Filesystem "+name+" does not exist.", "List filesystems with GET /file-systems.")
			return nil, false
		case fs.Region != req.RegionName:
			writeError(w, http.StatusBadRequest, codeFileSystemWrongPlace, "Filesystem "+name+" is in region "+fs.Region+", not "+req.RegionName+".",
				"Launch in the filesystem's region.")
			return nil, false
		}
		out = append(out, standin.Mount{Path: fsMountRoot + fs.Name, Volume: volumeKey(fs.ID)})
	}
	return out, true
}

// filesystemNamed is the account's filesystem called name, or nil.
func (s *StandIn) filesystemNamed(name string) *fsRecord {
	for _, fs := range s.State.FileSystems {
		if fs.Name == name {
			return fs
		}
	}
	return nil
}

// createdAt is a filesystem's creation time as Lambda writes it.
func createdAt(t time.Time) string { return t.UTC().Format(time.RFC3339) }
