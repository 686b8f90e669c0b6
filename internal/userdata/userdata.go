// Package userdata builds what a new instance runs at first boot so that
// the renter's SSH key logs in as root, whatever the image's default user,
// and the renter's own cloud-init or shell script still runs.
package userdata

import (
	"bytes"
	"errors"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/gpusupply/supply/internal/printable"
)

// MaxUserData is the largest renter document accepted (64 KiB).
const MaxUserData = 64 << 10

// Kind is what a renter's user data is.
type Kind int

// The kinds of user data cloud-init understands and supply accepts.
const (
	None Kind = iota
	CloudConfig
	Script
)

// Classify tells a cloud-config from a shell script, and rejects
// anything else: cloud-init would silently ignore it.
func Classify(userData string) (Kind, error) {
	switch {
	case userData == "":
		return None, nil
	case len(userData) > MaxUserData:
		return None, fmt.Errorf("cloud_init is %d bytes; at most %d are allowed", len(userData), MaxUserData)
	case strings.HasPrefix(userData, "#cloud-config"):
		return CloudConfig, nil
	case strings.HasPrefix(userData, "#!/"):
		return Script, nil
	}
	return None, errors.New("cloud_init must start with #cloud-config or #!/")
}

// ValidateKey checks that key is one OpenSSH public key line and returns
// it normalised (type, base64 and comment, single-spaced, one line). Its
// errors say what is wrong in words, without a subject, for the caller to
// name the key ("ssh_public_key is not an OpenSSH public key: ...").
func ValidateKey(key string) (string, error) {
	pk, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(key))
	if err != nil {
		// The parser's own words ("ssh: no key found; last parsing error
		// for ignored line: illegal base64 data at input byte 0") help no
		// one who pasted the wrong thing.
		return "", errNotAKey
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return "", errors.New("holds more than one public key: give one")
	}
	// The comment lands in authorized_keys and the start-up script, and
	// is shown by ssh tools: control characters have no place in it.
	if err := printable.Check(comment); err != nil {
		return "", fmt.Errorf("has a comment that %w", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
	if comment != "" {
		line += " " + comment
	}
	return line, nil
}

// errNotAKey is a key that does not parse.
var errNotAKey = errors.New(`is not an OpenSSH public key: that is one line like "ssh-ed25519 AAAA… you@host", as in a .pub file`)

// The names that mark the renter's document inside what CloudInit and
// StartupScript build, so that Read finds it again: the multipart parts'
// file names and the start-up script's here-document.
const (
	renterPart     = "renter"
	rootAccessPart = "supply-root-access"
	renterMarker   = "SUPPLY_RENTER_USER_DATA_EOF"
	renterHeredoc  = "<<'" + renterMarker + "'\n"
)

// sshdDropIn lets root in with a key (never a password) even on images
// whose sshd_config says "PermitRootLogin no"; drop-ins are read first
// and sshd keeps the first value it sees.
const sshdDropIn = "PermitRootLogin prohibit-password\n"

// rootScript installs the key for root and reloads sshd. It is the same
// shell in the cloud-config (runcmd) and in start-up scripts, so both
// paths grant access identically.
func rootScript(key string) string {
	q := shellQuote(key)
	return strings.Join([]string{
		"mkdir -p /root/.ssh && chmod 700 /root/.ssh",
		"touch /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys",
		"grep -qxF " + q + " /root/.ssh/authorized_keys || echo " + q + " >> /root/.ssh/authorized_keys",
		"mkdir -p /etc/ssh/sshd_config.d",
		"printf '%s' " + shellQuote(sshdDropIn) + " > /etc/ssh/sshd_config.d/00-supply-root.conf",
		"systemctl reload ssh 2>/dev/null || systemctl reload sshd 2>/dev/null || service ssh reload 2>/dev/null || true",
	}, "\n")
}

// CloudInit returns the user data for a cloud-init vendor: a
// cloud-config granting root access, combined with the renter's own
// document (if any) as a MIME multipart archive that cloud-init runs
// whole. The renter's part comes first and ours is merged after it with
// lists appended, so their runcmd, packages and users survive while
// disable_root stays false. Each of setup is shell the adapter needs run
// as root at first boot (mounting volumes, say): a runcmd item of ours
// after the one that grants root access.
func CloudInit(sshPublicKey, userData string, setup ...string) (string, error) {
	key, err := ValidateKey(sshPublicKey)
	if err != nil {
		return "", err
	}
	kind, err := Classify(userData)
	if err != nil {
		return "", err
	}
	ours := rootCloudConfig(key, setup)
	if kind == None {
		return ours, nil
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	userType := "text/cloud-config"
	if kind == Script {
		userType = "text/x-shellscript"
	}
	parts := []struct{ typ, name, body, merge string }{
		{userType, renterPart, userData, ""},
		{"text/cloud-config", rootAccessPart, ours, "list(append)+dict(recurse_array)+str()"},
	}
	fmt.Fprintf(&buf, "Content-Type: multipart/mixed; boundary=\"%s\"\nMIME-Version: 1.0\n\n", mw.Boundary())
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", p.typ+`; charset="utf-8"`)
		h.Set("MIME-Version", "1.0")
		h.Set("Content-Transfer-Encoding", "8bit")
		h.Set("Content-Disposition", `attachment; filename="`+p.name+`"`)
		if p.merge != "" {
			h.Set("Merge-Type", p.merge)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			return "", fmt.Errorf("build user data: %w", err)
		}
		if _, err := w.Write([]byte(p.body)); err != nil {
			return "", fmt.Errorf("build user data: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return "", fmt.Errorf("build user data: %w", err)
	}
	return buf.String(), nil
}

func rootCloudConfig(key string, setup []string) string {
	var b strings.Builder
	b.WriteString("#cloud-config\n")
	// disable_root: false makes cloud-init give root the keys as they
	// are, instead of prefixing them with "Please login as ubuntu".
	b.WriteString("disable_root: false\nssh_pwauth: false\n")
	fmt.Fprintf(&b, "ssh_authorized_keys:\n  - %s\n", yamlQuote(key))
	b.WriteString("runcmd:\n")
	for _, part := range append([]string{rootScript(key)}, setup...) {
		if part = strings.TrimRight(part, "\n"); part == "" {
			continue
		}
		b.WriteString("  - |\n")
		for _, line := range strings.Split(part, "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
	return b.String()
}

// StartupScript returns a shell script for vendors that run a start-up
// script instead of cloud-init user data: it grants root access, then
// runs the renter's script, or hands their cloud-config to the image's
// cloud-init. Each of setup is shell the adapter needs run as root
// before the renter's part (mounting volumes, say).
func StartupScript(sshPublicKey, userData string, setup ...string) (string, error) {
	key, err := ValidateKey(sshPublicKey)
	if err != nil {
		return "", err
	}
	kind, err := Classify(userData)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("#!/bin/bash\n# supply: root SSH access, then the renter's start-up part.\nset -u\n")
	b.WriteString(rootScript(key) + "\n")
	for _, part := range setup {
		if part = strings.TrimRight(part, "\n"); part != "" {
			b.WriteString(part + "\n")
		}
	}
	switch kind {
	case Script:
		b.WriteString("cat > /root/supply-startup.sh " + renterHeredoc + userData + "\n" + renterMarker + "\n")
		b.WriteString("chmod 700 /root/supply-startup.sh\nexec /root/supply-startup.sh\n")
	case CloudConfig:
		b.WriteString("cat > /root/supply-cloud-config.yaml " + renterHeredoc + userData + "\n" + renterMarker + "\n")
		b.WriteString("cloud-init --file /root/supply-cloud-config.yaml modules --mode config && " +
			"cloud-init --file /root/supply-cloud-config.yaml modules --mode final\n")
	}
	return b.String(), nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func yamlQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
