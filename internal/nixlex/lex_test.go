package nixlex

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

func nixFiles(t testing.TB) []string {
	files, _ := filepath.Glob("testdata/*/*.nix")
	if len(files) < 8 {
		t.Fatalf("want the test .nix files, have %d", len(files))
	}
	return files
}

// TestLossless: the tokens of every test file concatenate to the file.
func TestLossless(t *testing.T) {
	for _, f := range nixFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			toks, err := Lex(string(b))
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			for _, tk := range toks {
				sb.WriteString(tk.Text)
			}
			if sb.String() != string(b) {
				t.Errorf("tokens do not concatenate to the file")
			}
		})
	}
}

type tk struct {
	Kind Kind
	Text string
}

func kinds(t *testing.T, src string) []tk {
	t.Helper()
	toks, err := Lex(src)
	if err != nil {
		t.Fatalf("Lex(%q): %v", src, err)
	}
	var out []tk
	for _, x := range Code(toks) {
		out = append(out, tk{x.Kind, x.Text})
	}
	return out
}

func TestTokens(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []tk
	}{
		{`a/b`, []tk{{Path, "a/b"}}},
		{`a / b`, []tk{{Ident, "a"}, {Op, "/"}, {Ident, "b"}}},
		{`a//b`, []tk{{Ident, "a"}, {Op, "//"}, {Ident, "b"}}},
		{`./.`, []tk{{Path, "./."}}},
		{`../x/y.nix`, []tk{{Path, "../x/y.nix"}}},
		{`~/x`, []tk{{Path, "~/x"}}},
		{`<nixpkgs/lib>`, []tk{{SearchPath, "<nixpkgs/lib>"}}},
		{`a < b`, []tk{{Ident, "a"}, {Op, "<"}, {Ident, "b"}}},
		{`x:y`, []tk{{URI, "x:y"}}},
		{`x: y`, []tk{{Ident, "x"}, {Op, ":"}, {Ident, "y"}}},
		{`https://a.b/c?d=e`, []tk{{URI, "https://a.b/c?d=e"}}},
		{`1.5e3 .5 42`, []tk{{Float, "1.5e3"}, {Float, ".5"}, {Int, "42"}}},
		{`x' y-z`, []tk{{Ident, "x'"}, {Ident, "y-z"}}},
		{`let in rec or`, []tk{{Keyword, "let"}, {Keyword, "in"}, {Keyword, "rec"}, {Keyword, "or"}}},
		{`x |> f <| y`, []tk{{Ident, "x"}, {Op, "|>"}, {Ident, "f"}, {Op, "<|"}, {Ident, "y"}}},
		{`"a${b}c"`, []tk{{StrOpen, `"`}, {StrText, "a"}, {InterpOpen, "${"}, {Ident, "b"}, {InterpClose, "}"}, {StrText, "c"}, {StrClose, `"`}}},
		{`"\${b} $${c}"`, []tk{{StrOpen, `"`}, {StrText, `\${b} $${c}`}, {StrClose, `"`}}},
		{`"${ { a = "}"; }.a }"`, []tk{{StrOpen, `"`}, {InterpOpen, "${"}, {Op, "{"}, {Ident, "a"}, {Op, "="}, {StrOpen, `"`}, {StrText, "}"}, {StrClose, `"`}, {Op, ";"}, {Op, "}"}, {Op, "."}, {Ident, "a"}, {InterpClose, "}"}, {StrClose, `"`}}},
		{"''a ''${b} '''c ''\\n''", []tk{{StrOpen, "''"}, {StrText, "a ''${b} '''c ''\\n"}, {StrClose, "''"}}},
		{"''x${y}''", []tk{{StrOpen, "''"}, {StrText, "x"}, {InterpOpen, "${"}, {Ident, "y"}, {InterpClose, "}"}, {StrClose, "''"}}},
		{`./a/${b}/c${d}`, []tk{{Path, "./a/"}, {InterpOpen, "${"}, {Ident, "b"}, {InterpClose, "}"}, {Path, "/c"}, {InterpOpen, "${"}, {Ident, "d"}, {InterpClose, "}"}}},
		{"# <nixpkgs>\n/* fetchTarball */ x", []tk{{Ident, "x"}}},
		{`a.${b}.c`, []tk{{Ident, "a"}, {Op, "."}, {InterpOpen, "${"}, {Ident, "b"}, {InterpClose, "}"}, {Op, "."}, {Ident, "c"}}},
	} {
		t.Run(tc.src, func(t *testing.T) {
			if d := cmp.Diff(tc.want, kinds(t, tc.src)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestLexErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`"abc`, "1:1: unterminated string"},
		{"x = ''\n  abc", "1:5: unterminated indented string"},
		{"/* x", "1:1: unterminated comment"},
		{"{ a = 1;", "unclosed '{'"},
		{`"${a"`, "unterminated string"},
		{"a }", "1:3: unexpected '}'"},
		{"a ` b", "1:3: unexpected character '`'"},
	} {
		t.Run(tc.src, func(t *testing.T) {
			_, err := Lex(tc.src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// TestAgainstNix: real Nix parses every test file, and finds exactly the
// search-path lookups the lexer finds (nix-instantiate --parse prints each
// as __findFile __nixPath "name"), so strings and comments were told apart
// the way Nix tells them apart.
func TestAgainstNix(t *testing.T) {
	nix, err := exec.LookPath("nix-instantiate")
	if err != nil {
		t.Skip("nix-instantiate not installed (make deps installs nix-bin)")
	}
	re := regexp.MustCompile(`__findFile __nixPath "([^"]*)"`)
	for _, f := range nixFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			abs, _ := filepath.Abs(f)
			cmd := exec.Command(nix, "--parse", abs)
			cmd.Env = append(os.Environ(), "NIX_PATH=", "HOME="+t.TempDir())
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("nix-instantiate --parse: %v", err)
			}
			var want []string
			for _, m := range re.FindAllStringSubmatch(string(out), -1) {
				want = append(want, "<"+m[1]+">")
			}
			b, _ := os.ReadFile(f)
			toks, err := Lex(string(b))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range toks {
				if x.Kind == SearchPath {
					got = append(got, x.Text)
				}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("search paths (-nix +nixlex):\n%s", d)
			}
		})
	}
}

func TestScanImpure(t *testing.T) {
	b, err := os.ReadFile("testdata/scan/impure.nix")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := ScanImpure(string(b))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, strings.Join([]string{itoa(f.Pos.Line) + ":" + itoa(f.Pos.Column), f.Kind}, " "))
	}
	want := []string{
		"3:17 search-path",
		"4:18 search-path",
		"5:9 fetch-without-hash",
		"6:10 fetch-without-hash",
		"9:10 fetch-without-hash",
		"10:10 fetch-without-rev",
		"14:10 fetch-without-rev",
		"15:11 current-time",
		"16:10 get-env",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s\n%v", d, fs)
	}
	for _, f := range []string{"testdata/scan/strings.nix", "testdata/real/go-nix-flake.nix"} {
		b, _ := os.ReadFile(f)
		fs, err := ScanImpure(string(b))
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 0 {
			t.Errorf("%s: unexpected findings %+v", f, fs)
		}
	}
}

// TestScanImpureReached: issue 13's cases, each with its position and
// kind; the file's second half must give nothing.
func TestScanImpureReached(t *testing.T) {
	b, err := os.ReadFile("testdata/scan/impure-reached.nix")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := ScanImpure(string(b))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, itoa(f.Pos.Line)+" "+f.Kind)
	}
	want := []string{
		"7 current-time", "7 get-env", // inherit (builtins)
		"8 current-time", "9 current-time", "10 get-env", "11 get-env", "12 get-env",
		"13 current-system", "14 nix-path", "15 find-file", "15 nix-path", "16 get-flake",
		"18 store-path", "19 exec", "20 fetch-without-hash",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s\n%v", d, fs)
	}
	// go-nix's shell.nix reads builtins.currentSystem (its fetchTarball has
	// a sha256).
	b, _ = os.ReadFile("testdata/real/go-nix-shell.nix")
	fs, _ = ScanImpure(string(b))
	if len(fs) != 1 || fs[0].Kind != "current-system" {
		t.Errorf("go-nix shell.nix: %+v", fs)
	}
}

func TestScanImpureFlag(t *testing.T) {
	src := "#!/bin/sh\n# nix build --impure (comment)\nnix build --impure .#x\nnix eval --impure-env x\nrun: nix develop --impure\n"
	var got []string
	for _, f := range ScanImpureFlag(src) {
		got = append(got, itoa(f.Pos.Line)+":"+itoa(f.Pos.Column))
	}
	if d := cmp.Diff([]string{"3:11", "5:18"}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func FuzzLex(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.nix")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(string(b))
	}
	f.Add(`"${ {a="}";}.a }" ''x''${y}'' ./a/${b}c <x> x:y`)
	f.Fuzz(func(t *testing.T, src string) {
		fuzzlimit.Default(t, func() {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			defer func() {
				runtime.ReadMemStats(&after)
				if el := time.Since(start); el > time.Second+time.Duration(len(src))*2*time.Microsecond {
					t.Fatalf("%d bytes took %v", len(src), el)
				}
				if m := after.TotalAlloc - before.TotalAlloc; m > 32<<20+uint64(len(src))*400 {
					t.Fatalf("%d bytes allocated %d bytes", len(src), m)
				}
			}()
			_, _ = ReadFlake(src)
			_ = ScanImpureFlag(src)
			toks, err := Lex(src)
			if err != nil {
				var e *Error
				if !asError(err, &e) || e.Pos.Line < 1 || e.Pos.Column < 1 {
					t.Fatalf("error without position: %v", err)
				}
				return
			}
			var sb strings.Builder
			for _, x := range toks {
				sb.WriteString(x.Text)
			}
			if sb.String() != src {
				t.Fatalf("tokens do not concatenate to the input")
			}
			if _, err := ScanImpure(src); err != nil {
				t.Fatalf("ScanImpure failed where Lex did not: %v", err)
			}
		})
	})
}

func asError(err error, e **Error) bool {
	x, ok := err.(*Error)
	*e = x
	return ok
}

// TestScanLinear: ten times the input takes at most ~40 times the CPU time
// (a quadratic scan would take 100 times), on constructs that nest.
func TestScanLinear(t *testing.T) {
	unit := "let b = builtins; u = \"https://x/y.tar.gz\"; in with builtins; [ (b.getEnv \"A\") (fetchTarball u) currentTime (builtins.fetchTree { type = \"git\"; url = u; }) ]\n"
	gen := func(n int) string {
		var b bytes.Buffer
		b.WriteString("[\n")
		for range n {
			b.WriteString(unit)
		}
		b.WriteString("]\n")
		return b.String()
	}
	measure := func(src string) time.Duration {
		best := time.Hour
		for range 3 {
			start := cpuTime()
			if _, err := ScanImpure(src); err != nil {
				t.Fatal(err)
			}
			best = min(best, cpuTime()-start)
		}
		return best
	}
	small, big := measure(gen(2000)), measure(gen(20000))
	t.Logf("%d bytes: %v; %d bytes: %v", len(gen(2000)), small, len(gen(20000)), big)
	if big > 40*small+50*time.Millisecond {
		t.Errorf("10x the input took %.1fx the time", float64(big)/float64(small))
	}
}

func TestReadFlakeInputs(t *testing.T) {
	for _, tc := range []struct {
		src      string
		inputs   map[string]string
		relative bool
	}{
		{`{ inputs.kb.url = "path:../.."; inputs.nixpkgs.follows = "kb/nixpkgs"; outputs = { self, kb, nixpkgs }: {}; }`,
			map[string]string{"kb": "path:../..", "nixpkgs": ""}, true},
		{`{ inputs = { sub.url = "./sub"; x = { url = "github:a/b"; flake = false; }; }; outputs = _: {}; }`,
			map[string]string{"sub": "./sub", "x": "github:a/b"}, false},
		{`{ inputs.nixpkgs = { }; outputs = { nixpkgs, ... }: {}; }`, map[string]string{"nixpkgs": ""}, false},
		{`{ outputs = { self }: {}; }`, map[string]string{}, false},
		{`{ inputs."quoted".url = "path:./x"; outputs = _: {}; }`, map[string]string{}, false},
	} {
		shape, _ := ReadFlake(tc.src)
		if !maps.Equal(shape.Inputs, tc.inputs) || shape.OnlyRelative != tc.relative {
			t.Errorf("%s: inputs %v relative %v, want %v %v", tc.src, shape.Inputs, shape.OnlyRelative, tc.inputs, tc.relative)
		}
	}
}
