package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gpusupply/supply/internal/store"
)

// TestOneServerPerDataDir: a second server on a data dir already served
// exits at once, saying why, and leaves the first one serving.
func TestOneServerPerDataDir(t *testing.T) {
	s := Start(t, store.EngineSQLite)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(t), "server", "--listen", "127.0.0.1:0")
	cmd.Env = s.env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	if err == nil || ctx.Err() != nil {
		t.Fatalf("second server: %v (context %v), want a prompt failure\n%s", err, ctx.Err(), stderr.String())
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("second server took %s to give up", took)
	}
	if msg := stderr.String(); !strings.Contains(msg, "already running on data dir "+s.DataDir) {
		t.Errorf("second server said %q, want it to name the data dir it found taken", msg)
	}
	if status, _, _ := s.Do(t, "GET", "/readyz", "", nil); status != 200 {
		t.Errorf("first server: /readyz %d after the second one tried", status)
	}
}
