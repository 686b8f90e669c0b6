package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/gpusupply/supply/internal/logging"
)

// logFlags choose how the server logs.
type logFlags struct {
	format string
	level  string
}

func (f *logFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.format, "log-format", logging.FormatAuto, "text, json, or auto: text when stderr is a terminal, JSON lines otherwise")
	fl.StringVar(&f.level, "log-level", "info", "debug, info, warn or error")
}

// logFlushInterval is the longest a log line of the server waits before
// it is written when stderr is not a terminal (see logging.Buffered).
const logFlushInterval = 100 * time.Millisecond

// logger is the server's logger, and what writes the lines it still holds,
// to be called before the server exits. Lines to a terminal are written
// at once; lines to anything else (a file, a pipe, journald) in batches.
func (f logFlags) logger() (*slog.Logger, func(), error) {
	if logging.IsTerminal(os.Stderr) {
		l, err := logging.New(os.Stderr, f.format, f.level)
		return l, func() {}, err
	}
	b := logging.NewBuffered(os.Stderr, logFlushInterval)
	l, err := logging.New(b, f.format, f.level)
	return l, func() { b.Flush() }, err
}

// newLogger is the logger of the administrative commands, at level.
func newLogger(level string) *slog.Logger {
	l, err := logging.New(os.Stderr, logging.FormatAuto, level)
	if err != nil {
		panic(err) // the commands pass fixed, valid levels
	}
	return l
}
