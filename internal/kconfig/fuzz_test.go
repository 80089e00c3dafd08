package kconfig

import (
	"os"
	"strings"
	"testing"
)

// Every parser turns any input into a value or an error, never a panic,
// and errors carry a position.

func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"testdata/configs/kspp-kconfig-x86-64.config", "testdata/configs/kspp-kconfig-arm64.config", "testdata/configs/example_config.gz"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("# Linux/x86 6.6.30 Kernel Configuration\nCONFIG_A=\"x\\\"\ny\nCONFIG_B=y\nCONFIG_B=m\n# CONFIG_C is not set\n"))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	var l Loader
	profiles := []*Profile{}
	for _, n := range Builtins() {
		p, err := l.Load(n)
		if err != nil {
			f.Fatal(err)
		}
		profiles = append(profiles, p)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		for _, p := range c.Problems {
			if p.Line < 1 || p.Line > c.Lines {
				t.Fatalf("problem at line %d of %d: %v", p.Line, c.Lines, p)
			}
		}
		// Evaluation never panics either, whatever the configuration.
		Evaluate(&Input{Config: c}, profiles)
	})
}

func FuzzParseCmdline(f *testing.F) {
	for _, p := range []string{"testdata/kspp-cmdline-x86-64.txt", "testdata/cmdline_example.txt"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`a="b c" "d=e f" -- g`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCmdline(data)
		if err != nil {
			if !positioned(err.Error()) {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		for _, p := range c.Params {
			if p.Line < 1 || p.Column < 1 {
				t.Fatalf("param without a position: %+v", p)
			}
		}
	})
}

func FuzzParseSysctl(f *testing.F) {
	for _, p := range []string{"testdata/kspp-sysctl.txt", "testdata/example_sysctls.txt"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("-kernel/a.b = 1\n; c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ParseSysctl(data); err != nil && !positioned(err.Error()) {
			t.Fatalf("error without a position: %v", err)
		}
	})
}

func FuzzProfile(f *testing.F) {
	for _, n := range Builtins() {
		if b, err := builtinFS.ReadFile("profiles/" + n + ".toml"); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("extends = [\"anchor\"]\n[[override]]\nrule = \"MODULES\"\nis = \"m\"\n[[mute]]\nrule = \"IO_URING\"\nreason = \"x\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const path = "fuzz/p.toml"
		// Only built-in profiles may be extended: a fuzzed file name must
		// not reach outside the temporary directory.
		l := Loader{ReadFile: func(name string) ([]byte, error) {
			if name != path {
				return nil, os.ErrNotExist
			}
			return data, nil
		}}
		p, err := l.Load(path)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "profile ") && !strings.HasPrefix(err.Error(), "unknown profile") {
				t.Fatalf("error does not name the profile: %v", err)
			}
			return
		}
		c, _ := Parse([]byte(baseConfig))
		Evaluate(&Input{Config: c}, []*Profile{p})
	})
}

// positioned reports whether a parser error starts with LINE:COL.
func positioned(msg string) bool {
	line, rest, ok := strings.Cut(msg, ":")
	if !ok || line == "" || strings.Trim(line, "0123456789") != "" {
		return false
	}
	col, _, ok := strings.Cut(rest, ":")
	return ok && col != "" && strings.Trim(col, "0123456789") == ""
}
