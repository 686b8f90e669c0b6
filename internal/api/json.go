package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jsonError is a JSON body that parsed but breaks a rule of ours: a
// duplicate key, too deep, over budget. Syntax errors stay encoding/json's.
type jsonError struct {
	offset int
	msg    string
}

func (e *jsonError) Error() string { return e.msg }

// jsonSyntax marks a body encoding/json cannot parse; jsonInvalid reports
// it in encoding/json's words.
var jsonSyntax = errors.New("JSON syntax error")

// decodeJSON parses a JSON body into a tree of map[string]any, []any,
// string, bool, nil and json.Number (numbers as written, so one too big
// for its field is reported as it was sent). It reads token by token and
// charges each value to the body's budget as it goes, so a body over
// budget is refused having built no more than the budget; a duplicate key
// is refused, as in YAML, rather than the last one silently winning.
func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	c := jsonConverter{d: d, data: data, budget: newBudget()}
	v, err := c.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, jsonSyntax
	}
	return v, nil
}

type jsonConverter struct {
	d      *json.Decoder
	data   []byte
	budget *budget
}

func (c *jsonConverter) fail(err error) error {
	return &jsonError{offset: int(c.d.InputOffset()), msg: err.Error()}
}

func (c *jsonConverter) value(depth int) (any, error) {
	tok, err := c.d.Token()
	if err != nil {
		return nil, jsonSyntax
	}
	size := 0
	switch t := tok.(type) {
	case string:
		size = len(t)
	case json.Number:
		size = len(t)
	}
	if err := c.budget.take(size); err != nil {
		return nil, c.fail(err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth >= maxDepth {
		return nil, c.fail(errTooDeep)
	}
	switch delim {
	case '{':
		return c.object(depth)
	case '[':
		return c.array(depth)
	}
	return nil, jsonSyntax
}

func (c *jsonConverter) object(depth int) (any, error) {
	m := map[string]any{}
	for c.d.More() {
		start := int(c.d.InputOffset())
		tok, err := c.d.Token()
		if err != nil {
			return nil, jsonSyntax
		}
		key, ok := tok.(string)
		if !ok {
			return nil, jsonSyntax
		}
		if err := c.budget.take(len(key)); err != nil {
			return nil, c.fail(err)
		}
		if _, dup := m[key]; dup {
			return nil, &jsonError{offset: c.tokenStart(start), msg: fmt.Sprintf("duplicate key %q", key)}
		}
		v, err := c.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	if _, err := c.d.Token(); err != nil {
		return nil, jsonSyntax
	}
	return m, nil
}

func (c *jsonConverter) array(depth int) (any, error) {
	items := []any{}
	for c.d.More() {
		v, err := c.value(depth + 1)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
	if _, err := c.d.Token(); err != nil {
		return nil, jsonSyntax
	}
	return items, nil
}

// tokenStart is where the token read from offset on starts: the decoder's
// offset before a key still counts the comma and blanks in front of it.
func (c *jsonConverter) tokenStart(offset int) int {
	for offset < len(c.data) && bytes.IndexByte([]byte(" \t\r\n,"), c.data[offset]) >= 0 {
		offset++
	}
	return offset
}
