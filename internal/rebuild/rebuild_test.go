package rebuild

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/nar"
	"github.com/nixgate/nixgate/internal/nixcli"
)

// needNix skips when the real Nix or busybox-static is absent (make test
// installs both).
func needNix(t *testing.T) {
	t.Helper()
	if !nixcli.Available() {
		t.Skip("nix is not installed (apt-get install nix-bin; make deps does it)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("/bin/busybox is missing (apt-get install busybox-static; make deps does it)")
	}
}

// casesDir copies testdata/cases.nix, flake.nix and /bin/busybox into a
// temporary directory.
func casesDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"cases.nix", "flake.nix", "subst.nix"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "bb"), 0o755); err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bb", "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

func tempDir(t *testing.T) string {
	d := t.TempDir()
	t.Cleanup(func() { removeAll(d) })
	return d
}

// outputsByName maps the derivation name (the store path's suffix) to its
// output report.
func outputsByName(r *Report) map[string]OutputReport {
	m := map[string]OutputReport{}
	for _, o := range r.Outputs {
		m[o.Path[strings.IndexByte(o.Path, '-')+1:]] = o
	}
	return m
}

// TestRebuildCauses builds the five cases on two fresh chroot stores (in
// parallel: one nix build per store) and checks each verdict and cause.
func TestRebuildCauses(t *testing.T) {
	needNix(t)
	t.Parallel()
	dir := casesDir(t)
	in, err := ParseInstallable(filepath.Join(dir, "cases.nix"), []string{"repro", "time", "builddir", "order", "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	rep, err := Run(ctx(t), Options{Installables: []Installable{in}, TempDir: tempDir(t), Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != NotReproducible {
		t.Errorf("verdict = %s, want %s", rep.Verdict, NotReproducible)
	}
	if !strings.Contains(progress.String(), "[a] building") || !strings.Contains(progress.String(), "[b] built in") {
		t.Errorf("progress lacks builder lines:\n%s", progress.String())
	}
	outs := outputsByName(rep)
	tests := []struct {
		name         string
		reproducible bool
		causes       []string
		detail       string // in the text report
	}{
		{"repro", true, nil, ""},
		{"time", false, []string{nar.CauseTimestamp}, "embedded build time"},
		{"builddir", false, []string{nar.CauseBuildPath}, "/build/tmp."},
		{"order", false, []string{nar.CauseOrder}, "the same 40 lines in a different order"},
		{"gzip", false, []string{nar.CauseTimestamp}, "gzip header modification time"},
	}
	var text bytes.Buffer
	if err := Write(&text, "text", rep); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, ok := outs[tc.name]
			if !ok {
				t.Fatalf("no output for %s", tc.name)
			}
			if o.Reproducible != tc.reproducible {
				t.Errorf("reproducible = %v, want %v", o.Reproducible, tc.reproducible)
			}
			if len(o.Hashes) != 2 {
				t.Fatalf("hashes on %d builders, want 2", len(o.Hashes))
			}
			for _, h := range o.Hashes {
				if h.NixRecord != "match" {
					t.Errorf("%s: nix record %q, want match", h.Builder, h.NixRecord)
				}
			}
			if tc.reproducible {
				if len(o.Diffs) != 0 {
					t.Errorf("diffs of a reproducible output: %+v", o.Diffs)
				}
				return
			}
			if len(o.Diffs) != 1 || o.Diffs[0].Result == nil {
				t.Fatalf("diffs = %+v, want one explained diff", o.Diffs)
			}
			if diff := cmp.Diff(tc.causes, o.Diffs[0].Result.Causes); diff != "" {
				t.Errorf("causes (-want +got):\n%s", diff)
			}
			if !strings.Contains(text.String(), tc.detail) {
				t.Errorf("text report lacks %q", tc.detail)
			}
		})
	}
	if t.Failed() {
		t.Logf("report:\n%s", text.String())
	}
	for _, f := range []string{"json", "markdown"} {
		var b bytes.Buffer
		if err := Write(&b, f, rep); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestRebuildKinds checks the other installable kinds and builders: a
// flake output, a .drv path, a failing build, an artifact, and the local
// store alone with --check semantics.
func TestRebuildKinds(t *testing.T) {
	needNix(t)
	t.Run("flake", func(t *testing.T) {
		t.Parallel()
		dir := casesDir(t)
		in, err := ParseInstallable("path:"+dir+"#repro", nil)
		if err != nil {
			t.Fatal(err)
		}
		if in.Kind != KindFlake {
			t.Fatalf("kind = %s", in.Kind)
		}
		rep, err := Run(ctx(t), Options{Installables: []Installable{in}, TempDir: tempDir(t), Artifact: "result/hello.txt"})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != Reproducible || len(rep.Outputs) != 1 {
			t.Errorf("verdict %s, %d outputs; want reproducible, 1", rep.Verdict, len(rep.Outputs))
		}
		if rep.Artifact == nil || !rep.Artifact.Equal || rep.Artifact.SHA256["a"] == "" {
			t.Errorf("artifact = %+v, want equal sums", rep.Artifact)
		}
	})
	t.Run("drv", func(t *testing.T) {
		t.Parallel()
		dir := casesDir(t)
		// The .drv lives in the user's own store, as after nix-instantiate.
		drvs, err := nixcli.Instantiate(ctx(t), "", filepath.Join(dir, "cases.nix"), []string{"builddir"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		in, err := ParseInstallable(drvs[0], nil)
		if err != nil || in.Kind != KindDrv {
			t.Fatalf("ParseInstallable(%s) = %+v, %v", drvs[0], in, err)
		}
		rep, err := Run(ctx(t), Options{Installables: []Installable{in}, TempDir: tempDir(t)})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != NotReproducible || len(rep.Outputs) != 1 || !slices.Equal(rep.Outputs[0].Diffs[0].Result.Causes, []string{nar.CauseBuildPath}) {
			t.Errorf("verdict %s, outputs %+v", rep.Verdict, rep.Outputs)
		}
	})
	t.Run("failure", func(t *testing.T) {
		t.Parallel()
		dir := casesDir(t)
		in, _ := ParseInstallable(filepath.Join(dir, "cases.nix"), []string{"fail"})
		rep, err := Run(ctx(t), Options{Installables: []Installable{in}, TempDir: tempDir(t)})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != BuildFailed {
			t.Errorf("verdict = %s, want %s", rep.Verdict, BuildFailed)
		}
		for _, b := range rep.Builders {
			if !strings.Contains(b.Error, "fail") {
				t.Errorf("builder %s error = %q", b.Name, b.Error)
			}
		}
	})
	t.Run("local-check", func(t *testing.T) {
		t.Parallel()
		dir := casesDir(t)
		in, _ := ParseInstallable(filepath.Join(dir, "cases.nix"), []string{"time"})
		local, _ := ParseBuilder("local")
		rep, err := Run(ctx(t), Options{Installables: []Installable{in}, Builders: []Builder{local}, TempDir: tempDir(t)})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != NotReproducible || len(rep.Outputs) != 1 {
			t.Fatalf("verdict %s, outputs %+v", rep.Verdict, rep.Outputs)
		}
		o := rep.Outputs[0]
		if len(o.Hashes) != 2 || o.Hashes[1].NixRecord != "unregistered --check copy" {
			t.Errorf("hashes = %+v", o.Hashes)
		}
		if !slices.Equal(o.Diffs[0].Result.Causes, []string{nar.CauseTimestamp}) {
			t.Errorf("causes = %v", o.Diffs[0].Result.Causes)
		}
		// Nix's own leftover: the .check copy.
		if c := o.Path + ".check"; exec.Command("test", "-e", c).Run() == nil {
			removeAll(c)
		}
	})
}

func TestParseBuilder(t *testing.T) {
	tests := []struct {
		in   string
		kind string
		bad  bool
	}{
		{"local", Local, false},
		{"ssh-ng://builder.example", Remote, false},
		{"/tmp/store-x", Chroot, false},
		{"s3://bucket", "", true},
		{"", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			b, err := ParseBuilder(tc.in)
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v, want error %v", err, tc.bad)
			}
			if b.Kind != tc.kind {
				t.Errorf("kind = %q, want %q", b.Kind, tc.kind)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	dir := t.TempDir()
	h, err := OpenHistory(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rep := &Report{Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Seconds: 1.5, Installables: []string{"./x.nix -A time"},
		Builders: []BuilderReport{{Builder: Builder{Name: "a"}}, {Builder: Builder{Name: "b"}}}, Verdict: NotReproducible,
		Outputs: []OutputReport{{Drv: "/nix/store/x.drv", Output: "out", Path: "/nix/store/p-time", Hashes: []BuilderHash{{Builder: "a", NarHash: "sha256-A"}, {Builder: "b", NarHash: "sha256-B"}}}}}
	for range 2 {
		if err := h.Record(context.Background(), rep); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := h.Runs(context.Background(), "x.nix", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != 2 || len(runs[0].Outputs) != 2 || runs[0].Verdict != NotReproducible {
		t.Fatalf("runs = %+v", runs)
	}
	if none, _ := h.Runs(context.Background(), "other", 0); len(none) != 0 {
		t.Errorf("filter kept %d runs", len(none))
	}
	var b bytes.Buffer
	if err := WriteHistory(&b, "text", runs[:1]); err != nil {
		t.Fatal(err)
	}
	want := "#2  2026-01-02T03:04:05Z  not-reproducible    1.5s  ./x.nix -A time  [a, b]\n      differs: /nix/store/p-time (out)\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
}
