package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gpusupply/supply/supplyapi"
)

// The body decoders are fuzzed with amplification in mind: seeds put
// strings, lists and maps behind aliases, nest them, and repeat them, and
// every target checks that what comes out is bounded by the budget.

// amplificationSeeds are YAML documents that expand far beyond their size.
var amplificationSeeds = []string{
	"a: &a [\"lol\",\"lol\"]\nb: &b [*a,*a,*a]\nc: &c [*b,*b,*b]\nd: [*c,*c,*c]\n",
	"s: &s " + strings.Repeat("x", 2000) + "\nl: [*s, *s, *s, *s, *s, *s, *s, *s]\n",
	"m: &m {k: &k [v, v, {x: *k}]}\nn: {a: *m, b: *m, c: [*m, *m]}\n",
	"compute: &c {gpu_type: H100}\nx: [*c, *c, *c]\n",
	"k: &k key\n*k : 1\n",
	"a: &a\n  b: &b\n    c: &c [1, 2]\n  d: *c\ne: [*a, *b, *c]\n",
	strings.Repeat("[", 70) + strings.Repeat("]", 70),
	"compute: {gpu_type: H100, gpu_count: 010}\n---\nregion: EU\n",
	"compute: !!python/object:os.system {}\n",
	"compute: {gpu_type: H100}\n<<: {a: 1}\n",
}

// maxTreeJSON bounds the JSON of any tree a body may decode to: every byte
// of text may need six to escape, every value some punctuation.
const maxTreeJSON = 6*maxExpandedBytes + 16*maxValues

func FuzzYAMLToJSON(f *testing.F) {
	for _, seed := range append(amplificationSeeds,
		"compute:\n  gpu_type: H100\n  gpu_count: 2\n",
		"d: 2024-01-01\n",
		"? [a]\n: b\n",
		`{"a": [1, 2.5e10, null]}`,
		"n: 0x7FFFFFFFFFFFFFFFFF\n",
		"n: 123456789012345678901234567890\nf: 1e400\ng: .5\n",
	) {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := yamlToJSON(data)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("output %q of %q is not valid JSON", out, data)
		}
		if len(out) > maxTreeJSON {
			t.Fatalf("%d bytes of YAML became %d bytes of JSON", len(data), len(out))
		}
	})
}

func FuzzJSONBody(f *testing.F) {
	for _, seed := range []string{
		`{"compute":{"gpu_type":"H100","gpu_count":2},"limit":5}`,
		`{"a":1,"a":2}`,
		`{"a":{"b":[1,{"b":1,"b":2}]}}`,
		`[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]`,
		`{"n":9223372036854775808,"f":1e400,"g":-0.0}`,
		`{"s":"\u0000\u001b\u202e"}`,
		`{} {}`,
		` `,
		`{"a":1,}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := decodeJSON(data)
		var je *jsonError
		switch {
		case errors.Is(err, jsonSyntax):
			if json.Valid(data) {
				t.Fatalf("valid JSON %q reported as a syntax error", data)
			}
			return
		case errors.As(err, &je):
			// Over budget, too deep or a duplicate key: refused before
			// the rest, which may or may not be valid, was read.
			return
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		}
		if !json.Valid(data) {
			t.Fatalf("invalid JSON %q decoded to %v", data, tree)
		}
		out, err := json.Marshal(tree)
		if err != nil || len(out) > maxTreeJSON {
			t.Fatalf("tree of %q: %d bytes, %v", data, len(out), err)
		}
		// Without duplicate keys, the tree is what encoding/json reads.
		var want any
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.UseNumber()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("encoding/json cannot read %q: %v", data, err)
		}
		w, _ := json.Marshal(want)
		if string(w) != string(out) {
			t.Fatalf("%q decoded to %s, encoding/json reads %s", data, out, w)
		}
	})
}

// fuzzDecoder drives one operation's decoder the way a request does and
// checks what a client would see.
func fuzzDecoder[T any](t *testing.T, d *bodyDecoder, contentType string, data []byte) {
	var into T
	err := d.decode(contentType, data, &into)
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) || (e.status != 415 && e.status != 422) {
		t.Fatalf("%q answered %v, want a 415 or 422", data, err)
	}
	out, merr := json.Marshal(e)
	if merr != nil {
		t.Fatalf("%q: the error does not marshal: %v", data, merr)
	}
	if len(out) > 4*maxBodyBytes {
		t.Fatalf("%d-byte body answered with %d bytes", len(data), len(out))
	}
	var back struct{ Detail any }
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("%q: a Go client cannot read the answer %s: %v", data, out, err)
	}
	if holdsPrivateKey(back.Detail) {
		t.Fatalf("%q: the answer echoes a private key: %s", data, out)
	}
}

func FuzzGetOffersBody(f *testing.F) {
	for _, seed := range amplificationSeeds {
		f.Add([]byte(seed), false)
	}
	for _, seed := range []string{
		"regoin: EU\ncompute: {gpu_type: H100, gpu_cnt: 4}\n",
		"compute: {GPU_Type: H100}\n",
		"compute: {gpu_type: \"-----BEGIN RSA PRIVATE KEY-----\\nMIIE\"}\n",
		"compute: {gpu_type: H100, gpu_count: 99999999999999999999999, max_price_per_gpu_hour: 1e400}\n",
	} {
		f.Add([]byte(seed), false)
	}
	f.Add([]byte(`{"compute":{"gpu_type":"H100"},"compute":{}}`), true)
	f.Add([]byte(`{"compute":{"gpu_type":["-----BEGIN OPENSSH PRIVATE KEY-----"]},"x":{"y":1e999}}`), true)
	d := newBodyDecoder[supplyapi.OfferQuery](true)
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		ct := "application/yaml"
		if asJSON {
			ct = "application/json"
		}
		fuzzDecoder[supplyapi.OfferQuery](t, d, ct, data)
	})
}

func FuzzProcureBody(f *testing.F) {
	for _, seed := range []string{
		`{"offer_id":"11111111-1111-4111-8111-111111111111","ssh_public_key":"ssh-ed25519 AAAA k","cloud_init":"#!/bin/sh\n"}`,
		`{"offer_id":"11111111-1111-4111-8111-111111111111","offer_id":"x"}`,
		`{"ssh_public_key":"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE","resource_nmae":1}`,
		`{"cloud_init":"-----BEGIN RSA PRIVATE KEY-----","cluster_name":[1,2,{"a":null}]}`,
		`{"Offer_ID":"11111111-1111-4111-8111-111111111111","resource_name":"` + strings.Repeat("n", 3000) + `"}`,
		`[` + strings.Repeat(`{"a":[`, 40) + strings.Repeat(`]}`, 40) + `]`,
	} {
		f.Add([]byte(seed))
	}
	d := newBodyDecoder[supplyapi.ProcureOfferRequest](false, "cloud_init")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzDecoder[supplyapi.ProcureOfferRequest](t, d, "application/json", data)
	})
}
