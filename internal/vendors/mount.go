package vendors

import (
	"fmt"
	"strings"
)

// MountRoot is where supply's first-boot shell mounts a volume on vendors
// that hand the machine a raw disk: /mnt/<name>, the stable place both an
// adapter's Volume.MountPath and its stand-in's machines show it.
const MountRoot = "/mnt/"

// MountPath is where an instance shows the volume called name.
func MountPath(name string) string { return MountRoot + name }

// VolumeLabel is the filesystem label supply formats a volume with:
// "supply" and the first ten hex digits of the vendor's id, within ext4's
// 16. It finds the same volume again on a later machine, whatever device
// name the vendor gives it there.
func VolumeLabel(id string) string {
	return "supply" + HexDigits(id, 10)
}

// HexDigits is the first n characters of id without its dashes.
func HexDigits(id string, n int) string {
	h := strings.ReplaceAll(id, "-", "")
	return h[:min(n, len(h))]
}

// MountScript is the shell, run as root at first boot, that mounts each
// of vs (attached at create, in this order) at MountPath(name). Vendors
// document no device naming, so a disk is looked for by the label supply
// formatted it with (the same volume on a later machine), then at each of
// candidates(i, v) in turn: shell words naming the disk the vendor
// attached as the i-th (one that names nothing leaves the next to try). A disk on which
// nothing is found (no filesystem, no partition table: blkid -p) is
// formatted ext4 with the label; anything else is never formatted, and is
// mounted only when it holds a filesystem. The fstab entry (nofail) mounts
// it again after a shutdown. Where no such block device exists (the
// sandbox), the part does nothing. Names and ids must be supply's own
// (OwnedName, InstanceName): they are written into the shell unquoted.
func MountScript(vs []Volume, candidates func(i int, v Volume) []string) string {
	var b strings.Builder
	for i, v := range vs {
		path := MountPath(v.Name)
		label := VolumeLabel(v.ID)
		fmt.Fprintf(&b, "# supply: volume %s at %s\n", v.Name, path)
		b.WriteString("udevadm settle 2>/dev/null\n")
		fmt.Fprintf(&b, "dev=/dev/disk/by-label/%s\n", label)
		for _, c := range candidates(i, v) {
			fmt.Fprintf(&b, "[ -b \"$dev\" ] || dev=%s\n", c)
		}
		b.WriteString("if [ -b \"$dev\" ]; then\n")
		fmt.Fprintf(&b, "  blkid -p \"$dev\" >/dev/null 2>&1 || mkfs.ext4 -q -L %s \"$dev\"\n", label)
		b.WriteString("  fs=$(blkid -o value -s UUID \"$dev\")\n")
		b.WriteString("  if [ -n \"$fs\" ]; then\n")
		fmt.Fprintf(&b, "    mkdir -p %s\n", path)
		fmt.Fprintf(&b, "    grep -q \"^UUID=$fs \" /etc/fstab || echo \"UUID=$fs %s auto defaults,nofail 0 2\" >> /etc/fstab\n", path)
		fmt.Fprintf(&b, "    mountpoint -q %s || mount %s\n", path, path)
		b.WriteString("  fi\nfi\n")
	}
	return b.String()
}

// BlankDisk is a MountScript candidate: the first whole disk on which
// blkid finds nothing, neither filesystem nor partition table, so never
// the boot disk or an ephemeral disk the image formatted. It is the new
// volume where a machine gets one blank disk and the vendor says nothing
// of its device name.
const BlankDisk = `$(for d in $(lsblk -dnpo NAME -e 7,11); do blkid -p "$d" >/dev/null 2>&1 || { echo "$d"; break; }; done)`
