package secrets

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// Every parser of the package has a fuzz target: each input must be
// parsed or rejected without a panic, within fuzzlimit's time and
// allocation bounds. Crashers found are kept in testdata/fuzz.

func corpusSeeds(f *testing.F, glob string) {
	files, _ := filepath.Glob(glob)
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
}

var fuzzRules = func() *Ruleset {
	rs, err := NewRuleset(DefaultRules(), DefaultAllowlists())
	if err != nil {
		panic(err)
	}
	return rs
}()

// FuzzGitleaksConfig: a rule file yields a rule set or an error.
func FuzzGitleaksConfig(f *testing.F) {
	corpusSeeds(f, "testdata/gitleaks/*.toml")
	f.Add([]byte("[extend]\nuseDefault = true\n[[rules]]\nid = \"x\"\nregex = '''x_[a-z]{8}'''\nkeywords = [\"x_\"]\n"))
	f.Add([]byte("[[rules]]\nid = \"p\"\npath = '''\\.p12$'''\n[[allowlists]]\nregexTarget = \"line\"\nregexes = ['''a''']\ncondition = \"AND\"\npaths = ['''b''']\n"))
	f.Add([]byte("[[rules]]\nid = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			rs, _, err := NewRulesetFromGitleaks("fuzz.toml", data, nil)
			if err != nil {
				return
			}
			rs.NewScanner().ScanBytes(Input{Path: "a.txt"}, []byte("x_abcdefgh key = value1234567890abcdef\n"), func(Finding) {})
		})
	})
}

// FuzzKubernetes: any YAML or JSON is parsed or rejected; skipped lines
// exist in the file.
func FuzzKubernetes(f *testing.F) {
	corpusSeeds(f, "testdata/corpus/*/*.yaml")
	corpusSeeds(f, "testdata/corpus/*/k8s/*.yaml")
	f.Add([]byte("apiVersion: v1\nkind: Config\nusers:\n- user:\n    token: abc\n"))
	f.Add([]byte("apiVersion: v1\nkind: Secret\ndata:\n  a: |\n    Z2hw\n    X2Fh\n"))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Secret","data":{"a":"eA=="}}]}`))
	f.Add([]byte("apiVersion: v1\nkind: 'Secret'\ndata:\n  a: ENC[AES256_GCM,data:eA==,iv:eA==,tag:eA==,type:str]\nsops:\n  mac: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			k, err := fuzzRules.Kubernetes("f.yaml", data)
			if err != nil {
				return
			}
			n := bytes.Count(data, []byte("\n")) + 1
			for l := range k.skip {
				if l < 1 || l > n+1 {
					t.Errorf("skip line %d outside 1..%d", l, n)
				}
			}
		})
	})
}

// FuzzScan: the engine (rules, decoding, continuations) reports lines
// that exist and never a secret longer than the input.
func FuzzScan(f *testing.F) {
	corpusSeeds(f, "testdata/corpus/*/*")
	f.Add([]byte("GITHUB_TOKEN=ghp_" + strings.Repeat("a1", 18) + "\n"))
	f.Add([]byte("curl \\\n -H 'Authorization: Bearer abcdefghij0123456789abcd' \\\n x\n"))
	f.Add([]byte("v: " + strings.Repeat("Z2hwX", 30) + "\n%41%42%43 6768705f61626364"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			n := bytes.Count(data, []byte("\n")) + 1
			fuzzRules.NewScanner().ScanBytes(Input{Path: "f.env"}, data, func(fd Finding) {
				if fd.Line < 1 || fd.Line > n {
					t.Errorf("finding at line %d of %d", fd.Line, n)
				}
			})
		})
	})
}

// FuzzDecode: encoded segments lie inside the text and decode to text or
// are rejected.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("a: Z2hwX2FiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6"))
	f.Add([]byte("x=676870 5f6162636465666768696a6b6c6d6e6f70 %2Fa%2Fb%20c"))
	f.Add([]byte("k: |\n  " + strings.Repeat("QUJD", 20) + "\n  " + strings.Repeat("QUJD", 20) + "\n  QUJD==\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			for _, sg := range segments(data, 0, len(data)) {
				if sg.lo < 0 || sg.hi > len(data) || sg.lo >= sg.hi {
					t.Fatalf("segment %+v outside %d bytes", sg, len(data))
				}
				if dec, ok := decodeSegment(make([]byte, 0, sg.hi-sg.lo), data, sg); ok && !isText(dec) {
					t.Errorf("decoded %q is not text", dec)
				}
			}
		})
	})
}

// FuzzRawLog: `git log --raw -z` output is parsed or refused; every change
// names a new blob (40 or 64 hex digits, as its old one) and a path.
func FuzzRawLog(f *testing.F) {
	f.Add([]byte("\x01abc\x02A <a@b>\x00\n:000000 100644 0000000000000000000000000000000000000000 b68025345d5301abad4d9ec9166f455243a0d746 A\x00q\"uote.txt\x00"))
	f.Add([]byte("\x01abc def\x02A\x00\n:100644 100644 587be6b4c3f93f93c489c0111bba5596147a26cb aee5fdca52945d2faadc37ed0db153a91ed2d58f M\x00with space.txt\x00:160000 160000 587be6b4c3f93f93c489c0111bba5596147a26cb aee5fdca52945d2faadc37ed0db153a91ed2d58f M\x00sub\x00"))
	f.Add([]byte("\x01abc\x02A\x00\n:100644 100644 " + strings.Repeat("1", 64) + " " + strings.Repeat("2", 64) + " M\x00sha256.txt\x00:100644 100644 12 34 M\x00short\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			parseRawLog(bytes.NewReader(data), func(string, string) error { return nil }, func(c change) error {
				if !objectName(c.newID) || isZeroID(c.newID) || c.oldID != zeroID && (!objectName(c.oldID) || len(c.oldID) != len(c.newID)) {
					t.Errorf("change %+v", c)
				}
				return nil
			})
		})
	})
}

// FuzzAddedLines: the lines found added are lines of the new version, at
// their line numbers, none when nothing changed, and as a multiset they
// are the new version's lines less the old version's.
func FuzzAddedLines(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("a\nx\nc\nd"))
	f.Add([]byte(""), []byte("\n\n\n"))
	f.Add([]byte("a\nb\nc\nd\ne\nf\n"), []byte("a\nB\nc\nx\ny\nd\nf\ne\n"))
	f.Fuzz(func(t *testing.T, old, nb []byte) {
		fuzzlimit.Default(t, func() {
			checkAdded(t, old, nb)
		})
	})
}

// checkAdded runs differ.added on two versions and checks its lines
// against the multiset difference of the versions' lines.
func checkAdded(t *testing.T, old, nb []byte) {
	t.Helper()
	d := newDiffer(nil)
	lines := strings.Split(string(nb), "\n")
	want := map[string]int{}
	if len(nb) > 0 {
		for _, l := range strings.Split(strings.TrimSuffix(string(nb), "\n"), "\n") {
			want[l]++
		}
	}
	if len(old) > 0 {
		for _, l := range strings.Split(strings.TrimSuffix(string(old), "\n"), "\n") {
			want[l]--
		}
	}
	got := map[string]int{}
	err := d.added(change{path: "f"}, old, nb, func(a *Added) error {
		added := strings.Split(strings.TrimSuffix(a.text.String(), "\n"), "\n")
		for i, l := range added {
			n := a.lines[i]
			if n < 1 || n > len(lines) || lines[n-1] != l {
				t.Errorf("added line %d %q is not line %d of the new version", i, l, n)
				continue
			}
			// Suppressions are read from the commit's text: the line, and
			// the line above whenever it could hold a comment.
			f, above := a.found(n), ""
			if n >= 2 {
				above = lines[n-2]
			}
			if f.Line != l || f.Above != above && (f.Above != "" || strings.Contains(above, "nixgate:ignore")) {
				t.Errorf("line %d: found %q above %q, want %q above %q", n, f.Line, f.Above, l, above)
			}
			got[l]++
		}
		if bytes.Equal(old, nb) {
			t.Errorf("lines added to an unchanged file")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for l, n := range want {
		if max(n, 0) != got[l] {
			t.Errorf("line %q added %d times, want %d (old %q, new %q)", l, got[l], max(n, 0), old, nb)
		}
	}
	for l, n := range got {
		if _, ok := want[l]; !ok {
			t.Errorf("line %q added %d times, not a line of the new version", l, n)
		}
	}
}
