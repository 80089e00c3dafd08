package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/flakelock"
	"github.com/nixgate/nixgate/internal/hostaudit"
	"github.com/nixgate/nixgate/internal/nixcli"
	"github.com/nixgate/nixgate/internal/provenance"
	"github.com/nixgate/nixgate/internal/rebuild"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/sbom"
)

type attestFlags struct {
	nixTarget
	artifacts []string
	builderID string
	probe     bool
	rebuild   string
	lock      string
	source    string
}

func newAttestCmd(e *env) *cobra.Command {
	f := &attestFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "attest INSTALLABLE",
		Short: "Write the SLSA provenance of a build (an in-toto statement) for nixgate sign",
		Long: `Write an in-toto Statement v1 with a SLSA Provenance v1 predicate about the
outputs of INSTALLABLE (a flake output reference such as .#image, a store
path, or with --file an attribute path in a .nix file), which must be built:

  subjects              each output store path with the SHA-256 of its NAR
                        (mediaType application/x-nix-nar), and each
                        --artifact FILE with the SHA-256 of its bytes
  externalParameters    the flake reference (a local flake relative to its
                        repository, "." for the root) and attribute, or the
                        .nix file and attribute, or the store path
  resolvedDependencies  the source: the git commit of the repository
                        (refused when the work tree is dirty, as stamp does),
                        and every flake.lock node: its locked URL, rev
                        (gitCommit) and narHash (sha256)
  internalParameters    the Nix version, the system, and with --probe the
                        sandbox probe's verdict (as nixgate host --probe)
  runDetails            --builder-id, the build's start and finish (the
                        registration times of the derivation and the outputs
                        in the store), and --rebuild-report FILE (the JSON of
                        nixgate rebuild) as a byproduct

The statement is byte-identical for the same inputs. Its digest is printed on
stderr: the signing ceremony shows it again. Sign it on the offline signing
machine with nixgate sign; CI never signs.

` + exitCodesHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runAttest(cmd, e, f, o, args[0]) },
	}
	o = addOutputFlags(cmd, "json")
	f.nixTarget.add(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.artifacts, "artifact", nil, "also attest the release artifact `FILE` (its SHA-256; repeatable)")
	fl.StringVar(&f.builderID, "builder-id", "", "the builder's id, a `URI` (default: urn:nixgate:builder:HOSTNAME)")
	fl.BoolVar(&f.probe, "probe", false, "run the sandbox probe on --store and record its verdict")
	fl.StringVar(&f.rebuild, "rebuild-report", "", "attach the JSON report of nixgate rebuild `FILE`")
	fl.StringVar(&f.lock, "lock", "", "the flake.lock `FILE` to record (default: the local flake's flake.lock)")
	fl.StringVar(&f.source, "source", "", "the git work tree the build comes from (`DIR`; default: the local flake's or --file's directory, else .)")
	return cmd
}

// localFlakeDir returns the directory of a local flake reference (".",
// "./sub", "/abs", "path:DIR", "git+file:DIR"), or "" for a remote one.
func localFlakeDir(ref string) string {
	switch {
	case ref == "" || ref == "." || strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "../") || strings.HasPrefix(ref, "/"):
		if ref == "" {
			ref = "."
		}
		return ref
	case strings.HasPrefix(ref, "path:"), strings.HasPrefix(ref, "git+file:"):
		p := strings.TrimPrefix(strings.TrimPrefix(ref, "path:"), "git+file:")
		p = strings.TrimPrefix(p, "//")
		p, _, _ = strings.Cut(p, "?")
		return p
	}
	return ""
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func runAttest(cmd *cobra.Command, e *env, f *attestFlags, o *outputFlags, arg string) error {
	ctx := cmd.Context()
	// The output is opened last: its temporary file would make the work
	// tree dirty.
	if o.format != "json" {
		return usagef("unknown --format %q (want json)", o.format)
	}
	q, err := f.query(arg)
	if err != nil {
		return err
	}
	params := map[string]string{}
	srcDir, flakeDir := ".", ""
	storePath := ""
	if q.File == "" {
		storePath = storePathOf(arg)
	}
	switch {
	case q.File != "":
		srcDir = filepath.Dir(q.File)
		params[provenance.ParamAttribute] = arg
	case storePath != "":
		params[provenance.ParamStorePath] = storePath
	default:
		ref, attr, _ := strings.Cut(arg, "#")
		params[provenance.ParamFlake] = ref
		if attr != "" {
			params[provenance.ParamAttribute] = attr
		}
		if d := localFlakeDir(ref); d != "" {
			flakeDir, srcDir = d, d
		}
	}
	if f.source != "" {
		srcDir = f.source
	}

	// The source: a clean work tree at a commit (R3).
	topOut, err := repo.Git(ctx, srcDir, "rev-parse", "--show-toplevel")
	if err != nil {
		return withHint(usagef("%s is not in a git work tree: provenance names the commit a build comes from: %v", srcDir, err),
			"attest from the repository the build comes from, or name it with --source DIR")
	}
	top := strings.TrimSpace(string(topOut))
	dirty, err := repo.Status(ctx, top)
	if err != nil {
		return incompletef("git status: %w", err)
	}
	if len(dirty) > 0 {
		fmt.Fprintf(e.stderr, "nixgate: refusing to attest a build from a dirty tree (%d path(s)):\n", len(dirty))
		for i, d := range dirty {
			if i == 50 {
				fmt.Fprintf(e.stderr, "  ... and %d more\n", len(dirty)-i)
				break
			}
			fmt.Fprintf(e.stderr, "  %s: %s\n", d.Path, d.What)
		}
		fmt.Fprintln(e.stderr, "nixgate: hint: commit the changes and build again: provenance names a commit, and a dirty tree is not one")
		return ErrFindings
	}
	commitOut, err := repo.Git(ctx, top, "rev-parse", "HEAD")
	if err != nil {
		return usagef("no commit to attest in %s: %v", top, err)
	}
	src := &provenance.Source{Commit: strings.TrimSpace(string(commitOut)), URI: "git+file://" + top}
	if u, err := repo.Git(ctx, top, "remote", "get-url", "origin"); err == nil && strings.TrimSpace(string(u)) != "" {
		src.URI = strings.TrimSpace(string(u))
		if !strings.HasPrefix(src.URI, "git+") {
			src.URI = "git+" + src.URI
		}
	}
	rel := func(p string) (string, error) {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			abs = r
		}
		r, err := filepath.Rel(top, abs)
		if err != nil || strings.HasPrefix(r, "..") {
			return "", fmt.Errorf("%s is outside the repository %s", p, top)
		}
		return r, nil
	}
	if q.File != "" {
		r, err := rel(q.File)
		if err != nil {
			return usagef("--file: %v", err)
		}
		params[provenance.ParamFile] = filepath.ToSlash(r)
	}
	if flakeDir != "" {
		r, err := rel(flakeDir)
		if err != nil {
			return usagef("%s: %v", arg, err)
		}
		if r == "." {
			params[provenance.ParamFlake] = "."
		} else {
			params[provenance.ParamFlake] = "./" + filepath.ToSlash(r)
		}
	}

	var lock *flakelock.Lock
	lockFile := f.lock
	if lockFile == "" && flakeDir != "" {
		if _, err := os.Stat(filepath.Join(flakeDir, "flake.lock")); err == nil {
			lockFile = filepath.Join(flakeDir, "flake.lock")
		}
	}
	if lockFile != "" {
		data, err := os.ReadFile(lockFile)
		if err != nil {
			return badInput(fmt.Errorf("--lock: %w", err))
		}
		if lock, err = flakelock.Parse(data); err != nil {
			return badInput(fmt.Errorf("%s:%w", lockFile, err))
		}
	}

	// The outputs, which must be built.
	oq := q
	if storePath != "" {
		oq = nixcli.Query{Store: q.Store, Installables: []string{storePath}}
	}
	outs, err := nixcli.Outputs(ctx, oq)
	if err != nil {
		return nixFailed("nix path-info "+arg, err)
	}
	in := provenance.Inputs{Parameters: params, Source: src, Lock: lock, BuilderID: f.builderID}
	var derivers []string
	for _, info := range outs {
		if info.Valid != nil && !*info.Valid {
			return withHint(badInput(fmt.Errorf("%s is not built: %s is not valid in the store", arg, info.Path)), "build it first (nix build), then attest")
		}
		h, err := sbom.NarHashHex(info.NarHash)
		if err != nil {
			return incompletef("%s: %w", info.Path, err)
		}
		in.Subjects = append(in.Subjects, provenance.Subject{Name: info.Path, SHA256: h, NAR: true})
		if t := time.Unix(info.RegistrationTime, 0).UTC(); info.RegistrationTime > 0 && t.After(in.FinishedOn) {
			in.FinishedOn = t
		}
		if info.Deriver != "" && !slices.Contains(derivers, info.Deriver) {
			derivers = append(derivers, info.Deriver)
		}
	}
	if len(in.Subjects) == 0 {
		return badInput(fmt.Errorf("%s names no store path", arg))
	}
	if len(derivers) > 0 {
		drvs, err := nixcli.DrvInfos(ctx, q.Store, derivers)
		if err != nil {
			return nixFailed("nix path-info", err)
		}
		for _, d := range derivers {
			if di, ok := drvs[d]; ok && di.RegistrationTime > 0 && (di.Valid == nil || *di.Valid) {
				if t := time.Unix(di.RegistrationTime, 0).UTC(); in.StartedOn.IsZero() || t.Before(in.StartedOn) {
					in.StartedOn = t
				}
			}
		}
	}
	for _, a := range f.artifacts {
		h, err := sha256File(a)
		if err != nil {
			return badInput(fmt.Errorf("--artifact: %w", err))
		}
		in.Subjects = append(in.Subjects, provenance.Subject{Name: filepath.Base(a), SHA256: h})
	}
	if in.BuilderID == "" {
		host, err := os.Hostname()
		if err != nil {
			return incompletef("hostname: %w", err)
		}
		in.BuilderID = "urn:nixgate:builder:" + host
	}
	if in.NixVersion, err = nixcli.Version(ctx); err != nil {
		return incompletef("nix --version: %w", err)
	}
	if in.System, err = nixcli.System(ctx); err != nil {
		return incompletef("nix show-config: %w", err)
	}
	if f.probe {
		p, err := attestProbe(ctx, e, f.store)
		if err != nil {
			return err
		}
		in.Probe = p
	}
	if f.rebuild != "" {
		r, err := readRebuildReport(f.rebuild)
		if err != nil {
			return err
		}
		in.Rebuild = r
	}
	st, err := provenance.Statement(in)
	if err != nil {
		return incompletef("attest: %w", err)
	}
	out, err := o.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	if _, err := out.W.Write(st); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	sum := sha256.Sum256(st)
	fmt.Fprintf(e.stderr, "nixgate: statement sha256:%s (%d subject(s), commit %s)\n", hex.EncodeToString(sum[:]), len(in.Subjects), src.Commit)
	return nil
}

func attestProbe(ctx context.Context, e *env, store string) (*provenance.Probe, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, incompletef("probe: %w", err)
	}
	hopts := nixcli.HostOptions{Store: store, Options: [][2]string{{"substituters", ""}}}
	fmt.Fprintf(e.stderr, "nixgate: building the sandbox probe (store: %s)\n", orDefault(store, "default"))
	res, err := hostaudit.RunProbe(ctx, store, bin, hostaudit.ProbeEnv{
		Add:   func(ctx context.Context, file string) (string, error) { return nixcli.ProbeAdd(ctx, hopts, file) },
		Build: func(ctx context.Context, expr string) (string, error) { return nixcli.ProbeBuild(ctx, hopts, expr) },
		Cat:   func(ctx context.Context, path string) ([]byte, error) { return nixcli.ProbeCat(ctx, hopts, path) },
	})
	if err != nil {
		return nil, incompletef("sandbox probe: %w", err)
	}
	return &provenance.Probe{Store: res.Store, Verdict: res.Verdict, Evidence: res.Evidence}, nil
}

func readRebuildReport(path string) (*provenance.Rebuild, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, badInput(fmt.Errorf("--rebuild-report: %w", err))
	}
	var r rebuild.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, badInput(fmt.Errorf("--rebuild-report %s: not the JSON report of nixgate rebuild: %w", path, err))
	}
	if r.SchemaVersion == 0 || r.Verdict == "" {
		return nil, badInput(fmt.Errorf("--rebuild-report %s: not the JSON report of nixgate rebuild (no schemaVersion or verdict)", path))
	}
	sum := sha256.Sum256(data)
	out := &provenance.Rebuild{SHA256: hex.EncodeToString(sum[:]), Verdict: r.Verdict}
	for _, o := range r.Outputs {
		out.Outputs = append(out.Outputs, o.Path)
	}
	slices.Sort(out.Outputs)
	return out, nil
}
