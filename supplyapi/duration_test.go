package supplyapi_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/gpusupply/supply/supplyapi"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		`"4h"`:       4 * time.Hour,
		`"90m"`:      90 * time.Minute,
		`"1h30m"`:    90 * time.Minute,
		`" 2h "`:     2 * time.Hour,
		`"1.5h"`:     90 * time.Minute,
		`5`:          5 * time.Second,
		`0.25`:       250 * time.Millisecond,
		`"3600"`:     time.Hour,
		`1e3`:        1000 * time.Second,
		`"500ms"`:    500 * time.Millisecond,
		`"2562047h"`: 2562047 * time.Hour,
	}
	for in, want := range good {
		if got, err := supplyapi.ParseDuration([]byte(in)); err != nil || got != want {
			t.Errorf("ParseDuration(%s) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{`""`, `"soon"`, `"4 h"`, `"-1h"`, `"0"`, `0`, `-5`, `-0.5`, `"4d"`, `true`, `null`, `[]`, `{}`,
		`"9999999999h"`, `1e300`, `"Inf"`, `"NaN"`, `"0x10"`, `"1_000"`, ``, `"`, `1 2`, `"+5"`, `1e-10`, ` 5`} {
		if got, err := supplyapi.ParseDuration([]byte(in)); err == nil {
			t.Errorf("ParseDuration(%s) = %v, want an error", in, got)
		}
	}
}

// FuzzParseDuration feeds the parser any bytes: it never panics, and what
// it accepts is positive and is what the string or the seconds say.
func FuzzParseDuration(f *testing.F) {
	for _, seed := range []string{`"4h"`, `"90m"`, `5`, `0.5`, `"3600"`, `-1`, `"soon"`, `1e400`, `"9223372036s"`, `"1h1m1s1ms1us1ns"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		d, err := supplyapi.ParseDuration(raw)
		if err != nil {
			return
		}
		if d <= 0 {
			t.Fatalf("ParseDuration(%q) = %v: accepted a duration that is not positive", raw, d)
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			if want, err := time.ParseDuration(s); err == nil && want != d {
				t.Fatalf("ParseDuration(%q) = %v, time.ParseDuration says %v", raw, d, want)
			}
			return
		}
		var secs float64
		if err := json.Unmarshal(raw, &secs); err != nil {
			t.Fatalf("ParseDuration(%q) = %v accepted neither a string nor a number", raw, d)
		}
		if math.Abs(float64(d)-secs*1e9) > math.Max(1, secs*1e9*1e-12) {
			t.Fatalf("ParseDuration(%q) = %v, want %v seconds", raw, d, secs)
		}
	})
}
