package privatekey_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/privatekey"
	"github.com/gpusupply/supply/internal/privatekey/privatekeytest"
)

// TestContains: what holds a private key is found, and what
// people send that only looks like base64 (public keys, certificates,
// prose) is not.
func TestContains(t *testing.T) {
	for name, key := range privatekeytest.Forms(t) {
		if !privatekey.Contains("key: " + key + "\n") {
			t.Errorf("%s: not found", name)
		}
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	pkix, _ := x509.MarshalPKIXPublicKey(edKey.Public())
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPub, _ := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, template, template, &rsaKey.PublicKey, rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZlZGN0b3JzZWVkMDEyMzQ1Njc4OWFiY2RlZjAxMjM0 alice@example",
		"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7d0p4xV3sQ1j2mJm9cW2cYb8hQ0vX4nZ7yP1qR5tK6uL8wM3eN9oA2bC4dE6fG8hI0jK2lM4nO6pQ8rS0tU2vW4xY6zA8bC0dE2fG4hI6jK8lM0nO2pQ4rS6tU8vW0xY2zA4bC6dE8fG0hI2jK4lM6nO8pQ0rS2tU4vW6xY8zA0bC2dE4fG6hI8jK0lM2nO4pQ6rS8tU0vW2xY4zA6bC8dE0fG2hI4jK6lM8nO0pQ2rS4tU6vW8xY0zA2bC4dE6 bob@example",
		"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg= carol@example",
		base64.StdEncoding.EncodeToString(pkix),
		base64.StdEncoding.EncodeToString(ecPub),
		base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert})),
		strings.Repeat("A", 100_000),
		"where do I send my public key? the one that begins with ssh-ed25519",
	} {
		if privatekey.Contains(s) {
			t.Errorf("taken for a private key: %.80q", s)
		}
	}
}
