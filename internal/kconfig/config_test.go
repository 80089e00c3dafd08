package kconfig

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// corpus lists the 47 kernel configurations copied from
// ../shared/corpus/kconfig (see testdata/configs/SOURCES.md); the large
// ones are stored gzip-compressed, which the parser reads as is.
func corpus(t testing.TB) []string {
	t.Helper()
	all, err := filepath.Glob("testdata/configs/*")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range all {
		if strings.HasSuffix(f, ".config") || strings.HasSuffix(f, ".gz") {
			files = append(files, f)
		}
	}
	return files
}

func TestCorpusParses(t *testing.T) {
	files := corpus(t)
	if len(files) != 47 {
		t.Fatalf("found %d configurations in testdata/configs, want 47", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := ReadConfigFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Options) < 100 {
				t.Errorf("only %d options", len(c.Options))
			}
			if c.Arch == "" || c.Version.IsZero() || c.ArchSource != "options" {
				t.Errorf("arch %q (%s) version %v: want both detected from %q %q", c.Arch, c.ArchSource, c.Version, c.HeaderArch, c.VersionText)
			}
			want := archFromName(filepath.Base(f))
			if want != "" && c.Arch != want {
				t.Errorf("arch = %q, want %q (header %q)", c.Arch, want, c.HeaderArch)
			}
			// Real headers never claim less than the options prove, and
			// real configurations repeat nothing.
			in := &Input{Config: c, ConfigPath: f}
			if fs := InputFindings(in); len(fs) > 1 || len(fs) == 1 && !strings.HasPrefix(filepath.Base(f), "kspp-") {
				t.Errorf("input findings on a real configuration: %+v", fs)
			}
			if c.Version != c.HeaderVersion {
				t.Errorf("version %v, header %v, inferred %+v", c.Version, c.HeaderVersion, c.Inferred)
			}
		})
	}
}

// archFromName reads the architecture a corpus file name promises.
func archFromName(name string) string {
	for _, m := range []struct{ sub, arch string }{
		{"x86_64", "x86_64"}, {"x86-64", "x86_64"}, {"i386", "x86_32"}, {"aarch64", "arm64"},
		{"arm64", "arm64"}, {"riscv", "riscv"}, {"arm_", "arm"}, {"kconfig-arm.", "arm"},
		{"nixpkgs", "x86_64"}, {"rhel", "x86_64"}, {"example_config", "x86_64"}, {"pixel", "arm64"}, {"samsung", "arm64"},
	} {
		if strings.Contains(name, m.sub) {
			return m.arch
		}
	}
	return ""
}

func TestParse(t *testing.T) {
	src := strings.Join([]string{
		"#",
		"# Automatically generated file; DO NOT EDIT.",
		"# Linux/x86 6.6.30-android15 Kernel Configuration",
		"#",
		"CONFIG_X86_64=y",
		"CONFIG_MODULES=m",
		"# CONFIG_DEBUG_FS is not set",
		`CONFIG_LSM="landlock,lockdown,yama"`,
		`CONFIG_CMDLINE="quiet \"x\" \\ y"`,
		"CONFIG_NR_CPUS=0x40",
		"CONFIG_PANIC_TIMEOUT=-1",
		"CONFIG_OFF=n",
		"#  CONFIG_CC_STACKPROTECTOR=y",
		"# Make sure CONFIG_X is not set if you do not need it.",
		"CONFIG_MODULES=y",
		"   ",
		"CONFIG_CRLF=y\r",
		`CONFIG_LOCALVERSION=""`,
	}, "\n")
	c, err := ParseConfig([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Arch != "x86_64" || c.ArchSource != "options" || c.HeaderArch != "x86" || c.HeaderLine != 3 ||
		c.Version != (Version{6, 6, 30}) || c.VersionText != "6.6.30-android15" {
		t.Errorf("header: arch %q/%s/%q line %d version %v %q", c.Arch, c.ArchSource, c.HeaderArch, c.HeaderLine, c.Version, c.VersionText)
	}
	wantOpts := map[string]Option{
		"X86_64":        {Value: "y", Line: 5},
		"MODULES":       {Value: "y", Line: 15},
		"DEBUG_FS":      {NotSet: true, Line: 7},
		"LSM":           {Value: "landlock,lockdown,yama", Quoted: true, Line: 8},
		"CMDLINE":       {Value: `quiet "x" \ y`, Quoted: true, Line: 9},
		"NR_CPUS":       {Value: "0x40", Line: 10},
		"PANIC_TIMEOUT": {Value: "-1", Line: 11},
		"OFF":           {NotSet: true, Line: 12},
		"CRLF":          {Value: "y", Line: 17},
		"LOCALVERSION":  {Quoted: true, Line: 18},
	}
	if diff := cmp.Diff(wantOpts, c.Options); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Repeat{{Name: "MODULES", Lines: []int{6, 15}}}, c.Repeats); diff != "" {
		t.Errorf("repeats (-want +got):\n%s", diff)
	}
	if c.Lines != 18 {
		t.Errorf("lines = %d", c.Lines)
	}
}

// TestParseStrict holds the parser to the kernel's reading: every line
// the kernel's confdata.c would ignore or read differently is an error
// at its line and column, never a silently trimmed or dropped line.
func TestParseStrict(t *testing.T) {
	const ok = "CONFIG_X86_64=y\n"
	for _, tc := range []struct{ name, src, want string }{
		{"indented assignment", ok + "  CONFIG_SECURITY_LOCKDOWN_LSM=y\n", "2:1: indented line"},
		{"tab-indented comment", ok + "\t# CONFIG_MODULES is not set\n", "2:1: indented line"},
		{"quoted bool", ok + `CONFIG_MODULES="y"` + "\n", `2:16: quoted bool "y"`},
		{"quoted not-set", ok + `CONFIG_MODULES="n"` + "\n", "2:16: quoted bool"},
		{"unquoted string", ok + "CONFIG_LSM=lockdown,yama\n", `2:12: unquoted value "lockdown,yama"`},
		{"yes for y", ok + "CONFIG_MODULES=yes\n", `2:16: unquoted value "yes"`},
		{"trailing comment", ok + "CONFIG_MODULES=y # on\n", "2:17: unexpected text after the value"},
		{"trailing blank", ok + "CONFIG_MODULES=y \n", "2:17: unexpected text after the value"},
		{"text after quote", ok + `CONFIG_LSM="yama" x` + "\n", "2:18: text after the closing quote"},
		{"unterminated", ok + `CONFIG_LSM="yama` + "\n", "2:12: unterminated string"},
		{"empty value", ok + "CONFIG_MODULES=\n", "2:16: empty value"},
		{"no equals", ok + "CONFIG_MODULES\n", "2:1: no '='"},
		{"bad name", ok + "CONFIG_BAD-NAME=y\n", "2:11: invalid character '-'"},
		{"empty name", ok + "CONFIG_=y\n", "2:8: empty option name"},
		{"garbage", ok + "this is not a config line\n", "2:1: unexpected text"},
		{"not set without space", ok + "#CONFIG_MODULES is not set\n", "2:1: malformed comment"},
		{"not set two spaces", ok + "# CONFIG_MODULES  is not set\n", "2:1: malformed comment"},
		{"not set with a tail", ok + "# CONFIG_MODULES is not set.\n", "2:1: malformed comment"},
		{"NUL", ok + "CONFIG_A=y\x00\n", "2:11: NUL byte"},
		{"empty file", "", "1: no CONFIG_ option"},
		{"comment-only file", "# CONFIG_X86_64 was here\n#\n\n", "1: no CONFIG_ option"},
		{"two headers", "# Linux/x86 6.12.0 Kernel Configuration\n" + ok + "# Linux/arm64 6.1.0 Kernel Configuration\n", "3:1: a second configuration header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.src))
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want a SyntaxError with %q", err, tc.want)
			}
		})
	}
	// Every problem is listed, with the path when the file has one.
	path := filepath.Join(t.TempDir(), "bad.config")
	os.WriteFile(path, []byte(ok+" CONFIG_A=y\nCONFIG_B=\"y\"\n"), 0o644)
	_, err := ReadConfigFile(path)
	if err == nil || !strings.Contains(err.Error(), path+":2:1: indented") || !strings.Contains(err.Error(), "\n"+path+":3:10: quoted bool") {
		t.Errorf("err = %v", err)
	}
}

func TestArchAndVersion(t *testing.T) {
	for _, tc := range []struct {
		name, src    string
		arch, source string
		version      Version
		validate     string // Validate's error, "" for none
		findings     []string
	}{
		{"options decide", "# Linux/x86 6.12.0 Kernel Configuration\nCONFIG_X86_32=y\n", "x86_32", "options", Version{6, 12, 0}, "", nil},
		{"header alone", "# Linux/arm64 6.12.0 Kernel Configuration\nCONFIG_MODULES=y\n", "arm64", "header", Version{6, 12, 0}, "", nil},
		{"x86 header alone decides nothing", "# Linux/x86 6.12.0 Kernel Configuration\nCONFIG_MODULES=y\n", "", "", Version{6, 12, 0}, "does not say its architecture", nil},
		{"no architecture", "CONFIG_MODULES=y\n", "", "", Version{}, "does not say its architecture (no CONFIG_X86_64, CONFIG_ARM64, ... and no header): give --arch", nil},
		{"two architectures", "CONFIG_X86_64=y\nCONFIG_ARM64=y\n", "", "", Version{}, "more than one architecture (CONFIG_X86_64, CONFIG_ARM64)", nil},
		{"header disagrees", "# Linux/arm64 6.12.0 Kernel Configuration\nCONFIG_X86_64=y\n", "x86_64", "options", Version{6, 12, 0}, "",
			[]string{"header says Linux/arm64, the options CONFIG_X86_64: checked as x86_64"}},
		{"header claims an older kernel", "# Linux/x86 4.19.0 Kernel Configuration\nCONFIG_X86_64=y\n# CONFIG_KSTACK_ERASE is not set\nCONFIG_SLAB_BUCKETS=y\n",
			"x86_64", "options", Version{6, 17, 0}, "",
			[]string{"header claims Linux 4.19.0, CONFIG_KSTACK_ERASE (line 3) is 6.17+: checked as 6.17"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if c.Arch != tc.arch || c.ArchSource != tc.source || c.Version != tc.version {
				t.Errorf("arch %q (%s) version %v, want %q (%s) %v", c.Arch, c.ArchSource, c.Version, tc.arch, tc.source, tc.version)
			}
			in := &Input{Config: c, ConfigPath: "c"}
			err = in.Validate()
			if tc.validate == "" && err != nil || tc.validate != "" && (err == nil || !strings.Contains(err.Error(), tc.validate)) {
				t.Errorf("Validate() = %v, want %q", err, tc.validate)
			}
			var got []string
			for _, f := range InputFindings(in) {
				if !strings.HasPrefix(f.Key, "fragment") {
					got = append(got, f.Message)
				}
			}
			if diff := cmp.Diff(tc.findings, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
	// --arch decides an undetectable configuration, and must not
	// contradict the options.
	c, _ := ParseConfig([]byte("CONFIG_MODULES=y\n"))
	if err := (&Input{Config: c, Arch: "riscv"}).Validate(); err != nil {
		t.Error(err)
	}
	c, _ = ParseConfig([]byte("CONFIG_ARM64=y\n"))
	if err := (&Input{Config: c, Arch: "x86_64"}).Validate(); err == nil || !strings.Contains(err.Error(), "--arch x86_64 contradicts the configuration, which sets CONFIG_ARM64 (arm64)") {
		t.Errorf("Validate() = %v", err)
	}
}

func TestReadInput(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("# Linux/arm64 6.1.0 Kernel Configuration\nCONFIG_ARM64=y\n"))
	zw.Close()
	// A name that does not say gzip, like /proc/config.gz read through a
	// symlink: the content decides.
	path := filepath.Join(dir, "config")
	os.WriteFile(path, buf.Bytes(), 0o644)
	c, err := ReadConfigFile(path)
	if err != nil || c.Arch != "arm64" || c.Version != (Version{6, 1, 0}) {
		t.Errorf("gzip config: %v %+v", err, c)
	}
	if _, err := ParseConfig([]byte{0x1f, 0x8b, 0, 1, 2}); err == nil || !strings.Contains(err.Error(), "gunzip") {
		t.Errorf("bad gzip: err = %v", err)
	}
	trunc := buf.Bytes()[:buf.Len()-6]
	if _, err := ParseConfig(trunc); err == nil || !strings.Contains(err.Error(), "gunzip") {
		t.Errorf("truncated gzip: err = %v", err)
	}

	// A gzip bomb: 64 MiB of zeros in 64 KiB. Reading stops at MaxInput,
	// quickly and without holding what the rest would expand to.
	bomb := filepath.Join(dir, "bomb.gz")
	f, _ := os.Create(bomb)
	zw, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
	zero := make([]byte, 1<<20)
	for range 64 {
		zw.Write(zero)
	}
	zw.Close()
	f.Close()
	start := time.Now()
	if _, err := ReadConfigFile(bomb); !errors.Is(err, ErrTooLarge) {
		t.Errorf("gzip bomb: err = %v, want ErrTooLarge", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gzip bomb took %v", d)
	}
	big := filepath.Join(dir, "big.config")
	os.WriteFile(big, bytes.Repeat([]byte("CONFIG_A=y\n"), MaxInput/10), 0o644)
	if _, err := ReadConfigFile(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("large file: err = %v", err)
	}

	// A FIFO is an error at once, not a read that waits for a writer.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadConfigFile(fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "is a FIFO, not a regular file") {
			t.Errorf("FIFO: err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO hangs")
	}
	for _, dev := range []struct{ path, kind string }{{"/dev/zero", "character device"}, {dir, "directory"}} {
		if _, err := ReadInput(dev.path); err == nil || !strings.Contains(err.Error(), dev.kind) {
			t.Errorf("%s: err = %v, want %s", dev.path, err, dev.kind)
		}
	}
	if _, err := ReadInput(filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
		err  bool
	}{
		{"6.6", Version{6, 6, 0}, false},
		{"6.6.30", Version{6, 6, 30}, false},
		{"6.12.0-55.40.1.el10_0.x86_64", Version{6, 12, 0}, false},
		{"6.6.104.2", Version{6, 6, 104}, false},
		{"6.18.0-rc3", Version{6, 18, 0}, false},
		{"6.", Version{}, true},
		{"6", Version{}, true},
		{"1.2", Version{}, true},
		{"x", Version{}, true},
		{"", Version{}, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			v, err := ParseVersion(tc.in)
			if (err != nil) != tc.err || v != tc.want {
				t.Errorf("ParseVersion(%q) = %v, %v", tc.in, v, err)
			}
		})
	}
}
