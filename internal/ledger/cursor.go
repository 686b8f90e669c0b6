package ledger

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// errCursor is ParseCursor's error for anything it did not make.
var errCursor = errors.New("not a cursor of GET /resources (pass on the one the previous page's Link header names)")

// maxCursor bounds what ParseCursor decodes: a cursor is about 60 bytes.
const maxCursor = 128

// NextCursor is the opaque cursor of the page after one that ends with
// last: its creation time in microseconds and its id, base64url-encoded.
func NextCursor(last supplyapi.ResourceSummary) string {
	plain := strconv.FormatInt(last.CreatedAt.UnixMicro(), 10) + "_" + last.ResourceID.String()
	return base64.RawURLEncoding.EncodeToString([]byte(plain))
}

// ParseCursor reads a cursor NextCursor made, from a client.
func ParseCursor(s string) (store.ResourceCursor, error) {
	if len(s) > maxCursor {
		return store.ResourceCursor{}, errCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return store.ResourceCursor{}, errCursor
	}
	micros, id, ok := strings.Cut(string(b), "_")
	if !ok {
		return store.ResourceCursor{}, errCursor
	}
	n, err := strconv.ParseInt(micros, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != micros {
		return store.ResourceCursor{}, errCursor
	}
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return store.ResourceCursor{}, errCursor
	}
	return store.ResourceCursor{CreatedAt: time.UnixMicro(n).UTC(), ID: id}, nil
}
