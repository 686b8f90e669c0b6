package vendors

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/gpusupply/supply/internal/userdata"
)

// KeyName is the name an adapter registers a renter's public key under
// at a vendor that keeps keys by name: the same key always gets the same
// name, so registering it is get-or-create. The comment is not part of
// the key: only its type and material are hashed. A key that is not a
// valid public key line is an error.
func KeyName(publicKey string) (string, error) {
	line, err := userdata.ValidateKey(publicKey)
	if err != nil {
		return "", err
	}
	fields := strings.Fields(line)
	sum := sha256.Sum256([]byte(fields[0] + " " + fields[1]))
	return NamePrefix + hex.EncodeToString(sum[:])[:16], nil
}
