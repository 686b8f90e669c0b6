package offers

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// An offer id is not a database row: it is the 128-bit block
//
//	account (32) | created_at, unix s (32) | snapshot id (32) | item (24) | check (8)
//
// encrypted with AES under a key every replica shares (kept in the
// settings table). Answering a query therefore writes nothing, whatever
// the number of offers returned; any replica can decode an id, load the
// catalog snapshot it points to and show the offer at exactly the price
// it was shown at. The cipher makes ids opaque and unguessable: a forged
// or altered id decrypts to noise that fails the check byte, names
// another account or no snapshot, and is a 404. An offer expires at
// created_at + the configured TTL, which every replica shares.
type offerRef struct {
	Account  int64
	Created  time.Time
	Snapshot int64
	Item     int
}

const (
	maxItem = 1<<24 - 1
	// check is a constant byte every genuine id decrypts to; a forged id
	// passes it with probability 1/256 before the account check.
	check = 0xA7
)

// errBadOfferID: the id does not decode to an offer (never shown to a
// client as such; it answers 404 like an unknown id).
var errBadOfferID = errors.New("not an offer id")

type offerCodec struct{ block cipher.Block }

func newOfferCodec(key []byte) (offerCodec, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return offerCodec{}, fmt.Errorf("offer id key: %w", err)
	}
	return offerCodec{block: b}, nil
}

func (c offerCodec) encode(r offerRef) (uuid.UUID, error) {
	var scratch [32]byte
	return c.encodeWith(&scratch, r)
}

// encodeWith is encode with the cipher's input and output in scratch:
// they escape through the cipher's interface, so a caller sealing many ids
// allocates one scratch rather than two blocks per id.
func (c offerCodec) encodeWith(scratch *[32]byte, r offerRef) (uuid.UUID, error) {
	if r.Account < 0 || r.Account > 1<<32-1 || r.Snapshot < 0 || r.Snapshot > 1<<32-1 || r.Item < 0 || r.Item > maxItem {
		return uuid.Nil, fmt.Errorf("offer reference out of range: %+v", r)
	}
	plain, out := scratch[:16], scratch[16:]
	binary.BigEndian.PutUint32(plain[0:], uint32(r.Account))
	binary.BigEndian.PutUint32(plain[4:], uint32(r.Created.Unix()))
	binary.BigEndian.PutUint32(plain[8:], uint32(r.Snapshot))
	binary.BigEndian.PutUint32(plain[12:], uint32(r.Item)<<8|check)
	c.block.Encrypt(out, plain)
	return uuid.UUID(out), nil
}

func (c offerCodec) decode(id uuid.UUID) (offerRef, error) {
	var plain [16]byte
	c.block.Decrypt(plain[:], id[:])
	last := binary.BigEndian.Uint32(plain[12:])
	r := offerRef{
		Account:  int64(binary.BigEndian.Uint32(plain[0:])),
		Created:  time.Unix(int64(binary.BigEndian.Uint32(plain[4:])), 0).UTC(),
		Snapshot: int64(binary.BigEndian.Uint32(plain[8:])),
		Item:     int(last >> 8),
	}
	if last&0xff != check || r.Snapshot == 0 {
		return offerRef{}, errBadOfferID
	}
	return r, nil
}
