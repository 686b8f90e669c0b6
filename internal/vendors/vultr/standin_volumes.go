package vultr

import (
	"maps"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// blockRecord is one block storage as the stand-in keeps it. Its bytes
// are a directory of the sandbox's hosts (standin.Hosts.VolumeDir), shown
// on the instance it is attached to where the adapter's cloud-init mounts
// it.
type blockRecord struct {
	ID         string    `json:"id"`
	Label      string    `json:"label"`
	Region     string    `json:"region"`
	SizeGB     int       `json:"size_gb"`
	BlockType  string    `json:"block_type"`
	MountID    string    `json:"mount_id"`
	AttachedTo string    `json:"attached_to_instance"`
	CreatedAt  time.Time `json:"created_at"`
}

// blockSizes are the sizes create-block takes per block_type (the
// description: high_perf from 10 to 10,000 GB, storage_opt from 40 to
// 40,000); high_perf is taken when none is named.
var blockSizes = map[string][2]int{"high_perf": {10, 10000}, "storage_opt": {40, 40000}}

// Answers of the stand-in's block paths in Vultr's words.
const (
	msgNoBlock       = "Invalid block storage id."
	msgBlockAttached = "Block storage is attached to an instance: detach it first."
	msgNotAttached   = "Block storage is not attached to an instance."
	msgOtherRegion   = "Block storage and instance must be in the same region."
)

// routeBlocks adds the block storage paths to the stand-in's routes.
func (s *StandIn) routeBlocks(mux *http.ServeMux) {
	mux.HandleFunc("GET "+apiPrefix+"/blocks", s.listBlocks)
	mux.HandleFunc("POST "+apiPrefix+"/blocks", s.createBlock)
	mux.HandleFunc("GET "+apiPrefix+"/blocks/{id}", s.getBlock)
	mux.HandleFunc("DELETE "+apiPrefix+"/blocks/{id}", s.deleteBlock)
	mux.HandleFunc("POST "+apiPrefix+"/blocks/{id}/attach", s.attachBlock)
	mux.HandleFunc("POST "+apiPrefix+"/blocks/{id}/detach", s.detachBlock)
}

// blockKey names a block's directory among the sandbox's volumes.
func blockKey(id string) string { return Name + "/" + id }

// renderBlock is the block as the description's blockstorage has it; its
// cost is the whole monthly price, in dollars.
func renderBlock(b *blockRecord) blockWire {
	return blockWire{ID: b.ID, Cost: int(math.Ceil(float64(b.SizeGB) * volumePricePerGBMonth)), Status: blockActive, SizeGB: b.SizeGB,
		Region: b.Region, AttachedToInstance: b.AttachedTo, DateCreated: stamp(b.CreatedAt), Label: b.Label, MountID: b.MountID}
}

func (s *StandIn) listBlocks(w http.ResponseWriter, r *http.Request) {
	s.locked(w, func(time.Time) {
		all := []blockWire{}
		for _, id := range slices.Sorted(maps.Keys(s.State.Blocks)) {
			all = append(all, renderBlock(s.State.Blocks[id]))
		}
		page, meta, ok := paginate(w, r, all)
		if ok {
			standin.WriteJSON(w, http.StatusOK, blocksPage{Blocks: page, Meta: meta})
		}
	})
}

// createBlock makes a block, active at once (the description's create
// example answers "active"), with a mount_id of its region and a hex id as
// the description's example has it.
func (s *StandIn) createBlock(w http.ResponseWriter, r *http.Request) {
	var req createBlockWire
	if !decode(w, r, &req) {
		return
	}
	if req.BlockType == "" {
		req.BlockType = blockType
	}
	sizes, ok := blockSizes[req.BlockType]
	switch {
	case !ok:
		writeError(w, http.StatusBadRequest, "Invalid block_type.")
		return
	case req.SizeGB < sizes[0] || req.SizeGB > sizes[1]:
		writeError(w, http.StatusBadRequest, "Invalid size_gb for this block_type.")
		return
	}
	s.locked(w, func(now time.Time) {
		if _, ok := s.regions[req.Region]; !ok {
			writeError(w, http.StatusBadRequest, msgInvalidRegn)
			return
		}
		b := &blockRecord{ID: newUUID(), Label: req.Label, Region: req.Region, SizeGB: req.SizeGB, BlockType: req.BlockType,
			MountID: req.Region + "-" + newID()[:14], CreatedAt: now}
		if _, err := s.Hosts.VolumeDir(blockKey(b.ID)); err != nil {
			writeError(w, http.StatusInternalServerError, "Internal error: "+err.Error())
			return
		}
		if s.State.Blocks == nil {
			s.State.Blocks = map[string]*blockRecord{}
		}
		s.State.Blocks[b.ID] = b
		if !s.Saved(w) {
			return
		}
		standin.WriteJSON(w, http.StatusAccepted, blockAnswer{Block: renderBlock(b)})
	})
}

// withBlock runs f on the block the path names, or answers 404 as
// delete-block and attach-block document.
func (s *StandIn) withBlock(w http.ResponseWriter, r *http.Request, f func(b *blockRecord, now time.Time)) {
	s.locked(w, func(now time.Time) {
		b := s.State.Blocks[r.PathValue("id")]
		if b == nil {
			writeError(w, http.StatusNotFound, msgNoBlock)
			return
		}
		f(b, now)
	})
}

func (s *StandIn) getBlock(w http.ResponseWriter, r *http.Request) {
	s.withBlock(w, r, func(b *blockRecord, _ time.Time) {
		standin.WriteJSON(w, http.StatusOK, blockAnswer{Block: renderBlock(b)})
	})
}

// deleteBlock deletes a block no instance has (204), and its bytes.
func (s *StandIn) deleteBlock(w http.ResponseWriter, r *http.Request) {
	s.withBlock(w, r, func(b *blockRecord, _ time.Time) {
		if b.AttachedTo != "" {
			writeError(w, http.StatusBadRequest, msgBlockAttached)
			return
		}
		if err := s.Hosts.RemoveVolume(blockKey(b.ID)); err != nil {
			writeError(w, http.StatusInternalServerError, "Internal error: "+err.Error())
			return
		}
		delete(s.State.Blocks, b.ID)
		s.savedNoContent(w)
	})
}

// attachBlock attaches a free block to an instance of its region (204).
// Live, the instance goes on running and its machine shows the block at
// once; otherwise Vultr restarts the instance, which boots again with it.
func (s *StandIn) attachBlock(w http.ResponseWriter, r *http.Request) {
	var req attachBlockWire
	if !decode(w, r, &req) {
		return
	}
	s.withBlock(w, r, func(b *blockRecord, now time.Time) {
		rec := s.State.Instances[req.InstanceID]
		switch {
		case rec == nil:
			writeError(w, http.StatusNotFound, msgNoInstance)
			return
		case b.AttachedTo != "":
			writeError(w, http.StatusBadRequest, "Block storage is already attached to an instance.")
			return
		case b.Region != rec.Region:
			writeError(w, http.StatusBadRequest, msgOtherRegion)
			return
		}
		b.AttachedTo = rec.ID
		rec.Mounts = append(rec.Mounts, standin.Mount{Path: vendors.MountPath(b.Label), Volume: blockKey(b.ID)})
		s.remount(w, rec, req.Live, now)
	})
}

// detachBlock takes a block from its instance (204), live or with a
// restart as attach does.
func (s *StandIn) detachBlock(w http.ResponseWriter, r *http.Request) {
	var req detachBlockWire
	if !decode(w, r, &req) {
		return
	}
	s.withBlock(w, r, func(b *blockRecord, now time.Time) {
		rec := s.State.Instances[b.AttachedTo]
		if rec == nil {
			writeError(w, http.StatusBadRequest, msgNotAttached)
			return
		}
		b.AttachedTo = ""
		rec.Mounts = slices.DeleteFunc(rec.Mounts, func(m standin.Mount) bool { return m.Volume == blockKey(b.ID) })
		s.remount(w, rec, req.Live, now)
	})
}

// remount shows rec's blocks as they are now: live, on its running host
// (Hosts.Open updates an open host's machine); otherwise by restarting
// the instance, as a start does. It answers 204 once saved.
func (s *StandIn) remount(w http.ResponseWriter, rec *record, live *bool, now time.Time) {
	switch {
	case live == nil || !*live:
		if rec.HaltedAt.IsZero() {
			rec.BootedAt = now
			s.CloseHost(rec.ID)
		}
	case s.Hosted(rec.ID):
		if _, _, err := s.OpenHost(rec.ID, rec.IP, rec.Port, machine(rec)); err != nil {
			writeError(w, http.StatusInternalServerError, "Internal error: "+err.Error())
			return
		}
	}
	s.savedNoContent(w)
}
