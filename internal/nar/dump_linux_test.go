package nar

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// truncater truncates a file when it gets the first mapped piece (larger
// than any buffer), then reads the piece: the access faults.
type truncater struct {
	path string
	sum  byte
}

func (w *truncater) Write(p []byte) (int, error) {
	if len(p) > dumpChunk {
		if err := os.Truncate(w.path, 0); err != nil {
			return 0, err
		}
		for _, b := range p {
			w.sum += b
		}
	}
	return len(p), nil
}

// TestDumpTruncatedWhileMapped checks that a file truncated while mapped
// is an error, not a crash (SIGBUS).
func TestDumpTruncatedWhileMapped(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, make([]byte, 3*dumpChunk), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := dumpPath(&truncater{path: p}, p)
	if err == nil || !strings.Contains(err.Error(), "file changed while reading") {
		t.Fatalf("dumpPath = %v, want a file changed error", err)
	}
	if debug.SetPanicOnFault(false) {
		t.Error("SetPanicOnFault left on after dumpPath")
	}
}
