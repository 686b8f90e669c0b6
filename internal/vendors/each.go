package vendors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Each is an out value for Client.Do that reads a listing as it arrives:
// the elements of the array in member Field of the answer's JSON object
// are decoded one at a time into one T and handed to Item, so a catalog
// read holds one element of the vendor's wire format at a time instead of
// the whole answer's bytes and all of its decoded elements at once. It
// reads what encoding/json would read into a struct whose only field is
// that array: other members are skipped, a missing or null array has no
// elements, member names match case-insensitively, and malformed JSON,
// an element of the wrong type or data after the object is an error (and
// so is the array's member twice, which no vendor sends).
type Each[T any] struct {
	// Field is the JSON name of the array's member ("offers").
	Field string
	// Start, when set, is called before an attempt decodes its answer:
	// Do may try again after a transient failure midway, and what Item
	// kept of the failed attempt must then be dropped.
	Start func()
	// Item receives each element, in order. The T is reused for the next
	// element (zeroed first), so Item must copy what it keeps out of it,
	// though strings, slices and maps it holds are its own. An error
	// stops the read and is Do's error.
	Item func(*T) error
}

// streamer is an out value Client.Do hands the answer's body to instead
// of reading it whole.
type streamer interface {
	decode(r io.Reader) error
}

func (e *Each[T]) decode(r io.Reader) error {
	if e.Start != nil {
		e.Start()
	}
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	switch {
	case err == io.EOF:
		return io.ErrUnexpectedEOF
	case err != nil:
		return err
	case tok == nil: // null: no elements, as for encoding/json
		return end(dec)
	case tok != json.Delim('{'):
		return fmt.Errorf("want an object, got %v", tok)
	}
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if !strings.EqualFold(key, e.Field) {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
			continue
		}
		if seen {
			// encoding/json would keep the last one only, after Item
			// has seen the first.
			return fmt.Errorf("member %q twice", key)
		}
		seen = true
		if err := e.elements(dec); err != nil {
			return fmt.Errorf("%s: %w", e.Field, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	return end(dec)
}

// end checks that nothing but space follows the answer's value.
func end(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the answer's value")
	}
	return nil
}

// elements reads the array (or null) at the decoder's position.
func (e *Each[T]) elements(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("want an array, got %v", tok)
	}
	var v T
	for dec.More() {
		v = *new(T)
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if err := e.Item(&v); err != nil {
			return err
		}
	}
	return expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}
	return nil
}
