package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// stopServing stops the servers taking requests and lets those in flight
// finish until deadline; then it closes whatever connections are left.
// A request cut off this way is the client's to retry; the shutdown goes
// on, so the process still releases its lock and exits cleanly.
func stopServing(servers []*http.Server, deadline time.Time, log *slog.Logger) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(ctx); err != nil {
			log.Warn("requests still in flight at the shutdown timeout; closing their connections", "addr", s.Addr, "err", err)
			s.Close()
		}
	}
}

// flushTraces sends the spans still buffered, for a few seconds at most:
// an unreachable collector must not hold the exit.
func flushTraces(shutdown func(context.Context) error, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := shutdown(ctx); err != nil {
		log.Warn("flushing traces", "err", err)
	}
}
