package secrets

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func corpusSeeds(f *testing.F, glob string) {
	files, _ := filepath.Glob(glob)
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
}

// FuzzGitleaksConfig: a rule file yields a rule set or an error, never a
// panic.
func FuzzGitleaksConfig(f *testing.F) {
	corpusSeeds(f, "testdata/gitleaks/*.toml")
	f.Add([]byte("[extend]\nuseDefault = true\n[[rules]]\nid = \"x\"\nregex = '''x_[a-z]{8}'''\nkeywords = [\"x_\"]\n"))
	f.Add([]byte("[[rules]]\nid = \"p\"\npath = '''\\.p12$'''\n[[allowlists]]\nregexTarget = \"line\"\nregexes = ['''a''']\ncondition = \"AND\"\npaths = ['''b''']\n"))
	f.Add([]byte("[[rules]]\nid = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, _, err := NewRulesetFromGitleaks("fuzz.toml", data, nil)
		if err != nil {
			return
		}
		sc := rs.NewScanner()
		sc.ScanBytes(Input{Path: "a.txt"}, []byte("x_abcdefgh key = value1234567890abcdef\n"), func(Finding) {})
	})
}

// FuzzKubernetes: any YAML is parsed or rejected, never a panic; skipped
// lines exist in the file.
func FuzzKubernetes(f *testing.F) {
	corpusSeeds(f, "testdata/corpus/*/*.yaml")
	corpusSeeds(f, "testdata/corpus/*/k8s/*.yaml")
	f.Add([]byte("apiVersion: v1\nkind: Config\nusers:\n- user:\n    token: abc\n"))
	f.Add([]byte("apiVersion: v1\nkind: Secret\ndata:\n  a: |\n    Z2hw\n    X2Fh\n"))
	rs, err := NewRuleset(DefaultRules(), DefaultAllowlists())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := rs.Kubernetes("f.yaml", data)
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
}

// FuzzScan: the engine never panics and reports lines that exist.
func FuzzScan(f *testing.F) {
	corpusSeeds(f, "testdata/corpus/*/*")
	f.Add([]byte("GITHUB_TOKEN=ghp_" + strings.Repeat("a1", 18) + "\n"))
	rs, err := NewRuleset(DefaultRules(), DefaultAllowlists())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n := bytes.Count(data, []byte("\n")) + 1
		rs.NewScanner().ScanBytes(Input{Path: "f.env"}, data, func(fd Finding) {
			if fd.Line < 1 || fd.Line > n {
				t.Errorf("finding at line %d of %d", fd.Line, n)
			}
		})
	})
}

// FuzzRawLog: `git log --raw -z` output is parsed without panics, and
// every change names a 40-hex new blob and a path.
func FuzzRawLog(f *testing.F) {
	f.Add([]byte("\x01abc\x02A <a@b>\x00\n:000000 100644 0000000000000000000000000000000000000000 b68025345d5301abad4d9ec9166f455243a0d746 A\x00q\"uote.txt\x00"))
	f.Add([]byte("\x01abc\x02A\x00\n:100644 100644 587be6b4c3f93f93c489c0111bba5596147a26cb aee5fdca52945d2faadc37ed0db153a91ed2d58f M\x00with space.txt\x00:160000 160000 587be6b4c3f93f93c489c0111bba5596147a26cb aee5fdca52945d2faadc37ed0db153a91ed2d58f M\x00sub\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		parseRawLog(bytes.NewReader(data), func(c change) error {
			if len(c.newID) != 40 || c.path == "" && false {
				t.Errorf("change %+v", c)
			}
			return nil
		})
	})
}
