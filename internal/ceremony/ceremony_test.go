package ceremony

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestGuardCI(t *testing.T) {
	vars := append([]string{}, CIVariables...)
	vars = append(vars, "HYDRA_JOB", "BUILDBOT_WORKER")
	for _, v := range vars {
		t.Run(v, func(t *testing.T) {
			err := Guard(Conditions{Environ: []string{"HOME=/root", v + "=1"}, Batch: true, Interactive: true})
			var r *Refusal
			if !errors.As(err, &r) || !errors.Is(err, ErrRefused) {
				t.Fatalf("Guard with %s set = %v, want a refusal", v, err)
			}
			if got := CIMarker([]string{v + "=x"}); got != v {
				t.Errorf("CIMarker = %q, want %q", got, v)
			}
		})
	}
	if err := Guard(Conditions{Environ: []string{"CI="}, Interactive: true}); err != nil {
		t.Errorf("an empty CI variable is not a marker: %v", err)
	}
}

func TestGuardTerminal(t *testing.T) {
	env := []string{"HOME=/root"}
	if err := Guard(Conditions{Environ: env}); !errors.Is(err, ErrRefused) {
		t.Errorf("no terminal, no --batch: got %v, want a refusal", err)
	}
	if err := Guard(Conditions{Environ: env, Batch: true}); err != nil {
		t.Errorf("--batch outside CI: %v", err)
	}
	if err := Guard(Conditions{Environ: env, Interactive: true}); err != nil {
		t.Errorf("at a terminal: %v", err)
	}
}

func TestCheckKeyFile(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckKeyFile(key); err != nil {
		t.Errorf("0600: %v", err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		if err := os.Chmod(key, mode); err != nil {
			t.Fatal(err)
		}
		if err := CheckKeyFile(key); !errors.Is(err, ErrRefused) {
			t.Errorf("mode %04o: got %v, want a refusal", mode, err)
		}
	}
	if err := CheckKeyFile(dir); !errors.Is(err, ErrRefused) {
		t.Errorf("a directory: got %v, want a refusal", err)
	}
	if err := CheckKeyFile(filepath.Join(dir, "missing")); err == nil || errors.Is(err, ErrRefused) {
		t.Errorf("a missing file: got %v, want a plain error", err)
	}
}
