package checks

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"github.com/rogpeppe/go-internal/txtar"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/repo"
)

// TestFixtures runs every repository check on its fixtures.
//
// A fixture is testdata/<check-id>/<name>.txtar. Its files form a
// repository that is committed to a fresh git repository. Sections with
// special names:
//
//	-- want --          one expected finding a line: `PATH:LINE: REGEXP`,
//	                    `PATH: REGEXP` (any line) or `-: REGEXP` (no path);
//	                    the regexp matches "SEVERITY MESSAGE"
//	-- options.toml --  the check's options, decoded strictly over its defaults
//
// Directives in the archive's comment, one a line:
//
//	symlink PATH TARGET   create a symlink (committed)
//	hex PATH HEX          a file with binary content (committed)
//	untracked PATH        leave PATH out of the commit
//	modify PATH           append a line to PATH after the commit
//	nogit                 no git repository at all
//
// Names starting with "pass" must produce no finding; names starting with
// "fail" at least one. Every finding must be wanted, and every want found.
func TestFixtures(t *testing.T) {
	for _, c := range InScope(check.ScopeRepo) {
		files, _ := filepath.Glob(filepath.Join("testdata", c.ID, "*.txtar"))
		var pass, fail int
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".txtar")
			switch {
			case strings.HasPrefix(name, "pass"):
				pass++
			case strings.HasPrefix(name, "fail"):
				fail++
			}
			t.Run(c.ID+"/"+name, func(t *testing.T) { runFixture(t, c, f, name) })
		}
		if pass == 0 || fail == 0 {
			t.Errorf("%s: want at least one pass-*.txtar and one fail-*.txtar fixture in testdata/%s (have %d and %d)", c.ID, c.ID, pass, fail)
		}
	}
}

type want struct {
	path string
	line int
	re   *regexp.Regexp
	src  string
}

func runFixture(t *testing.T, c *check.Check, file, name string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var wants []want
	var opts []byte
	var untracked, modify []string
	nogit := false
	for _, f := range ar.Files {
		switch f.Name {
		case "want":
			for _, l := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
				if l = strings.TrimSpace(l); l == "" {
					continue
				}
				wants = append(wants, parseWant(t, l))
			}
			continue
		case "options.toml":
			opts = f.Data
			continue
		}
		writeFile(t, dir, f.Name, f.Data)
	}
	for _, l := range strings.Split(string(ar.Comment), "\n") {
		fs := strings.Fields(l)
		if len(fs) == 0 {
			continue
		}
		switch {
		case fs[0] == "symlink" && len(fs) == 3:
			os.MkdirAll(filepath.Dir(filepath.Join(dir, fs[1])), 0o755)
			if err := os.Symlink(fs[2], filepath.Join(dir, fs[1])); err != nil {
				t.Fatal(err)
			}
		case fs[0] == "hex" && len(fs) == 3:
			b, err := hex.DecodeString(fs[2])
			if err != nil {
				t.Fatalf("hex %s: %v", fs[1], err)
			}
			writeFile(t, dir, fs[1], b)
		case fs[0] == "untracked" && len(fs) == 2:
			untracked = append(untracked, fs[1])
		case fs[0] == "modify" && len(fs) == 2:
			modify = append(modify, fs[1])
		case fs[0] == "nogit" && len(fs) == 1:
			nogit = true
		case slices.Contains([]string{"symlink", "hex", "untracked", "modify", "nogit"}, fs[0]):
			t.Fatalf("%s: malformed directive %q", file, l)
		}
		// Any other line is prose describing the fixture.
	}
	if !nogit {
		gitInit(t, dir, untracked)
		for _, m := range modify {
			f, err := os.OpenFile(filepath.Join(dir, m), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(f, "# changed after the commit")
			f.Close()
		}
	}

	s := check.Settings{Enabled: true, Severity: c.Severity, Options: c.Options}
	if c.Options != nil {
		s.Options = cloneOptions(c.Options)
		if opts != nil {
			d := toml.NewDecoder(bytes.NewReader(opts))
			d.DisallowUnknownFields()
			if err := d.Decode(s.Options); err != nil {
				t.Fatalf("options.toml: %v", err)
			}
		}
	} else if opts != nil {
		t.Fatalf("options.toml given but %s has no options", c.ID)
	}
	ctx := context.Background()
	r, err := repo.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res := check.Run(ctx, []*check.Check{c}, map[string]check.Settings{c.ID: s}, check.Target{Repo: r}, nil)
	for _, e := range res.Errors {
		t.Errorf("check errored: %s", e.Error)
	}
	if strings.HasPrefix(name, "pass") && len(wants) > 0 {
		t.Errorf("a pass fixture must not want findings")
	}
	if strings.HasPrefix(name, "fail") && len(wants) == 0 {
		t.Errorf("a fail fixture must want at least one finding")
	}
	got := slices.Clone(res.Findings)
	for _, w := range wants {
		i := slices.IndexFunc(got, func(f check.Finding) bool {
			return (w.path == "-" && f.Location.Path == "" || w.path == f.Location.Path) &&
				(w.line == 0 || w.line == f.Location.Line) &&
				w.re.MatchString(f.Severity.String()+" "+f.Message)
		})
		if i < 0 {
			t.Errorf("missing finding %s", w.src)
			continue
		}
		got = slices.Delete(got, i, i+1)
	}
	for _, f := range got {
		t.Errorf("unexpected finding %s: %s %s", f.Location, f.Severity, f.Message)
	}
}

func parseWant(t *testing.T, l string) want {
	// PATH[:LINE]: REGEXP
	head, re, ok := strings.Cut(l, ": ")
	if !ok {
		t.Fatalf("bad want line %q", l)
	}
	w := want{path: head, src: l}
	// PATH:LINE when what follows the last colon is a number; a path may
	// hold colons itself (probe:/tmp/store).
	if i := strings.LastIndexByte(head, ':'); i > 0 {
		if line, err := strconv.Atoi(head[i+1:]); err == nil {
			w.path, w.line = head[:i], line
		}
	}
	w.re = regexp.MustCompile(re)
	return w
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	mode := os.FileMode(0o644)
	if strings.HasSuffix(name, ".sh") {
		mode = 0o755
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
}

// gitInit makes dir a repository with everything but untracked committed.
func gitInit(t *testing.T, dir string, untracked []string) {
	t.Helper()
	run := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q", "-b", "main")
	run("add", "-A", ".")
	for _, u := range untracked {
		run("rm", "-q", "--cached", "-r", "--ignore-unmatch", "--", u)
	}
	run("-c", "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", "fixture")
}

// cloneOptions returns a pointer to a copy of the struct opts points to.
func cloneOptions(opts any) any {
	return check.CloneOptions(opts)
}
