package userdata

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"golang.org/x/crypto/ssh"
)

func testKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " renter@laptop"
}

// rootConfig is the part of a cloud-config that decides root access.
type rootConfig struct {
	DisableRoot       *bool    `yaml:"disable_root"`
	SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
	RunCmd            []string `yaml:"runcmd"`
}

func checkRootConfig(t *testing.T, doc, key string) {
	t.Helper()
	if !strings.HasPrefix(doc, "#cloud-config\n") {
		t.Fatalf("not a cloud-config: %q", doc[:min(40, len(doc))])
	}
	var c rootConfig
	if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatalf("cloud-config does not parse: %v\n%s", err, doc)
	}
	if c.DisableRoot == nil || *c.DisableRoot {
		t.Errorf("disable_root = %v, want false", c.DisableRoot)
	}
	if len(c.SSHAuthorizedKeys) != 1 || c.SSHAuthorizedKeys[0] != key {
		t.Errorf("ssh_authorized_keys = %q, want [%q]", c.SSHAuthorizedKeys, key)
	}
	if len(c.RunCmd) < 1 || !strings.Contains(c.RunCmd[0], "/root/.ssh/authorized_keys") || !strings.Contains(c.RunCmd[0], shellQuote(key)) {
		t.Errorf("runcmd does not install the key for root: %q", c.RunCmd)
	}
}

func TestCloudInitWithoutRenterData(t *testing.T) {
	key := testKey(t)
	doc, err := CloudInit(key, "")
	if err != nil {
		t.Fatal(err)
	}
	checkRootConfig(t, doc, key)
}

// TestCloudInitSetup: the adapter's setup shell runs as runcmd items of
// their own, after root access, byte for byte.
func TestCloudInitSetup(t *testing.T) {
	key := testKey(t)
	setup := "mkdir -p /mnt/data\nmountpoint -q /mnt/data || mount /mnt/data\n"
	doc, err := CloudInit(key, "", setup, "")
	if err != nil {
		t.Fatal(err)
	}
	checkRootConfig(t, doc, key)
	var c rootConfig
	if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.RunCmd) != 2 || c.RunCmd[1] != setup {
		t.Errorf("runcmd %q, want root access then %q", c.RunCmd, setup)
	}
}

func TestCloudInitMultipart(t *testing.T) {
	key := testKey(t)
	for _, tc := range []struct {
		name, user, wantType string
	}{
		{"cloud-config", "#cloud-config\npackages: [htop]\nruncmd:\n  - echo renter\n", "text/cloud-config"},
		{"script", "#!/bin/bash\necho hello > /tmp/renter\n", "text/x-shellscript"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := CloudInit(key, tc.user)
			if err != nil {
				t.Fatal(err)
			}
			msg, err := mail.ReadMessage(strings.NewReader(doc))
			if err != nil {
				t.Fatalf("not a MIME message: %v", err)
			}
			mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
			if err != nil || mt != "multipart/mixed" {
				t.Fatalf("content type %q (%v), want multipart/mixed", mt, err)
			}
			mr := multipart.NewReader(msg.Body, params["boundary"])
			var types, bodies, merges []string
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(p)
				pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
				types, bodies = append(types, pt), append(bodies, string(b))
				merges = append(merges, p.Header.Get("Merge-Type"))
			}
			if len(types) != 2 || types[0] != tc.wantType || types[1] != "text/cloud-config" {
				t.Fatalf("parts %v, want [%s text/cloud-config]", types, tc.wantType)
			}
			if bodies[0] != tc.user {
				t.Errorf("renter part changed:\n%q\nwant\n%q", bodies[0], tc.user)
			}
			if !strings.Contains(merges[1], "list(append)") {
				t.Errorf("root part merge type %q must append lists so the renter's runcmd survives", merges[1])
			}
			checkRootConfig(t, bodies[1], key)
		})
	}
}

func TestStartupScript(t *testing.T) {
	key := testKey(t)
	for _, tc := range []struct {
		name, user string
		want       []string
	}{
		{"none", "", []string{"/root/.ssh/authorized_keys"}},
		{"script", "#!/bin/sh\necho hi\n", []string{"/root/supply-startup.sh", "echo hi"}},
		{"cloud-config", "#cloud-config\nruncmd: [ls]\n", []string{"cloud-init --file /root/supply-cloud-config.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := StartupScript(key, tc.user)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(s, "#!/bin/bash\n") || !strings.Contains(s, key) {
				t.Errorf("script does not start with a shebang or lacks the key:\n%s", s)
			}
			for _, w := range tc.want {
				if !strings.Contains(s, w) {
					t.Errorf("script lacks %q:\n%s", w, s)
				}
			}
		})
	}
}

func TestRejects(t *testing.T) {
	key := testKey(t)
	for _, tc := range []struct{ name, key, user string }{
		{"not a key", "ssh-rsa nonsense", ""},
		{"two keys", key + "\n" + key, ""},
		{"empty key", "", ""},
		{"user data not cloud-init", key, "echo hi"},
		{"user data too big", key, "#!/bin/sh\n" + strings.Repeat("x", MaxUserData)},
		{"NUL in the comment", key + "\x00x", ""},
		{"CR in the comment", key + "\rx", ""},
		{"escape sequence in the comment", key + "\x1b[2J", ""},
		{"bidi override in the comment", key + "\u202e", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CloudInit(tc.key, tc.user); err == nil {
				t.Error("CloudInit accepted it")
			}
			if _, err := StartupScript(tc.key, tc.user); err == nil {
				t.Error("StartupScript accepted it")
			}
		})
	}
}

func TestQuotingSurvivesHostileComment(t *testing.T) {
	key := testKey(t)
	hostile := strings.Fields(key)[0] + " " + strings.Fields(key)[1] + ` it's "me" \ $(rm -rf /)`
	doc, err := CloudInit(hostile, "")
	if err != nil {
		t.Fatal(err)
	}
	checkRootConfig(t, doc, hostile)
	if strings.Contains(doc, " $(rm -rf /) >>") {
		t.Error("comment reached the shell unquoted")
	}
}

func FuzzCloudInit(f *testing.F) {
	f.Add("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZl renter", "#cloud-config\n")
	f.Add("", "#!/bin/sh\n")
	f.Fuzz(func(t *testing.T, key, user string) {
		doc, err := CloudInit(key, user)
		if err == nil && !strings.Contains(doc, "#cloud-config") {
			t.Fatalf("accepted input produced no cloud-config")
		}
	})
}

// TestValidateKeySays: what is wrong with a key is said in words that
// follow its name, never in the SSH parser's.
func TestValidateKeySays(t *testing.T) {
	key := testKey(t)
	for _, tc := range []struct{ name, key, want string }{
		{"not base64", "ssh-ed25519 !!!", `is not an OpenSSH public key: that is one line like "ssh-ed25519 AAAA… you@host", as in a .pub file`},
		{"prose", "my key", `is not an OpenSSH public key: that is one line like "ssh-ed25519 AAAA… you@host", as in a .pub file`},
		{"two keys", key + "\n" + key, "holds more than one public key: give one"},
		{"escape in the comment", key + "\x1b[2J", "has a comment that contains U+001B, a control character, at character 14; only printable characters are allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ValidateKey(tc.key); err == nil || err.Error() != tc.want {
				t.Errorf("ValidateKey: %v, want %q", err, tc.want)
			}
		})
	}
}
