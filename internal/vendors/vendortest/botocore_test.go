package vendortest

import (
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// protocolSuite is one group of botocore's protocol test cases: a model
// of its own (metadata and shapes) and cases of one operation.
type protocolSuite struct {
	Description string                    `json:"description"`
	Metadata    json.RawMessage           `json:"metadata"`
	Shapes      map[string]*BotocoreShape `json:"shapes"`
	Cases       []struct {
		ID    string `json:"id"`
		Given struct {
			Name   string        `json:"name"`
			Input  *BotocoreRef  `json:"input"`
			Output *BotocoreRef  `json:"output"`
			Errors []BotocoreRef `json:"errors"`
		} `json:"given"`
		Serialized struct {
			Body    string            `json:"body"`
			Headers map[string]string `json:"headers"`
		} `json:"serialized"`
		Response struct {
			StatusCode int    `json:"status_code"`
			Body       string `json:"body"`
		} `json:"response"`
	} `json:"cases"`
}

func loadSuites(t *testing.T, relPath string) []protocolSuite {
	t.Helper()
	b, err := os.ReadFile(SpecPath(t, relPath))
	if err != nil {
		t.Fatal(err)
	}
	var suites []protocolSuite
	if err := json.Unmarshal(b, &suites); err != nil {
		t.Fatal(err)
	}
	return suites
}

// model is the suite's own model, with the case's operation.
func (s protocolSuite) model(t *testing.T, name string, input, output *BotocoreRef) *Botocore {
	m := &Botocore{Shapes: s.Shapes, Operations: map[string]BotocoreOperation{name: {Name: name, Input: input, Output: output}}}
	if err := json.Unmarshal(s.Metadata, &m.Metadata); err != nil {
		t.Fatal(err)
	}
	return m
}

// renameFirst renames the first member key of a Query body ("Foo.1.Bar"
// becomes "FooRenamed.1.Bar"), or returns "" when it has none.
func renameFirst(body string) string {
	parts := strings.Split(body, "&")
	for i, p := range parts {
		if !strings.HasPrefix(p, "Action=") && !strings.HasPrefix(p, "Version=") {
			key, rest, _ := strings.Cut(p, "=")
			first, tail, _ := strings.Cut(key, ".")
			parts[i] = first + "Renamed"
			if tail != "" {
				parts[i] += "." + tail
			}
			parts[i] += "=" + rest
			return strings.Join(parts, "&")
		}
	}
	return ""
}

// TestQueryRequestChecker runs botocore's ec2 protocol input cases
// (Smithy's ec2Query compliance suite) through CheckQueryRequest: every
// request the suite says an SDK must send is accepted, and the same
// request with a member renamed is not.
func TestQueryRequestChecker(t *testing.T) {
	cases, renamed := 0, 0
	for _, suite := range loadSuites(t, "aws/recorded/botocore/protocols/input/ec2.json") {
		for _, c := range suite.Cases {
			m := suite.model(t, c.Given.Name, c.Given.Input, c.Given.Output)
			if enc := c.Serialized.Headers["Content-Encoding"]; enc != "" {
				t.Logf("%s: body sent %s-encoded: the SDK compresses what the checker reads, skipped", c.ID, enc)
				continue
			}
			form, err := url.ParseQuery(c.Serialized.Body)
			if err != nil {
				t.Errorf("%s: body %q: %v", c.ID, c.Serialized.Body, err)
				continue
			}
			cases++
			if p := m.CheckQueryRequest(form); len(p) > 0 {
				t.Errorf("%s: a compliant request refused: %v\n%s", c.ID, p, c.Serialized.Body)
			}
			if bad := renameFirst(c.Serialized.Body); bad != "" {
				renamed++
				form, _ := url.ParseQuery(bad)
				if p := m.CheckQueryRequest(form); len(p) == 0 {
					t.Errorf("%s: a renamed member passed: %s", c.ID, bad)
				}
			}
		}
	}
	if cases < 25 || renamed < 15 {
		t.Errorf("checked %d cases, %d renamed: want the suite's 29 or so", cases, renamed)
	}
}

// firstElement matches the first element under an answer's root.
var firstElement = regexp.MustCompile(`(<[A-Za-z]+Response[^>]*>\s*<)([A-Za-z]+)(>|\s|/)`)

// TestXMLResponseChecker runs botocore's ec2 protocol output cases
// through CheckXMLResponse: every answer the suite says an SDK must read
// is accepted (errors too), and the same answer with its first element
// renamed is not.
func TestXMLResponseChecker(t *testing.T) {
	cases, renamed := 0, 0
	for _, suite := range loadSuites(t, "aws/recorded/botocore/protocols/output/ec2.json") {
		for _, c := range suite.Cases {
			m := suite.model(t, c.Given.Name, c.Given.Input, c.Given.Output)
			for _, e := range c.Given.Errors {
				m.Shapes[e.Shape].Exception = true
			}
			cases++
			body := []byte(c.Response.Body)
			if p := m.CheckXMLResponse(c.Given.Name, c.Response.StatusCode, body); len(p) > 0 {
				t.Errorf("%s: a compliant answer refused: %v\n%s", c.ID, p, body)
			}
			loc := firstElement.FindStringSubmatchIndex(c.Response.Body)
			if loc == nil || c.Response.Body[loc[4]:loc[5]] == "requestId" {
				continue
			}
			renamed++
			bad := c.Response.Body[:loc[5]] + "Renamed" + c.Response.Body[loc[5]:]
			bad = strings.Replace(bad, "</"+c.Response.Body[loc[4]:loc[5]]+">", "</"+c.Response.Body[loc[4]:loc[5]]+"Renamed>", 1)
			if p := m.CheckXMLResponse(c.Given.Name, c.Response.StatusCode, []byte(bad)); len(p) == 0 {
				t.Errorf("%s: a renamed element passed:\n%s", c.ID, bad)
			}
		}
	}
	if cases < 25 || renamed < 15 {
		t.Errorf("checked %d cases, %d renamed: want the suite's 29 or so", cases, renamed)
	}
}
