package events_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gpusupply/supply/internal/events"
)

// FuzzParseURL: any input is refused or yields an http(s) URL with a host
// and no credentials; nothing panics.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"https://example.com/hook", "http://127.0.0.1:8080/x?y=1", "http://[::1]/", "ftp://x", "http://u:p@h/", "http://h:99999/", "//h/x", "http://%zz/", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := events.ParseURL(raw)
		if err != nil {
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" || u.User != nil || strings.Contains(raw, "#") {
			t.Fatalf("accepted %q as %#v", raw, u)
		}
		if _, err := url.Parse(u.String()); err != nil {
			t.Fatalf("accepted %q, which does not re-parse: %v", raw, err)
		}
	})
}
