package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// TestSIGTERMHandsBackTheRunningStep: a server told to stop while a job
// step hangs on its vendor (the vendor's process is frozen) waits
// --shutdown-timeout, hands the step back to the queue and exits 0; after
// a restart the procurement is ready within seconds, not after River's
// rescue delay, and made one instance.
func TestSIGTERMHandsBackTheRunningStep(t *testing.T) {
	const shutdownTimeout = 2 * time.Second
	vendor := Start(t, store.EngineSQLite, "--sandbox-boot-time", "500ms")
	s := StartConfig(t, Config{
		Engine: store.EngineSQLite,
		Flags:  []string{"--sandbox=false", "--shutdown-timeout", shutdownTimeout.String()},
		Env:    vendor.SandboxEnv(t),
	})
	s.WaitVendors(t)
	o := offerOf(t, s, "hyperstack", 0)

	freeze := func(sig syscall.Signal) {
		t.Helper()
		if err := vendor.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	freeze(syscall.SIGSTOP)
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			freeze(syscall.SIGCONT)
		}
	}
	t.Cleanup(thaw)

	r := rent(t, s, o)
	time.Sleep(1500 * time.Millisecond) // the create step is now waiting on the frozen vendor
	start := time.Now()
	s.stop(t) // SIGTERM; fails the test unless the exit is clean
	took := time.Since(start)
	if took > shutdownTimeout+5*time.Second {
		t.Errorf("stopping took %s with --shutdown-timeout %s", took, shutdownTimeout)
	}
	out := s.Stderr()
	if !strings.Contains(out, "handing them back to the queue") {
		t.Errorf("no job step was running at SIGTERM; the test did not test the hand-back:\n%s", s.tail())
	}
	// River's word that it made the job available again at once, rather
	// than scheduling it by its retry policy or the step's snooze.
	if !strings.Contains(out, "Job stopped due to client shutdown; retrying") {
		t.Errorf("the interrupted step was not handed back as interrupted:\n%s", s.tail())
	}

	thaw()
	s.start(t)
	restarted := time.Now()
	// Boot 0.5 s plus a few polls; River's rescue delay is minutes.
	waitReady(t, r, 10*time.Second)
	t.Logf("stop took %s; ready %s after the restart", took, time.Since(restarted).Round(10*time.Millisecond))

	var got supplyapi.ResourceSummary
	s.JSON(t, http.MethodGet, "/resources/"+r.resource.String(), "", nil, http.StatusOK, &got)
	if live := liveByResource(t, vendor)[r.resource.String()]; got.Status != supplyapi.ResourceRunning || live != 1 {
		b, _ := json.Marshal(got)
		t.Errorf("after the restart: %s with %d live instances, want running with 1", b, live)
	}
}
