package kconfig

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCmdline follows the kernel's own parser (lib/cmdline.c next_arg,
// kernel/params.c parse_args).
func TestCmdline(t *testing.T) {
	c, err := ParseCmdline([]byte("root=/dev/sda  nosmt mitigations=auto,nosmt\n" +
		`dyndbg="file x +p" "acpi_osi=Linux 2" page-alloc.shuffle=1 slub_debug=ZF slub_debug=P a=b"c d" "flag" -- init_on_alloc=0 x`))
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
		// Only an opening quote and its closing one are removed; a quote
		// inside a value stays, as in the kernel.
		"a":    {Name: "a", Value: `b"c d"`, HasValue: true, Line: 2, Column: 87},
		"flag": {Name: "flag", Line: 2, Column: 96},
	}
	if diff := cmp.Diff(want, c.Params); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
	if c.Init != "init_on_alloc=0 x" {
		t.Errorf("after --: %q", c.Init)
	}
	if _, ok := c.Get("page_alloc.shuffle"); !ok {
		t.Error("page-alloc and page_alloc must be the same parameter")
	}
	if len(c.All) != 10 {
		t.Errorf("%d occurrences, want 10 (repeats kept)", len(c.All))
	}
}

func TestCmdlineRepeats(t *testing.T) {
	for _, tc := range []struct{ in, name, want string }{
		{"init_on_alloc=1 init_on_alloc=0", "init_on_alloc", "0"},
		// lockdown= can only raise the level.
		{"lockdown=confidentiality lockdown=integrity", "lockdown", "confidentiality"},
		{"lockdown=integrity lockdown=confidentiality", "lockdown", "confidentiality"},
		{"lockdown=none lockdown=integrity", "lockdown", "integrity"},
		{"efi=disable_early_pci_dma efi=debug", "efi", "debug"},
	} {
		c, err := ParseCmdline([]byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := c.Get(tc.name); p.Value != tc.want {
			t.Errorf("%q: %s = %q, want %q", tc.in, tc.name, p.Value, tc.want)
		}
	}
}

func TestCmdlineErrors(t *testing.T) {
	for _, bad := range []struct{ in, err string }{
		{`a "b`, "1:3: unterminated quote"},
		{"a\nb c=\"d", "2:3: unterminated quote"},
		{`a ""`, "1:3: parameter without a name"},
		{"a\x00b", "1:2: NUL byte"},
	} {
		if _, err := ParseCmdline([]byte(bad.in)); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("ParseCmdline(%q) = %v, want %q", bad.in, err, bad.err)
		}
	}
	// A UKI .cmdline section is a C string: trailing NULs are fine.
	c, err := ParseCmdline([]byte("init=/init quiet\x00\x00"))
	if err != nil || c.Params["init"].Value != "/init" {
		t.Errorf("trailing NUL: %v %+v", err, c)
	}
	// 0xA0 is a blank to the kernel (lib/ctype.c).
	c, err = ParseCmdline([]byte("a=1\xa0nokaslr"))
	if _, ok := c.Get("nokaslr"); err != nil || !ok {
		t.Errorf("0xA0 separator: %v %+v", err, c)
	}
	if _, err := ReadCmdlineFile("testdata/cmdline_example.txt"); err != nil {
		t.Error(err)
	}
}

func TestSysctl(t *testing.T) {
	s, err := ParseSysctl([]byte("# comment\n; other\nkernel.printk = 3\t4\t1\t7\n" +
		"kernel.kptr_restrict = 2\n-kernel/yama/ptrace_scope=3\n  fs.suid_dumpable =0\n" +
		"net.ipv4.conf.eth0/1.rp_filter = 1\nkernel.kptr_restrict = 0\n" +
		"net.ipv4.conf.*.accept_redirects = 0\nnet.ipv4.conf.all.accept_redirects = 1\nnet.ipv4.conf.*.rp_filter = 2\n" +
		"sysctl: permission denied on key 'kernel.cad_pid'\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, value string
		line       int
	}{
		{"kernel.printk", "3 4 1 7", 3},
		{"kernel.kptr_restrict", "0", 8}, // the last assignment wins, as when sysctl applies the file
		{"kernel/yama/ptrace_scope", "3", 5},
		{"fs.suid_dumpable", "0", 6},
		{"net.ipv4.conf.eth0/1.rp_filter", "1", 7},
		{"net.ipv4.conf.all.accept_redirects", "1", 10}, // a later exact key beats an earlier glob
		{"net.ipv4.conf.default.accept_redirects", "0", 9},
		{"net.ipv4.conf.all.rp_filter", "2", 11},
	} {
		v, ok := s.Get(tc.key)
		if !ok || v.Value != tc.value || v.Line != tc.line {
			t.Errorf("%s = %+v (%v), want %q at line %d", tc.key, v, ok, tc.value, tc.line)
		}
	}
	if _, ok := s.Get("kernel.cad_pid"); ok {
		t.Error("a permission-denied line has no value")
	}
	want := []SysctlRepeat{{Key: "kernel.kptr_restrict", Lines: []int{4, 8}, Values: []string{"2", "0"}}}
	if diff := cmp.Diff(want, s.Repeats); diff != "" {
		t.Errorf("repeats (-want +got):\n%s", diff)
	}
	for _, bad := range []struct{ in, err string }{
		{"a = 1\n  novalue\n", "2:3: expected key = value"},
		{"= 1\n", "1:1: invalid sysctl key"},
		{"a b = 1\n", "1:1: invalid sysctl key"},
		{"a = \x00\n", "1:5: NUL byte"},
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
