//go:build unix

package standin

import (
	"os/exec"
	"syscall"
)

// ownGroup starts cmd in a process group of its own and makes ending it
// kill the whole group, so that what a renter's command left running in
// the background ends with its machine.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
}
