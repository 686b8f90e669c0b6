package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gpusupply/supply/internal/contentcoding"
)

// taggedOutput is an answer the handler encoded itself (see encodeTagged),
// written with an ETag so that a poller can ask "has it changed?" and get a
// bodyless 304 when it has not.
type taggedOutput struct {
	Body func(huma.Context)
}

// tagged is the answer that writes v with its ETag.
func (a *API) tagged(v any) *taggedOutput {
	return &taggedOutput{Body: func(ctx huma.Context) { a.encodeTagged(ctx, v) }}
}

// documentAnswer documents op's 200 answer as huma would for a Body of
// type T, since a body written by the handler gets no schema from huma.
func documentAnswer[T any](a *API, op *huma.Operation) {
	op.Responses["200"] = &huma.Response{
		Description: "OK",
		Content: map[string]*huma.MediaType{
			"application/json": {Schema: a.huma.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[T](), true, "")},
		},
	}
}

// encodeTagged writes v as huma's JSON format would (an Encoder without
// HTML escaping, so with a trailing newline), byte for byte, with its ETag
// (see writeAnswer).
func (a *API) encodeTagged(ctx huma.Context, v any) {
	buf := answerBuffers.Get().(*[]byte)
	defer recycleAnswer(buf)
	body, err := appendJSON((*buf)[:0], v)
	*buf = body
	if err != nil {
		huma.WriteErr(a.huma, ctx, http.StatusInternalServerError, "error marshaling response", err)
		return
	}
	a.writeAnswer(ctx, body, etag(body))
}

// appendJSON appends v's encoding as huma's JSON format writes it.
func appendJSON(dst []byte, v any) ([]byte, error) {
	b := bytes.NewBuffer(dst)
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return b.Bytes(), err
}

// codedTag is the ETag of an answer tagged tag (by etag) sent in coding:
// tag itself for the plain JSON, W/"<opaque>-gzip" or -zstd for the
// compressed bodies, which are other representations (RFC 9110 section
// 8.8.3.3).
func codedTag(tag string, coding contentcoding.Coding) string {
	if coding == contentcoding.Identity {
		return tag
	}
	return strings.TrimSuffix(tag, `"`) + "-" + coding.Name() + `"`
}

// maxEncoded bounds each cache of encoded answers (API.statuses,
// API.summaryHeads), as provision bounds its caches.
const maxEncoded = 50_000

// encodedAnswer is an answer encoded once, with its ETag; its bytes are
// never changed, so any number of responses may write them at once.
type encodedAnswer struct {
	body []byte
	tag  string
}

// etag is the weak entity tag of an answer: 128 bits of its SHA-256, the
// same on every replica for the same bytes.
func etag(body []byte) string {
	sum := sha256.Sum256(body)
	return `W/"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

// etagMatches reports whether an If-None-Match header names tag, by weak
// comparison (RFC 9110 section 13.1.2): "*", or any listed tag with the
// same opaque part, W/ or not.
func etagMatches(header, tag string) bool {
	opaque := strings.TrimPrefix(tag, "W/")
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == opaque {
			return true
		}
	}
	return false
}
