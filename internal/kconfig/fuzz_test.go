package kconfig

import (
	"bytes"
	"compress/gzip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// Every parser turns any input into a value or an error, never a panic;
// errors carry a position; and each input costs bounded time and memory
// (bounded decompression: a gzip bomb expands to at most MaxInput).
//
// FuzzParseConfig used to run only tens of executions a second: mutated
// gzip seeds decompressed up to the old 64 MiB cap and the option map was
// presized from that many lines. The cap is now MaxInput (8 MiB), the
// presize is bounded, and the bounds below keep it so.

const (
	fuzzTimeBound = 2 * time.Second
	// fuzzAllocSlack is what a run may allocate besides the per-byte cost:
	// the decompressed input itself and the evaluation of every profile.
	fuzzAllocSlack = 3*MaxInput + 32<<20
)

// bounded runs f through fuzzlimit.Check: it fails when f takes longer
// than fuzzTimeBound or allocates more than perByte times the input plus
// fuzzAllocSlack.
func bounded(t *testing.T, n, perByte int, f func()) {
	t.Helper()
	fuzzlimit.Check(t, fuzzTimeBound, uint64(perByte*n+fuzzAllocSlack), f)
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"testdata/configs/kspp-kconfig-x86-64.config", "testdata/configs/kspp-kconfig-arm64.config"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	seeds := []string{
		"# Linux/x86 6.6.30 Kernel Configuration\nCONFIG_A=\"x\\\"\ny\nCONFIG_B=y\nCONFIG_B=m\n# CONFIG_C is not set\n",
		"  CONFIG_SECURITY_LOCKDOWN_LSM=y\n", "CONFIG_MODULES=\"y\"\n", "#CONFIG_X is not set\n", "", "#\n",
		"# Linux/x86 4.19.0 Kernel Configuration\nCONFIG_X86_64=y\nCONFIG_KSTACK_ERASE=y\nCONFIG_LOCALVERSION=\"\"\n",
		"CONFIG_ARCH_MMAP_RND_BITS=28\nCONFIG_ARCH_MMAP_RND_BITS_MAX=32\nCONFIG_ARM64=y\nCONFIG_X86_64=y\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Add(gzipped([]byte(seeds[0])))
	f.Add(gzipped(bytes.Repeat([]byte("\n"), 1<<16)))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	profiles, err := LoadProfiles(Builtins()...)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		bounded(t, len(data), 64, func() {
			c, err := ParseConfig(data)
			if err != nil {
				if se, ok := err.(*SyntaxError); ok {
					for _, p := range se.Problems {
						if p.Line < 1 {
							t.Fatalf("problem without a line: %v", p)
						}
					}
				}
				return
			}
			for _, r := range c.Repeats {
				if len(r.Lines) < 2 || r.Lines[len(r.Lines)-1] > c.Lines {
					t.Fatalf("repeat %+v of %d lines", r, c.Lines)
				}
			}
			if len(c.Options) == 0 {
				t.Fatal("a configuration without options parsed")
			}
			in := &Input{Config: c, Arch: "x86_64"}
			if c.ArchSource == "options" {
				in.Arch = ""
			}
			// Evaluation never panics either, whatever the configuration.
			Evaluate(in, profiles)
			InputFindings(in)
		})
	})
}

func FuzzParseCmdline(f *testing.F) {
	for _, p := range []string{"testdata/kspp-cmdline-x86-64.txt", "testdata/cmdline_example.txt", "testdata/cmdline-weak.txt"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{`a="b c" "d=e f" -- g`, `a=b"c d"`, "\"", "lockdown=integrity lockdown=confidentiality", "x\x00", "a\xa0b=c"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		bounded(t, len(data), 64, func() {
			c, err := ParseCmdline(data)
			if err != nil {
				if !positioned(err.Error()) {
					t.Fatalf("error without a position: %v", err)
				}
				return
			}
			for _, p := range c.All {
				if p.Line < 1 || p.Column < 1 || p.Name == "" {
					t.Fatalf("param without a position or name: %+v", p)
				}
			}
		})
	})
}

func FuzzParseSysctl(f *testing.F) {
	for _, p := range []string{"testdata/kspp-sysctl.txt", "testdata/example_sysctls.txt", "testdata/sysctl-weak.txt"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("-kernel/a.b = 1\n; c\nnet.*.x = 2\nkernel.a.b = 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		bounded(t, len(data), 64, func() {
			s, err := ParseSysctl(data)
			if err != nil {
				if !positioned(err.Error()) {
					t.Fatalf("error without a position: %v", err)
				}
				return
			}
			for k := range s.Values {
				s.Get(k)
			}
		})
	})
}

func FuzzProfile(f *testing.F) {
	for _, n := range Builtins() {
		if b, err := builtinFS.ReadFile("profiles/" + n + ".toml"); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("extends = [\"anchor\"]\n[[override]]\nrule = \"MODULES\"\nis = \"m\"\n[[mute]]\nrule = \"IO_URING\"\nreason = \"x\"\n"))
	f.Add([]byte("min_version = \"6.1\"\n[[rule]]\nid = \"x\"\nsince = \"6.6\"\nreason = \"r\"\nany = [{ cmdline = \"k\", not-off = true, kstrtobool = true }, { kconfig = \"A\", is-kconfig = \"B\" }]\n"))
	cfg, err := ParseConfig([]byte(baseConfig))
	if err != nil {
		f.Fatal(err)
	}
	cmd, _ := ParseCmdline([]byte("nosmt init=/x k=0"))
	sys, _ := ParseSysctl([]byte("a.b = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const path = "fuzz/p.toml"
		// Only built-in profiles may be extended: a fuzzed file name must
		// not reach outside the test.
		l := Loader{ReadFile: func(name string) ([]byte, error) {
			if name != path {
				return nil, os.ErrNotExist
			}
			return data, nil
		}}
		bounded(t, len(data), 512, func() {
			p, err := l.Load(path)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "profile ") && !strings.HasPrefix(err.Error(), "unknown profile") {
					t.Fatalf("error does not name the profile: %v", err)
				}
				return
			}
			Evaluate(&Input{Config: cfg, Cmdline: cmd, Sysctl: sys}, []*Profile{p})
		})
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
