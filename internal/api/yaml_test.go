package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// yamlToJSON is the converter as clients see it: YAML in, JSON out.
func yamlToJSON(data []byte) ([]byte, error) {
	v, err := decodeYAML(data)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func TestYAMLToJSON(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"mapping", "a: 1\nb: [x, 2.5, true, null]\n", `{"a":1,"b":["x",2.5,true,null]}`},
		{"timestamp stays a string", "d: 2024-01-01\nt: 2024-01-01T10:00:00Z\n", `{"d":"2024-01-01","t":"2024-01-01T10:00:00Z"}`},
		{"yes stays a string", "a: yes\nb: on\nc: n\n", `{"a":"yes","b":"on","c":"n"}`},
		{"non-string keys", "1: one\ntrue: t\n2.5: f\nnull: z\n", `{"1":"one","2.5":"f","null":"z","true":"t"}`},
		{"big int", "n: 123456789012345678901234567890\n", `{"n":123456789012345678901234567890}`},
		{"integers are decimal, as in JSON", "a: 0x1F\nb: 1_000\nc: 010\nd: 0o7\ne: +5\nf: -0\n", `{"a":"0x1F","b":"1_000","c":"010","d":"0o7","e":5,"f":-0}`},
		{"floats", "a: 2.5\nb: .5\nc: 1_0.5\nd: 5.\n", `{"a":2.5,"b":0.5,"c":"1_0.5","d":5}`},
		{"exponent", "e: 1e3\nf: 1e400\n", `{"e":1e3,"f":1e400}`},
		{"infinity stays a string", "i: .inf\nn: .nan\n", `{"i":".inf","n":".nan"}`},
		{"quoted numbers stay strings", "a: \"1\"\n", `{"a":"1"}`},
		{"aliases expand", "a: &x {k: v}\nb: *x\n", `{"a":{"k":"v"},"b":{"k":"v"}}`},
		{"JSON is YAML", `{"compute": {"gpu_type": "H100"}}`, `{"compute":{"gpu_type":"H100"}}`},
		{"empty", "", `null`},
		{"scalar document", "hello", `"hello"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := yamlToJSON([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestYAMLToJSONRejects(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"duplicate key", "a: 1\nb: 2\na: 3\n", `line 3: duplicate key "a"`},
		{"duplicate after stringifying", "1: a\n\"1\": b\n", `duplicate key "1"`},
		{"merge key", "base: &b {x: 1}\nchild:\n  <<: *b\n", "merge keys (<<) are not supported"},
		{"complex key", "? [a, b]\n: c\n", "mapping keys must be scalars"},
		{"syntax", "a: [1, 2\n", "did not find expected"},
		{"deep nesting", strings.Repeat("[", 100) + strings.Repeat("]", 100), "nested more than 64 levels deep"},
		{"standard tag", "b: !!binary aGVsbG8=\n", "tags (!!binary) are not supported"},
		{"python tag", "a: !!python/object:os.system {}\n", "tags (!!python/object:os.system) are not supported"},
		{"local tag", "a: !foo bar\n", "tags (!foo) are not supported"},
		{"tagged key", "!!str a: 1\n", "tags (!!str) are not supported"},
		{"second document", "a: 1\n---\nb: 2\n", "line 2: a body is one YAML document"},
		{"empty second document", "a: 1\n---\n", "a body is one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := yamlToJSON([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestYAMLAliasBomb(t *testing.T) {
	bomb := `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`
	start := time.Now()
	_, err := yamlToJSON([]byte(bomb))
	if err == nil || !strings.Contains(err.Error(), "expands to more than 10000 values") {
		t.Fatalf("alias bomb: error %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("alias bomb took %v to reject", d)
	}
}
