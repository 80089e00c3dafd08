package rustlex

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

func TestLexTokens(t *testing.T) {
	tests := []struct {
		src  string
		want []string // kind:text
	}{
		{`'a'`, []string{"char:'a'"}},
		{`'a`, []string{"lifetime:'a"}},
		{`&'static str`, []string{"punct:&", "lifetime:'static", "ident:str"}},
		{`'\''`, []string{`char:'\''`}},
		{`'\u{1F600}'`, []string{`char:'\u{1F600}'`}},
		{`'"'`, []string{`char:'"'`}},
		{`b'x'`, []string{"char:b'x'"}},
		{`"a\"b"`, []string{`string:"a\"b"`}},
		{`r#"a"b"#`, []string{`string:r#"a"b"#`}},
		{`br##"x"#y"##`, []string{`string:br##"x"#y"##`}},
		{`c"x" cr#"y"#`, []string{`string:c"x"`, `string:cr#"y"#`}},
		{`r#unsafe`, []string{"ident:r#unsafe"}},
		{`/* a /* b */ c */ x`, []string{"comment:/* a /* b */ c */", "ident:x"}},
		{"/// doc\n//// not doc", []string{"comment:/// doc", "comment://// not doc"}},
		{`1.5e-3 0x1e+2 1..2 t.0`, []string{"number:1.5e-3", "number:0x1e", "punct:+", "number:2", "number:1", "punct:.", "punct:.", "number:2", "ident:t", "punct:.", "number:0"}},
		{"#!/bin/x\nfn", []string{"shebang:#!/bin/x", "ident:fn"}},
		{"#![forbid]", []string{"punct:#", "punct:!", "punct:[", "ident:forbid", "punct:]"}},
		{"é_1", []string{"ident:é_1"}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			toks, err := Lex([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tk := range toks {
				got = append(got, tk.Kind.String()+":"+tk.Text)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLexErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"fn x() {\n  let s = \"abc\n", "2:11: unterminated string"},
		{"/* a /* b */", "1:1: unterminated block comment"},
		{"x r#\"abc\"", "1:3: unterminated raw string"},
		{"'", "1:1: unterminated char literal"},
		{"\xff", "1:1: invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Lex([]byte(tt.src))
			var le *Error
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want a *Error", err)
			}
			if err.Error() != tt.want {
				t.Errorf("err = %q, want %q", err, tt.want)
			}
		})
	}
}

func TestUnsafeSample(t *testing.T) {
	src, err := os.ReadFile("testdata/sample.rs")
	if err != nil {
		t.Fatal(err)
	}
	toks, err := Lex(src)
	if err != nil {
		t.Fatal(err)
	}
	got := Unsafe(toks)
	lineOf := func(needle string) int {
		for i, l := range strings.Split(string(src), "\n") {
			if strings.Contains(l, needle) {
				return i + 1
			}
		}
		t.Fatalf("no line with %q", needle)
		return 0
	}
	want := []Site{
		{Kind: "block", Line: lineOf("unsafe { inb"), Col: 9, Item: "Port::read", Safety: true},
		{Kind: "block", Line: lineOf("unsafe { outb(self"), Col: 9, Item: "Port::write"},
		{Kind: "fn", Line: lineOf("pub unsafe fn inb"), Col: 5, Item: "inb", Safety: true},
		{Kind: "fn", Line: lineOf("unsafe fn outb"), Col: 1, Item: "outb"},
		{Kind: "impl", Line: lineOf("unsafe impl Send"), Col: 1, Item: "Port"},
		{Kind: "trait", Line: lineOf("unsafe trait Marker"), Col: 1, Item: "Marker", Safety: true},
		{Kind: "extern block", Line: lineOf("unsafe extern \"C\" {"), Col: 1},
		{Kind: "attribute", Line: lineOf("#[unsafe(no_mangle)]"), Col: 3},
		{Kind: "block", Line: lineOf("let v ="), Col: 42, Item: "main", Safety: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if ok, line := ForbidsUnsafe(toks); !ok || line != 3 {
		t.Errorf("ForbidsUnsafe = %v, %d; want true, 3", ok, line)
	}
}

func TestForbid(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		{"#![forbid(unsafe_code)]", true},
		{"#![forbid(missing_docs, unsafe_code)]", true},
		{"#![deny(unsafe_code)]", false},
		{"#![cfg_attr(not(test), forbid(unsafe_code))]", false},
		{"// #![forbid(unsafe_code)]", false},
		{`const S: &str = "#![forbid(unsafe_code)]";`, false},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			toks, err := Lex([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := ForbidsUnsafe(toks); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSafetyComment(t *testing.T) {
	tests := []struct {
		name, src string
		want      bool
	}{
		{"directly above", "fn f() {\n    // SAFETY: ok\n    unsafe { g() }\n}", true},
		{"block comment above", "fn f() {\n    /* SAFETY: ok */\n    unsafe { g() }\n}", true},
		{"multi-line comment group", "fn f() {\n    // SAFETY: the pointer\n    // is valid.\n    unsafe { g() }\n}", true},
		{"blank line between", "fn f() {\n    // SAFETY: ok\n\n    unsafe { g() }\n}", true},
		{"code between", "fn f() {\n    // SAFETY: ok\n    let a = 1;\n    unsafe { g() }\n}", false},
		{"trailing comment on code line above", "fn f() {\n    let a = 1; // SAFETY: not here\n    unsafe { g() }\n}", false},
		{"lowercase", "fn f() {\n    // safety: ok\n    unsafe { g() }\n}", false},
		{"attribute between", "// SAFETY: Port is plain data.\n#[allow(dead_code)]\nunsafe impl Send for Port {}", true},
		{"in a string above", "fn f() {\n    let s = \"// SAFETY: no\";\n    unsafe { g() }\n}", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := Lex([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			sites := Unsafe(toks)
			if len(sites) != 1 {
				t.Fatalf("sites = %+v", sites)
			}
			if sites[0].Safety != tt.want {
				t.Errorf("Safety = %v, want %v", sites[0].Safety, tt.want)
			}
		})
	}
}

func FuzzLex(f *testing.F) {
	if src, err := os.ReadFile("testdata/sample.rs"); err == nil {
		f.Add(string(src))
	}
	for _, s := range []string{"'a'", "'a", `r#"x"#`, "/* /* */", "b'\\x41'", "'\\u{1}'", "#![forbid(unsafe_code)]", "unsafe extern \"C\" fn", "1e+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		fuzzlimit.Default(t, func() {
			toks, err := Lex([]byte(src))
			if err != nil {
				var le *Error
				if !errors.As(err, &le) || le.Line < 1 || le.Col < 1 {
					t.Fatalf("error without position: %v", err)
				}
			}
			for _, tk := range toks {
				if tk.Line < 1 || tk.EndLine < tk.Line || tk.Text == "" {
					t.Fatalf("bad token %+v", tk)
				}
			}
			Unsafe(toks)
			ForbidsUnsafe(toks)
		})
	})
}

func TestUnsafeTestCode(t *testing.T) {
	src := `fn prod() { unsafe { a() } }
#[cfg(test)]
mod tests {
    fn helper() { unsafe { b() } }
    #[test]
    fn t() { unsafe { c() } }
}
#[test]
fn top() { unsafe { d() } }
#[tokio::test]
async fn tok() { unsafe { e() } }
#[cfg(not(test))]
fn not_test() { unsafe { f() } }
#[cfg(all(test, unix))]
unsafe impl Send for X {}
#[cfg(test)] mod tests2;
fn after() { unsafe { g() } }
`
	toks, err := Lex([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range Unsafe(toks) {
		got = append(got, fmt.Sprintf("%d %s %s test=%v", s.Line, s.Kind, s.Item, s.Test))
	}
	want := []string{
		"1 block prod test=false",
		"4 block tests::helper test=true",
		"6 block tests::t test=true",
		"9 block top test=true",
		"11 block tok test=true",
		"13 block not_test test=false",
		"15 impl X test=true",
		"17 block after test=false",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	toks, _ = Lex([]byte("#![cfg(test)]\nfn f() { unsafe { g() } }\n"))
	if s := Unsafe(toks); len(s) != 1 || !s[0].Test {
		t.Errorf("a module file under #![cfg(test)]: %+v", s)
	}
}

// cpuTime is the process's CPU time: unlike wall time it hardly moves when
// other processes load the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Lexing and finding unsafe sites are linear in the input (issue 12: a
// one-line 30 MB .rs file cost 3.1 GB and 18 s): nested braces, attribute
// lines before sites, impl headers without a body, unterminated forbid
// lists.
func TestUnsafeLinear(t *testing.T) {
	// Nested braces; sites on attribute lines one below the other; and
	// on one line, impl headers without a body, unterminated forbid
	// lists and sites one after another.
	units := []string{"{ ", "#[a] unsafe {}\n", "impl #![forbid( unsafe { x } "}
	measure := func(unit string, size int) time.Duration {
		src := []byte(strings.Repeat(unit, size/len(unit)))
		best := time.Duration(1 << 62)
		for range 3 - size>>23 {
			start := cpuTime()
			toks, _ := Lex(src)
			Unsafe(toks)
			ForbidsUnsafe(toks)
			best = min(best, cpuTime()-start)
		}
		return best
	}
	for _, unit := range units {
		small, large := measure(unit, 1<<20), measure(unit, 16<<20)
		t.Logf("%-18q 1 MiB %8v  16 MiB %8v  ratio %.1f", unit, small, large, float64(large)/float64(max(small, time.Millisecond)))
		// Linear is 16×; a quadratic walk is 256×. Measured here: 39-68×,
		// from memory, not the walk: 16 MiB of "{ " is 8 million 40-byte
		// tokens (320 MB) that the collector scans while the slice grows,
		// against 20 MB for 1 MiB (with GOGC=off that case is 18×). 128× leaves room for that
		// and for a loaded machine, and still fails a quadratic walk.
		if large > 128*max(small, 5*time.Millisecond) {
			t.Errorf("%q: 16 MiB took %v, 1 MiB %v: worse than linear", unit, large, small)
		}
	}
}
