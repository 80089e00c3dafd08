package sloc

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"strings"
	"syscall"
	"time"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// The expected counts follow tokei v13's rules (see the package comment);
// each case notes the rule it pins.
func TestCount(t *testing.T) {
	tests := []struct {
		name, lang, src string
		want            Stats
	}{
		{"rust strings and nested comments", "Rust", `// comment
fn main() {
    let s = "/* not a comment */";
    /* block /* nested */ still */
    let t = 1; // trailing
}
`, Stats{Code: 4, Comments: 2}},
		{"rust nested block over lines", "Rust", "/* a\n/* b */\nc */\nfn x() {}\n", Stats{Code: 1, Comments: 3}},
		{"rust doc comments are markdown, fenced examples are code", "Rust", "//! Crate doc.\n//!\n//! ```rust\n//! let x = 1;\n//! ```\n\n/// Item doc.\nfn f() {}\n",
			Stats{Code: 2, Comments: 4, Blanks: 2}},
		{"rust raw string holds comment markers", "Rust", "let r = r#\"\n// still a string\n\"#;\n", Stats{Code: 3}},
		{"rust multi-line string is code", "Rust", "let s = \"a\n\nb\";\n", Stats{Code: 3}},
		{"python docstrings and blank lines in strings are code", "Python", "#!/usr/bin/env python3\n\"\"\"Module docstring.\n\nMore.\n\"\"\"\nimport os  # comment\n\ndef f():\n    '''doc'''\n    return \"x\"\n",
			Stats{Code: 8, Comments: 1, Blanks: 1}},
		{"go block comments and strings", "Go", "package main\n\n/*\nPackage doc.\n*/\nimport \"fmt\" // x\n\nfunc main() {\n\tfmt.Println(\"/*\") // not a comment start\n}\n",
			Stats{Code: 5, Comments: 3, Blanks: 2}},
		{"shell hash lines and quoted hashes", "Shell", "#!/bin/sh\n# comment\necho \"a # b\"\nx='\n# inside string\n'\n", Stats{Code: 4, Comments: 2}},
		{"nix", "Nix", "{ pkgs }:\n# comment\nlet\n  s = ''\n    # a comment to tokei\n  '';\nin s\n", Stats{Code: 5, Comments: 2}},
		{"c whole-line comments and quirks", "C", "#include <stdio.h>\n/* a */ int x; /* b */\nint y; /* c\nd */\nchar q = '\"'; /* e */\nint z;\n",
			Stats{Code: 4, Comments: 2}},
		{"c comments do not nest", "C", "/* a /* b */\nint x;\n", Stats{Code: 1, Comments: 1}},
		{"escaped quote", "C", "char *s = \"\\\" /*\";\nint x;\n", Stats{Code: 2}},
		{"crlf and no final newline", "Go", "package x\r\n\r\n// c\r\nvar y = 1", Stats{Code: 2, Comments: 1, Blanks: 1}},
		{"empty", "Go", "", Stats{}},
		{"bom", "Go", "\xef\xbb\xbf// c\n", Stats{Comments: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ByName(tt.lang)
			if l == nil {
				t.Fatalf("no language %q", tt.lang)
			}
			if diff := cmp.Diff(tt.want, l.Count([]byte(tt.src))); diff != "" {
				t.Errorf("count (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	tests := []struct{ name, head, want string }{
		{"src/main.rs", "", "Rust"},
		{"a/b.GO", "", "Go"},
		{"x.h", "", "C Header"},
		{"x.hpp", "", "C++ Header"},
		{"x.cc", "", "C++"},
		{"default.nix", "", "Nix"},
		{"build.sh", "", "Shell"},
		{"run", "#!/usr/bin/env bash\nset -e\n", "BASH"},
		{"run", "#!/bin/sh\n", "Shell"},
		{"tool", "#!/usr/bin/env python3\n", "Python"},
		{"README.md", "", ""},
		{"Cargo.toml", "", ""},
		{"data.txt", "#!/bin/sh\n", ""}, // an unknown extension is never source
		{"Makefile", "all:\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.want, func(t *testing.T) {
			got := ""
			if l := Detect(tt.name, []byte(tt.head)); l != nil {
				got = l.Name
			}
			if got != tt.want {
				t.Errorf("Detect(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// TestTokeiData counts tokei's own test files: their first line states
// what tokei reports for them.
func TestTokeiData(t *testing.T) {
	files, _ := filepath.Glob("testdata/tokei/*.*")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	header := regexp.MustCompile(`(\d+) lines,? (\d+) code,? (\d+) comments,? (\d+) blanks`)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			l := Detect(f, data)
			if l == nil {
				t.Fatalf("%s: not source", f)
			}
			m := header.FindSubmatch(data)
			if m == nil {
				t.Fatalf("%s: no tokei header", f)
			}
			n := func(i int) int { v, _ := strconv.Atoi(string(m[i])); return v }
			want := Stats{Code: n(2), Comments: n(3), Blanks: n(4)}
			got := l.Count(data)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-tokei +nixgate):\n%s", diff)
			}
			if got.Lines() != n(1) {
				t.Errorf("%d lines, tokei %d", got.Lines(), n(1))
			}
		})
	}
}

func FuzzCount(f *testing.F) {
	for _, s := range []string{"/* a /* b */ c */\n\"x\\\"\"\n", "//! ```rust\n//! x\n//! ```\n", "'''\n#\n'''", "r#\"\n\"#", "```rust\nx```y\n"} {
		f.Add(s, uint8(0))
	}
	files, _ := filepath.Glob("testdata/tokei/*.*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b), uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, src string, li uint8) {
		l := languages[int(li)%len(languages)]
		var st Stats
		fuzzlimit.Default(t, func() { st = l.Count([]byte(src)) })
		if st.Blanks < 0 || st.Code < 0 || st.Comments < 0 {
			t.Fatalf("negative counts %+v", st)
		}
		if l.family != plainFamily {
			return // embedded languages may split or drop lines, as in tokei
		}
		b := bytes.TrimPrefix([]byte(src), []byte("\xef\xbb\xbf"))
		n := bytes.Count(b, []byte("\n"))
		if len(b) > 0 && b[len(b)-1] != '\n' {
			n++
		}
		if st.Lines() != n {
			t.Fatalf("%s: %d lines counted, file has %d: %+v", l.Name, st.Lines(), n, st)
		}
	})
}

// cpuTime is the process's CPU time: unlike wall time it hardly moves when
// other processes load the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The counter is linear in its input (issue 12): one huge line of string
// and comment openers, many short lines, and nested comments.
func TestCountLinear(t *testing.T) {
	for _, tc := range []struct{ lang, unit string }{
		{"Rust", `"a" /* b */ `}, {"Rust", "/* /* x\n"}, {"Rust", "//! ```rust\n"}, {"Python", `'''x''' "`}, {"Shell", "echo \"$x\" # c\n"}, {"Nix", "''a'' \"${b}\" "},
	} {
		l := ByName(tc.lang)
		if l == nil {
			t.Fatalf("no language %s", tc.lang)
		}
		measure := func(size int) time.Duration {
			src := []byte(strings.Repeat(tc.unit, size/len(tc.unit)))
			best := time.Duration(1 << 62)
			for range 3 - size>>23 {
				start := cpuTime()
				l.Count(src)
				best = min(best, cpuTime()-start)
			}
			return best
		}
		small, large := measure(1<<20), measure(16<<20)
		t.Logf("%-6s %-18q 1 MiB %8v  16 MiB %8v", tc.lang, tc.unit, small, large)
		if large > 48*max(small, 5*time.Millisecond) {
			t.Errorf("%s %q: 16 MiB took %v, 1 MiB %v: worse than linear", tc.lang, tc.unit, large, small)
		}
	}
}
