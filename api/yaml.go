package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// YAML bodies are turned into the same tree encoding/json would produce
// (map[string]any, []any, string, bool, nil, int64 or float64 numbers,
// json.Number for integers too big for int64), so that one validator and the
// json tags on the request types serve YAML and JSON alike.

const (
	// maxYAMLValues bounds how many values a document may expand to, so a
	// few bytes of nested aliases ("billion laughs") cannot become gigabytes.
	maxYAMLValues = 10_000
	// maxYAMLDepth bounds nesting, so recursion stays shallow.
	maxYAMLDepth = 64
)

// yamlError is a document that cannot become JSON, with where it went wrong.
type yamlError struct {
	line, column int // 1-based; 0 when unknown
	msg          string
}

func (e *yamlError) Error() string {
	if e.line == 0 {
		return e.msg
	}
	return fmt.Sprintf("line %d: %s", e.line, e.msg)
}

// decodeYAML parses the first YAML document of data into a JSON-shaped tree.
// It rejects duplicate keys, merge keys ("<<") and documents that expand to
// too many values; timestamps and other non-JSON scalars stay strings, and
// keys are always strings.
func decodeYAML(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, libraryError(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	c := converter{budget: maxYAMLValues}
	return c.value(doc.Content[0], 0)
}

var yamlLine = regexp.MustCompile(`^line (\d+): `)

// libraryError keeps the line a go-yaml error names, so the 422 can point at it.
func libraryError(err error) error {
	e := &yamlError{msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLine.FindStringSubmatch(e.msg); m != nil {
		e.line, _ = strconv.Atoi(m[1])
		e.msg = e.msg[len(m[0]):]
	}
	return e
}

type converter struct {
	budget int
}

func (c *converter) value(n *yaml.Node, depth int) (any, error) {
	c.budget--
	if c.budget < 0 {
		return nil, &yamlError{line: n.Line, column: n.Column, msg: "document expands to too many values (too many aliases?)"}
	}
	if depth > maxYAMLDepth {
		return nil, &yamlError{line: n.Line, column: n.Column, msg: "document is nested too deeply"}
	}
	switch n.Kind {
	case yaml.AliasNode:
		return c.value(n.Alias, depth+1)
	case yaml.MappingNode:
		return c.mapping(n, depth)
	case yaml.SequenceNode:
		items := make([]any, len(n.Content))
		for i, item := range n.Content {
			v, err := c.value(item, depth+1)
			if err != nil {
				return nil, err
			}
			items[i] = v
		}
		return items, nil
	case yaml.ScalarNode:
		return scalar(n), nil
	}
	return nil, &yamlError{line: n.Line, column: n.Column, msg: "unsupported YAML node"}
}

func (c *converter) mapping(n *yaml.Node, depth int) (any, error) {
	m := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			return nil, &yamlError{line: k.Line, column: k.Column, msg: "mapping keys must be scalars"}
		}
		if k.ShortTag() == "!!merge" {
			return nil, &yamlError{line: k.Line, column: k.Column, msg: "merge keys (<<) are not supported"}
		}
		if _, dup := m[k.Value]; dup {
			return nil, &yamlError{line: k.Line, column: k.Column, msg: fmt.Sprintf("duplicate key %q", k.Value)}
		}
		value, err := c.value(v, depth+1)
		if err != nil {
			return nil, err
		}
		m[k.Value] = value
	}
	return m, nil
}

var decimalInteger = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// scalar converts a scalar by its resolved YAML 1.2 tag. Anything JSON has
// no type for (timestamps, binary, infinities, custom tags) stays the string
// that was written, for validation to judge.
func scalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool":
		return strings.EqualFold(n.Value, "true")
	case "!!int":
		plain := strings.ReplaceAll(n.Value, "_", "")
		if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return i
		}
	case "!!float":
		plain := strings.ReplaceAll(n.Value, "_", "")
		if decimalInteger.MatchString(plain) {
			// An integer too big for int64, which go-yaml resolves as a float.
			return json.Number(plain)
		}
		f, err := strconv.ParseFloat(plain, 64)
		if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	}
	return n.Value
}

// yamlInvalid is the 422 entry for a body that is not valid YAML, shaped like
// FastAPI's json_invalid: loc ["body", <character offset>].
func yamlInvalid(body []byte, err error) ValidationError {
	pos := 0
	var ye *yamlError
	if errors.As(err, &ye) && ye.line > 0 {
		pos = offsetOf(body, ye.line, ye.column)
	}
	return ValidationError{
		Type:  "json_invalid",
		Loc:   []any{"body", pos},
		Msg:   "YAML decode error",
		Input: map[string]any{},
		Ctx:   map[string]any{"error": err.Error()},
	}
}

// offsetOf is the byte offset of a 1-based line and column in data.
func offsetOf(data []byte, line, column int) int {
	pos := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[pos:], '\n')
		if i < 0 {
			return len(data)
		}
		pos += i + 1
	}
	if column > 1 {
		pos += column - 1
	}
	return min(pos, len(data))
}
