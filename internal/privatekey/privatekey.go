// Package privatekey finds private keys in text: in a request field where
// someone pasted one by mistake, or in a file someone pointed a tool at
// instead of its .pub. The API refuses a request that holds one, and the
// command line refuses to send one, both by Contains.
package privatekey

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// Contains reports whether s holds what a private key file or a pasted
// private key does: an armour line ("-----BEGIN ... PRIVATE KEY", in any
// case, with or without its dashes), a PuTTY key file, or, with only the
// body pasted, base64 whose first bytes are a private key's: OpenSSH's
// magic ("openssh-key-v1"), a DER private key (PKCS#1, PKCS#8, SEC1,
// PKCS#12), or the text of a PEM or PuTTY file. Searches that look at each
// byte a few times keep a megabyte field a matter of a millisecond.
func Contains(s string) bool {
	return strings.Contains(s, "b3BlbnNzaC1rZXktdjE") || armoured(s) || base64Key(s)
}

// armoured reports whether s holds an armour line of a private key: "private
// key" (any case) with "begin" or "end" shortly before it, as in "-----BEGIN
// RSA PRIVATE KEY-----" or "end openssh private key", or a PuTTY header.
func armoured(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] | 0x20 {
		case 'p':
			if hasPrefixFold(s[i:], "putty-user-key-file-") {
				return true
			}
			if !hasPrefixFold(s[i:], "private key") {
				continue
			}
			before := s[max(0, i-armourGap):i]
			if indexFold(before, "begin") >= 0 || indexFold(before, "end") >= 0 {
				return true
			}
		}
	}
	return false
}

// armourGap is how far before "PRIVATE KEY" an armour line's BEGIN or END
// may be: "BEGIN ENCRYPTED " and "END OPENSSH " fit with room to spare.
const armourGap = 24

// hasPrefixFold is strings.HasPrefix ignoring ASCII case; prefix is lower case.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := range len(prefix) {
		if c := s[i]; c != prefix[i] && c|0x20 != prefix[i] {
			return false
		}
	}
	return true
}

// indexFold is strings.Index ignoring ASCII case; needle is lower case.
func indexFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		if hasPrefixFold(s[i:], needle) {
			return i
		}
	}
	return -1
}

// Base64 runs shorter than minKeyRun cannot be a private key (an Ed25519
// key in PKCS#8, the shortest, is 64 characters); of longer ones the first
// keyHead characters are decoded, enough for a DER header or a PEM's first
// line.
const (
	minKeyRun = 60
	keyHead   = 96
)

// base64Key reports whether a run of base64 in s begins with a private
// key's bytes: a DER private key, OpenSSH's magic, or an armoured key's text.
func base64Key(s string) bool {
	var head [keyHead / 4 * 3]byte
	for i := 0; i < len(s); {
		if !isBase64(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isBase64(s[j]) {
			j++
		}
		if j-i >= minKeyRun {
			n, err := base64.StdEncoding.Decode(head[:], []byte(s[i:i+min(j-i, keyHead)&^3]))
			if err == nil && (derPrivateKey(head[:n]) || bytes.Contains(head[:n], []byte("openssh-key-v1")) || armoured(string(head[:n]))) {
				return true
			}
		}
		i = j
	}
	return false
}

func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// derPrivateKey reports whether b begins as a DER private key does: a
// SEQUENCE whose first element is a one-byte INTEGER version, 0 followed by
// an INTEGER (PKCS#1 RSA, DSA) or an AlgorithmIdentifier (PKCS#8), 1
// followed by an OCTET STRING (SEC1 EC) or an AlgorithmIdentifier (PKCS#8
// v2), or 3 followed by a SEQUENCE (PKCS#12). Public keys and certificates
// never start so: theirs is a SEQUENCE or a multi-byte INTEGER.
func derPrivateKey(b []byte) bool {
	if len(b) < 2 || b[0] != 0x30 {
		return false
	}
	off := 2
	if b[1] >= 0x80 {
		off += int(b[1] & 0x7f)
	}
	if len(b) < off+4 || b[off] != 0x02 || b[off+1] != 0x01 {
		return false
	}
	switch next := b[off+3]; b[off+2] {
	case 0:
		return next == 0x02 || next == 0x30
	case 1:
		return next == 0x04 || next == 0x30
	case 3:
		return next == 0x30
	}
	return false
}
