//go:build unix

package api

import (
	"syscall"
	"time"
)

// cpuTime is the CPU this process has used so far, user and system: what
// a request costs the server, which a loaded machine (or the race
// detector's other goroutines waiting) does not stretch as it stretches
// the wall clock.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
