// Package privatekeytest makes private keys in every form people paste or
// point a tool at, for tests of what must refuse them. The keys are made
// afresh for each test and protect nothing.
package privatekeytest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Forms are private keys by what they look like: whole files as the tools
// write them (OpenSSH, PKCS#1, PKCS#8, SEC1, PuTTY), and the forms that
// carry no "-----BEGIN ... PRIVATE KEY-----" line (a PEM's body alone,
// bare DER in base64, a whole file in base64, an armour in lower case or
// without its dashes).
func Forms(t testing.TB) map[string]string {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	openSSH, err := ssh.MarshalPrivateKey(edKey, "test@example")
	if err != nil {
		t.Fatal(err)
	}
	openSSHPEM := string(pem.EncodeToMemory(openSSH))
	pkcs8PEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	rsaPEM := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}))
	body := func(p string) string { // the PEM's lines between its armour
		lines := strings.Split(strings.TrimSpace(p), "\n")
		return strings.Join(lines[1:len(lines)-1], "\n")
	}
	return map[string]string{
		"OpenSSH file":             openSSHPEM,
		"PKCS#1 file":              rsaPEM,
		"PKCS#8 file":              pkcs8PEM,
		"SEC1 file":                string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})),
		"PuTTY file":               puTTY(edKey),
		"bare OpenSSH base64":      body(openSSHPEM),
		"bare PKCS#1 base64":       body(rsaPEM),
		"bare PKCS#8 base64":       base64.StdEncoding.EncodeToString(pkcs8),
		"bare SEC1 base64":         base64.StdEncoding.EncodeToString(sec1),
		"base64 of a PEM":          base64.StdEncoding.EncodeToString([]byte(rsaPEM)),
		"base64 of an OpenSSH key": base64.StdEncoding.EncodeToString([]byte(openSSHPEM)),
		"lower-case armour":        "-----begin private key-----\n" + body(pkcs8PEM) + "\n-----end private key-----\n",
		"armour without dashes":    "BEGIN RSA PRIVATE KEY\n" + body(rsaPEM) + "\nEND RSA PRIVATE KEY",
		"only the end line":        body(pkcs8PEM) + "\n-----END PRIVATE KEY-----",
	}
}

// puTTY is key as PuTTYgen saves it unencrypted (format 3); the MAC is
// not computed, since nothing here loads the file.
func puTTY(key ed25519.PrivateKey) string {
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		panic(err) // an Ed25519 key always converts
	}
	priv := ssh.Marshal(struct{ Key []byte }{key.Seed()})
	return "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: test@example\n" +
		lines("Public", pub.Marshal()) + lines("Private", priv) + "Private-MAC: " + strings.Repeat("0", 64) + "\n"
}

// lines is a PuTTY section: its line count, then b in base64 lines of 64
// characters.
func lines(section string, b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out []string
	for len(s) > 64 {
		out, s = append(out, s[:64]), s[64:]
	}
	out = append(out, s)
	return fmt.Sprintf("%s-Lines: %d\n%s\n", section, len(out), strings.Join(out, "\n"))
}
