package flakelock

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/corpus/*.lock")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 30 {
		t.Fatalf("want 30 corpus locks, have %d", len(files))
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".lock")] = b
	}
	return out
}

func TestCorpusParsesAndResolves(t *testing.T) {
	for name, data := range corpus(t) {
		t.Run(name, func(t *testing.T) {
			l, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if l.NumInputs() == 0 {
				t.Fatal("no inputs")
			}
			used := l.Used()
			for _, u := range used {
				if u.Node.Line == 0 {
					t.Errorf("node %s has no position", u.Key)
				}
				if !strings.Contains(lineOf(data, u.Node.Line), `"`+u.Key+`"`) {
					t.Errorf("node %s: line %d is %q", u.Key, u.Node.Line, lineOf(data, u.Node.Line))
				}
			}
		})
	}
}

func lineOf(data []byte, n int) string {
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}

func TestVersion5Info(t *testing.T) {
	l, err := Parse(corpus(t)["NixOS__nix__4ba4c7ff66"])
	if err != nil {
		t.Fatal(err)
	}
	n := l.Nodes["nixpkgs"]
	if n.Locked.LastModified != 1585405475 || n.Locked.NarHash == "" {
		t.Errorf("info not merged: %+v", n.Locked)
	}
	if ok, why := n.Locked.Locked(); !ok {
		t.Errorf("v5 github input not locked: %s", why)
	}
	if got := n.Branch(); got != "nixos-20.03-small" {
		t.Errorf("branch = %q", got)
	}
}
