package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/gpusupply/supply/internal/actor"
)

// maxHeaderBytes is how much request header the API accepts; more is a 431
// in the contract's JSON shape.
const maxHeaderBytes = 64 << 10

// NewServer is an http.Server for h with limits that keep slow or greedy
// clients from holding connections and memory. net/http answers a header
// over its own limit in plain text before any handler runs, so its limit
// is net/http's default (1 MiB) and the API's own, smaller one is checked
// in the handler, where the answer can be JSON.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    http.DefaultMaxHeaderBytes,
	}
}

// headerBytes is about what net/http counts against MaxHeaderBytes: the
// request line and every header line.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// maxClientString is how much of a string the client chose (a path, a
// method) a log line or a span repeats: 100 requests with 60 KB paths
// must not cost the log 6 MB.
const maxClientString = 256

// clientString is s, a string the client chose, cut to maxClientString
// and marked for a log line or a span.
func clientString(s string) string { return clipString(s, maxClientString) }

// methodLabel is the method as a metrics label: any token is a method to
// net/http, so the ones no route answers share one label rather than grow
// the metrics without bound.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// unmatched labels requests that no route answered, so scanners hitting
// random paths cannot grow the metrics without bound.
const unmatched = "unmatched"

// requestInfo is what inner layers learn about a request (its operation and
// account) and the outer layer logs and counts.
type requestInfo struct {
	operation string
	accountID int64
	// key is the API key the request came with (or its console session
	// was opened with).
	key actor.Actor
	// clientError is why the request could not be read (a short body,
	// bad chunking, a client that hung up): the client's doing, answered
	// 400 and logged at debug, not as a server error.
	clientError error
}

type requestInfoKey struct{}

func requestInfoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return info
}

type httpMetrics struct {
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	compressed *prometheus.CounterVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "supply_http_requests_total",
			Help: "HTTP requests answered, by operation, method and status code.",
		}, []string{"operation", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "supply_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by operation.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"operation"}),
	}
	m.compressed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "supply_http_compressed_answers_total",
		Help: "Answers sent compressed, by content coding and whether the compressed body was kept from an earlier answer of the same bytes.",
	}, []string{"encoding", "kept"})
	reg.MustRegister(m.requests, m.duration, m.compressed)
	return m
}

// serveHTTP wraps the routes with what every request gets: recovery from
// panics, one log line, and metrics.
func (a *API) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := &requestInfo{}
	ctx, span := startSpan(r)
	r = r.WithContext(context.WithValue(ctx, requestInfoKey{}, info))
	rw := &responseWriter{ResponseWriter: w, req: r}

	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			a.log.ErrorContext(r.Context(), "panic serving request",
				"method", clientString(r.Method), "path", clientString(r.URL.Path), "panic", p, "stack", string(debug.Stack()))
			if !rw.wroteHeader {
				writeDetail(rw, http.StatusInternalServerError, "Internal Server Error")
			}
		}
		a.finish(r, rw, span, info, time.Since(start))
	}()
	if n := headerBytes(r); n > maxHeaderBytes {
		writeDetail(rw, http.StatusRequestHeaderFieldsTooLarge,
			fmt.Sprintf("Request header fields too large (%d bytes; the limit is %d)", n, maxHeaderBytes))
		return
	}
	if r.ContentLength > maxBodyBytes {
		// Now, before anything reads the body: the first read would send
		// a client that asked "Expect: 100-continue" on its way.
		writeDetail(rw, http.StatusRequestEntityTooLarge, bodyTooLarge)
		return
	}
	if len(r.Header.Values("Authorization")) > 1 {
		// Which one counts is a matter of taste: a proxy that authorises
		// on the last and a server that reads the first would each see
		// another identity.
		writeDetail(rw, http.StatusBadRequest, "More than one Authorization header: send exactly one")
		return
	}
	if a.pageNotFound != nil && wantsPage(r) {
		if _, pattern := a.mux.Handler(r); pattern == "" {
			rw.page = true
			a.pageNotFound.ServeHTTP(rw, r)
			return
		}
	}
	a.mux.ServeHTTP(rw, r)
	rw.finishPlainError()
}

// wantsPage reports whether r is a browser asking for a page: a GET or
// HEAD that accepts HTML. Scripts and the API's clients ask for JSON.
func wantsPage(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// finish records the metrics, the log line and the span of a request.
func (a *API) finish(r *http.Request, rw *responseWriter, span trace.Span, info *requestInfo, elapsed time.Duration) {
	operation := info.operation
	if operation == "" {
		// Routes outside huma (/openapi.json, /docs, redirects) are named
		// by their pattern, a fixed set.
		operation = r.Pattern
		if operation == "" {
			operation = unmatched
		}
	}
	status := rw.status
	if status == 0 {
		status = http.StatusOK
	}
	a.metrics.requests.WithLabelValues(operation, methodLabel(r.Method), strconv.Itoa(status)).Inc()
	a.metrics.duration.WithLabelValues(operation).Observe(elapsed.Seconds())

	attrs := []slog.Attr{
		slog.String("method", clientString(r.Method)),
		slog.String("path", clientString(r.URL.Path)),
		slog.String("operation", operation),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.Int64("bytes", rw.bytes),
	}
	if info.accountID != 0 {
		attrs = append(attrs, slog.Int64("account_id", info.accountID), info.key.LogAttr())
	}
	level := slog.LevelInfo
	if info.clientError != nil {
		level = slog.LevelDebug
		attrs = append(attrs, slog.String("client_error", info.clientError.Error()))
	}
	a.log.LogAttrs(r.Context(), level, "request", attrs...)
	endSpan(span, r, operation, status)
}

// responseWriter remembers the status and size of a response, and turns
// the plain-text errors of net/http's handlers (ServeMux's 404 and 405,
// http.FileServer's, http.Error's) into FastAPI's JSON.
type responseWriter struct {
	http.ResponseWriter
	req         *http.Request
	status      int
	bytes       int64
	wroteHeader bool
	// discard drops the body ServeMux writes after a rewritten error.
	discard bool
	// page is set while the not-found page answers: its 404 is HTML.
	page bool
	// plainStatus is the status of a plain-text error being written, and
	// plainText its text so far: finishPlainError answers them as JSON.
	plainStatus int
	plainText   []byte
}

// maxPlainText is how much of a plain-text error's text becomes its detail.
const maxPlainText = 200

// finishPlainError answers the plain-text error a handler wrote, if any,
// as {"detail": its sentence}. net/http's generic sentences ("404 page not
// found") become the status's name, as ServeMux's errors do.
func (w *responseWriter) finishPlainError() {
	if w.plainStatus == 0 {
		return
	}
	status := w.plainStatus
	w.plainStatus = 0
	msg := strings.TrimSpace(string(w.plainText))
	if msg == "" || strings.HasPrefix(msg, strconv.Itoa(status)+" ") {
		msg = http.StatusText(status)
	}
	writeDetail(w, status, msg)
}

func (w *responseWriter) WriteHeader(status int) {
	if w.wroteHeader {
		return
	}
	// ServeMux sets no pattern when no route matched; those are the only
	// 404s and 405s that are not ours.
	if w.req.Pattern == "" && !w.page && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) {
		writeDetail(w, status, http.StatusText(status))
		w.discard = true
		return
	}
	if status >= 400 && strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		w.plainStatus = status
		return
	}
	// Only ServeMux redirects (//resources to /resources); its body is HTML.
	if loc := w.Header().Get("Location"); loc != "" && status >= 300 && status < 400 {
		writeDetail(w, status, http.StatusText(status)+" to "+clipString(loc, 200))
		w.discard = true
		return
	}
	w.wroteHeader = true
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.discard {
		return len(b), nil
	}
	if w.plainStatus != 0 {
		w.plainText = append(w.plainText, b[:min(len(b), maxPlainText-len(w.plainText))]...)
		return len(b), nil
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeDetail writes {"detail": msg} outside huma (404, 405, panics).
func writeDetail(w *responseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]string{"detail": msg})
	h := w.Header()
	h.Del("X-Content-Type-Options")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.wroteHeader = true
	w.status = status
	w.ResponseWriter.WriteHeader(status)
	n, _ := w.ResponseWriter.Write(body)
	w.bytes += int64(n)
}
