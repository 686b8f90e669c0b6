package standin

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gpusupply/supply/internal/userdata"
)

// With a sandbox shell, a machine's directory stands in for the parts of
// its file system a renter writes to: an absolute path under one of these
// roots, in a command or a boot script, is rewritten to the same path
// under the machine's directory (so /tmp/ready.txt is <dir>/tmp/ready.txt,
// and each machine has its own). Every other path is the server's own.
var machineRoots = []string{"/root", "/home", "/tmp", "/var/tmp", "/var/log", "/var/lib/cloud", "/workspace", "/opt", "/srv", "/mnt"}

// Where in a machine's directory cloud-init's traces go, as on a real
// machine: the boot's output, its scripts, and the marker of a finished
// boot (whose directory, made before the boot runs, marks a machine that
// has booted once).
const (
	bootLog      = "var/log/cloud-init-output.log"
	instanceDir  = "var/lib/cloud/instance"
	bootScripts  = instanceDir + "/scripts"
	bootFinished = instanceDir + "/boot-finished"
)

// waitDelay is how long a finished command's output may stay open (held
// by a process it left in the background) before it is cut off.
const waitDelay = time.Second

// prepareMachine makes a machine's directory and reports whether this is
// its first boot.
func prepareMachine(dir string) (first bool, err error) {
	for _, root := range machineRoots {
		if err := os.MkdirAll(filepath.Join(dir, root), 0o755); err != nil {
			return false, fmt.Errorf("machine directory: %w", err)
		}
	}
	switch err := os.Mkdir(filepath.Join(dir, instanceDir), 0o755); {
	case errors.Is(err, fs.ErrExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("machine directory: %w", err)
	}
	if err := os.Mkdir(filepath.Join(dir, bootScripts), 0o755); err != nil {
		return false, fmt.Errorf("machine directory: %w", err)
	}
	return true, nil
}

// boot runs the renter's cloud-init runcmd or start-up script once, as the
// machine's first boot would, with its output in the machine's
// cloud-init-output.log. supply's own part of the user data (root's key,
// an sshd drop-in, a reload of sshd) is not run: the host grants the key
// itself, and on the server those lines would touch the server's sshd.
func (h *Hosts) boot(x *host) {
	m, _ := x.current()
	log := h.logger().With("vendor", m.Vendor, "instance", m.ID)
	script := userdata.FirstBoot(userdata.Read(m.startup()).Renter)
	out, err := os.OpenFile(filepath.Join(x.dir, bootLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		log.Warn("sandbox machine not booted", "error", err)
		return
	}
	defer out.Close()
	outcome := "nothing to run"
	if script != "" {
		path := filepath.Join(x.dir, bootScripts, "user-script")
		if err := os.WriteFile(path, []byte(x.mapPaths(script)), 0o700); err != nil {
			log.Warn("sandbox machine not booted", "error", err)
			return
		}
		// The script runs through its interpreter rather than being
		// executed itself: a file just written can be "busy" for exec
		// while another goroutine forks.
		argv := append(shebang(script), path)
		cmd := exec.CommandContext(x.ctx, argv[0], argv[1:]...)
		x.shellCommand(cmd, m)
		cmd.Stdout, cmd.Stderr = out, out
		outcome = fmt.Sprintf("exit status %d", exitStatus(cmd.Run()))
	}
	fmt.Fprintf(out, "supply sandbox: boot finished at %s, %s\n", time.Now().UTC().Format(time.RFC3339), outcome)
	if err := os.WriteFile(filepath.Join(x.dir, bootFinished), []byte(time.Now().UTC().Format(time.RFC3339)+" "+outcome+"\n"), 0o644); err != nil {
		log.Warn("sandbox machine boot not marked finished", "error", err)
	}
	log.Info("sandbox machine booted", "outcome", outcome)
}

// shebang is a script's "#!" line split into its interpreter and the
// optional argument the kernel would pass it; "/bin/sh" without one.
func shebang(script string) []string {
	line, _, _ := strings.Cut(script, "\n")
	rest, ok := strings.CutPrefix(line, "#!")
	if !ok || strings.TrimSpace(rest) == "" {
		return []string{"/bin/sh"}
	}
	interp, arg, _ := strings.Cut(strings.TrimSpace(rest), " ")
	if arg = strings.TrimSpace(arg); arg != "" {
		return []string{interp, arg}
	}
	return []string{interp}
}

// shellCommand runs cmd as a command of machine m: in root's home of the
// machine's directory, with the environment a login as root there would
// have, in a process group of its own that ends with the host.
func (x *host) shellCommand(cmd *exec.Cmd, m Machine) {
	home := filepath.Join(x.dir, "root")
	name := cmp.Or(m.Name, m.ID)
	cmd.Dir = home
	cmd.Env = []string{
		"HOME=" + home, "USER=root", "LOGNAME=root", "SHELL=/bin/sh", "LANG=C.UTF-8",
		"PATH=" + cmp.Or(os.Getenv("PATH"), "/usr/local/bin:/usr/bin:/bin"),
		"TMPDIR=" + filepath.Join(x.dir, "tmp"), "HOSTNAME=" + name, "PS1=root@" + name + "# ",
		"SUPPLY_SANDBOX_MACHINE=" + x.dir,
	}
	ownGroup(cmd)
}

// exitStatus is the status a command's wait error stands for: its exit
// code, or 255 when it did not exit by itself (killed, not started).
func exitStatus(err error) uint32 {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return uint32(ee.ExitCode())
	}
	return 255
}

// mapPaths rewrites every absolute path under one of machineRoots in s to
// the same path under dir. A path starts at the beginning of s or after a
// character that ends a shell word or starts one (space, quote,
// redirection, =, :, ...), so "/tmp/x", "'/tmp/x'", ">/tmp/x" and
// "A=/tmp/x" are mapped and "$HOME/tmp" or "/usr/tmp" are not.
func mapPaths(dir, s string) string {
	return mapRoots(s, func(p string) (string, string) {
		root := rootAt(p)
		return root, dir + root
	})
}

// mapRoots rewrites, where a path starts in s (as mapPaths says), the
// root that at finds there to the target it gives ("" root: none).
func mapRoots(s string, at func(path string) (root, target string)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '/' && (i == 0 || strings.IndexByte(" \t\n'\"`=:;|&(<>,", s[i-1]) >= 0) {
			if root, target := at(s[i:]); root != "" {
				b.WriteString(target)
				i += len(root) - 1
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// rootAt is the machine root s starts with, as a whole path component.
func rootAt(s string) string {
	for _, root := range machineRoots {
		if rest, ok := strings.CutPrefix(s, root); ok && (rest == "" || !pathChar(rest[0])) {
			return root
		}
	}
	return ""
}

func pathChar(c byte) bool {
	return c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// shellSafe reports whether path can stand unquoted in a shell command.
func shellSafe(path string) bool {
	for i := 0; i < len(path); i++ {
		if c := path[i]; !pathChar(c) && !strings.ContainsRune("/+@%,:=", rune(c)) {
			return false
		}
	}
	return true
}
