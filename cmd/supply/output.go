package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/gpusupply/supply/internal/printable"
)

// printer writes a command's answer: JSON with --json, else tables that
// are coloured only on a terminal and without NO_COLOR. The answer goes to
// stdout; narration (hints, progress) goes to stderr, so that
// $(supply rent ...) captures just the ssh command.
type printer struct {
	out, err  io.Writer
	json      bool
	color     bool // colour on stdout
	live      bool // stderr is a terminal: progress redraws one line
	liveColor bool // colour on stderr
	// cols is how many columns the terminal of stderr has now (0:
	// unknown), asked at every redraw since a window can be resized.
	cols func() int
}

func newPrinter(cmd *cobra.Command, asJSON bool) *printer {
	noColor := os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb"
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	live := isTerminal(errw)
	p := &printer{
		out: out, err: errw, json: asJSON,
		color: isTerminal(out) && !noColor,
		live:  live, liveColor: live && !noColor,
		cols: func() int { return 0 },
	}
	if f, ok := errw.(*os.File); ok && live {
		p.cols = func() int { return termWidth(f) }
	}
	return p
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// answer prints v as indented JSON with --json, and calls human otherwise.
func (p *printer) answer(v any, human func()) error {
	if !p.json {
		human()
		return nil
	}
	enc := json.NewEncoder(p.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// note tells the user something on stderr, where it never mixes with the
// answer, JSON or not.
func (p *printer) note(format string, args ...any) {
	fmt.Fprintf(p.err, format+"\n", escaped(args)...)
}

// line prints one line of a human answer on stdout.
func (p *printer) line(format string, args ...any) {
	fmt.Fprintf(p.out, format+"\n", escaped(args)...)
}

// escaped makes every string and error among args safe for a terminal:
// names, messages and commands come from a server, and a name holding
// escape sequences or a right-to-left override must not rewrite the
// screen (printable.Escape).
func escaped(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = printable.Escape(v)
		case error:
			out[i] = printable.Escape(v.Error())
		case fmt.Stringer:
			out[i] = printable.Escape(v.String())
		default:
			out[i] = a
		}
	}
	return out
}

// table prints rows under a header, columns aligned. The STATUS column is
// coloured by what the status means.
func (p *printer) table(header []string, rows [][]string) {
	rows = slices.Clone(rows)
	for i, row := range rows {
		rows[i] = make([]string, len(row))
		for j, cell := range row {
			rows[i][j] = printable.Escape(cell)
		}
	}
	widths := make([]int, len(header))
	for _, row := range append([][]string{header}, rows...) {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	line := func(row []string, style func(col int, s string) string) {
		var b strings.Builder
		for i, cell := range row {
			if i == len(row)-1 {
				b.WriteString(style(i, cell))
				break
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)+2)
			b.WriteString(style(i, cell) + pad)
		}
		fmt.Fprintln(p.out, strings.TrimRight(b.String(), " "))
	}
	line(header, func(_ int, s string) string { return paint(p.color, bold, s) })
	for _, row := range rows {
		line(row, func(col int, s string) string {
			if header[col] == "STATUS" || header[col] == "OUTCOME" {
				return paint(p.color, statusColor(s), s)
			}
			return s
		})
	}
}

// fields prints name/value pairs, one a line, values aligned; a pair
// whose value is empty is left out.
func (p *printer) fields(pairs [][2]string) {
	width := 0
	for _, kv := range pairs {
		width = max(width, len(kv[0]))
	}
	for _, kv := range pairs {
		if kv[1] == "" {
			continue
		}
		value := printable.Escape(kv[1])
		if kv[0] == "Status" || kv[0] == "Procurement" {
			value = paint(p.color, statusColor(value), value)
		}
		fmt.Fprintf(p.out, "%-*s  %s\n", width+1, kv[0]+":", value)
	}
}

// ANSI styles.
const (
	bold   = "1"
	dim    = "2"
	red    = "31"
	green  = "32"
	yellow = "33"
)

func paint(on bool, style, s string) string {
	if !on || style == "" {
		return s
	}
	return "\033[" + style + "m" + s + "\033[0m"
}

// statusColor is green for good, yellow for on the way, red for trouble.
func statusColor(status string) string {
	switch status {
	case "ready", "running", "healthy", "available", "procured":
		return green
	case "failed", "down", "unhealthy", "preempted", "expired":
		return red
	case "deleted":
		return dim
	case "":
		return ""
	}
	return yellow
}

// progress is the line that shows how a wait is going: on a terminal one
// line redrawn every second with the elapsed time; elsewhere (a log, a
// pipe) a plain line for every change.
type progress struct {
	p     *printer
	start time.Time
	mu    sync.Mutex
	state string // status word, coloured on a terminal
	info  string // what goes with it, e.g. "1/2 instances running"
	stopc chan struct{}
	done  chan struct{}
}

func (p *printer) startProgress() *progress {
	pr := &progress{p: p, start: time.Now(), stopc: make(chan struct{}), done: make(chan struct{})}
	if !p.live {
		close(pr.done)
		return pr
	}
	go func() {
		defer close(pr.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-pr.stopc:
				return
			case <-t.C:
				pr.mu.Lock()
				pr.draw()
				pr.mu.Unlock()
			}
		}
	}()
	return pr
}

// set shows a new state.
func (pr *progress) set(state, info string) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.state, pr.info = printable.Escape(state), printable.Escape(info)
	if pr.p.live {
		pr.draw()
		return
	}
	fmt.Fprintln(pr.p.err, pr.text(false, 0))
}

// println prints a line of narration above the live line, which stays
// below it.
func (pr *progress) println(line string) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if !pr.p.live {
		fmt.Fprintln(pr.p.err, line)
		return
	}
	fmt.Fprint(pr.p.err, "\r\033[K"+line+"\n")
	if pr.state != "" {
		pr.draw()
	}
}

// stop ends the live line, leaving its last state on screen.
func (pr *progress) stop() {
	close(pr.stopc)
	<-pr.done
	if pr.p.live && pr.state != "" {
		pr.draw()
		fmt.Fprintln(pr.p.err)
	}
}

func (pr *progress) draw() {
	fmt.Fprint(pr.p.err, "\r\033[K"+pr.text(pr.p.liveColor, pr.p.cols()))
}

// text is the progress line; with cols above 0 its info is cut to fit
// that many columns: a redrawn line that wrapped would leave a row behind
// at every redraw (a wait for stock, with its long sentence, redraws for
// hours).
func (pr *progress) text(color bool, cols int) string {
	elapsed := time.Since(pr.start).Round(time.Second).String()
	info := pr.info
	if cols > 0 {
		info = cut(info, cols-1-utf8.RuneCountInString(pr.state+" ·  · "+elapsed))
	}
	s := paint(color, statusColor(pr.state), pr.state)
	if info != "" {
		s += " · " + info
	}
	return s + " · " + elapsed
}

// cut shortens s to at most n runes, ending it with "…" when it was longer.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 1 {
		return ""
	}
	return string([]rune(s)[:n-1]) + "…"
}

// Formatting of values in tables.

// usd is an amount in dollars and cents, by the console's rule: rounded
// to the nearest cent, half up, and "<$0.01" for an amount above zero
// that rounds to nothing (never "$0.00" for what is not free). --json
// shows the exact figure.
func usd(v float64) string {
	cents := math.Round(v * 100)
	if cents == 0 && v > 0 {
		return "<$0.01"
	}
	return fmt.Sprintf("$%.2f", cents/100)
}

func orDash[T int | float64](v *T) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ago is how long before now t was, coarsely: "5s ago", "3h ago".
func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return coarse(time.Since(t)) + " ago"
}

// until is how long from now t is: "29m", or "expired".
func until(t time.Time) string {
	d := time.Until(t)
	if d <= 0 {
		return "expired"
	}
	return coarse(d)
}

// remaining is how long until something happens, to the nearest minute:
// "2h", "1h 59m", "45m", "3d 4h"; "under a minute" at the end.
func remaining(d time.Duration) string {
	d = d.Round(time.Minute)
	days, hours, minutes := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case d < time.Minute:
		return "under a minute"
	case days > 0 && hours > 0:
		return fmt.Sprintf("%dd %dh", days, hours)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	case hours > 0 && minutes > 0:
		return fmt.Sprintf("%dh %dm", hours, minutes)
	case hours > 0:
		return fmt.Sprintf("%dh", hours)
	}
	return fmt.Sprintf("%dm", minutes)
}

func coarse(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
