//go:build !unix

package standin

import "os/exec"

// ownGroup lets cmd be killed alone where there are no process groups.
func ownGroup(cmd *exec.Cmd) {
	cmd.WaitDelay = waitDelay
}
