package verda

import (
	"net/http"
	"time"
)

// Phases of an instance's power actions, after phaseGone.
const (
	phaseOffline  phase = iota + phaseGone + 1 // offline: shut down, its host not answering
	phaseStarting                              // provisioning again after a start
)

// powerPhase is the phase of an instance a power action was asked of, and
// false for one that has had none. A shutdown is offline at once; a start
// takes a boot, as the first one did.
func (s *StandIn) powerPhase(in *instanceRecord, now time.Time) (phase, bool) {
	switch {
	case !in.StartedAt.IsZero() && in.StartedAt.After(in.StoppedAt):
		if now.Sub(in.StartedAt) < s.Opts.BootTime {
			return phaseStarting, true
		}
		return phaseRunning, true
	case !in.StoppedAt.IsZero():
		return phaseOffline, true
	}
	return 0, false
}

// offline reports whether the instance is shut down now.
func (s *StandIn) offline(in *instanceRecord, now time.Time) bool {
	p, ok := s.powerPhase(in, now)
	return ok && p == phaseOffline
}

// powerStatus is Verda's status of an instance in a power phase.
func powerStatus(p phase) string {
	if p == phaseOffline {
		return "offline"
	}
	return "provisioning"
}

// reopen brings back the host of an instance that has started again, at
// its old address when it is still free; the caller holds s.Mu.
func (s *StandIn) reopen(in *instanceRecord, now time.Time) {
	if p, ok := s.powerPhase(in, now); !ok || p != phaseRunning || in.IP == "" {
		return
	}
	s.ReopenHost(in.ID, &in.IP, &in.SSHPort, machine(in))
}

// power applies a shutdown (of a running instance) or a start (of an
// offline one) to in, recording a refusal in res; the caller holds s.Mu.
func (s *StandIn) power(in *instanceRecord, action string, now time.Time, res *actionResult) {
	p := s.phase(in, now)
	switch {
	case action == actionShutdown && p == phaseRunning:
		in.StoppedAt = now.UTC()
		s.CloseHost(in.ID)
		res.Status = "offline"
	case action == actionStart && p == phaseOffline:
		in.StartedAt = now.UTC()
		res.Status = "provisioning"
	default:
		res.Error, res.StatusCode = "Can't "+action+" an instance that is "+s.view(in, now).Status, http.StatusBadRequest
	}
}
