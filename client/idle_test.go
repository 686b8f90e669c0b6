package client

import (
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"
)

// TestIdleReader: on the fake clock, heartbeats every 15 s keep a stream
// open for as long as they come, and the first silence of the idle
// timeout ends it, exactly then.
func TestIdleReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pr, pw := io.Pipe()
		watchdog := time.AfterFunc(DefaultIdleTimeout, func() { pw.CloseWithError(errIdle) })
		r := &idleReader{r: pr, watchdog: watchdog, idle: DefaultIdleTimeout}
		const beats = 20
		go func() {
			for range beats {
				time.Sleep(15 * time.Second)
				if _, err := pw.Write([]byte(": heartbeat\n\n")); err != nil {
					return
				}
			}
		}()
		start := time.Now()
		buf := make([]byte, 64)
		read := 0
		for {
			n, err := r.Read(buf)
			read += n
			if err != nil {
				if !errors.Is(err, errIdle) {
					t.Fatalf("read: %v, want the idle timeout", err)
				}
				break
			}
		}
		if want := beats * len(": heartbeat\n\n"); read != want {
			t.Errorf("read %d bytes before the timeout, want every heartbeat's %d", read, want)
		}
		if took, want := time.Since(start), beats*15*time.Second+DefaultIdleTimeout; took != want {
			t.Errorf("the stream ended after %s, want %s: the last heartbeat and then the idle timeout", took, want)
		}
	})
}
