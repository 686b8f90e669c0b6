package contentcoding

import "testing"

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   Coding
	}{
		{"", Identity},
		{"gzip", Gzip},
		{"GZip", Gzip},
		{"x-gzip", Gzip},
		{"zstd", Zstd},
		{"gzip, deflate, br, zstd", Zstd}, // a browser's: equal q, zstd preferred
		{"zstd, gzip", Zstd},
		{"gzip;q=1.0, zstd;q=1", Zstd},
		{"zstd;q=0.5, gzip", Gzip},
		{"zstd;q=0.5, gzip;q=0.8", Gzip},
		{"gzip ; q=0.7 , zstd ; Q=0.9", Zstd},
		{"gzip;q=0", Identity},
		{"gzip;q=0.0, zstd;q=0", Identity},
		{"zstd;q=0, gzip", Gzip},
		{"identity", Identity},
		{"identity, gzip;q=0.5", Identity}, // named identity at a higher q
		{"identity;q=0.5, gzip", Gzip},
		{"gzip, identity", Gzip}, // a tie goes to the smaller body
		{"identity;q=0, gzip;q=0.1", Gzip},
		{"*", Zstd},
		{"*;q=0", Identity},
		{"*;q=0.5, gzip", Gzip},
		{"gzip;q=0, *", Zstd}, // gzip refused, zstd through *
		{"gzip;q=0, zstd;q=0, *", Identity},
		{"br", Identity},
		{"deflate", Identity},
		{"gzip;q=abc", Identity}, // malformed q refuses
		{"gzip;q=2", Identity},   // out of range refuses
		{"gzip;q=-1", Identity},
		{"gzip;level=5", Gzip}, // other parameters ignored
		{"gzip;level=5;q=0", Identity},
		{",,gzip,,", Gzip},
	} {
		if got := Negotiate(tc.header); got != tc.want {
			t.Errorf("Negotiate(%q) = %q, want %q", tc.header, got.Name(), tc.want.Name())
		}
	}
}
