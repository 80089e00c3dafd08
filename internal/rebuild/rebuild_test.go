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

// needNix fails when the real Nix or busybox-static is absent: make test
// installs both (scripts/deps.sh).
func needNix(t *testing.T) {
	t.Helper()
	if !nixcli.Available() {
		t.Fatal("nix is not installed (apt-get install nix-bin; scripts/deps.sh does it)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Fatal("/bin/busybox is missing (apt-get install busybox-static; scripts/deps.sh does it)")
	}
}

// casesDir copies the test derivations and /bin/busybox into a temporary
// directory.
func casesDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"cases.nix", "flake.nix", "subst.nix", "vary.nix"} {
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
	c, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return c
}

// tempDir is a temporary directory the build users can search (as
// /tmp): disorderfs reaches its backing directory as them.
func tempDir(t *testing.T) string {
	d := t.TempDir()
	for p := d; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
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

func vary(t *testing.T, dir string, attrs ...string) Installable {
	t.Helper()
	in, err := ParseInstallable(filepath.Join(dir, "vary.nix"), attrs)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func report(t *testing.T, rep *Report) string {
	var b bytes.Buffer
	if err := Write(&b, "text", rep); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"json", "markdown"} {
		if err := Write(&bytes.Buffer{}, f, rep); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	return b.String()
}

// classes are the nondeterminism classes of vary.nix: the variation that
// exposes each, and the cause nixgate must name for it (the file's
// summary cause).
var classes = []struct {
	name      string // the derivation (and output suffix)
	variation string
	cause     string
	detail    string // in the text report
}{
	{"epoch", VaryTime, nar.CauseTimestamp, "embedded build time (epoch seconds)"},
	{"tarball", VaryTime, nar.CauseTimestamp, "tar member notes.txt modification time"},
	{"uptime", VaryTime, nar.CauseTimestamp, "seconds since boot"},
	{"cores", VaryCores, nar.CauseCores, "NIX_BUILD_CORES"},
	{"cpus", VaryCPUs, nar.CauseCores, "1 CPU(s) on b"},
	{"builddir", VaryBuildDir, nar.CauseBuildPath, "the build directory was /build on a, /build-"},
	{"kernel", VaryKernel, nar.CauseKernel, "the kernel release"},
	{"timezone", VaryTimezone, nar.CauseTimezone, "time zone: UTC on a, +14 on b (the same instant)"},
	{"fileorder", VaryFileOrder, nar.CauseOrder, "the same 13 lines in a different order"},
	{"random", "", nar.CauseRandom, "random-looking strings of the same length (32 characters)"},
	{"multi-dev", VaryCores, nar.CauseCores, "jobs"},
	{"gzip", "", nar.CauseTimestamp, "gzip header modification time"},
}

// TestVariations builds one derivation per nondeterminism class on two
// fresh chroot stores with every variation on, and a deterministic one:
// each class is NOT REPRODUCIBLE with its cause named, the deterministic
// derivation (and the unchanging output of a two-output one) is
// REPRODUCIBLE. Then, with no variation, the classes that only a
// variation exposes come out the same on both builders: it is the
// variation that catches them.
func TestVariations(t *testing.T) {
	needNix(t)
	dir := casesDir(t)
	attrs := []string{"deterministic", "multi"}
	for _, c := range classes {
		if c.name != "multi-dev" && c.name != "gzip" {
			attrs = append(attrs, c.name)
		}
	}
	gz, err := ParseInstallable(filepath.Join(dir, "cases.nix"), []string{"gzip"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("all variations", func(t *testing.T) {
		t.Parallel()
		var progress bytes.Buffer
		rep, err := Run(ctx(t), Options{Installables: []Installable{vary(t, dir, attrs...), gz}, TempDir: tempDir(t), Progress: &progress})
		if err != nil {
			t.Fatal(err)
		}
		text := report(t, rep)
		if rep.Verdict != NotReproducible {
			t.Errorf("verdict = %s, want %s", rep.Verdict, NotReproducible)
		}
		for _, v := range rep.Builders[1].Variations {
			if !v.Applied {
				t.Errorf("variation %s not applied on b: %s", v.Name, v.Note)
			}
		}
		if len(rep.Builders[0].Variations) != 0 {
			t.Errorf("the first builder has variations: %+v", rep.Builders[0].Variations)
		}
		// The time variation: b starts once a has finished, in a later
		// second than a's last, so that no derivation of b reads a's clock.
		aEnd := rep.Builders[0].Started.Add(time.Duration(rep.Builders[0].Seconds * float64(time.Second)))
		if b := rep.Builders[1].Started; b.Before(aEnd) || b.Unix() <= aEnd.Unix() {
			t.Errorf("b started at %s, a ended at %s: want b after a's end, in a later second", b, aEnd)
		}
		outs := outputsByName(rep)
		for _, name := range []string{"deterministic", "multi"} {
			if o := outs[name]; !o.Reproducible || o.Status != StatusReproducible || len(o.Hashes) != 2 {
				t.Errorf("%s: %+v, want reproducible on both builders", name, o)
			}
		}
		for _, c := range classes {
			t.Run(c.name, func(t *testing.T) {
				o, ok := outs[c.name]
				if !ok {
					t.Fatalf("no output %s", c.name)
				}
				if o.Reproducible || o.Status != StatusDiffers {
					t.Fatalf("status %s, want %s", o.Status, StatusDiffers)
				}
				for _, h := range o.Hashes {
					if h.NixRecord != "match" {
						t.Errorf("%s: nix record %q, want match", h.Builder, h.NixRecord)
					}
				}
				if len(o.Diffs) != 1 || o.Diffs[0].Result == nil || len(o.Diffs[0].Result.Changes) != 1 {
					t.Fatalf("diffs = %+v, want one explained change", o.Diffs)
				}
				ch := o.Diffs[0].Result.Changes[0]
				if ch.Summary == nil || ch.Summary.Kind != c.cause {
					t.Errorf("summary cause %+v, want %s", ch.Summary, c.cause)
				}
				if !strings.Contains(text, c.detail) {
					t.Errorf("the report lacks %q", c.detail)
				}
			})
		}
		if t.Failed() {
			t.Logf("report:\n%s\nprogress:\n%s", text, progress.String())
		}
	})
	t.Run("no variation", func(t *testing.T) {
		t.Parallel()
		only := []string{"deterministic", "cores", "cpus", "builddir", "kernel", "timezone", "multi"}
		rep, err := Run(ctx(t), Options{Installables: []Installable{vary(t, dir, only...)}, TempDir: tempDir(t), Vary: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict != Reproducible {
			t.Errorf("verdict %s, want %s:\n%s", rep.Verdict, Reproducible, report(t, rep))
		}
		if len(rep.Outputs) != len(only)+1 {
			t.Errorf("%d outputs, want %d (multi has two)", len(rep.Outputs), len(only)+1)
		}
	})
}

// TestFailures: a build that fails on one builder only keeps the other's
// hash and the failing builder's log tail; a fixed-output mismatch shows
// both hashes; what did build is compared.
func TestFailures(t *testing.T) {
	needNix(t)
	t.Parallel()
	dir := casesDir(t)
	rep, err := Run(ctx(t), Options{Installables: []Installable{vary(t, dir, "deterministic", "onesided", "fod")}, TempDir: tempDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	text := report(t, rep)
	defer func() {
		if t.Failed() {
			t.Logf("report:\n%s", text)
		}
	}()
	if rep.Verdict != BuildFailed {
		t.Errorf("verdict %s, want %s", rep.Verdict, BuildFailed)
	}
	outs := outputsByName(rep)
	if o := outs["deterministic"]; !o.Reproducible || len(o.Hashes) != 2 {
		t.Errorf("deterministic: %+v, want reproducible on both", o)
	}
	one := outs["onesided"]
	if one.Status != StatusIncomplete || len(one.Hashes) != 1 || one.Hashes[0].Builder != "a" || !slices.Equal(one.Missing, []string{"b"}) {
		t.Errorf("onesided: %+v, want a's hash and b missing", one)
	}
	a, b := rep.Builders[0], rep.Builders[1]
	find := func(br BuilderReport, name string) *Failure {
		for i, f := range br.Failures {
			if strings.HasSuffix(f.Drv, "-"+name+".drv") {
				return &br.Failures[i]
			}
		}
		return nil
	}
	if f := find(b, "onesided"); f == nil || !slices.Contains(f.LogTail, "this build needs two cores") {
		t.Errorf("b's failure of onesided: %+v, want its log tail", f)
	}
	if find(a, "onesided") != nil {
		t.Errorf("a failed onesided: %+v", a.Failures)
	}
	for _, br := range []BuilderReport{a, b} {
		f := find(br, "fod")
		if f == nil || f.HashMismatch == nil {
			t.Errorf("%s: fod failure %+v, want a hash mismatch", br.Name, f)
			continue
		}
		if f.HashMismatch.Specified != "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" || !strings.HasPrefix(f.HashMismatch.Got, "sha256-") {
			t.Errorf("%s: mismatch %+v", br.Name, f.HashMismatch)
		}
	}
	// Where the mismatch is the only failure, Nix's error is the builder's
	// error, the hashes included (not cut before them).
	if !strings.Contains(a.Error, "specified: sha256-47DEQ") || !strings.Contains(a.Error, "got:") {
		t.Errorf("a: error %q lacks the hashes", a.Error)
	}
	for _, want := range []string{"fixed-output hash mismatch: specified sha256-47DEQ", "> this build needs two cores", "not built on b"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestCrossRun: a stamp of 3-second resolution is the same on two
// builders that start together (no variation), and differs on a later
// run: only the history catches it, in rebuild and in History.Check.
func TestCrossRun(t *testing.T) {
	needNix(t)
	t.Parallel()
	dir := casesDir(t)
	h, err := OpenHistory(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	in := vary(t, dir, "coarse")
	run := func() *Report {
		// Start just after a 3-second boundary so that both builders of
		// the run see the same stamp.
		now := time.Now()
		next := now.Truncate(3 * time.Second).Add(3*time.Second + 50*time.Millisecond)
		time.Sleep(time.Until(next))
		rep, err := Run(ctx(t), Options{Installables: []Installable{in}, TempDir: tempDir(t), Vary: []string{}, History: h})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Record(context.Background(), rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	first := run()
	if first.Outputs[0].Status == StatusDiffers {
		t.Logf("the two builders of the first run differ (a slow build crossed the stamp's boundary): %+v", first.Outputs[0].Hashes)
	}
	second := run()
	o := second.Outputs[0]
	if len(o.History) == 0 || o.Reproducible || second.Verdict != NotReproducible {
		t.Fatalf("second run: %+v, verdict %s; want a difference from run 1", o, second.Verdict)
	}
	if o.History[0].Run != 1 {
		t.Errorf("history %+v, want run 1", o.History)
	}
	if text := report(t, second); !strings.Contains(text, "differs from") || !strings.Contains(text, "run #1") {
		t.Errorf("report lacks the history:\n%s", text)
	}
	bad, err := h.Check(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || bad[0].Path != o.Path || len(bad[0].Hashes) != 4 {
		t.Errorf("Check = %+v, want %s with 4 hashes", bad, o.Path)
	}
}

// TestKinds checks the other installable kinds and builders: a flake
// output, a .drv path, --argstr, an artifact, and the local store alone
// with --check semantics.
func TestKinds(t *testing.T) {
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
	t.Run("drv with two outputs", func(t *testing.T) {
		t.Parallel()
		dir := casesDir(t)
		// The .drv lives in the user's own store, as after nix-instantiate.
		drvs, err := nixcli.Instantiate(ctx(t), "", filepath.Join(dir, "vary.nix"), []string{"multi"}, nil)
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
		outs := outputsByName(rep)
		if len(rep.Outputs) != 2 || !outs["multi"].Reproducible || outs["multi-dev"].Status != StatusDiffers {
			t.Errorf("outputs %+v, want out the same and dev different", rep.Outputs)
		}
	})
	t.Run("argstr", func(t *testing.T) {
		t.Parallel()
		dir := casesDir(t)
		in := vary(t, dir, "slow")
		args, err := ParseArgs([]string{"slowSeconds=1"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		in.Args = args
		rep, err := Run(ctx(t), Options{Installables: []Installable{in}, TempDir: tempDir(t), Vary: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Outputs) != 1 || !strings.HasSuffix(rep.Outputs[0].Path, "-slow-1") || !rep.Outputs[0].Reproducible {
			t.Errorf("outputs %+v, want slow-1, reproducible", rep.Outputs)
		}
		if !strings.Contains(rep.Installables[0], "--arg slowSeconds \"1\"") {
			t.Errorf("installables %q", rep.Installables)
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
		{"ssh-ng://root@127.0.0.1?ssh-key=/k", Remote, false},
		{"ssh://builder.example", "", true},
		{"ssh-ng://", "", true},
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

func TestParseVary(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
		bad  bool
	}{
		{nil, []string{}, false},
		{[]string{"all"}, AllVariations, false},
		{[]string{"none"}, []string{}, false},
		{[]string{"kernel,time", "cores"}, []string{VaryTime, VaryCores, VaryKernel}, false},
		{[]string{"tiem"}, nil, true},
	}
	for _, tc := range tests {
		got, err := ParseVary(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("ParseVary(%q) error %v", tc.in, err)
			continue
		}
		if !tc.bad && !slices.Equal(got, tc.want) {
			t.Errorf("ParseVary(%q) = %q, want %q", tc.in, got, tc.want)
		}
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
	// A third run whose hash is one of the recorded ones, and another.
	now := &Report{Outputs: []OutputReport{{Drv: "/nix/store/x.drv", Output: "out", Status: StatusReproducible, Reproducible: true,
		Hashes: []BuilderHash{{Builder: "a", NarHash: "sha256-A"}, {Builder: "b", NarHash: "sha256-A"}}}}}
	if err := compareHistory(context.Background(), now, h); err != nil {
		t.Fatal(err)
	}
	if o := now.Outputs[0]; o.Status != StatusHistory || len(o.History) != 2 || o.History[0].NarHash != "sha256-B" {
		t.Errorf("compareHistory: %+v, want the two recorded sha256-B", o)
	}
	bad, err := h.Check(context.Background(), "")
	if err != nil || len(bad) != 1 || len(bad[0].Hashes) != 4 {
		t.Errorf("Check = %+v, %v", bad, err)
	}
}

// TestTZif checks the generated zone file's layout; TestVariations reads
// it through the sandbox's date(1).
func TestTZif(t *testing.T) {
	b := tzif(tzOffset, tzName)
	if string(b[:4]) != "TZif" || len(b) != 44+6+len(tzName)+1 {
		t.Fatalf("tzif = %q", b)
	}
}
