package logging

import (
	"io"
	"sync"
	"time"
)

// bufferedLimit is how much a Buffered writer holds before it writes
// without waiting for its interval.
const bufferedLimit = 64 << 10

// Buffered collects log lines and writes them to its destination in
// batches: at most every interval, at once when a batch reaches 64 KiB,
// and on Flush. Under load the server logs a line per request; written one
// by one, each line is a system call of the server's and a wake-up of
// whatever reads its log, both on the cores that serve requests. A
// logger made by New on a Buffered writer flushes it after every record
// of level warn or above, so errors are never held back; what a kill -9
// loses is at most interval's worth of info and debug lines.
type Buffered struct {
	mu       sync.Mutex
	dst      io.Writer
	buf      []byte
	interval time.Duration
	timer    *time.Timer
	// err is the last failed write's error, returned by the next Write.
	err error
}

// NewBuffered returns a Buffered writer to dst that holds lines for at
// most interval.
func NewBuffered(dst io.Writer, interval time.Duration) *Buffered {
	b := &Buffered{dst: dst, interval: interval}
	b.timer = time.AfterFunc(time.Hour, func() { b.Flush() })
	b.timer.Stop()
	return b
}

// Write adds p, one log line as slog's handlers write them, to the batch.
func (b *Buffered) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.err; err != nil {
		b.err = nil
		return 0, err
	}
	if len(b.buf) == 0 {
		b.timer.Reset(b.interval)
	}
	b.buf = append(b.buf, p...)
	if len(b.buf) >= bufferedLimit {
		b.flushLocked()
	}
	return len(p), nil
}

// Flush writes what is held now.
func (b *Buffered) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	err := b.err
	b.err = nil
	return err
}

func (b *Buffered) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	b.timer.Stop()
	if _, err := b.dst.Write(b.buf); err != nil {
		b.err = err
	}
	// A rare burst must not keep a large buffer for good.
	if cap(b.buf) > 4*bufferedLimit {
		b.buf = nil
	} else {
		b.buf = b.buf[:0]
	}
}
