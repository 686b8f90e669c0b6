package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/api"
	"github.com/gpusupply/supply/internal/console"
	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/internal/store/storetest"
)

// TestEveryErrorIsJSON walks every route of the API (from its OpenAPI
// document) and the console's asset and docs prefixes with hostile
// variants of the path, the query, the headers, the method and the body,
// and requires every 4xx and 5xx to be application/json with a message: a
// non-empty detail, or a 422 list whose every msg is non-empty.
func TestEveryErrorIsJSON(t *testing.T) {
	// The console's sessions live in a store of their own here: what is
	// walked is how errors are answered, not who is signed in.
	sessions := console.NewSessions(storetest.Open(t, store.EngineSQLite), time.Hour, nil)
	a, key, base := api.NewTestServer(t, func(c *api.Config) { c.Sessions = sessions })
	console.Register(console.Config{API: a, Sessions: sessions})
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	type request struct {
		method, path, body string
		header             http.Header
	}
	var requests []request
	add := func(method, path, body string, header ...string) {
		h := http.Header{"Authorization": {"Bearer " + key}, "Content-Type": {"application/json"}}
		for i := 0; i+1 < len(header); i += 2 {
			if header[i+1] == "" {
				h.Del(header[i])
			} else {
				h.Add(header[i], header[i+1])
			}
		}
		requests = append(requests, request{method, path, body, h})
	}

	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string } `json:"parameters"`
		} `json:"paths"`
	}
	res, err := client.Get(base + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(res.Body).Decode(&doc)
	res.Body.Close()
	if err != nil || len(doc.Paths) < 15 {
		t.Fatalf("%d paths in the document: %v", len(doc.Paths), err)
	}
	hostileSegments := []string{
		"..%2f..%2fetc%2fpasswd", "%2e%2e", "..", "%00", "not-a-uuid", strings.Repeat("a", 3000), "%ff%fe",
		"%252e%252e%252f", "x%0d%0aSet-Cookie:%20a=b", "11111111-1111-4111-8111-11111111111g",
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	const someID = "11111111-1111-4111-8111-111111111111"
	for path, ops := range doc.Paths {
		valid := param.ReplaceAllString(path, someID)
		for method, op := range ops {
			method = strings.ToUpper(method)
			body := ""
			if method == http.MethodPost || method == http.MethodPatch {
				body = "{}"
			}
			if strings.Contains(path, "{") {
				for _, seg := range hostileSegments {
					add(method, param.ReplaceAllString(path, seg), body)
				}
			}
			// Credentials of every wrong kind.
			for _, auth := range []string{"", "Bearer nope", "Basic Zm9vOmJhcg==", "Bearer ", "Bearer sk_supply_" + strings.Repeat("0", 40)} {
				add(method, valid, body, "Authorization", "", "Authorization", auth)
			}
			add(method, valid, body, "Authorization", "Bearer nope")
			add(method, valid, body, "Authorization", "", "Cookie", "supply_session=forged")
			add(method, valid, body, "Authorization", "", "Cookie", "supply_session=forged", "X-CSRF-Token", "x")
			// The query: every documented parameter, and one that is not.
			for _, p := range op.Parameters {
				switch p.In {
				case "query":
					for _, v := range []string{"", "-1", "abc", "%00", "1e400", "99999999999999999999", strings.Repeat("9", 3000), "1&" + p.Name + "=2"} {
						add(method, valid+"?"+p.Name+"="+v, body)
					}
				case "header":
					for _, v := range []string{"x", "-1", "1e3", "99999999999999999999", strings.Repeat("z", 3000)} {
						add(method, valid, body, p.Name, v)
					}
				}
			}
			add(method, valid+"?zzz=1&%zz=1", body)
			for _, h := range [][2]string{
				{"Last-Event-ID", "x"}, {"Last-Event-ID", "-5"}, {"If-None-Match", `W/"` + strings.Repeat("e", 3000)},
				{"Accept", "application/xml"}, {"Accept", "text/event-stream"}, {"Accept", "*/*;q=x"},
				{"Accept-Encoding", "gzip;q=x, br"}, {"Content-Type", ";;;"}, {"Content-Type", "text/plain"},
			} {
				add(method, valid, body, h[0], h[1])
			}
			for _, b := range []string{"{", "null", "[]", `"s"`, `{"a":1}`, "\x00", "compute: [", strings.Repeat("[", 100)} {
				add(method, valid, b)
			}
			for _, m := range []string{http.MethodPut, "BREW", http.MethodTrace} {
				add(m, valid, "")
			}
		}
	}
	for _, prefix := range []string{"/assets/", "/docs/"} {
		for _, seg := range append(hostileSegments, "nonexistent.js", "%2e%2e%2fapi.go", "docsui%2fLICENSE", "x%00y", "a%2fb", "") {
			add(http.MethodGet, prefix+seg, "")
			add(http.MethodPost, prefix+seg, "{}")
		}
	}
	for _, p := range []string{"/nope", "/%ff", "/x%00", "/resources/%2e%2e/", "/offers//status", "/" + strings.Repeat("x", 10_000)} {
		add(http.MethodGet, p, "")
	}

	failures := map[string]bool{}
	for _, rq := range requests {
		req, err := http.NewRequest(rq.method, base+rq.path, strings.NewReader(rq.body))
		if err != nil {
			t.Fatalf("%s %s: %v", rq.method, rq.path, err)
		}
		req.Header = rq.header
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", rq.method, rq.path, err)
		}
		if res.StatusCode < 400 {
			res.Body.Close() // event streams never end by themselves
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		if msg := errorMessage(res.Header.Get("Content-Type"), b); msg != "" {
			path := rq.path
			if len(path) > 80 {
				path = path[:80] + "…"
			}
			failures[fmt.Sprintf("%s %s %v: %d %s: %s", rq.method, path, headerDiff(rq.header, key), res.StatusCode, msg, truncate(string(b), 120))] = true
		}
	}
	t.Logf("%d requests", len(requests))
	lines := make([]string, 0, len(failures))
	for f := range failures {
		lines = append(lines, f)
	}
	sort.Strings(lines)
	for _, l := range lines {
		t.Error(l)
	}
}

// errorMessage says what is wrong with an error answer, or "" when it is
// JSON with a message.
func errorMessage(contentType string, body []byte) string {
	if !strings.HasPrefix(contentType, "application/json") {
		return "Content-Type " + contentType
	}
	var res struct{ Detail any }
	if err := json.Unmarshal(body, &res); err != nil {
		return "not JSON"
	}
	switch d := res.Detail.(type) {
	case string:
		if d != "" {
			return ""
		}
	case []any:
		for _, e := range d {
			if m, _ := e.(map[string]any); m == nil || m["msg"] == "" || m["msg"] == nil {
				return "an error without a msg"
			}
		}
		if len(d) > 0 {
			return ""
		}
	}
	return "no detail"
}

// headerDiff is what a request sent besides the valid key and JSON.
func headerDiff(h http.Header, key string) []string {
	var out []string
	for k, vs := range h {
		for _, v := range vs {
			if k == "Authorization" && v == "Bearer "+key || k == "Content-Type" && v == "application/json" {
				continue
			}
			out = append(out, k+": "+truncate(v, 40))
		}
	}
	sort.Strings(out)
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
