package ceremony

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const digest = "sha256:0252f100f58cb03f9bf6bc5230ccc55e6cc1a853888cbe9312b968daebd38365"

func TestConfirm(t *testing.T) {
	for _, tc := range []struct {
		typed string
		ok    bool
	}{
		{"0252f100\n", true},
		{"  0252F100  \n", true},
		{"0252f10\n", false},
		{"0252f1000\n", false},
		{"yes\n", false},
		{"", false},
	} {
		var out bytes.Buffer
		err := Confirm(strings.NewReader(tc.typed), &out, digest, []string{"/nix/store/aaa-app sha256:32", "app.tar.gz sha256:ab"})
		if (err == nil) != tc.ok {
			t.Errorf("typed %q: %v", tc.typed, err)
		}
		if err != nil && !errors.Is(err, ErrRefused) {
			t.Errorf("typed %q: %v is not a refusal", tc.typed, err)
		}
		for _, want := range []string{digest, "/nix/store/aaa-app", "app.tar.gz", "first 8 hex digits"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("prompt lacks %q:\n%s", want, out.String())
			}
		}
	}
}

func TestAppendLog(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "state", "nixgate", "ceremony.log")
	e := LogEntry{Operator: "op@host", Digest: digest, KeyIDs: []string{"SHA256:x"}, Confirmed: true}
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 2; i++ {
		if err := AppendLog(log, e, now); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	var got LogEntry
	if err := json.Unmarshal([]byte(lines[1]), &got); err != nil || got.Time != "2026-11-01T12:00:00Z" || got.Digest != digest {
		t.Errorf("entry %+v %v", got, err)
	}
	if fi, _ := os.Stat(log); fi.Mode().Perm() != 0o600 {
		t.Errorf("log mode %v", fi.Mode())
	}
	link := filepath.Join(dir, "link.log")
	os.Symlink(filepath.Join(dir, "elsewhere"), link)
	if err := AppendLog(link, e, now); err == nil {
		t.Error("wrote through a symlink")
	}
	if p, _ := DefaultLogPath([]string{"HOME=/home/op"}); p != "/home/op/.local/state/nixgate/ceremony.log" {
		t.Errorf("default log %s", p)
	}
	if p, _ := DefaultLogPath([]string{"HOME=/home/op", "XDG_STATE_HOME=/st"}); p != "/st/nixgate/ceremony.log" {
		t.Errorf("XDG log %s", p)
	}
	if _, err := DefaultLogPath(nil); err == nil {
		t.Error("no HOME: no error")
	}
}
