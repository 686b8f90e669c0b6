package offers

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestOfferIDRoundTrip(t *testing.T) {
	c, err := newOfferCodec([]byte("0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	in := offerRef{Account: 42, Created: time.Unix(1_800_000_000, 0).UTC(), Snapshot: 7, Item: maxItem}
	id, err := c.encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.decode(id)
	if err != nil || out != in {
		t.Fatalf("decode(encode(%+v)) = %+v, %v", in, out, err)
	}
	other, _ := newOfferCodec([]byte("fedcba9876543210"))
	if r, err := other.decode(id); err == nil && r == in {
		t.Error("another key decoded the id")
	}
	for _, bad := range []offerRef{{Account: -1, Snapshot: 1}, {Account: 1 << 32, Snapshot: 1}, {Account: 1, Snapshot: 1, Item: maxItem + 1}} {
		if _, err := c.encode(bad); err == nil {
			t.Errorf("encode(%+v) accepted", bad)
		}
	}
	// Flipping any bit yields an id that does not decode to the same offer.
	for bit := range 128 {
		tampered := id
		tampered[bit/8] ^= 1 << (bit % 8)
		if r, err := c.decode(tampered); err == nil && r == in {
			t.Fatalf("bit %d flipped, same offer", bit)
		}
	}
}

// FuzzOfferID: any 16 bytes a client sends decode without panicking, and
// what decodes encodes back to the same id.
func FuzzOfferID(f *testing.F) {
	c, _ := newOfferCodec([]byte("0123456789abcdef"))
	id, _ := c.encode(offerRef{Account: 1, Created: time.Unix(1e9, 0), Snapshot: 1, Item: 3})
	f.Add(id[:])
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != 16 {
			return
		}
		r, err := c.decode(uuid.UUID(b))
		if err != nil {
			return
		}
		back, err := c.encode(r)
		if err != nil || back != uuid.UUID(b) {
			t.Fatalf("decoded %+v does not encode back: %v", r, err)
		}
	})
}
