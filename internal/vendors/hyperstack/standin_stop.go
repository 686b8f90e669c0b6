package hyperstack

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gpusupply/supply/internal/vendors/standin"
)

// Phases of a VM's power actions, after phaseGone in the VM's state
// machine (phase).
const (
	phaseStopping phase = iota + phaseGone + 1 // STOPPING: shutting down
	phaseStopped                               // SHUTOFF: its disk kept, its host not answering
	phaseStarting                              // STARTING: booting again
)

// powerPhases are the phases of a VM in each power state.
var powerPhases = map[standin.Power]phase{standin.Stopping: phaseStopping, standin.Stopped: phaseStopped,
	standin.Starting: phaseStarting, standin.Running: phaseRunning}

// powerPhase is the phase of a VM a power action was asked of, and false
// for one that has had none (its phase is its creation's).
func (s *StandIn) powerPhase(vm *vmRecord, now time.Time) (phase, bool) {
	p, ok := powerPhases[standin.PowerAt(vm.StoppedAt, vm.StartedAt, now, s.Opts.BootTime)]
	return p, ok
}

// powerView sets the states of a VM in a power phase, as Hyperstack shows
// them, and opens or closes its host as the machine is powered; the
// caller holds s.Mu.
func (s *StandIn) powerView(vm *vmRecord, f *instanceFields, p phase) {
	id := strconv.FormatInt(vm.ID, 10)
	switch p {
	case phaseStopping:
		f.Status, f.VMState, f.PowerState = "STOPPING", "active", "RUNNING"
		s.CloseHost(id)
	case phaseStopped:
		f.Status, f.VMState, f.PowerState = "SHUTOFF", "stopped", "SHUTDOWN"
		s.CloseHost(id)
	case phaseStarting:
		f.Status, f.VMState, f.PowerState = "STARTING", "stopped", "SHUTDOWN"
	}
}

// reopen brings back the host of a VM that has started again, at its old
// address when it is still free; the caller holds s.Mu.
func (s *StandIn) reopen(vm *vmRecord, now time.Time) {
	if p, ok := s.powerPhase(vm, now); !ok || p != phaseRunning || vm.IP == "" {
		return
	}
	s.ReopenHost(strconv.FormatInt(vm.ID, 10), &vm.IP, &vm.SSHPort, machine(vm))
}

// stopVM is Stop_VM: a running VM shuts down; any other is refused with
// a 400, as Hyperstack refuses an action a VM's state does not allow.
func (s *StandIn) stopVM(w http.ResponseWriter, r *http.Request) {
	s.powerAction(w, r, phaseRunning, "stop", func(vm *vmRecord, now time.Time) { vm.StoppedAt = now.UTC() },
		"Virtual machine shut down successfully")
}

// startVM is Start_VM: a stopped VM boots again; any other is refused.
func (s *StandIn) startVM(w http.ResponseWriter, r *http.Request) {
	s.powerAction(w, r, phaseStopped, "start", func(vm *vmRecord, now time.Time) { vm.StartedAt = now.UTC() },
		"Virtual machine started successfully")
}

// powerAction applies act to the VM of the request when it is in phase
// from, and answers Hyperstack's ResponseModel with done.
func (s *StandIn) powerAction(w http.ResponseWriter, r *http.Request, from phase, action string, act func(*vmRecord, time.Time), done string) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	vm, ok := s.vm(r, now)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "Virtual machine %s not found", r.PathValue("vm_id"))
		return
	}
	if f := s.view(vm, now); s.phase(vm, now) != from {
		writeError(w, http.StatusBadRequest, "bad_request", "Cannot %s virtual machine %s while it is %s", action, vm.Name, f.Status)
		return
	}
	act(vm, now)
	if !s.Saved(w) {
		return
	}
	standin.WriteJSON(w, http.StatusOK, okEnvelope{true, done})
}

// poweredOff reports whether the VM is stopping or stopped now: its host
// does not answer, and does not come back after a restart.
func (s *StandIn) poweredOff(vm *vmRecord, now time.Time) bool {
	p, ok := s.powerPhase(vm, now)
	return ok && (p == phaseStopping || p == phaseStopped)
}
