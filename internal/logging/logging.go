// Package logging builds the service's slog handler: readable text on a
// terminal, JSON lines for machines, the trace id on every line logged
// inside a traced request or job, and River's routine chatter demoted to
// debug.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/gpusupply/supply/internal/actor"
)

// Formats of New.
const (
	FormatAuto = "auto"
	FormatText = "text"
	FormatJSON = "json"
)

// New returns a logger writing to w in format (FormatAuto: text when w is
// a terminal, JSON otherwise) at level and above ("debug", "info", "warn",
// "error"). On a Buffered writer, records of level warn and above are
// written at once, with every line held before them.
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == FormatAuto || format == "" {
		format = FormatJSON
		if IsTerminal(w) {
			format = FormatText
		}
	}
	var h slog.Handler
	switch format {
	case FormatJSON:
		h = slog.NewJSONHandler(w, opts)
	case FormatText:
		opts.ReplaceAttr = shortTime
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want text, json or auto", format)
	}
	if b, ok := w.(*Buffered); ok {
		h = flushingHandler{h, b}
	}
	return slog.New(traceHandler{h}), nil
}

// flushingHandler flushes its Buffered writer after each record of level
// warn or above: those are the lines someone may need right away, and the
// last ones before a crash.
type flushingHandler struct {
	slog.Handler
	b *Buffered
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.b.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.b}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.b}
}

// IsTerminal reports whether w is a character device, such as the
// terminal a person started the server from.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// shortTime prints the time of text lines as the clock a person reads;
// the date and zone are noise on a terminal.
func shortTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
		return slog.String(slog.TimeKey, a.Value.Time().Format("15:04:05.000"))
	}
	return a
}

// traceHandler adds trace_id and span_id to every record logged with a
// context that carries a recording span, so that a log line leads to its
// trace (without tracing no span records and nothing is added), and the
// actor, the API key, to every record logged with a request's context, so
// that no write a request made is anonymous in the log.
type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	who, ok := actor.From(ctx)
	if sc.IsValid() || ok {
		r = r.Clone()
	}
	if sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	if ok {
		r.AddAttrs(who.LogAttr())
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{h.Handler.WithGroup(name)}
}

// routine are the messages River logs at info every few seconds while
// jobs run (its producer's job counts, its maintenance services' runs),
// which say nothing an operator acts on.
var routine = []string{
	": Producer job counts",
	": Ran successfully",
	": Applied migration", // one per River migration on a first start
}

// River returns a logger for River's client: its routine info lines are
// logged at debug, everything else as River says. Demoting only lowers a
// level, so the wrapped handler's Enabled still decides correctly.
func River(l *slog.Logger) *slog.Logger {
	return slog.New(riverHandler{l.Handler()})
}

type riverHandler struct{ slog.Handler }

func (h riverHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo && isRoutine(r.Message) {
		r.Level = slog.LevelDebug
		if !h.Handler.Enabled(ctx, r.Level) {
			return nil
		}
	}
	return h.Handler.Handle(ctx, r)
}

func isRoutine(msg string) bool {
	for _, m := range routine {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

func (h riverHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return riverHandler{h.Handler.WithAttrs(attrs)}
}

func (h riverHandler) WithGroup(name string) slog.Handler {
	return riverHandler{h.Handler.WithGroup(name)}
}
