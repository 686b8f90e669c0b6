package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
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
		body, id, ok := readMessages(w, r)
		if !ok {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.Header.Set(peerHeader, r.RemoteAddr)
		// Whatever fails here (the key lost its role meanwhile) leaves
		// the read-only tools: the least the key may have.
		canWrite, _ := b.CanWrite(r.Context(), r.Header)
		rw := &rpcErrors{ResponseWriter: w, id: id}
		h.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), canWriteKey{}, canWrite)))
		rw.finish()
	})
}

// rpcErrors turns the transport's plain-text refusals (a method it does
// not handle, a header it wants) into JSON-RPC errors, which every MCP
// client reads.
type rpcErrors struct {
	http.ResponseWriter
	id     jsonrpc.ID // of the request, when there is one
	status int        // of a refusal being replaced; 0: none
	text   bytes.Buffer
}

func (w *rpcErrors) WriteHeader(status int) {
	if status >= 400 && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		w.status = status
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *rpcErrors) Write(b []byte) (int, error) {
	if w.status != 0 {
		return w.text.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes on the flushes of an event stream.
func (w *rpcErrors) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok && w.status == 0 {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the writer underneath.
func (w *rpcErrors) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *rpcErrors) finish() {
	if w.status == 0 {
		return
	}
	code := int64(jsonrpc.CodeInvalidRequest)
	if w.status >= 500 {
		code = jsonrpc.CodeInternalError
	}
	w.Header().Del("X-Content-Type-Options")
	rpcError(w.ResponseWriter, w.status, w.id, code, strings.TrimSpace(w.text.String()))
}

// readMessages reads the body of r, one JSON-RPC message or a batch of
// them, and answers a JSON-RPC error for anything else: a parse error
// for what is not JSON, an invalid request for JSON that is not a
// message, so that a client always reads why, in the protocol's terms.
// id is the request's, when the body is one request.
func readMessages(w http.ResponseWriter, r *http.Request) (body []byte, id jsonrpc.ID, ok bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	switch {
	case err != nil || len(body) > maxBody:
		rpcError(w, http.StatusRequestEntityTooLarge, id, jsonrpc.CodeInvalidRequest, "the message is larger than 1 MiB, or could not be read")
		return nil, id, false
	case !json.Valid(body):
		rpcError(w, http.StatusBadRequest, id, jsonrpc.CodeParseError, "parse error: the body is not JSON")
		return nil, id, false
	}
	msgs := []json.RawMessage{body}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		if json.Unmarshal(body, &msgs) != nil || len(msgs) == 0 {
			rpcError(w, http.StatusBadRequest, id, jsonrpc.CodeInvalidRequest, "invalid request: an empty batch")
			return nil, id, false
		}
	}
	for _, m := range msgs {
		msg, err := jsonrpc.DecodeMessage(m)
		if err != nil {
			rpcError(w, http.StatusBadRequest, id, jsonrpc.CodeInvalidRequest, "invalid request: not a JSON-RPC 2.0 message: "+err.Error())
			return nil, id, false
		}
		if req, isReq := msg.(*jsonrpc.Request); isReq && len(msgs) == 1 {
			id = req.ID
		}
	}
	return body, id, true
}

// rpcError answers a JSON-RPC error to the request id (null: none could
// be read).
func rpcError(w http.ResponseWriter, status int, id jsonrpc.ID, code int64, message string) {
	b, _ := json.Marshal(struct {
		JSONRPC string         `json:"jsonrpc"`
		ID      any            `json:"id"`
		Error   *jsonrpc.Error `json:"error"`
	}{"2.0", id.Raw(), &jsonrpc.Error{Code: code, Message: message}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
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
