package logging

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a destination that counts the writes it gets.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	fail   error
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	s.writes++
	return s.buf.Write(p)
}

func (s *syncBuffer) read() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String(), s.writes
}

// TestBufferedBatches checks that info lines are held and written
// together within the interval, in order, and that Flush writes at once.
func TestBufferedBatches(t *testing.T) {
	dst := &syncBuffer{}
	b := NewBuffered(dst, 50*time.Millisecond)
	l, err := New(b, FormatJSON, "info")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		l.Info("request", "n", i)
	}
	if out, writes := dst.read(); writes != 0 || out != "" {
		t.Fatalf("info lines written at once: %d writes", writes)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, writes := dst.read()
		if strings.Count(out, "\n") == 100 {
			if writes != 1 {
				t.Errorf("100 lines in %d writes, want 1", writes)
			}
			for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				if !strings.Contains(line, fmt.Sprintf(`"n":%d}`, i)) {
					t.Fatalf("line %d is %q: out of order", i, line)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s, %d of 100 lines written", strings.Count(out, "\n"))
		}
		time.Sleep(5 * time.Millisecond)
	}

	l.Info("last")
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if out, _ := dst.read(); !strings.Contains(out, `"msg":"last"`) {
		t.Error("Flush did not write the line it held")
	}
}

// TestBufferedWarnFlushes checks that a warning is written at once, with
// every line held before it.
func TestBufferedWarnFlushes(t *testing.T) {
	dst := &syncBuffer{}
	l, err := New(NewBuffered(dst, time.Hour), FormatJSON, "debug")
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("first")
	l.Info("second")
	l.With("component", "x").Warn("third")
	out, writes := dst.read()
	if writes != 1 || !strings.Contains(out, "first") || !strings.Contains(out, "second") || !strings.Contains(out, "third") {
		t.Fatalf("after a warning: %d writes of %q, want all three lines in one", writes, out)
	}
	l.Error("fourth")
	if out, _ := dst.read(); !strings.Contains(out, "fourth") {
		t.Error("an error line was held back")
	}
}

// TestBufferedFull checks that a batch is written once it is large,
// without waiting for the interval, and that a failed write is reported.
func TestBufferedFull(t *testing.T) {
	dst := &syncBuffer{}
	b := NewBuffered(dst, time.Hour)
	line := []byte(strings.Repeat("x", 1023) + "\n")
	for range bufferedLimit / len(line) {
		if _, err := b.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	if out, writes := dst.read(); writes != 1 || len(out) != bufferedLimit {
		t.Fatalf("a full batch: %d writes, %d bytes; want 1 of %d", writes, len(out), bufferedLimit)
	}
	dst.fail = errors.New("disk full")
	b.Write(line)
	if err := b.Flush(); err == nil {
		t.Error("a failed write went unreported")
	}
}
