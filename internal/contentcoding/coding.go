// Package contentcoding chooses how an answer is compressed for a request
// (its Accept-Encoding, RFC 9110 section 12.5.3) and compresses it, keeping
// the compressed bodies of recent answers so that an answer sent many times
// over is compressed once.
package contentcoding

import (
	"strconv"
	"strings"
)

// Coding is a content coding the API answers in.
type Coding uint8

// The codings, in the order a tie of quality values prefers them, last
// first: zstd makes smaller bodies than gzip at the same speed.
const (
	Identity Coding = iota
	Gzip
	Zstd
)

// Name is the coding's token in Content-Encoding ("" for Identity, which
// is not named).
func (c Coding) Name() string {
	switch c {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return ""
}

// Negotiate picks the coding of an answer to a request whose
// Accept-Encoding header is header: the compressed coding the header gives
// the highest quality (q) above zero, named or through "*", zstd when zstd
// and gzip tie; Identity when none is acceptable, or when the header names
// identity with a higher quality than any compressed coding. A header that
// refuses everything ("*;q=0") still gets Identity: an uncompressed answer
// is what RFC 9110 recommends sending then.
func Negotiate(header string) Coding {
	if header == "" {
		return Identity
	}
	// Quality values per coding as the header gives them; -1: not named.
	var named [Zstd + 1]float64
	named[Identity], named[Gzip], named[Zstd] = -1, -1, -1
	star := -1.0
	for part := range strings.SplitSeq(header, ",") {
		token, params, _ := strings.Cut(part, ";")
		q := quality(params)
		switch strings.ToLower(strings.TrimSpace(token)) {
		case "identity":
			named[Identity] = max(named[Identity], q)
		case "gzip", "x-gzip": // x-gzip: RFC 9110 section 8.4.1.3
			named[Gzip] = max(named[Gzip], q)
		case "zstd":
			named[Zstd] = max(named[Zstd], q)
		case "*":
			star = max(star, q)
		}
	}
	best, bestQ := Identity, 0.0
	for _, c := range []Coding{Zstd, Gzip} {
		q := named[c]
		if q < 0 {
			q = star
		}
		if q > bestQ {
			best, bestQ = c, q
		}
	}
	// Identity is acceptable unless refused, but only a client that names
	// it prefers it: one that names only gzip means gzip.
	if best != Identity && named[Identity] > bestQ {
		return Identity
	}
	return best
}

// quality is the q parameter among an Accept-Encoding element's
// parameters (1 when there is none); a malformed or out-of-range one is 0,
// which refuses the coding rather than guess.
func quality(params string) float64 {
	for param := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(param, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}
