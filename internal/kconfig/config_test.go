package kconfig

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
			c, err := ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Problems) != 0 {
				t.Errorf("problems in a real configuration: %v", c.Problems)
			}
			if len(c.Options) < 100 {
				t.Errorf("only %d options", len(c.Options))
			}
			if c.Arch == "" || c.Version.IsZero() {
				t.Errorf("arch %q version %v: want both detected from %q %q", c.Arch, c.Version, c.HeaderArch, c.VersionText)
			}
			want := archFromName(filepath.Base(f))
			if want != "" && c.Arch != want {
				t.Errorf("arch = %q, want %q (header %q)", c.Arch, want, c.HeaderArch)
			}
		})
	}
}

// archFromName reads the architecture a corpus file name promises.
func archFromName(name string) string {
	for _, m := range []struct{ sub, arch string }{
		{"x86_64", "x86_64"}, {"x86-64", "x86_64"}, {"i386", "x86_32"}, {"aarch64", "arm64"},
		{"arm64", "arm64"}, {"riscv", "riscv"}, {"arm_", "arm"}, {"kconfig-arm.", "arm"},
		{"nixpkgs", "x86_64"}, {"rhel", "x86_64"}, {"example_config", "x86_64"},
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
		"# Linux/x86 6.6.30-android15 Kernel Configuration",
		"#",
		"CONFIG_X86_64=y",
		"CONFIG_MODULES=m",
		"# CONFIG_DEBUG_FS is not set",
		`CONFIG_LSM="landlock,lockdown,yama"`,
		`CONFIG_CMDLINE="quiet \"x\" \\ y"`,
		"CONFIG_NR_CPUS=0x40",
		"CONFIG_OFF=n",
		"  # indented comment",
		"CONFIG_MODULES=y",
		"garbage here",
		"CONFIG_NOEQ",
		"CONFIG_BAD-NAME=y",
		"CONFIG_EMPTY=",
		`CONFIG_OPEN="unterminated`,
		`CONFIG_TAIL="a" b`,
		"CONFIG_SPACE=a b",
		"# CONFIG_bad name is not set",
		"CONFIG_CRLF=y\r",
	}, "\n")
	c, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Arch != "x86_64" || c.HeaderArch != "x86" || c.Version != (Version{6, 6, 30}) || c.VersionText != "6.6.30-android15" {
		t.Errorf("header: arch %q/%q version %v %q", c.Arch, c.HeaderArch, c.Version, c.VersionText)
	}
	wantOpts := map[string]Option{
		"X86_64":   {Name: "X86_64", Value: "y", Line: 4},
		"MODULES":  {Name: "MODULES", Value: "y", Line: 12},
		"DEBUG_FS": {Name: "DEBUG_FS", NotSet: true, Line: 6},
		"LSM":      {Name: "LSM", Value: "landlock,lockdown,yama", Quoted: true, Line: 7},
		"CMDLINE":  {Name: "CMDLINE", Value: `quiet "x" \ y`, Quoted: true, Line: 8},
		"NR_CPUS":  {Name: "NR_CPUS", Value: "0x40", Line: 9},
		"OFF":      {Name: "OFF", NotSet: true, Line: 10},
		"CRLF":     {Name: "CRLF", Value: "y", Line: 21},
	}
	if diff := cmp.Diff(wantOpts, c.Options); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	wantProblems := []Problem{
		{Line: 12, Message: "CONFIG_MODULES repeated (first at line 5); the last assignment wins"},
		{Line: 13, Column: 1, Message: "expected CONFIG_NAME=VALUE or a comment"},
		{Line: 14, Column: 1, Message: "expected '=' after the option name"},
		{Line: 15, Column: 11, Message: `invalid character '-' in option name`},
		{Line: 16, Column: 14, Message: "empty value for CONFIG_EMPTY"},
		{Line: 17, Column: 25, Message: "unterminated string: missing closing quote"},
		{Line: 18, Column: 16, Message: "unexpected text after the closing quote"},
		{Line: 19, Column: 15, Message: `unquoted value contains ' '`},
	}
	if diff := cmp.Diff(wantProblems, c.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if c.Lines != 21 {
		t.Errorf("lines = %d", c.Lines)
	}
}

func TestParseGzipAndProcConfig(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("# Linux/arm64 6.1.0 Kernel Configuration\nCONFIG_ARM64=y\n"))
	zw.Close()
	// A name that does not say gzip, like /proc/config.gz read through a
	// symlink: the content decides.
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Arch != "arm64" || c.Version != (Version{6, 1, 0}) {
		t.Errorf("arch %q version %v", c.Arch, c.Version)
	}
	if _, err := Parse([]byte{0x1f, 0x8b, 0, 1, 2}); err == nil || !strings.Contains(err.Error(), "gunzip") {
		t.Errorf("bad gzip: err = %v", err)
	}
	if _, err := Parse([]byte("CONFIG_A=y\nCONFIG_\x00B=y\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("NUL: err = %v", err)
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
		{"6", Version{}, true},
		{"6.", Version{}, true},
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

func TestCmdline(t *testing.T) {
	c, err := ParseCmdline([]byte("root=/dev/sda  nosmt mitigations=auto,nosmt\n" +
		`dyndbg="file x +p" "acpi_osi=Linux 2" page-alloc.shuffle=1 slub_debug=ZF slub_debug=P -- init_on_alloc=1`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Param{
		"root":               {Name: "root", Value: "/dev/sda", HasValue: true, Line: 1, Column: 1},
		"nosmt":              {Name: "nosmt", Line: 1, Column: 16},
		"mitigations":        {Name: "mitigations", Value: "auto,nosmt", HasValue: true, Line: 1, Column: 22},
		"dyndbg":             {Name: "dyndbg", Value: "file x +p", HasValue: true, Line: 2, Column: 1},
		"acpi_osi":           {Name: "acpi_osi", Value: "Linux 2", HasValue: true, Line: 2, Column: 20},
		"page_alloc.shuffle": {Name: "page-alloc.shuffle", Value: "1", HasValue: true, Line: 2, Column: 39},
		"slub_debug":         {Name: "slub_debug", Value: "P", HasValue: true, Line: 2, Column: 74},
	}
	if diff := cmp.Diff(want, c.Params); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	if _, ok := c.Get("page_alloc.shuffle"); !ok {
		t.Error("page-alloc and page_alloc must be the same parameter")
	}
	for _, bad := range []struct{ in, err string }{
		{`a "b`, "1:3: unterminated quote"},
		{"a =x", "1:3: parameter without a name"},
		{"a\x00", "1:2: NUL byte"},
	} {
		if _, err := ParseCmdline([]byte(bad.in)); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("ParseCmdline(%q) = %v, want %q", bad.in, err, bad.err)
		}
	}
	if _, err := ReadCmdlineFile("testdata/cmdline_example.txt"); err != nil {
		t.Error(err)
	}
}

func TestSysctl(t *testing.T) {
	s, err := ParseSysctl([]byte("# comment\n; other\nkernel.printk = 3\t4\t1\t7\n" +
		"dev.cdrom.info = CD-ROM information\ndev.cdrom.info = drive name:\t\tsr0\n" +
		"-kernel/yama/ptrace_scope=3\n  fs.suid_dumpable =0\nnet.ipv4.conf.eth0/1.rp_filter = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]SysctlValue{
		"kernel.printk":                  {Value: "3 4 1 7", Line: 3},
		"dev.cdrom.info":                 {Value: "CD-ROM information", Line: 4},
		"kernel.yama.ptrace_scope":       {Value: "3", Line: 6},
		"fs.suid_dumpable":               {Value: "0", Line: 7},
		"net.ipv4.conf.eth0/1.rp_filter": {Value: "1", Line: 8},
	}
	if diff := cmp.Diff(want, s.Values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if _, ok := s.Get("kernel/yama/ptrace_scope"); !ok {
		t.Error("slash form not found")
	}
	for _, bad := range []struct{ in, err string }{
		{"a = 1\n  novalue\n", "2:3: expected key = value"},
		{"= 1\n", "1:1: invalid sysctl key"},
		{"a b = 1\n", "1:1: invalid sysctl key"},
	} {
		if _, err := ParseSysctl([]byte(bad.in)); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("ParseSysctl(%q) = %v, want %q", bad.in, err, bad.err)
		}
	}
	ex, err := ReadSysctlFile("testdata/example_sysctls.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Values) < 500 {
		t.Errorf("example_sysctls.txt: %d keys", len(ex.Values))
	}
}
