package secrets

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestStartReading reads a process's output through the polled pipe:
// output written in pauses arrives whole, then EOF; a cancelled context
// ends a read that waits; a closed pipe refuses reads.
func TestStartReading(t *testing.T) {
	ctx := context.Background()
	cmd := exec.Command("/bin/sh", "-c", "printf head; sleep 0.05; printf tail")
	out, err := startReading(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out)
	if err != nil || string(got) != "headtail" {
		t.Fatalf("read %q, %v; want headtail", got, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := out.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cmd = exec.Command("/bin/sh", "-c", "sleep 5")
	out, err = startReading(cctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait(); out.Close() }()
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if _, err := out.Read(make([]byte, 16)); !errors.Is(err, context.Canceled) {
		t.Fatalf("read with a cancelled context: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the cancelled read took %v", d)
	}
}

// TestStartReadingLongWait: output that comes after a long wait (polled
// less often by then) is read within the longest sleep of its arrival.
func TestStartReadingLongWait(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 0.3; printf late")
	start := time.Now()
	out, err := startReading(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Wait(); out.Close() }()
	buf := make([]byte, 16)
	n, err := out.Read(buf)
	if err != nil || string(buf[:n]) != "late" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 300*time.Millisecond+5*pollSleepLong+200*time.Millisecond {
		t.Fatalf("read after %v, want about 0.3 s", d)
	}
}

// TestStartReadingFails: a command that cannot start leaves no pipe.
func TestStartReadingFails(t *testing.T) {
	if _, err := startReading(context.Background(), exec.Command("/nonexistent/nixgate-test")); err == nil {
		t.Fatal("started a command that does not exist")
	}
}
