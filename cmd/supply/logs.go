package main

import (
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"github.com/gpusupply/supply/logging"
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

func (f logFlags) logger() (*slog.Logger, error) {
	return logging.New(os.Stderr, f.format, f.level)
}

// newLogger is the logger of the administrative commands, at level.
func newLogger(level string) *slog.Logger {
	l, err := logging.New(os.Stderr, logging.FormatAuto, level)
	if err != nil {
		panic(err) // the commands pass fixed, valid levels
	}
	return l
}
