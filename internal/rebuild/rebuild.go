package rebuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nixgate/nixgate/internal/lazyre"
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
	// TempDir is where the run's workspace (the default builders' stores,
	// build directories, mounts) is created ("" for the system's
	// temporary directory).
	TempDir string
	// Progress receives progress lines; Log, when not nil, Nix's own log.
	Progress io.Writer
	Log      io.Writer
	// Heartbeat is how often a line says what is being built (default
	// 5 s; negative for none).
	Heartbeat time.Duration
	// Diff tunes the explanation of mismatches.
	Diff nar.Options
	// SubstituteInputs, when not nil, lets the inputs of the derivations
	// under test be substituted before these are built (substituters off).
	SubstituteInputs *InputSubstitution
	// Vary are the variations of builders 2..N (see AllVariations); nil
	// means all of them, an empty list none.
	Vary []string
	// History, when not nil, holds the earlier runs every output is
	// compared with (a stamp of a day's or an hour's resolution is the
	// same on two builders of one run, not on two runs).
	History *History
}

// Verdicts.
const (
	Reproducible    = "reproducible"
	NotReproducible = "not-reproducible"
	BuildFailed     = "build-failed"
)

// Output statuses.
const (
	StatusReproducible = "reproducible"
	StatusDiffers      = "differs"
	StatusHistory      = "differs-from-history"
	StatusIncomplete   = "incomplete" // not built on every builder
)

// Report is the result of a rebuild.
type Report struct {
	SchemaVersion int             `json:"schemaVersion"`
	Installables  []string        `json:"installables"`
	Vary          []string        `json:"vary"`
	Builders      []BuilderReport `json:"builders"`
	Outputs       []OutputReport  `json:"outputs"`
	Artifact      *ArtifactReport `json:"artifact,omitempty"`
	// Substitution is set with --substitute-inputs.
	Substitution *SubstitutionReport `json:"substitution,omitempty"`
	// HistoryRuns is how many earlier runs the outputs were compared with
	// (nil when no history was read).
	HistoryRuns *int      `json:"historyRuns,omitempty"`
	Verdict     string    `json:"verdict"`
	Started     time.Time `json:"started"`
	Seconds     float64   `json:"seconds"`
}

// BuilderReport is what happened on one builder.
type BuilderReport struct {
	Builder
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	Error   string    `json:"error,omitempty"`
	// Failures are the derivations that failed to build there.
	Failures []Failure `json:"failures,omitempty"`
	Kept     bool      `json:"kept,omitempty"`
	// Variations are how this builder differs from the first.
	Variations []Variation `json:"variations,omitempty"`
	// Environment is what its builds saw, as far as nixgate knows.
	Environment nar.Side `json:"environment"`
	// Inputs is how the inputs were realised (--substitute-inputs).
	Inputs *InputsReport `json:"inputs,omitempty"`
}

// Failure is a derivation that failed on a builder: the end of its build
// log, and for a fixed-output derivation the hashes.
type Failure struct {
	Drv          string               `json:"drv"`
	LogTail      []string             `json:"logTail,omitempty"`
	HashMismatch *nixcli.HashMismatch `json:"hashMismatch,omitempty"`
}

// OutputReport is one output of one derivation on every builder.
type OutputReport struct {
	Drv          string        `json:"drv"`
	Output       string        `json:"output"`
	Path         string        `json:"path"`
	Status       string        `json:"status"`
	Reproducible bool          `json:"reproducible"`
	Hashes       []BuilderHash `json:"hashes"`
	// Missing are the builders that did not produce it.
	Missing []string   `json:"missing,omitempty"`
	Diffs   []PairDiff `json:"diffs,omitempty"`
	// History lists the earlier recorded hashes of this output that
	// differ from this run's.
	History []RunHash `json:"history,omitempty"`
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

// Run builds opts.Installables on every builder and compares every output
// of every derivation. A build failure is reported in the Report (verdict
// build-failed, with the hashes of what did build), not as an error;
// errors are for what prevents a verdict altogether. On cancellation the
// Nix processes are stopped and the workspace is removed before Run
// returns.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if len(opts.Installables) == 0 {
		return nil, fmt.Errorf("nothing to build")
	}
	var progress io.Writer = io.Discard
	if opts.Progress != nil {
		// Every builder and the heartbeat write to it.
		progress = &lockedWriter{w: opts.Progress}
	}
	if opts.Log != nil {
		opts.Log = &lockedWriter{w: opts.Log}
	}
	vary := opts.Vary
	if vary == nil {
		vary = AllVariations
	}
	rep := &Report{SchemaVersion: 2, Started: time.Now().UTC(), Outputs: []OutputReport{}, Vary: slices.Clone(vary)}
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
	builders := slices.Clone(opts.Builders)
	if len(builders) < 2 && !(len(builders) == 1 && builders[0].Kind == Local) && len(builders) != 0 {
		return nil, fmt.Errorf("a rebuild needs two builders (or the local store alone, with --check semantics)")
	}
	cleanStale(opts.TempDir, progress)
	ws, err := newWorkspace(opts.TempDir)
	if err != nil {
		return nil, err
	}
	defaultStores := len(builders) == 0
	defer func() { ws.close(opts.Keep && defaultStores) }()
	if defaultStores {
		for _, n := range []string{"a", "b"} {
			d := filepath.Join(ws.dir, n)
			builders = append(builders, Builder{Name: n, URI: d, Kind: Chroot, Root: d})
		}
	}
	plans := makePlans(ctx, builders, vary, ws)

	// Build on every builder at once: each is its own store, so Nix's
	// locks do not serialise them. A builder whose time is varied starts
	// when the one before it has finished, past a second boundary: every
	// clock reading of its builds is then in a later second than any of
	// the other's (builders started a fixed delay apart still build a
	// derivation in the same second when the first falls behind).
	runs := make([]*builderRun, len(builders))
	var wg sync.WaitGroup
	for i, b := range builders {
		sb := b
		if plans[i].store != "" {
			sb.URI = plans[i].store
		}
		runs[i] = &builderRun{b: sb, shown: b, opts: &opts, plan: plans[i], progress: progress, workDir: filepath.Join(ws.dir, fmt.Sprintf("nar-%d", i)),
			check: len(builders) == 1, act: nixcli.NewActivity(), phase: "waiting", finished: make(chan struct{})}
	}
	for i := range runs {
		wg.Add(1)
		go func(r *builderRun) {
			defer wg.Done()
			defer close(r.finished)
			if r.plan.afterPrevious && i > 0 {
				prev := runs[i-1]
				select {
				case <-prev.finished:
				case <-ctx.Done():
					r.err = ctx.Err()
					return
				}
				at := prev.endTime().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)
				select {
				case <-time.After(time.Until(at)):
				case <-ctx.Done():
					r.err = ctx.Err()
					return
				}
			}
			r.run(ctx)
		}(runs[i])
	}
	stopBeat := heartbeat(opts.Heartbeat, progress, runs)
	wg.Wait()
	stopBeat()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	failed := false
	for i, r := range runs {
		br := BuilderReport{Builder: r.shown, Started: r.start.UTC(), Seconds: r.end.Sub(r.start).Seconds(), Kept: opts.Keep && defaultStores,
			Inputs: r.inputs, Variations: plans[i].variations, Environment: r.side()}
		if r.err != nil {
			var integrity *integrityError
			if errors.As(r.err, &integrity) {
				return nil, r.err
			}
			br.Error = r.err.Error()
			br.Failures = r.failures
			failed = true
		}
		rep.Builders = append(rep.Builders, br)
	}
	// The local store alone: compare the fresh build with the existing
	// output.
	if len(runs) == 1 {
		runs = append(runs, &builderRun{b: Builder{Name: runs[0].b.Name + " --check", Kind: Local}, samples: runs[0].checkSamples, plan: runs[0].plan})
	}
	compareOutputs(rep, runs, opts)
	if opts.History != nil {
		if err := compareHistory(ctx, rep, opts.History); err != nil {
			return nil, err
		}
	}
	if opts.Artifact != "" && !failed {
		rep.Artifact = artifactReport(runs, opts.Artifact)
	}
	rep.Verdict = Reproducible
	for _, o := range rep.Outputs {
		if !o.Reproducible {
			rep.Verdict = NotReproducible
		}
	}
	if rep.Artifact != nil && !rep.Artifact.Equal {
		rep.Verdict = NotReproducible
	}
	if failed {
		rep.Verdict = BuildFailed
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

// heartbeat prints, every interval, what each unfinished builder is
// doing: a long build is never silent without -v.
func heartbeat(interval time.Duration, w io.Writer, runs []*builderRun) func() {
	if interval == 0 {
		interval = 5 * time.Second
	}
	if interval < 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			for _, r := range runs {
				if line := r.status(); line != "" {
					fmt.Fprintf(w, "nixgate: [%s] %s\n", r.b.Name, line)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// compareOutputs fills rep.Outputs from the builders' samples and explains
// each mismatch against the first builder that has the output.
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
		or := OutputReport{Drv: k.drv, Output: k.out, Reproducible: true, Status: StatusReproducible}
		type side struct {
			run *builderRun
			s   *sample
		}
		var sides []side
		for _, r := range runs {
			found := false
			for _, s := range r.samples {
				if s.drv == k.drv && s.output == k.out {
					or.Path = s.path
					sides = append(sides, side{r, s})
					found = true
				}
			}
			if !found {
				or.Missing = append(or.Missing, r.b.Name)
			}
		}
		for _, sd := range sides {
			or.Hashes = append(or.Hashes, BuilderHash{Builder: sd.s.builder, NarHash: sd.s.hash.SRI(), NarSize: sd.s.hash.Size, NixRecord: sd.s.record, realPath: sd.s.real})
		}
		if len(or.Missing) > 0 || len(sides) < 2 {
			or.Reproducible, or.Status = false, StatusIncomplete
		}
		for _, sd := range sides[min(1, len(sides)):] {
			ref := sides[0]
			if sd.s.hash == ref.s.hash {
				continue
			}
			or.Reproducible, or.Status = false, StatusDiffers
			o := opts.Diff
			o.TempDir = opts.TempDir
			o.Sides = [2]nar.Side{ref.run.side(), sd.run.side()}
			o.Sides[0].Name, o.Sides[1].Name = ref.s.builder, sd.s.builder
			o.Sides[0].Start, o.Sides[0].End = ref.s.window[0], ref.s.window[1]
			o.Sides[1].Start, o.Sides[1].End = sd.s.window[0], sd.s.window[1]
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

// sample is one output as built by one builder.
type sample struct {
	builder string
	drv     string
	output  string
	path    string // the store path
	real    string // where nixgate reads it: a directory or a NAR file
	hash    nar.Hash
	record  string
	window  [2]time.Time
}

// builderRun builds everything on one builder.
type builderRun struct {
	b          Builder // its URI is the store URI given to Nix
	shown      Builder // as the user named it
	opts       *Options
	plan       *plan
	progress   io.Writer
	workDir    string
	start, end time.Time
	samples    []*sample
	// check: rebuild with --check semantics (the local store alone);
	// checkSamples are the fresh builds.
	check        bool
	checkSamples []*sample
	// inputs: how the inputs were realised (--substitute-inputs).
	inputs   *InputsReport
	act      *nixcli.Activity
	failures []Failure
	err      error

	mu    sync.Mutex
	phase string // what it is doing, for the heartbeat ("" when done)
	since time.Time
	// finished is closed when the builder is done (or never ran).
	finished chan struct{}
}

// endTime is when the builder finished: now, if it never ran.
func (r *builderRun) endTime() time.Time {
	if r.end.IsZero() {
		return time.Now()
	}
	return r.end
}

func (r *builderRun) setPhase(p string) {
	r.mu.Lock()
	r.phase, r.since = p, time.Now()
	r.mu.Unlock()
}

// status is the heartbeat line of a builder that is not done.
func (r *builderRun) status() string {
	r.mu.Lock()
	phase, since, start := r.phase, r.since, r.start
	r.mu.Unlock()
	if phase == "" || phase == "waiting" {
		return ""
	}
	elapsed := time.Since(start).Round(time.Second)
	if running := r.act.Running(); phase == "building" && len(running) > 0 {
		var names []string
		for _, b := range running {
			names = append(names, fmt.Sprintf("%s (%s)", shortDrv(b.Drv), time.Since(b.Since).Round(time.Second)))
		}
		return fmt.Sprintf("building %s; %s since this builder started", strings.Join(names, ", "), elapsed)
	}
	return fmt.Sprintf("%s for %s; %s since this builder started", phase, time.Since(since).Round(time.Second), elapsed)
}

// side is what this builder's builds saw.
func (r *builderRun) side() nar.Side {
	if r.plan == nil {
		return nar.Side{Name: r.b.Name}
	}
	return r.plan.side
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

var notDeterministicRe = lazyre.New(`output '([^']+)' differs from '([^']+)'`)

// settings are the options of the builds under test: a clean builder
// (sandbox on, no substituters, no remote builders), the plan's
// variations, and every derivation tried when one fails.
func (r *builderRun) settings() nixcli.Settings {
	s := nixcli.CleanBuild()
	maps.Copy(s, r.plan.settings)
	s["keep-going"] = "true"
	return s
}

// showStore is where the derivations of b are evaluated and read: a
// remote builder's are evaluated locally and copied there.
func (b Builder) showStore() string {
	if b.Kind == Remote {
		return ""
	}
	return b.URI
}

// derivations evaluates the installables into derivations in the
// builder's store (a remote builder's in the local store, then copied
// there) and returns them by path, with the paths in a stable order.
func (r *builderRun) derivations(ctx context.Context, log io.Writer) (map[string]nixcli.Derivation, []string, error) {
	all := map[string]nixcli.Derivation{}
	for _, g := range groups(r.opts.Installables) {
		o := nixcli.ShowDerivationOptions{Store: r.b.showStore(), Installables: g.installables, Args: g.args, Log: log}
		switch g.kind {
		case KindFile:
			o.File = g.file
		case KindDrv:
			// The derivations are in the local store; read them there and
			// copy them (and their closures) to the builder's.
			o.Store = ""
			if r.b.Kind != Local {
				if err := nixcli.CopyDerivations(ctx, r.b.URI, g.installables, log); err != nil {
					return nil, nil, fmt.Errorf("copy derivations to %s: %w", r.b.URI, err)
				}
			}
		}
		drvs, err := nixcli.ShowDerivation(ctx, o)
		if err != nil {
			return nil, nil, fmt.Errorf("evaluate %s: %w", strings.Join(g.installables, " "), err)
		}
		maps.Copy(all, drvs)
	}
	paths := slices.Sorted(maps.Keys(all))
	if r.b.Kind == Remote {
		if err := nixcli.CopyDerivations(ctx, r.b.URI, paths, log); err != nil {
			return nil, nil, fmt.Errorf("copy derivations to %s: %w", r.b.URI, err)
		}
	}
	return all, paths, nil
}

func (r *builderRun) run(ctx context.Context) {
	r.mu.Lock()
	r.start = time.Now()
	r.mu.Unlock()
	defer func() { r.end = time.Now(); r.setPhase("") }()
	var log io.Writer
	if r.opts.Log != nil {
		log = &prefixWriter{w: r.opts.Log, prefix: "[" + r.b.Name + "] "}
	}
	r.logf("building %d installable(s) on %s builder %s", len(r.opts.Installables), r.b.Kind, orLocal(r.shown.URI))
	if r.b.Kind == Chroot {
		if err := os.MkdirAll(r.b.Root, 0o755); err != nil {
			r.err = err
			return
		}
	}
	r.setPhase("evaluating")
	drvs, paths, err := r.derivations(ctx, log)
	if err != nil {
		r.err = err
		return
	}
	var outPaths []string
	for _, p := range paths {
		for _, o := range drvs[p].Outputs {
			outPaths = append(outPaths, o.Path)
		}
	}
	if r.opts.SubstituteInputs != nil {
		// Phase 1: the inputs, substitutes allowed. Phase 2 below builds
		// the derivations under test as without it: substituters off.
		r.setPhase("realising inputs")
		if err := r.realiseInputs(ctx, log, drvs); err != nil {
			r.err = err
			return
		}
	}
	present := map[string]nixcli.PathInfo{}
	if r.b.Kind == Local && !r.check {
		if present, err = nixcli.QueryValid(ctx, r.b.URI, outPaths); err != nil {
			r.err = fmt.Errorf("query the store: %w", err)
			return
		}
	}
	r.setPhase("building")
	ro := nixcli.RealiseOptions{Store: r.b.URI, Paths: paths, Settings: r.settings(), Log: log, Exec: r.plan.exec, Activity: r.act}
	_, buildErr := nixcli.Realise(ctx, ro)
	if ctx.Err() != nil {
		r.err = ctx.Err()
		return
	}
	checkCopies := map[string]string{} // output path -> its .check copy
	if buildErr == nil && r.check {
		// --check semantics: build again and compare with the output now
		// in the store, keeping a differing one as PATH.check.
		r.logf("rebuilding with --check against the existing outputs")
		co := ro
		co.Check, co.KeepFailed = true, true
		_, err := nixcli.Realise(ctx, co)
		var ne *nixcli.Error
		switch {
		case err == nil:
		case errors.As(err, &ne) && notDeterministicRe().MatchString(ne.Log):
			for _, m := range notDeterministicRe().FindAllStringSubmatch(ne.Log, -1) {
				checkCopies[m[1]] = m[2]
			}
		default:
			buildErr = err
		}
	}
	window := [2]time.Time{r.start.UTC(), time.Now().UTC()}
	valid, err := nixcli.QueryValid(ctx, r.b.URI, outPaths)
	if err != nil {
		r.err = errors.Join(buildErr, fmt.Errorf("query the store: %w", err))
		return
	}
	if buildErr != nil {
		r.err = buildErr
		r.failures = r.collectFailures(paths, drvs, valid, buildErr)
		r.logf("FAILED: %v", buildErr)
	} else {
		r.logf("built in %s; hashing outputs", time.Since(r.start).Round(time.Millisecond))
	}
	r.setPhase("hashing")
	var registered []string
	for _, p := range paths {
		d := drvs[p]
		for _, n := range slices.Sorted(maps.Keys(d.Outputs)) {
			op := d.Outputs[n].Path
			if _, ok := valid[op]; !ok {
				continue
			}
			s := &sample{builder: r.b.Name, drv: p, output: n, path: op, window: window}
			if _, was := present[op]; was {
				s.record = "match (present before the run: not rebuilt)"
			}
			registered = append(registered, op)
			r.samples = append(r.samples, s)
			if r.check {
				c := &sample{builder: r.b.Name + " --check", drv: p, output: n, path: op, window: window}
				if cp, ok := checkCopies[op]; ok {
					c.real, c.record = cp, "unregistered --check copy"
				} else {
					c.real, c.record = op, "identical rebuild"
				}
				r.checkSamples = append(r.checkSamples, c)
			}
		}
	}
	if err := r.hash(ctx, registered); err != nil {
		r.err = errors.Join(r.err, err)
		var integrity *integrityError
		if errors.As(err, &integrity) {
			r.err = err
		}
		return
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

// collectFailures names the derivations whose outputs are not valid after
// a failed build, with their logs' last lines and a fixed-output
// derivation's hashes.
func (r *builderRun) collectFailures(paths []string, drvs map[string]nixcli.Derivation, valid map[string]nixcli.PathInfo, err error) []Failure {
	var log string
	var ne *nixcli.Error
	if errors.As(err, &ne) {
		log = ne.Log
	}
	mismatches := nixcli.HashMismatches(log)
	var out []Failure
	for _, p := range paths {
		ok := true
		for _, o := range drvs[p].Outputs {
			if _, v := valid[o.Path]; !v {
				ok = false
			}
		}
		if ok {
			continue
		}
		f := Failure{Drv: p, LogTail: r.act.LogTail(p)}
		for _, m := range mismatches {
			if m.Drv == p {
				f.HashMismatch = &m
			}
		}
		out = append(out, f)
	}
	return out
}

func orLocal(uri string) string {
	if uri == "" {
		return "(the local store)"
	}
	return uri
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
		if s.record == "" {
			s.record = "match"
		}
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

// group is installables evaluated by one `nix show-derivation` call.
type group struct {
	kind         string
	file         string
	args         []nixcli.AutoArg
	installables []string
}

// groups splits installables into one group per .nix file (and its
// arguments), one for flakes and one for derivations.
func groups(is []Installable) []group {
	var out []group
	idx := map[string]int{}
	for _, i := range is {
		k := i.Kind
		id := k
		if k == KindFile {
			id += "\x00" + i.Raw + "\x00" + fmt.Sprint(i.Args)
		}
		n, ok := idx[id]
		if !ok {
			n = len(out)
			idx[id] = n
			out = append(out, group{kind: k})
			if k == KindFile {
				out[n].file, out[n].args = i.Raw, i.Args
			}
		}
		switch k {
		case KindFile:
			attrs := i.Attrs
			if len(attrs) == 0 {
				attrs = []string{""} // the file's value itself
			}
			out[n].installables = append(out[n].installables, attrs...)
		default:
			out[n].installables = append(out[n].installables, i.Raw)
		}
	}
	return out
}

// lockedWriter serialises writes.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
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
