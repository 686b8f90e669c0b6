package vastai

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// starting reports whether the instance is loading again after a start
// (a boot's time, as its first one).
func (s *StandIn) starting(rec *record, now time.Time) bool {
	return rec.TargetState == "running" && !rec.StartedAt.IsZero() && now.Sub(rec.StartedAt) < s.Opts.BootTime
}

// reopen brings back the host of an instance running again after a start,
// at its old address when it is still free; the caller holds s.Mu.
func (s *StandIn) reopen(rec *record, now time.Time) {
	if rec.StartedAt.IsZero() || rec.IP == "" || !rec.DestroyedAt.IsZero() || rec.TargetState != "running" || s.starting(rec, now) {
		return
	}
	s.ReopenHost(strconv.FormatInt(rec.ID, 10), &rec.IP, &rec.Port, hostMachine(rec))
}

// manageInstance is PUT /api/v0/instances/{id}/ for its state: "stopped"
// stops a running container (its host stops answering), "running" starts
// a stopped one; asking for the state it is in is a 400, as a request
// Vast cannot carry out is.
func (s *StandIn) manageInstance(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(w, r)
	if err != nil {
		return
	}
	var req manageRequest
	if err := json.Unmarshal(body, &req); err != nil || req.State != "stopped" && req.State != "running" {
		writeError(w, http.StatusBadRequest, codeInvalidArgs, "state must be stopped or running")
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	rec := s.find(r.PathValue("id"), false)
	if rec == nil {
		writeError(w, http.StatusNotFound, codeNotFound, "Instance not found")
		return
	}
	now := s.Now()
	if st := s.status(rec, now); st == nil || req.State == "stopped" && *st != "running" || req.State == "running" && *st != "stopped" {
		writeError(w, http.StatusBadRequest, codeInvalidArgs, "instance "+r.PathValue("id")+" cannot be set "+req.State+" now")
		return
	}
	rec.TargetState = req.State
	if req.State == "stopped" {
		s.CloseHost(strconv.FormatInt(rec.ID, 10))
	} else {
		rec.StartedAt = now.UTC()
	}
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, manageAnswer{Success: true})
}
