package supplyapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a length of time as a client sends it: a Go duration string
// ("4h", "90m", "1h30m") or a JSON number of seconds. It keeps the JSON
// as sent; Parse reads it, so that a bad value is refused with
// the name of its field rather than by the JSON decoder. JSON null is
// kept too: in a PATCH it means "never".
type Duration struct {
	raw json.RawMessage
}

// DurationText is s as a client would send it, for the command line,
// which passes what the user typed to the server to judge.
func DurationText(s string) *Duration {
	b, _ := json.Marshal(s)
	return &Duration{raw: b}
}

// UnmarshalJSON keeps the value as sent.
func (d *Duration) UnmarshalJSON(b []byte) error {
	d.raw = append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON writes the value as sent.
func (d Duration) MarshalJSON() ([]byte, error) {
	if len(d.raw) == 0 {
		return []byte("null"), nil
	}
	return d.raw, nil
}

// IsNull reports whether the client sent null.
func (d *Duration) IsNull() bool {
	return d == nil || len(d.raw) == 0 || bytes.Equal(bytes.TrimSpace(d.raw), []byte("null"))
}

// Input is the value as sent, for an error to echo.
func (d *Duration) Input() any {
	var v any
	if d == nil || json.Unmarshal(d.raw, &v) != nil {
		return nil
	}
	return v
}

// Parse reads the value as ParseDuration does.
func (d *Duration) Parse() (time.Duration, error) { return ParseDuration(d.raw) }

// Errors of ParseDuration.
var (
	errDurationSyntax   = errors.New(`must be a duration such as "4h", "90m" or "1h30m", or a number of seconds`)
	errDurationPositive = errors.New("must be longer than zero")
)

// ParseDuration reads a duration a client sent as one JSON value: a
// string that Go's time.ParseDuration reads (or that holds a number of
// seconds), or a number of seconds (fractions allowed, down to the
// nanosecond). It must be positive and fit a time.Duration.
func ParseDuration(raw []byte) (time.Duration, error) {
	if len(raw) == 0 {
		return 0, errDurationSyntax
	}
	var d time.Duration
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, errDurationSyntax
		}
		s = strings.TrimSpace(s)
		if isNumber(s) {
			// "3600" is seconds, as the number 3600 would be.
			return ParseDuration([]byte(s))
		}
		parsed, err := time.ParseDuration(s)
		if err != nil {
			return 0, errDurationSyntax
		}
		d = parsed
	} else {
		if !isNumber(string(raw)) {
			return 0, errDurationSyntax
		}
		secs, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
			return 0, errDurationSyntax
		}
		if secs >= float64(math.MaxInt64)/float64(time.Second) {
			return 0, fmt.Errorf("must be at most %d seconds", int64(math.MaxInt64/int64(time.Second)))
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 {
		return 0, errDurationPositive
	}
	return d, nil
}

// isNumber reports whether s is a JSON number (strconv.ParseFloat also
// takes "Inf", "0x10" and "1_000", which a client would not mean).
func isNumber(s string) bool {
	return json.Valid([]byte(s)) && s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9')
}
