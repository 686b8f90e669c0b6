package runpod

import (
	"net/http"
	"slices"
	"time"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// powerStatus is the status of a pod a stop or a start was asked of, and
// false for one that has had none (its status is its creation's). A stop
// is at once EXITED; a start takes a boot, as the first one did.
func (s *StandIn) powerStatus(p *podRecord, now time.Time) (string, bool) {
	switch {
	case !p.StartedAt.IsZero() && p.StartedAt.After(p.StoppedAt):
		if now.Sub(p.StartedAt) < s.Opts.BootTime {
			return statusStarting, true
		}
		return statusRunning, true
	case !p.StoppedAt.IsZero():
		return statusExited, true
	}
	return "", false
}

// stopped reports whether the pod is stopped now: its GPUs are free for
// others.
func (s *StandIn) stopped(p *podRecord, now time.Time) bool {
	status, ok := s.powerStatus(p, now)
	return ok && status == statusExited
}

// reopen brings back the host of a pod that has started again, at its old
// address when it is still free; the caller holds s.Mu.
func (s *StandIn) reopen(p *podRecord, now time.Time) {
	if status, ok := s.powerStatus(p, now); !ok || status != statusRunning || p.IP == "" {
		return
	}
	s.ReopenHost(p.ID, &p.IP, &p.SSHPort, machine(p))
}

// podAction is podAction for stop and start: RUNNING, PROVISIONING and
// STARTING allow stop, EXITED allows start; any other action or status is
// a 409, as the description says. A start needs the pod's GPUs free again
// in its data centre, or is refused as a create without capacity is.
func (s *StandIn) podAction(w http.ResponseWriter, r *http.Request) {
	var req podActionRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	s.Mu.Lock()
	defer s.Mu.Unlock()
	p, ok := s.pod(r)
	if !ok {
		writeProblem(w, http.StatusNotFound, "pod not found")
		return
	}
	now := s.Now()
	v := s.view(p, now)
	if !slices.Contains(v.Actions, req.Action) || req.Action != "stop" && req.Action != "start" {
		writeProblem(w, http.StatusConflict, "action "+req.Action+" is not valid for a pod in status "+v.Status)
		return
	}
	if req.Action == "stop" {
		p.StoppedAt = now.UTC()
		s.CloseHost(p.ID)
	} else {
		if !s.placeable(p, now) {
			writeProblem(w, http.StatusBadRequest, capacityDetail)
			return
		}
		p.StartedAt = now.UTC()
	}
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, s.view(p, now))
}

// placeable reports whether the stopped pod's GPUs are free again in its
// data centre; the caller holds s.Mu.
func (s *StandIn) placeable(p *podRecord, now time.Time) bool {
	for _, o := range s.offerings {
		if o.gpu.id == p.GPU && o.cloud == p.Cloud && o.dc == p.DC {
			return s.free(o, p.GPUCount, 1, now) >= 1
		}
	}
	return false
}
