package vendors

import (
	"os/exec"
	"strings"
	"testing"
)

// TestMountScript: each volume is looked for by its label (the last ten
// characters of its id: Nebius's ids all begin "computedisk"), then at the
// vendor's candidates in order; only a disk blkid finds nothing on is
// formatted, and the script is valid sh.
func TestMountScript(t *testing.T) {
	vs := []Volume{{ID: "0b0e5a9e-1111-2222-3333-444455556666", Name: "supply-x"}, {ID: "42", Name: "supply-y"}}
	script := MountScript(vs, func(i int, v Volume) []string { return []string{"/dev/first" + v.ID, BlankDisk} })
	for _, want := range []string{
		"dev=/dev/disk/by-label/supply4455556666\n[ -b \"$dev\" ] || dev=/dev/first0b0e5a9e-1111",
		"blkid -p \"$dev\" >/dev/null 2>&1 || mkfs.ext4 -q -L supply42 \"$dev\"",
		"mountpoint -q /mnt/supply-y || mount /mnt/supply-y",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	if out, err := exec.Command("sh", "-n", "-c", script).CombinedOutput(); err != nil {
		t.Errorf("not valid sh: %v\n%s", err, out)
	}
	if MountScript(nil, nil) != "" {
		t.Error("no volumes, yet a script")
	}
}
