package rebuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nixgate/nixgate/internal/nar"
	"github.com/nixgate/nixgate/internal/nixcli"
)

// Options of a rebuild.
type Options struct {
	Installables []Installable
	// Builders; empty means two fresh chroot stores in a temporary
	// directory.
	Builders []Builder
	// Artifact is a file inside the outputs ("result/anchor.efi" or
	// "anchor.efi") whose sha256 is compared too.
	Artifact string
	// Keep keeps the temporary chroot stores (their paths are reported).
	Keep bool
	// TempDir is where the default builders' stores are created ("" for
	// the system's temporary directory).
	TempDir string
	// Progress receives progress lines; Log, when not nil, Nix's own log.
	Progress io.Writer
	Log      io.Writer
	// Diff tunes the explanation of mismatches.
	Diff nar.Options
	// SubstituteInputs, when not nil, lets the inputs of the derivations
	// under test be substituted before these are built (substituters off).
	SubstituteInputs *InputSubstitution
}

// Verdicts.
const (
	Reproducible    = "reproducible"
	NotReproducible = "not-reproducible"
	BuildFailed     = "build-failed"
)

// Report is the result of a rebuild.
type Report struct {
	SchemaVersion int             `json:"schemaVersion"`
	Installables  []string        `json:"installables"`
	Builders      []BuilderReport `json:"builders"`
	Outputs       []OutputReport  `json:"outputs"`
	Artifact      *ArtifactReport `json:"artifact,omitempty"`
	// Substitution is set with --substitute-inputs.
	Substitution *SubstitutionReport `json:"substitution,omitempty"`
	Verdict      string              `json:"verdict"`
	Started      time.Time           `json:"started"`
	Seconds      float64             `json:"seconds"`
}

// BuilderReport is what happened on one builder.
type BuilderReport struct {
	Builder
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	Error   string    `json:"error,omitempty"`
	Kept    bool      `json:"kept,omitempty"`
	// Inputs is how the inputs were realised (--substitute-inputs).
	Inputs *InputsReport `json:"inputs,omitempty"`
}

// OutputReport is one output of one derivation on every builder.
type OutputReport struct {
	Drv          string        `json:"drv"`
	Output       string        `json:"output"`
	Path         string        `json:"path"`
	Reproducible bool          `json:"reproducible"`
	Hashes       []BuilderHash `json:"hashes"`
	Diffs        []PairDiff    `json:"diffs,omitempty"`
}

// BuilderHash is an output's NAR hash on one builder.
type BuilderHash struct {
	Builder string `json:"builder"`
	NarHash string `json:"narHash"` // SRI, computed by nixgate
	NarSize int64  `json:"narSize"`
	// NixRecord says how Nix's own record compared: "match", or why
	// there is none ("unregistered --check copy").
	NixRecord string `json:"nixRecord"`
	realPath  string
}

// PairDiff explains the difference between the first builder's output
// and another's.
type PairDiff struct {
	A      string      `json:"a"`
	B      string      `json:"b"`
	Result *nar.Result `json:"result,omitempty"`
	Error  string      `json:"error,omitempty"`
}

// ArtifactReport is the sha256 of one file of the outputs on each builder.
type ArtifactReport struct {
	Path   string            `json:"path"`
	Output string            `json:"output"`
	SHA256 map[string]string `json:"sha256"` // builder -> hex, "" when missing
	Equal  bool              `json:"equal"`
}

// ErrIntegrity is returned when nixgate's NAR hash of an output disagrees
// with Nix's own record of it.
var ErrIntegrity = errors.New("nar hash disagrees with nix's record")

// Run builds opts.Installables on every builder and compares the outputs.
// A build failure is reported in the Report (verdict build-failed), not
// as an error; errors are for what prevents a verdict altogether.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if len(opts.Installables) == 0 {
		return nil, fmt.Errorf("nothing to build")
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	rep := &Report{SchemaVersion: 1, Started: time.Now().UTC(), Outputs: []OutputReport{}}
	for _, i := range opts.Installables {
		rep.Installables = append(rep.Installables, i.String())
	}
	if sub := opts.SubstituteInputs; sub != nil {
		if err := sub.Validate(); err != nil {
			return nil, err
		}
		sr := &SubstitutionReport{Substituters: sub.Substituters, TrustedPublicKeys: sub.TrustedPublicKeys}
		if len(sr.Substituters) == 0 {
			conf, err := nixcli.ConfiguredSubstituters(ctx)
			if err != nil {
				return nil, fmt.Errorf("read the configured substituters: %w", err)
			}
			sr.Substituters, sr.Configured = conf, true
		}
		if sr.Substituters == nil {
			sr.Substituters = []string{}
		}
		rep.Substitution = sr
	}
	builders := opts.Builders
	var tmp string
	if len(builders) == 0 {
		var err error
		tmp, err = os.MkdirTemp(opts.TempDir, "nixgate-rebuild-")
		if err != nil {
			return nil, err
		}
		for _, n := range []string{"a", "b"} {
			d := filepath.Join(tmp, n)
			builders = append(builders, Builder{Name: n, URI: d, Kind: Chroot, Root: d})
		}
	}
	if len(builders) < 2 && !(len(builders) == 1 && builders[0].Kind == Local) {
		return nil, fmt.Errorf("a rebuild needs two builders (or the local store alone, with --check semantics)")
	}
	defer func() {
		if tmp != "" && !opts.Keep {
			removeAll(tmp)
		}
	}()
	workDir, err := os.MkdirTemp(opts.TempDir, "nixgate-nar-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(workDir)

	// Build on every builder at once: each is its own store, so Nix's
	// locks do not serialise them.
	runs := make([]*builderRun, len(builders))
	var wg sync.WaitGroup
	for i, b := range builders {
		runs[i] = &builderRun{b: b, opts: &opts, progress: progress, workDir: filepath.Join(workDir, fmt.Sprint(i)), check: len(builders) == 1}
		wg.Add(1)
		go func(r *builderRun) {
			defer wg.Done()
			r.run(ctx)
		}(runs[i])
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	failed := false
	for _, r := range runs {
		br := BuilderReport{Builder: r.b, Started: r.start.UTC(), Seconds: r.end.Sub(r.start).Seconds(), Kept: opts.Keep && tmp != "", Inputs: r.inputs}
		if r.err != nil {
			var integrity *integrityError
			if errors.As(r.err, &integrity) {
				return nil, r.err
			}
			br.Error = r.err.Error()
			failed = true
		}
		rep.Builders = append(rep.Builders, br)
	}
	rep.Verdict = Reproducible
	if failed {
		rep.Verdict = BuildFailed
		rep.Seconds = time.Since(rep.Started).Seconds()
		return rep, nil
	}
	// The local store alone: compare the fresh build with the existing
	// output.
	if len(runs) == 1 {
		runs = append(runs, &builderRun{b: Builder{Name: runs[0].b.Name + " --check", Kind: Local}, samples: runs[0].checkSamples})
	}
	compareOutputs(rep, runs, opts)
	if opts.Artifact != "" {
		rep.Artifact = artifactReport(runs, opts.Artifact)
		if !rep.Artifact.Equal && rep.Verdict == Reproducible {
			rep.Verdict = NotReproducible
		}
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

// compareOutputs fills rep.Outputs from the builders' samples and explains
// each mismatch against the first builder.
func compareOutputs(rep *Report, runs []*builderRun, opts Options) {
	type key struct{ drv, out string }
	var keys []key
	seen := map[key]bool{}
	for _, r := range runs {
		for _, s := range r.samples {
			k := key{s.drv, s.output}
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, func(a, b key) int { return strings.Compare(a.drv+"!"+a.out, b.drv+"!"+b.out) })
	for _, k := range keys {
		or := OutputReport{Drv: k.drv, Output: k.out, Reproducible: true}
		type side struct {
			run *builderRun
			s   *sample
		}
		var sides []side
		for _, r := range runs {
			for _, s := range r.samples {
				if s.drv == k.drv && s.output == k.out {
					or.Path = s.path
					sides = append(sides, side{r, s})
				}
			}
		}
		for _, sd := range sides {
			or.Hashes = append(or.Hashes, BuilderHash{Builder: sd.s.builder, NarHash: sd.s.hash.SRI(), NarSize: sd.s.hash.Size, NixRecord: sd.s.record, realPath: sd.s.real})
		}
		if len(sides) < 2 {
			or.Reproducible = false
		}
		for _, sd := range sides[min(1, len(sides)):] {
			ref := sides[0]
			if sd.s.hash == ref.s.hash {
				continue
			}
			or.Reproducible = false
			o := opts.Diff
			o.BuildTimes = [2]nar.TimeWindow{ref.s.window, sd.s.window}
			pd := PairDiff{A: ref.s.builder, B: sd.s.builder}
			res, err := nar.DiffPaths(ref.s.real, sd.s.real, o)
			if err != nil {
				pd.Error = err.Error()
			} else {
				res.A = ref.s.builder + ":" + or.Path
				res.B = sd.s.builder + ":" + or.Path
				pd.Result = res
			}
			or.Diffs = append(or.Diffs, pd)
		}
		if !or.Reproducible {
			rep.Verdict = NotReproducible
		}
		rep.Outputs = append(rep.Outputs, or)
	}
}

// artifactReport hashes one file of the outputs on each builder.
func artifactReport(runs []*builderRun, artifact string) *ArtifactReport {
	output, rel := "out", strings.TrimPrefix(filepath.ToSlash(filepath.Clean(artifact)), "./")
	if first, rest, ok := strings.Cut(rel, "/"); ok && (first == "result" || strings.HasPrefix(first, "result-")) {
		rel = rest
		if o, ok := strings.CutPrefix(first, "result-"); ok {
			output = o
		}
	}
	ar := &ArtifactReport{Path: rel, Output: output, SHA256: map[string]string{}, Equal: true}
	var firstSum *string
	for _, r := range runs {
		sum := ""
		for _, s := range r.samples {
			if s.output != output {
				continue
			}
			if h, err := fileSHA256(s.real, rel); err == nil {
				sum = h
				break
			}
		}
		ar.SHA256[r.b.Name] = sum
		if sum == "" {
			ar.Equal = false
		}
		if firstSum == nil {
			firstSum = &sum
		} else if *firstSum != sum {
			ar.Equal = false
		}
	}
	return ar
}

// fileSHA256 hashes rel inside an output (a directory or a NAR file).
func fileSHA256(root, rel string) (string, error) {
	t, err := nar.Open(root)
	if err != nil {
		return "", err
	}
	defer t.Close()
	want := "/" + rel
	for {
		e, err := t.Next()
		if err != nil {
			return "", fmt.Errorf("%s not found in %s", rel, root)
		}
		if e.Path == want && e.Type == nar.Regular {
			h := sha256.New()
			if _, err := io.Copy(h, t); err != nil {
				return "", err
			}
			return hex.EncodeToString(h.Sum(nil)), nil
		}
	}
}

// removeAll deletes a tree of chroot stores, whose directories Nix made
// read-only.
func removeAll(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	os.RemoveAll(dir)
}

// sample is one output as built by one builder.
type sample struct {
	builder string
	drv     string
	output  string
	path    string // the store path
	real    string // where nixgate reads it: a directory or a NAR file
	hash    nar.Hash
	record  string
	window  nar.TimeWindow
}

// builderRun builds everything on one builder.
type builderRun struct {
	b          Builder
	opts       *Options
	progress   io.Writer
	workDir    string
	start, end time.Time
	samples    []*sample
	// check: rebuild with --check semantics (the local store alone);
	// checkSamples are the fresh builds.
	check        bool
	checkSamples []*sample
	// inputs: how the inputs were realised (--substitute-inputs).
	inputs *InputsReport
	err    error
}

// bySample returns the hash of the sample of path.
func (r *builderRun) bySample(path string) nar.Hash {
	for _, s := range r.samples {
		if s.path == path {
			return s.hash
		}
	}
	return nar.Hash{}
}

func (r *builderRun) logf(format string, args ...any) {
	fmt.Fprintf(r.progress, "nixgate: [%s] %s\n", r.b.Name, fmt.Sprintf(format, args...))
}

var (
	notDeterministicRe = regexp.MustCompile(`output '([^']+)' differs from '([^']+)'`)
)

func (r *builderRun) settings() nixcli.Settings {
	s := nixcli.CleanBuild()
	return s
}

func (r *builderRun) run(ctx context.Context) {
	r.start = time.Now()
	defer func() { r.end = time.Now() }()
	var log io.Writer
	if r.opts.Log != nil {
		log = &prefixWriter{w: r.opts.Log, prefix: "[" + r.b.Name + "] "}
	}
	r.logf("building %d installable(s) on %s builder %s", len(r.opts.Installables), r.b.Kind, r.b.URI)
	if r.b.Kind == Chroot {
		if err := os.MkdirAll(r.b.Root, 0o755); err != nil {
			r.err = err
			return
		}
	}
	for _, g := range groups(r.opts.Installables) {
		if g.kind == KindDrv && r.b.Kind != Local {
			if err := nixcli.CopyDerivations(ctx, r.b.URI, g.installables, log); err != nil {
				r.err = fmt.Errorf("copy derivations to %s: %w", r.b.URI, err)
				return
			}
		}
	}
	if r.opts.SubstituteInputs != nil {
		// Phase 1: the inputs, substitutes allowed. Phase 2 below builds
		// the derivations under test as without it: substituters off.
		if err := r.realiseInputs(ctx, log); err != nil {
			r.err = err
			return
		}
	}
	var results []nixcli.BuildResult
	checkCopies := map[string]string{} // output path -> its .check copy
	for _, g := range groups(r.opts.Installables) {
		bo := nixcli.BuildOptions{Store: r.b.URI, EvalStore: r.b.evalStore(), File: g.file,
			Installables: g.installables, Settings: r.settings(), Log: log, KeepGoing: true}
		res, err := nixcli.Build(ctx, bo)
		if err != nil {
			r.err = err
			return
		}
		if r.check {
			// --check semantics: build again and compare with the output
			// now in the store, keeping a differing one as PATH.check.
			r.logf("rebuilding with --check against the existing outputs")
			ro := bo
			ro.Rebuild, ro.KeepFailed = true, true
			_, err := nixcli.Build(ctx, ro)
			var ne *nixcli.Error
			switch {
			case err == nil:
			case errors.As(err, &ne) && notDeterministicRe.MatchString(ne.Log):
				for _, m := range notDeterministicRe.FindAllStringSubmatch(ne.Log, -1) {
					checkCopies[m[1]] = m[2]
				}
			default:
				r.err = err
				return
			}
		}
		results = append(results, res...)
	}
	window := nar.TimeWindow{Start: r.start.UTC(), End: time.Now().UTC()}
	r.logf("built in %s; hashing outputs", time.Since(r.start).Round(time.Millisecond))
	var paths []string
	for _, res := range results {
		names := make([]string, 0, len(res.Outputs))
		for n := range res.Outputs {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			p := res.Outputs[n]
			s := &sample{builder: r.b.Name, drv: res.DrvPath, output: n, path: p, window: window}
			paths = append(paths, p)
			r.samples = append(r.samples, s)
			if r.check {
				c := &sample{builder: r.b.Name + " --check", drv: res.DrvPath, output: n, path: p, window: window}
				if cp, ok := checkCopies[p]; ok {
					c.real, c.record = cp, "unregistered --check copy"
				} else {
					c.real, c.record = p, "identical rebuild"
				}
				r.checkSamples = append(r.checkSamples, c)
			}
		}
	}
	if err := r.hash(ctx, paths); err != nil {
		r.err = err
	}
	for _, c := range r.checkSamples {
		if c.real == c.path {
			c.hash = r.bySample(c.path)
			continue
		}
		h, err := nar.HashPath(c.real)
		if err != nil {
			r.err = err
			return
		}
		c.hash = h
	}
}

// hash computes every sample's NAR hash and checks it against Nix's
// record (path-info).
func (r *builderRun) hash(ctx context.Context, registered []string) error {
	for i, s := range r.samples {
		if s.real == "" {
			s.real = r.b.realPath(s.path)
		}
		if s.real == "" {
			// A remote store: read the NAR through Nix.
			f := filepath.Join(r.workDir, fmt.Sprintf("%d.nar", i))
			if err := os.MkdirAll(r.workDir, 0o700); err != nil {
				return err
			}
			out, err := os.Create(f)
			if err != nil {
				return err
			}
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() {
				h, err := nar.HashNAR(pr, out)
				s.hash = h
				pr.CloseWithError(err)
				done <- err
			}()
			err = nixcli.DumpPath(ctx, r.b.URI, s.path, pw)
			pw.CloseWithError(err)
			herr := <-done
			out.Close()
			if err = errors.Join(err, herr); err != nil {
				return fmt.Errorf("read %s from %s: %w", s.path, r.b.URI, err)
			}
			s.real = f
			continue
		}
		h, err := nar.HashPath(s.real)
		if err != nil {
			return err
		}
		s.hash = h
	}
	if len(registered) == 0 {
		return nil
	}
	infos, err := nixcli.QueryPathInfo(ctx, r.b.URI, registered)
	if err != nil {
		return fmt.Errorf("query nix's record: %w", err)
	}
	byPath := map[string]nixcli.PathInfo{}
	for _, in := range infos {
		byPath[in.Path] = in
	}
	for _, s := range r.samples {
		if s.record != "" {
			continue
		}
		in, ok := byPath[s.path]
		if !ok || in.NarHash == "" {
			return fmt.Errorf("%s on %s: nix has no record of it", s.path, r.b.Name)
		}
		eq, err := s.hash.Equal(in.NarHash)
		if err != nil {
			return err
		}
		if !eq || (in.NarSize != 0 && in.NarSize != s.hash.Size) {
			return &integrityError{path: s.path, builder: r.b.Name, ours: s.hash.SRI(), nix: in.NarHash}
		}
		s.record = "match"
	}
	return nil
}

type integrityError struct {
	path, builder, ours, nix string
}

func (e *integrityError) Error() string {
	return fmt.Sprintf("%s on %s: computed %s, nix records %s", e.path, e.builder, e.ours, e.nix)
}

func (e *integrityError) Unwrap() error { return ErrIntegrity }

// group is installables built by one `nix build` call.
type group struct {
	kind         string
	file         string
	installables []string
}

// groups splits installables into one group per .nix file and one for
// flakes and derivations.
func groups(is []Installable) []group {
	var out []group
	idx := map[string]int{}
	for _, i := range is {
		k := i.Kind
		f := ""
		if k == KindFile {
			f = i.Raw
		}
		id := k + "\x00" + f
		n, ok := idx[id]
		if !ok {
			n = len(out)
			idx[id] = n
			out = append(out, group{kind: k, file: f})
		}
		switch k {
		case KindFile:
			out[n].installables = append(out[n].installables, i.Attrs...)
		default:
			out[n].installables = append(out[n].installables, i.Raw)
		}
	}
	return out
}

// prefixWriter prefixes every line written through it.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	mid    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []byte
	for _, c := range b {
		if !p.mid {
			out = append(out, p.prefix...)
			p.mid = true
		}
		out = append(out, c)
		if c == '\n' {
			p.mid = false
		}
	}
	_, err := p.w.Write(out)
	return len(b), err
}
