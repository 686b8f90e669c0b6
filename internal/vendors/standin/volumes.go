package standin

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Mount is a volume as a machine has it: the volume's directory
// (Hosts.VolumeDir of Volume) shown at Path.
type Mount struct {
	// Path is the absolute mount path on the machine ("/lambda/nfs/x").
	Path string `json:"path"`
	// Volume names the volume's directory, "<vendor>/<vendor's id>".
	Volume string `json:"volume"`
}

// VolumeDir is the directory that holds volume's bytes, made when
// missing; "" when the hosts keep no volumes (no VolumesDir).
func (h *Hosts) VolumeDir(volume string) (string, error) { return volumeDir(h.opts.VolumesDir, volume) }

// volumeDir is volume's directory under root, made when missing; "" when
// root is.
func volumeDir(root, volume string) (string, error) {
	if root == "" {
		return "", nil
	}
	dir := dirUnder(root, volume)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("sandbox volume: %w", err)
	}
	return dir, nil
}

// RemoveVolume deletes volume's directory and what it holds: the vendor
// deleted the volume.
func (h *Hosts) RemoveVolume(volume string) error {
	if h.opts.VolumesDir == "" {
		return nil
	}
	if err := os.RemoveAll(dirUnder(h.opts.VolumesDir, volume)); err != nil {
		return fmt.Errorf("sandbox volume: %w", err)
	}
	return nil
}

// mapPaths is mapPaths for the host's machine: its mount paths go to
// their volumes' directories, the machine roots to its own directory.
func (x *host) mapPaths(s string) string {
	m, _ := x.current()
	mounts := slices.Clone(m.Mounts)
	// The longest path first, should one mount sit under another.
	slices.SortFunc(mounts, func(a, b Mount) int { return len(b.Path) - len(a.Path) })
	return mapRoots(s, func(p string) (string, string) {
		for _, mt := range mounts {
			if rest, ok := strings.CutPrefix(p, mt.Path); ok && (rest == "" || !pathChar(rest[0])) {
				if dir, err := volumeDir(x.volumes, mt.Volume); err == nil && dir != "" {
					return mt.Path, dir
				}
			}
		}
		root := rootAt(p)
		return root, x.dir + root
	})
}

// describeMounts is what a session without a shell adds for the
// machine's volumes: each mount path and the files at its top.
func (h *Hosts) describeMounts(m Machine) string {
	var b strings.Builder
	for _, mt := range m.Mounts {
		dir, err := h.VolumeDir(mt.Volume)
		var names []string
		if err == nil && dir != "" {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				names = append(names, e.Name())
			}
		}
		fmt.Fprintf(&b, "  volume     %s (%s): %d files %s\n", mt.Path, mt.Volume, len(names), strings.Join(names, " "))
	}
	return b.String()
}
