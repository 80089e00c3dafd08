package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/checks"
)

var update = flag.Bool("update", false, "rewrite generated files (docs/checks.md)")

// TestChecksDocIsFresh fails when docs/checks.md differs from what the
// registry generates (`make docs` or `go test ./internal/cli -update`).
func TestChecksDocIsFresh(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteChecksMarkdown(&buf, checks.All()); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("..", "..", "docs", "checks.md")
	if *update {
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(buf.String(), string(got)); d != "" {
		t.Errorf("docs/checks.md is stale; run `make docs` (-generated +file):\n%s", d)
	}
}

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = Run(context.Background(), args, &o, &e)
	return o.String(), e.String(), code
}

// TestSelfCheck: `nixgate check` on this repository, with its own
// nixgate.toml, is clean. dirty-tree is skipped because a developer's
// uncommitted work is not what the test is about (CI runs on a clean clone).
func TestSelfCheck(t *testing.T) {
	out, errOut, code := run(t, "check", "--skip", "dirty-tree", filepath.Join("..", ".."))
	if code != 0 {
		t.Errorf("nixgate check on nixgate exited %d:\n%s\n%s", code, out, errOut)
	}
}

// TestAnchorPlanted: on a fresh copy of examples/anchor, with the built-in
// policy, the SARIF report lists each problem of PLANTED.md exactly once,
// and nothing else.
func TestAnchorPlanted(t *testing.T) {
	src := filepath.Join("..", "..", "examples", "anchor")
	dir := filepath.Join(t.TempDir(), "anchor")
	if out, err := exec.Command("cp", "-a", src, dir).CombinedOutput(); err != nil {
		t.Fatalf("copy: %v\n%s", err, out)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"},
		{"-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false", "commit", "-q", "-m", "anchor"}} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	out, errOut, code := run(t, "check", "--format", "sarif", dir)
	if code != ExitFindings {
		t.Fatalf("exit %d, want 1\n%s", code, errOut)
	}
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range log.Runs[0].Results {
		uri := ""
		if len(r.Locations) > 0 {
			uri = r.Locations[0].PhysicalLocation.ArtifactLocation.URI
		}
		got = append(got, r.RuleID+" "+uri)
	}
	want := planted(t, filepath.Join(src, "PLANTED.md"))
	slices.Sort(got)
	slices.Sort(want)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("SARIF results differ from PLANTED.md (-planted +reported):\n%s", d)
	}
}

// planted reads the `| check | path | problem |` rows of PLANTED.md.
func planted(t *testing.T, file string) []string {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(string(data), "\n") {
		cells := strings.Split(l, "|")
		if len(cells) < 5 || !strings.HasPrefix(l, "|") {
			continue
		}
		id, path := strings.TrimSpace(cells[1]), strings.Trim(strings.TrimSpace(cells[2]), "`")
		if id == "check" || strings.HasPrefix(id, "---") {
			continue
		}
		rows = append(rows, id+" "+path)
	}
	if len(rows) == 0 {
		t.Fatal("PLANTED.md lists no problem")
	}
	return rows
}

func TestExitCodes(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{nil, 0}, {ErrFindings, 1}, {usagef("x"), 2}, {&Hint{Err: usagef("x")}, 2}, {ErrIncomplete, 3},
	} {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// TestCommandTable holds the command table to the commands it builds: a
// command line naming a command builds that one alone, so a name must be
// the command's own and no command may have an alias the table misses.
func TestCommandTable(t *testing.T) {
	e := &env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	for _, c := range commands() {
		cmd := c.new(e)
		if cmd.Name() != c.name {
			t.Errorf("table name %q builds command %q", c.name, cmd.Name())
		}
		if len(cmd.Aliases) > 0 {
			t.Errorf("%s has aliases %v, which the command table cannot dispatch", c.name, cmd.Aliases)
		}
		if got := newRoot(e, []string{c.name}).Commands(); !slices.ContainsFunc(got, func(x *cobra.Command) bool { return x.Name() == c.name }) {
			t.Errorf("newRoot for %q lacks the command", c.name)
		}
	}
	all := newRoot(e, []string{"help"}).Commands()
	if len(all) < len(commands()) {
		t.Errorf("help's tree has %d commands, want all %d", len(all), len(commands()))
	}
	for _, args := range [][]string{{"kconfig", "--help"}, {"help", "kconfig"}, {"--timeout", "1m", "version"}} {
		var out, errb bytes.Buffer
		if code := Run(context.Background(), args, &out, &errb); code != 0 {
			t.Errorf("nixgate %v: exit %d, stderr %s", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"kconfg"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "kconfig") {
		t.Errorf("nixgate kconfg: exit %d, stderr %q; want 2 and a suggestion of kconfig", code, errb.String())
	}
}
