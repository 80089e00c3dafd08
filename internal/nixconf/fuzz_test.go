package nixconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// FuzzParse feeds arbitrary text to the parser as a nix.conf with a
// sibling include target; it must never panic, every problem must carry a
// position, and every effective value must carry an origin.
func FuzzParse(f *testing.F) {
	ents, _ := os.ReadDir("testdata/corpus")
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join("testdata/corpus", e.Name())); err == nil {
			f.Add(string(b))
		}
	}
	for _, s := range []string{
		"sandbox=false", "include inc.conf", "!include inc.conf\ninclude nix.conf", "extra-substituters = a\nsubstituters =",
		"trusted-users = \"a b\"", "#", "=", "a = = b", "include", "include /", "max-jobs = auto\ncores = 1G",
	} {
		f.Add(s)
	}
	root := Root{Dir: f.TempDir()}
	dir := filepath.Join(root.Dir, "etc", "nix")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inc.conf"), []byte("include nix.conf\nsandbox = relaxed\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var c *Config
		fuzzlimit.Default(t, func() {
			c = Load(Options{Root: root, Env: map[string]string{"NIX_CONFIG": text, "NIX_USER_CONF_FILES": ""}})
		})
		for _, p := range c.Problems {
			if p.Origin.File == "" || (p.Origin.File == "$NIX_CONFIG" && p.Origin.Line == 0) {
				t.Fatalf("problem without position: %+v", p)
			}
			// A message quotes names from the input: "%!" there is the
			// input's, not a formatting mistake (the old false alarm).
			if p.Message == "" || strings.Contains(p.Message, "%!") && !strings.Contains(text, "%!") {
				t.Fatalf("bad message: %q", p.Message)
			}
		}
		for _, v := range c.Values() {
			if v.Set && len(v.Origins) == 0 {
				t.Fatalf("%s set without origin", v.Name)
			}
		}
	})
}
