package scaleway

import "time"

// phaseStopping is a server powering off, after phaseGone.
const phaseStopping phase = iota + phaseGone + 1

// offPhase is the phase of a server powered off since it last powered on,
// and false for one that was not: stopping for a fifth of a boot, then
// stopped.
func (s *StandIn) offPhase(srv *serverRecord, now time.Time) (phase, bool) {
	if srv.PoweredOffAt.IsZero() || srv.PoweredOnAt.After(srv.PoweredOffAt) {
		return 0, false
	}
	if now.Sub(srv.PoweredOffAt) < s.Opts.BootTime/5 {
		return phaseStopping, true
	}
	return phaseStopped, true
}

// reopen brings back the host of a server running again after a poweroff,
// at its old address when it is still free; the caller holds s.Mu.
func (s *StandIn) reopen(srv *serverRecord, now time.Time) {
	if srv.PoweredOffAt.IsZero() || srv.IP == "" || s.phase(srv, now) != phaseRunning {
		return
	}
	s.ReopenHost(srv.ID, &srv.IP, &srv.SSHPort, machine(srv))
}
