package standin

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// Stream writes a JSON answer that is mostly one long array or object (a
// listing) a piece at a time. The bytes are what json.NewEncoder(w).Encode
// writes for the whole value, trailing newline included, but only one
// element is ever held as JSON: a scaled sandbox's listing runs to tens of
// megabytes, encoded in the same process as the server reading it. An
// answer is its head (`{"offers":[`), its elements or members, in the
// order encoding/json writes them (a map's by key), and its tail (`]}`).
type Stream struct {
	w   io.Writer
	buf bytes.Buffer
	enc *json.Encoder
	// more says an element or member came before: the next needs a comma.
	more bool
	err  error
}

// streamChunk is how much a Stream gathers before it writes.
const streamChunk = 32 << 10

// NewStream starts an answer of status, as JSON, with head.
func NewStream(w http.ResponseWriter, status int, head string) *Stream {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	s := &Stream{w: w}
	s.enc = json.NewEncoder(&s.buf)
	s.buf.WriteString(head)
	return s
}

// Element adds v to the array. Pass the element's address: encoding/json
// encodes a slice's elements as addressable values.
func (s *Stream) Element(v any) {
	s.separate()
	s.value(v)
	s.flush(streamChunk)
}

// Member adds key and v to the object. Pass v itself: encoding/json
// encodes a map's values as values.
func (s *Stream) Member(key string, v any) {
	s.separate()
	s.value(key)
	s.buf.WriteByte(':')
	s.value(v)
	s.flush(streamChunk)
}

// End writes tail and the newline, and reports the first error met
// (a value encoding/json cannot encode, or a client gone).
func (s *Stream) End(tail string) error {
	s.buf.WriteString(tail)
	s.buf.WriteByte('\n')
	s.flush(0)
	return s.err
}

func (s *Stream) separate() {
	if s.more {
		s.buf.WriteByte(',')
	}
	s.more = true
}

// value appends v's JSON, as encoding/json writes it inside a larger value.
func (s *Stream) value(v any) {
	if s.err != nil {
		return
	}
	if s.err = s.enc.Encode(v); s.err == nil {
		s.buf.Truncate(s.buf.Len() - 1) // Encode's newline
	}
}

// flush writes what is gathered once it is at least least bytes.
func (s *Stream) flush(least int) {
	if s.err != nil || s.buf.Len() < least {
		return
	}
	_, s.err = s.w.Write(s.buf.Bytes())
	s.buf.Reset()
}
