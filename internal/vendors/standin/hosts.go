package standin

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/userdata"
)

// Machine is what a sandbox host knows of the instance behind it: what a
// real machine would have received through its vendor's API. Each
// stand-in fills it from its own create request.
type Machine struct {
	// Vendor is the stand-in's vendor; ID is the vendor's instance id.
	Vendor, ID string
	// Name is the instance's name or hostname, as the vendor has it.
	Name string
	// Keys are the public keys the vendor itself installs for root from
	// a field of its create request (Verda's SSH keys, RunPod's
	// PUBLIC_KEY, Vast.ai's attached keys). The cloud-init keys of the
	// user data are added to them (userdata.Read), as cloud-init would.
	Keys []string
	// UserDataField names UserData as the vendor's API does
	// ("user_data", "onstart", ...).
	UserDataField string
	// UserData is the user data or start-up script as received.
	UserData string
	// Mounts are the volumes the machine has mounted.
	Mounts []Mount
	// Startup, when set, is what the machine runs at first boot instead
	// of UserData as it is: the start-up script unwrapped from the
	// vendor's transport (RunPod's container command, Vast.ai's packed
	// onstart).
	Startup string
	// Ports are opened on the host besides SSH (see OpenPort).
	Ports []OpenPort
}

func (m Machine) startup() string { return cmp.Or(m.Startup, m.UserData) }

// HostsOptions configure a sandbox's hosts.
type HostsOptions struct {
	// KeyFile keeps the hosts' SSH host key (ed25519, OpenSSH format),
	// made when missing, so that known_hosts stays valid across
	// restarts; "" makes one in memory.
	KeyFile string
	// Shell makes sessions run the renter's commands with /bin/sh in the
	// machine's directory, as this process's user, and runs the renter's
	// cloud-init runcmd or start-up script there once, at first boot.
	// Without it a session only tells what the machine received.
	Shell bool
	// MachinesDir holds each machine's directory (with Shell). Its
	// absolute path must need no shell quoting: paths in commands are
	// rewritten to it (mapPaths).
	MachinesDir string
	// VolumesDir holds each volume's directory (VolumeDir), which a
	// machine it is mounted on shows at its mount path (with Shell).
	VolumesDir string
	// Logger tells of boots; nil logs nothing.
	Logger *slog.Logger
}

// Hosts are the loopback machines behind sandbox instances: each running
// instance gets its own loopback address (127.1.x.y) and an SSH server
// there that lets in root with the key the instance was created with, so
// "ready means reachable" is checked for real and the renter's ssh line
// works. One Hosts is shared by every stand-in of a process so addresses
// never collide; Port tells an adapter where a host's sshd is, because an
// unprivileged sandbox cannot listen on port 22. The zero value serves
// with a host key made in memory and no shell.
type Hosts struct {
	opts HostsOptions

	mu     sync.Mutex
	signer ssh.Signer
	byID   map[string]*host
	byIP   map[string]*host
	nextIP uint32
}

// host is one machine's SSH server.
type host struct {
	ip string
	l  net.Listener
	// dir is the machine's directory (with Shell), volumes the volumes'.
	dir, volumes string
	// ctx ends its connections, sessions and boot when the host closes;
	// done counts them.
	ctx  context.Context
	stop context.CancelFunc
	done sync.WaitGroup

	mu      sync.Mutex
	machine Machine
	keys    []ssh.PublicKey
	// ports are the machine's open ports, where they listen.
	ports []OpenPort
}

// NewHosts returns hosts whose SSH host key is kept in o.KeyFile.
func NewHosts(o HostsOptions) (*Hosts, error) {
	if o.Shell {
		if o.MachinesDir == "" {
			return nil, errors.New("sandbox shell: no machines directory")
		}
		dir, err := filepath.Abs(o.MachinesDir)
		if err != nil {
			return nil, fmt.Errorf("sandbox shell: %w", err)
		}
		if !shellSafe(dir) {
			return nil, fmt.Errorf("sandbox shell: the machines directory %q has characters a shell would need quoted; use a data dir without them", dir)
		}
		o.MachinesDir = dir
	}
	signer, err := loadHostKey(o.KeyFile)
	if err != nil {
		return nil, err
	}
	return &Hosts{opts: o, signer: signer}, nil
}

// loadHostKey reads the host key at path, or makes one (kept at path
// unless it is "").
func loadHostKey(path string) (ssh.Signer, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err == nil {
			signer, err := ssh.ParsePrivateKey(b)
			if err != nil {
				return nil, fmt.Errorf("sandbox host key %s: %w", path, err)
			}
			return signer, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("sandbox host key: %w", err)
		}
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sandbox host key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("sandbox host key: %w", err)
	}
	if path != "" {
		block, err := ssh.MarshalPrivateKey(priv, "supply sandbox host key")
		if err != nil {
			return nil, fmt.Errorf("sandbox host key: %w", err)
		}
		if err := writeAtomic(path, pem.EncodeToMemory(block)); err != nil {
			return nil, fmt.Errorf("sandbox host key: %w", err)
		}
	}
	return signer, nil
}

// Open starts the host of instance id, running machine m, and returns its
// address and SSH port. ip and port are the ones it had before a restart,
// if any; they are reused when still free. A new address on which another
// process holds a port m must have at its own number is passed over for
// the next. A host already open keeps its address and takes m as what it
// now knows of the machine (a key attached since, say).
func (h *Hosts) Open(id, ip string, port int, m Machine) (string, int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byID == nil {
		h.byID, h.byIP = map[string]*host{}, map[string]*host{}
	}
	if x, ok := h.byID[id]; ok {
		x.setMachine(m)
		return x.ip, x.l.Addr().(*net.TCPAddr).Port, nil
	}
	if h.signer == nil {
		var err error
		if h.signer, err = loadHostKey(""); err != nil {
			return "", 0, err
		}
	}
	fresh := ip == "" || h.byIP[ip] != nil
	for try := 1; ; try++ {
		if fresh {
			ip = h.freeIP()
		}
		x, err := h.listen(ip, port, m)
		if err != nil {
			return "", 0, err
		}
		var taken bool
		x.ports, taken = h.openPorts(x, m)
		if taken && fresh && try < maxAddressTries {
			// Another process (a second sandbox, a parallel test) holds
			// one of the ports this machine must have at its own number
			// on this address: the machine moves to the next one.
			x.shut()
			continue
		}
		if h.opts.Shell {
			x.dir, x.volumes = h.machineDir(id), h.opts.VolumesDir
			first, err := prepareMachine(x.dir)
			if err != nil {
				x.shut()
				return "", 0, fmt.Errorf("open sandbox host: %w", err)
			}
			if first {
				x.done.Go(func() { h.boot(x) })
			}
		}
		h.byID[id], h.byIP[ip] = x, x
		x.done.Go(func() { h.serve(x) })
		return ip, x.l.Addr().(*net.TCPAddr).Port, nil
	}
}

// maxAddressTries is how many fresh addresses Open tries for a machine
// whose ports are taken on them.
const maxAddressTries = 8

// listen starts the SSH listener of a host at ip, on port when it is
// free (the one it had before a restart), else on any.
func (h *Hosts) listen(ip string, port int, m Machine) (*host, error) {
	var l net.Listener
	var err error
	if port > 0 {
		l, err = net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
	}
	if l == nil {
		l, err = net.Listen("tcp", net.JoinHostPort(ip, "0"))
	}
	if err != nil {
		return nil, fmt.Errorf("open sandbox host: %w", err)
	}
	x := &host{ip: ip, l: l}
	x.setMachine(m)
	x.ctx, x.stop = context.WithCancel(context.Background())
	return x, nil
}

func (x *host) setMachine(m Machine) {
	var keys []ssh.PublicKey
	for _, line := range append(slices.Clone(m.Keys), userdata.Read(m.startup()).RootKeys...) {
		if k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err == nil {
			keys = append(keys, k)
		}
	}
	x.mu.Lock()
	x.machine, x.keys = m, keys
	x.mu.Unlock()
}

func (x *host) current() (Machine, []ssh.PublicKey) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.machine, x.keys
}

// shut stops the host: no new connections, every session and the boot
// ended (their processes killed), and waits for them.
func (x *host) shut() {
	x.l.Close()
	x.stop()
	x.done.Wait()
}

func (h *Hosts) freeIP() string {
	for {
		h.nextIP++
		n := h.nextIP%(1<<16-2) + 1
		ip := fmt.Sprintf("127.1.%d.%d", n>>8, n&0xff)
		if h.byIP[ip] == nil && n&0xff != 0 && n&0xff != 255 {
			return ip
		}
	}
}

// Port returns the SSH port of the host at ip, or 22 when there is none
// (so a real address passes through unchanged).
func (h *Hosts) Port(ip string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if x, ok := h.byIP[ip]; ok {
		return x.l.Addr().(*net.TCPAddr).Port
	}
	return 22
}

// take removes the host of instance id from the maps and returns it.
func (h *Hosts) take(id string) *host {
	h.mu.Lock()
	defer h.mu.Unlock()
	x, ok := h.byID[id]
	if !ok {
		return nil
	}
	delete(h.byID, id)
	delete(h.byIP, x.ip)
	return x
}

// Close stops the host of instance id, if any: the machine is powered
// off, or this process is ending. Its directory stays.
func (h *Hosts) Close(id string) {
	if x := h.take(id); x != nil {
		x.shut()
	}
}

// Remove stops the host of instance id and deletes its machine's
// directory: the instance is gone for good.
func (h *Hosts) Remove(id string) {
	h.Close(id)
	if h.opts.Shell {
		if err := os.RemoveAll(h.machineDir(id)); err != nil {
			h.logger().Warn("sandbox machine directory not removed", "instance", id, "error", err)
		}
	}
}

// CloseAll stops every host.
func (h *Hosts) CloseAll() {
	h.mu.Lock()
	ids := make([]string, 0, len(h.byID))
	for id := range h.byID {
		ids = append(ids, id)
	}
	h.mu.Unlock()
	for _, id := range ids {
		h.Close(id)
	}
}

func (h *Hosts) logger() *slog.Logger {
	if h.opts.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.opts.Logger
}

// machineDir is the directory of instance id's machine: one directory per
// segment of the id ("lambda/0920...": lambda/0920...), each kept to
// characters that are safe in a file name.
func (h *Hosts) machineDir(id string) string { return dirUnder(h.opts.MachinesDir, id) }

// dirUnder is the directory of id under root, as machineDir says.
func dirUnder(root, id string) string {
	parts := []string{root}
	for seg := range strings.SplitSeq(id, "/") {
		seg = strings.Map(func(r rune) rune {
			if r < 0x80 && (r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return r
			}
			return '_'
		}, seg)
		if strings.Trim(seg, ".") == "" {
			seg = "_"
		}
		parts = append(parts, seg)
	}
	return filepath.Join(parts...)
}
