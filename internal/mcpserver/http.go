package mcpserver

import (
	"context"
	"io"
	"net/http"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// peerHeader carries, from the /mcp request to the API requests its tools
// make in-process, the address the /mcp request came from, so that those
// requests count against the same client address as any other. Handler
// always overwrites it, so a client cannot choose it.
const peerHeader = "Supply-Mcp-Peer"

// maxBody bounds one JSON-RPC message, as the API bounds a request body.
const maxBody = 1 << 20

type canWriteKey struct{}

// Handler serves the streamable HTTP transport (stateless: each POST is
// a session of its own, authenticated by its own Bearer key) with tools
// that call api, the API's own handler, in-process: every API call a tool
// makes passes the same authentication, role check, rate limit, request
// log and audit as a request from outside. version is reported to clients
// as the server's.
func Handler(api http.Handler, version string) http.Handler {
	b := Backend{URL: "http://supply.internal", Transport: handlerTransport{h: api}, Version: version}
	full, readOnly := New(b, true), New(b, false)
	h := mcp.NewStreamableHTTPHandler(func(r *http.Request) *mcp.Server {
		if w, _ := r.Context().Value(canWriteKey{}).(bool); w {
			return full
		}
		return readOnly
	}, &mcp.StreamableHTTPOptions{Stateless: true, MaxRequestBodyBytes: maxBody,
		// The API's address is not only loopback's; the Bearer key is
		// what protects it, as every other route.
		DisableLocalhostProtection: true})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set(peerHeader, r.RemoteAddr)
		// Whatever fails here (the key lost its role meanwhile) leaves
		// the read-only tools: the least the key may have.
		canWrite, _ := b.CanWrite(r.Context(), r.Header)
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), canWriteKey{}, canWrite)))
	})
}

// handlerTransport answers requests with an http.Handler in this
// process, streaming its answer as it is written (event streams
// included).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.RemoteAddr = r.Header.Get(peerHeader)
	if r.RemoteAddr == "" {
		r.RemoteAddr = "127.0.0.1:0"
	}
	r.Header.Del(peerHeader)
	r.RequestURI = r.URL.RequestURI()
	if r.Body == nil {
		r.Body = http.NoBody
	}
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, body: pw, started: make(chan struct{})}
	go func() {
		defer func() {
			w.WriteHeader(http.StatusOK)
			pw.Close()
		}()
		t.h.ServeHTTP(w, r)
	}()
	select {
	case <-w.started:
	case <-r.Context().Done():
		pr.CloseWithError(r.Context().Err())
		return nil, r.Context().Err()
	}
	return &http.Response{Status: http.StatusText(w.status), StatusCode: w.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.snapshot, Body: pr, ContentLength: -1, Request: r}, nil
}

// pipeWriter is the http.ResponseWriter of handlerTransport: the status
// and headers once written, and the body through a pipe.
type pipeWriter struct {
	header   http.Header
	snapshot http.Header
	status   int
	body     *io.PipeWriter
	once     sync.Once
	started  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(status int) {
	w.once.Do(func() {
		w.status, w.snapshot = status, w.header.Clone()
		close(w.started)
	})
}

func (w *pipeWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// Flush has nothing to do (every Write reaches the reader at once), but
// says that the writer streams.
func (w *pipeWriter) Flush() {}
