package vastai

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// compactOnstart fits a start-up script into Vast's onstart field, which
// holds at most 4048 characters. A longer script is gzipped and base64
// encoded into a short shell line that unpacks it to a file and runs it
// with bash, so the renter's script sees the same file-based run either
// way. A script that does not fit even then is refused.
func compactOnstart(script string) (string, error) {
	if len(script) <= maxOnstart {
		return script, nil
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", fmt.Errorf("compress start-up script: %w", err)
	}
	if _, err := zw.Write([]byte(script)); err != nil {
		return "", fmt.Errorf("compress start-up script: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("compress start-up script: %w", err)
	}
	packed := selfExtracting(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if len(packed) > maxOnstart {
		return "", fmt.Errorf("start-up script is %d bytes and %d compressed; Vast.ai's onstart holds at most %d",
			len(script), len(packed), maxOnstart)
	}
	return packed, nil
}

// selfExtracting is the shell line that unpacks a gzip+base64 script and
// runs it. The payload is base64, so it needs no quoting beyond the
// single quotes.
func selfExtracting(payload string) string {
	return selfExtractingPrefix + payload + `' | base64 -d | gunzip > "$f" && exec bash "$f"` + "\n"
}

// selfExtractingPrefix is how selfExtracting begins, up to the payload.
const selfExtractingPrefix = `f=$(mktemp /tmp/supply-onstart.XXXXXX) && printf '%s' '`

// expandOnstart is the start-up script an onstart runs: the script
// compactOnstart packed, unpacked, or the onstart as it is.
func expandOnstart(onstart string) string {
	payload, ok := strings.CutPrefix(onstart, selfExtractingPrefix)
	if !ok {
		return onstart
	}
	payload, _, _ = strings.Cut(payload, "'")
	packed, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return onstart
	}
	zr, err := gzip.NewReader(bytes.NewReader(packed))
	if err != nil {
		return onstart
	}
	script, err := io.ReadAll(zr)
	if err != nil {
		return onstart
	}
	return string(script)
}
