package standin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVolumeMounts: a machine's mount paths go to its volumes'
// directories (a longer path that only starts like one does not), the
// machine roots to its own; a session without a shell lists each mounted
// volume's files; a removed volume's bytes are gone.
func TestVolumeMounts(t *testing.T) {
	dir := t.TempDir()
	h, err := NewHosts(HostsOptions{VolumesDir: filepath.Join(dir, "volumes")})
	if err != nil {
		t.Fatal(err)
	}
	vol, err := h.VolumeDir("lambda/fs1")
	if err != nil || vol != filepath.Join(dir, "volumes", "lambda", "fs1") {
		t.Fatalf("VolumeDir = %q, %v", vol, err)
	}
	if err := os.WriteFile(filepath.Join(vol, "kept.txt"), []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := Machine{Vendor: "lambda", ID: "i1", Mounts: []Mount{{Path: "/lambda/nfs/data", Volume: "lambda/fs1"}}}
	x := &host{dir: "/m", volumes: h.opts.VolumesDir}
	x.setMachine(m)
	for in, want := range map[string]string{
		"cat /lambda/nfs/data/kept.txt > /tmp/out": "cat " + vol + "/kept.txt > /m/tmp/out",
		"ls /lambda/nfs/data":                      "ls " + vol,
		"ls /lambda/nfs/database":                  "ls /lambda/nfs/database",
	} {
		if got := x.mapPaths(in); got != want {
			t.Errorf("mapPaths(%q) = %q, want %q", in, got, want)
		}
	}
	if got := h.describeMounts(m); !strings.Contains(got, "/lambda/nfs/data") || !strings.Contains(got, "kept.txt") {
		t.Errorf("a session without a shell says %q, want the mount path and its file", got)
	}
	if err := h.RemoveVolume("lambda/fs1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(vol); !os.IsNotExist(err) {
		t.Errorf("a removed volume's directory: %v, want it gone", err)
	}
}
