package vendors

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLateMountScript: the shell waits, in the background, for each
// volume's own device before mounting it there, and is valid sh; no
// volumes, no shell.
func TestLateMountScript(t *testing.T) {
	if got := LateMountScript(nil, nil); got != "" {
		t.Errorf("no volumes: %q, want nothing", got)
	}
	vs := []Volume{
		{ID: "0b7a4a5e-7d6f-4bd1-9a37-4a1f8c0d2e11", Name: "supply-a"},
		{ID: "5c1e2d3f-8a9b-4c0d-8e1f-2a3b4c5d6e7f", Name: "supply-b"},
	}
	script := LateMountScript(vs, func(v Volume) string { return "/dev/disk/by-id/virtio-" + v.Name })
	if !strings.HasPrefix(script, "(\n") || !strings.HasSuffix(script, ") >>/var/log/supply-volumes.log 2>&1 &\n") {
		t.Errorf("not one background subshell:\n%s", script)
	}
	for _, v := range vs {
		dev := "/dev/disk/by-id/virtio-" + v.Name
		wait := strings.Index(script, "until [ -b "+dev+" ]")
		mount := strings.Index(script, "mountpoint -q "+MountPath(v.Name)+" || mount "+MountPath(v.Name))
		if wait < 0 || mount < wait || !strings.Contains(script, "dev="+dev+"\n") {
			t.Errorf("%s: no wait for %s before its mount, or %s not its candidate:\n%s", v.Name, dev, dev, script)
		}
	}
	if out, err := exec.Command("sh", "-n", "-c", script).CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v\n%s", err, out)
	}
}
