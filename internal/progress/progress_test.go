package progress

import (
	"bytes"
	"os"
	"testing"
)

// TestNotATerminal: on a buffer, a file or a pipe, nothing is written.
func TestNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "verify", 3)
	b.Add(1)
	b.SetTotal(5)
	b.Add(4)
	b.Done()
	if buf.Len() != 0 {
		t.Errorf("wrote %q to a buffer", buf.String())
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is a terminal")
	}
	var nilBar *Bar
	nilBar.Add(1)
	nilBar.Done()
}
