package standin

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// ServerVersion is the identification line a sandbox host's SSH server
// sends first (RFC 4253 §4.2, without its CRLF): what the readiness probe
// reads.
const ServerVersion = "SSH-2.0-supply_sandbox"

// handshakeTimeout bounds a connection's key exchange and login.
const handshakeTimeout = 30 * time.Second

// Bounds of the user data a session shows.
const (
	shownBytes = 2000
	shownLines = 40
)

// serve accepts x's connections until it closes.
func (h *Hosts) serve(x *host) {
	for {
		c, err := x.l.Accept()
		if err != nil {
			return
		}
		x.done.Go(func() { h.conn(x, c) })
	}
}

// conn serves one SSH connection: public-key login as root with one of
// the machine's keys, then sessions.
func (h *Hosts) conn(x *host, c net.Conn) {
	defer c.Close()
	defer context.AfterFunc(x.ctx, func() { c.Close() })()
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	// No password or keyboard-interactive callback: the public key is the
	// only way in, as on a machine with PasswordAuthentication no.
	cfg := &ssh.ServerConfig{ServerVersion: ServerVersion, PublicKeyCallback: x.authorize}
	cfg.AddHostKey(h.signer)
	sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return // a probe that reads the version line and leaves, or a refused login
	}
	c.SetDeadline(time.Time{})
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.Prohibited, "a sandbox host serves sessions only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		x.done.Go(func() { h.session(x, sc.Permissions, ch, creqs) })
	}
}

// authorize lets root in with one of the machine's keys.
func (x *host) authorize(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if c.User() != "root" {
		return nil, fmt.Errorf("user %q: only root logs in", c.User())
	}
	_, keys := x.current()
	for _, k := range keys {
		if bytes.Equal(k.Marshal(), key.Marshal()) {
			return &ssh.Permissions{Extensions: map[string]string{"key": ssh.FingerprintSHA256(key) + " (" + key.Type() + ")"}}, nil
		}
	}
	return nil, errors.New("not one of the machine's keys")
}

// session serves one session channel: its first shell or exec runs, the
// exit status is sent back and the channel closed; the command is ended
// if the client goes first.
func (h *Hosts) session(x *host, perms *ssh.Permissions, ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	ctx, cancel := context.WithCancel(x.ctx)
	defer cancel()
	pty, started := false, false
	for req := range reqs {
		ok := false
		switch req.Type {
		case "pty-req":
			// A shell gets no terminal (the host has none to give), so
			// the client keeps its own line editing and echo; the
			// default session only prints, for which a terminal is fine.
			ok = !h.opts.Shell
			pty = ok
		case "shell", "exec":
			var payload struct{ Command string }
			ok = !started && (req.Type == "shell" || ssh.Unmarshal(req.Payload, &payload) == nil)
			if req.WantReply {
				// Before the command runs: a command that ends at once
				// closes the channel, and a reply after that is lost,
				// leaving the client with EOF instead of its output.
				req.Reply(ok, nil)
			}
			if ok {
				started = true
				interactive := req.Type == "shell"
				x.done.Go(func() {
					status := h.run(ctx, x, perms, ch, payload.Command, interactive, pty)
					ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
					ch.Close()
				})
			}
			continue
		}
		if req.WantReply {
			req.Reply(ok, nil)
		}
	}
}

// run runs a session's command (interactive: a shell) and returns its exit
// status: on the server with a shell, else the machine's description.
func (h *Hosts) run(ctx context.Context, x *host, perms *ssh.Permissions, ch ssh.Channel, command string, interactive, pty bool) uint32 {
	m, _ := x.current()
	if !h.opts.Shell {
		text := describe(m, perms.Extensions["key"], command, interactive) + h.describeMounts(m)
		if pty {
			text = strings.ReplaceAll(text, "\n", "\r\n")
		}
		io.WriteString(ch, text)
		return 0
	}
	args := []string{"-c", x.mapPaths(command)}
	if interactive {
		args = []string{"-i"}
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", args...)
	x.shellCommand(cmd, m)
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintf(ch.Stderr(), "supply sandbox: %v\n", err)
		return 255
	}
	// Copied apart from the command, which may end before the client
	// closes its input (as sshd does: ssh host true returns at once).
	go func() {
		io.Copy(stdin, ch)
		stdin.Close()
	}()
	return exitStatus(cmd.Wait())
}

// describe is what a session prints without a sandbox shell: that this is
// a sandbox host, and what a real machine would have received.
func describe(m Machine, key, command string, interactive bool) string {
	var b strings.Builder
	b.WriteString("supply sandbox host: no real machine, nothing billed.\n")
	fmt.Fprintf(&b, "A real machine would have received, through %s's API:\n", m.Vendor)
	fmt.Fprintf(&b, "  instance   %s\n", m.ID)
	fmt.Fprintf(&b, "  hostname   %s\n", m.Name)
	fmt.Fprintf(&b, "  root key   %s, the key you logged in with\n", key)
	field := cmp.Or(m.UserDataField, "user data")
	if m.UserData == "" {
		fmt.Fprintf(&b, "  %s  none\n", field)
	} else {
		shown := excerpt(m.UserData)
		fmt.Fprintf(&b, "  %s  %d bytes", field, len(m.UserData))
		if len(shown) < len(m.UserData) {
			fmt.Fprintf(&b, ", the first %d shown", len(shown))
		}
		b.WriteString(":\n")
		for line := range strings.SplitSeq(strings.TrimRight(shown, "\n"), "\n") {
			b.WriteString("    | " + printable(strings.TrimSuffix(line, "\r")) + "\n")
		}
	}
	if !interactive {
		fmt.Fprintf(&b, "Your command was not run: %s\n", printable(command))
	}
	b.WriteString("Commands run here only when the server runs with --sandbox-shell (on the server's own machine, as its user: for local tries only).\n")
	return b.String()
}

// excerpt is the start of s a session shows: at most shownLines lines
// and shownBytes bytes, cut at a line's end where it can be.
func excerpt(s string) string {
	cut := len(s)
	if lines := strings.SplitAfterN(s, "\n", shownLines+1); len(lines) > shownLines {
		cut = len(s) - len(lines[shownLines])
	}
	if cut > shownBytes {
		cut = shownBytes
		if i := strings.LastIndexByte(s[:cut], '\n'); i > 0 {
			cut = i + 1
		}
	}
	return s[:cut]
}

// printable replaces control characters, which a terminal would act on.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return '?'
		}
		return r
	}, s)
}
