package nebius

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/gpusupply/supply/internal/vendors/nebius/internal/nebiuspb"
	"github.com/gpusupply/supply/internal/vendors/standin"
)

// powerPhases are the phases of a VM in each power state.
var powerPhases = map[standin.Power]phase{standin.Stopping: phaseStopping, standin.Stopped: phaseStopped,
	standin.Starting: phaseStarting, standin.Running: phaseRunning}

// powerPhase is the phase of a VM a Stop or a Start was asked of, and
// false for one that has had none (its phase is its creation's).
func (s *StandIn) powerPhase(vm *vmRecord, now time.Time) (phase, bool) {
	p, ok := powerPhases[standin.PowerAt(vm.StoppedAt, vm.StartedAt, now, s.Opts.BootTime)]
	return p, ok
}

// reopen brings back the host of a VM running again after a Start, at its
// old address when it is still free; the caller holds s.Mu.
func (s *StandIn) reopen(vm *vmRecord, ph phase) {
	if ph != phaseRunning || vm.StartedAt.IsZero() || vm.IP == "" {
		return
	}
	s.ReopenHost(vm.ID, &vm.IP, &vm.SSHPort, s.machine(vm))
}

// Stop powers a RUNNING VM off; its operation finishes when it is STOPPED.
func (i instanceServer) Stop(_ context.Context, req *pb.StopInstanceRequest) (*pb.Operation, error) {
	s := i.s
	return s.power(req.GetId(), phaseRunning, phaseStopped, "Stop instance", func(vm *vmRecord, now time.Time) {
		vm.StoppedAt = now.UTC()
		s.CloseHost(vm.ID)
	})
}

// Start boots a STOPPED VM (stopped by Stop or preempted) again; its
// operation finishes when it is RUNNING.
func (i instanceServer) Start(_ context.Context, req *pb.StartInstanceRequest) (*pb.Operation, error) {
	return i.s.power(req.GetId(), phaseStopped, phaseRunning, "Start instance", func(vm *vmRecord, now time.Time) {
		vm.StartedAt, vm.PreemptedAt = now.UTC(), time.Time{}
	})
}

// power applies act to VM id when it is in phase from, and records the
// operation, which finishes at phase until. A VM in another state is
// refused with FAILED_PRECONDITION, code.proto's "the system is not in a
// state required for the operation's execution".
func (s *StandIn) power(id string, from, until phase, description string, act func(*vmRecord, time.Time)) (*pb.Operation, error) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	now := s.Now()
	vm := s.findVM(id, now)
	if vm == nil {
		return nil, notFound("compute", id)
	}
	if s.phase(vm, now) != from {
		return nil, status.Errorf(codes.FailedPrecondition, "instance %s is %s", id, s.view(vm, now).GetStatus().GetState())
	}
	act(vm, now)
	return s.record(&opRecord{ResourceID: vm.ID, Description: description, Until: until}, nil, now)
}
