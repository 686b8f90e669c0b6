// Package contentcodingtest decodes compressed answers as clients do, for
// tests that hold compressed answers to the plain ones.
package contentcodingtest

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Unpack is body decoded from the content coding named coding (a
// Content-Encoding: "gzip", "zstd", or "" for none).
func Unpack(coding string, body []byte) ([]byte, error) {
	var r io.Reader
	switch coding {
	case "":
		return body, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("zstd body: %w", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("unknown content coding %q", coding)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s body: %w", coding, err)
	}
	return plain, nil
}
