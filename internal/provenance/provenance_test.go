package provenance

import (
	"bytes"
	"context"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/flakelock"
	"github.com/nixgate/nixgate/internal/fuzzlimit"
	"github.com/nixgate/nixgate/internal/nixcli"
	"github.com/nixgate/nixgate/internal/sbom"
)

var update = flag.Bool("update", false, "rewrite golden files")

// buildApp builds ../sbom/testdata/closure.nix's app in a fresh chroot
// store with the real Nix and returns Nix's record of it.
func buildApp(t *testing.T) (store string, info nixcli.PathInfo) {
	t.Helper()
	if !nixcli.Available() {
		t.Fatal("nix is not installed (make deps installs nix-bin)")
	}
	dir := t.TempDir()
	t.Cleanup(func() {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	store = filepath.Join(dir, "store")
	file, _ := filepath.Abs("../sbom/testdata/closure.nix")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := nixcli.Build(ctx, nixcli.BuildOptions{
		Store: store, File: file, Installables: []string{"app"},
		Settings: nixcli.Settings{"sandbox": "true", "sandbox-paths": "/bin/busybox", "substituters": ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	infos, err := nixcli.Outputs(ctx, nixcli.Query{Store: store, Installables: []string{res[0].Outputs["out"]}})
	if err != nil {
		t.Fatal(err)
	}
	return store, infos[0]
}

func anchorLock(t *testing.T) *flakelock.Lock {
	t.Helper()
	b, err := os.ReadFile("../../examples/anchor/flake.lock")
	if err != nil {
		t.Fatal(err)
	}
	l, err := flakelock.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestStatementGolden writes the statement of a real build of app with
// examples/anchor's flake.lock and compares it with the golden file.
func TestStatementGolden(t *testing.T) {
	_, info := buildApp(t)
	h, err := sbom.NarHashHex(info.NarHash)
	if err != nil {
		t.Fatal(err)
	}
	in := Inputs{
		Subjects: []Subject{
			{Name: info.Path, SHA256: h, NAR: true},
			{Name: "app-2.0.tar.gz", SHA256: strings.Repeat("ab", 32)},
		},
		Parameters: map[string]string{ParamFlake: ".", ParamAttribute: "packages.x86_64-linux.app"},
		Source:     &Source{URI: "git+https://github.com/example/anchor", Commit: "3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"},
		Lock:       anchorLock(t),
		NixVersion: "2.8.0",
		System:     "x86_64-linux",
		Probe:      &Probe{Store: "/tmp/store", Verdict: "enforced", Evidence: []string{"isolated: the builder is pid 1"}},
		BuilderID:  "https://ci.example.org/nix-builder",
		StartedOn:  time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
		FinishedOn: time.Date(2026, 11, 1, 12, 3, 0, 0, time.UTC),
		Rebuild:    &Rebuild{SHA256: strings.Repeat("cd", 32), Verdict: "reproducible", Outputs: []string{info.Path}},
	}
	a, err := Statement(in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Statement(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two statements of the same inputs differ")
	}
	path := "testdata/app.statement.json"
	if *update {
		os.WriteFile(path, a, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(a)); diff != "" {
		t.Errorf("statement (-want +got; -update rewrites):\n%s", diff)
	}

	// It reads back, and says what was put in.
	p, err := Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	if p.BuilderID() != in.BuilderID {
		t.Errorf("builder %q", p.BuilderID())
	}
	if got := p.ExternalParameters()[ParamFlake]; got != "." {
		t.Errorf("flake parameter %v", got)
	}
	if msg := SubjectProblem(p, Artifact{Name: info.Path, SHA256: h, NAR: true}); msg != "" {
		t.Errorf("subject: %s", msg)
	}
	if msg := SubjectProblem(p, Artifact{Name: "x", SHA256: strings.Repeat("00", 32)}); msg == "" {
		t.Error("a foreign artifact matched a subject")
	}
	probs, err := LockProblems(p, anchorLock(t))
	if err != nil || len(probs) != 0 {
		t.Errorf("lock problems with the same lock: %v %v", probs, err)
	}
	if msg := CommitProblem(p, in.Source.Commit); msg != "" {
		t.Errorf("commit: %s", msg)
	}
	if msg := CommitProblem(p, strings.Repeat("0", 40)); msg == "" {
		t.Error("another commit matched")
	}
}

func TestLockProblems(t *testing.T) {
	in := Inputs{Subjects: []Subject{{Name: "a", SHA256: strings.Repeat("00", 32)}}, Parameters: map[string]string{ParamFlake: "."}, BuilderID: "b", Lock: anchorLock(t)}
	st, err := Statement(in)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(st)
	if err != nil {
		t.Fatal(err)
	}
	other := anchorLock(t)
	other.Nodes["nixpkgs"].Locked.Rev = strings.Repeat("1", 40)
	delete(other.Nodes, "flake-utils")
	probs, err := LockProblems(p, other)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, pr := range probs {
		msgs = append(msgs, pr.Message)
	}
	if len(msgs) != 2 || !strings.Contains(msgs[0], "input nixpkgs differs") || !strings.Contains(msgs[1], "the statement has input flake-utils") {
		t.Errorf("problems: %q", msgs)
	}
}

func TestParseRejects(t *testing.T) {
	good, err := os.ReadFile("testdata/app.statement.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"empty":           "",
		"not json":        "{",
		"unknown field":   strings.Replace(string(good), `"_type"`, `"extra": 1, "_type"`, 1),
		"wrong type":      strings.Replace(string(good), "https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v9", 1),
		"no subject":      `{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x","predicate":{}}`,
		"bad digest":      strings.Replace(string(good), `"gitCommit": "daf6dc47`, `"gitCommit": "zzf6dc47`, 1),
		"unknown in slsa": strings.Replace(string(good), `"buildType"`, `"buildKind": "x", "buildType"`, 1),
	} {
		if _, err := Parse([]byte(data)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// FuzzParse feeds arbitrary payloads to the statement reader: no panic,
// and what parses encodes again.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/app.statement.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"00"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"x"},"runDetails":{"builder":{"id":"y"}}}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"x":"1"}}],"predicateType":"p","predicate":{"a":[1,2,{"b":null}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			p, err := Parse(data)
			if err == nil && p.Statement == nil {
				t.Fatal("nil statement without an error")
			}
		})
	})
}
