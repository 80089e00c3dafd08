package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/nixcli"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/sbom"
)

// nixTarget is what sbom and attest are asked about: an installable (a
// flake reference, a store path) or, with --file, an attribute path in a
// .nix file, in a store.
type nixTarget struct {
	file  string
	store string
}

func (t *nixTarget) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.file, "file", "", "the argument is an attribute path in the .nix `FILE` (as nix --file)")
	cmd.Flags().StringVar(&t.store, "store", "", "the Nix store `URI` to read (for example a chroot store directory; default: Nix's default store)")
}

func (t *nixTarget) query(arg string) (nixcli.Query, error) {
	q := nixcli.Query{Store: t.store, Installables: []string{arg}}
	if t.file != "" {
		abs, err := filepath.Abs(t.file)
		if err != nil {
			return q, usagef("--file: %w", err)
		}
		if _, err := os.Stat(abs); err != nil {
			return q, badInput(fmt.Errorf("--file: %w", err))
		}
		q.File = abs
	}
	return q, nil
}

// storePathOf returns the store path a path names ("/nix/store/x-y/bin/z"
// names "/nix/store/x-y"), or "" when it names none.
func storePathOf(arg string) string {
	rest, ok := strings.CutPrefix(arg, sbom.StoreDir+"/")
	if !ok {
		return ""
	}
	base, _, _ := strings.Cut(rest, "/")
	p := sbom.StoreDir + "/" + base
	if _, err := sbom.StorePathName(p); err != nil {
		return ""
	}
	return p
}

// nixFailed classifies a failed nix call: an installable Nix cannot find
// or evaluate is bad input (exit 2), anything else could not complete.
func nixFailed(what string, err error) error {
	var ne *nixcli.Error
	if errors.As(err, &ne) && ne.ExitCode == 1 {
		l := strings.ToLower(ne.Log)
		for _, s := range []string{"does not exist", "not found", "no such file", "is not valid", "cannot find flake", "does not provide attribute", "undefined variable", "syntax error", "is not in the nix store", "is not a store path", "does not contain", "don't know how to open nix store", "is not a valid url"} {
			if strings.Contains(l, s) {
				return badInput(fmt.Errorf("%s: %w", what, err))
			}
		}
	}
	return incompletef("%s: %w", what, err)
}

// sourceTime is the timestamp of an SBOM or statement: SOURCE_DATE_EPOCH,
// else the commit time of the git work tree at dir, else the Unix epoch
// (with a warning, which the caller prints once it goes on): never the
// clock, so that two runs agree.
func sourceTime(ctx context.Context, dir string) (t time.Time, warn string, err error) {
	if s, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n < 0 {
			return time.Time{}, "", usagef("SOURCE_DATE_EPOCH=%q: want a non-negative number of seconds", s)
		}
		return time.Unix(n, 0).UTC(), "", nil
	}
	if out, err := repo.Git(ctx, dir, "log", "-1", "--format=%ct", "HEAD"); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil {
			return time.Unix(n, 0).UTC(), "", nil
		}
	}
	return time.Unix(0, 0).UTC(), fmt.Sprintf("nixgate: warning: no SOURCE_DATE_EPOCH and %s is not a git work tree with a commit: timestamp 1970-01-01T00:00:00Z", dir), nil
}

func newSbomCmd(e *env) *cobra.Command {
	var t nixTarget
	var buildTime bool
	var source string
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "sbom INSTALLABLE|STORE-PATH",
		Short: "Write the SBOM of a Nix closure (CycloneDX 1.6 or SPDX 2.3 JSON)",
		Long: `Write a software bill of materials of the runtime closure of INSTALLABLE
(a flake output reference, a store path, or with --file an attribute path in a
.nix file), as Nix reports it (nix path-info --json --recursive); with
--buildtime, of its build-time closure: every output of every derivation in
its derivation graph and every source (nix show-derivation -r).

Every component carries its store path, its name and version parsed as Nix
parses them (builtins.parseDrvName), the SHA-256 of its NAR in hex (the hash
nix path-info reports), a purl pkg:nix/NAME@VERSION?store-hash=HASH, and its
dependency edges (references, or derivation inputs with --buildtime).

The output is deterministic: the serial number is a UUIDv5 of the content and
the timestamp is SOURCE_DATE_EPOCH, else the commit time of --source DIR
(default: the current directory). Nothing is built or downloaded: the paths
must be in the store (build them first).

` + exitCodesHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			// An SBOM is one short burst of allocation: collect only when
			// the heap nears 512 MiB (a closure of 1,000 paths allocates
			// about 15 MB), which saves a third of nixgate's own CPU time
			// (bench/sbom.sh).
			defer debug.SetMemoryLimit(debug.SetMemoryLimit(512 << 20))
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			out, err := o.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			q, err := t.query(args[0])
			if err != nil {
				return err
			}
			// The timestamp's git call runs while Nix answers.
			type stamp struct {
				t    time.Time
				warn string
				err  error
			}
			tsc := make(chan stamp, 1)
			go func() {
				t, warn, err := sourceTime(ctx, source)
				tsc <- stamp{t, warn, err}
			}()
			cl, err := closureOf(ctx, q, buildTime)
			st := <-tsc
			if err != nil {
				return err
			}
			if st.err != nil {
				return st.err
			}
			if st.warn != "" {
				fmt.Fprintln(e.stderr, st.warn)
			}
			ts := st.t
			name := args[0]
			if t.file != "" {
				name = filepath.Base(t.file) + "#" + args[0]
			}
			if err := sbom.Write(out.W, out.Format, cl, sbom.Meta{Name: name, Time: ts, ToolVersion: Version()}); err != nil {
				return incompletef("sbom: %w", err)
			}
			return out.Commit()
		},
	}
	o = addOutputFlags(cmd, sbom.CycloneDX, sbom.SPDX)
	t.add(cmd)
	cmd.Flags().BoolVar(&buildTime, "buildtime", false, "the build-time closure (the derivation graph) instead of the runtime closure")
	cmd.Flags().StringVar(&source, "source", ".", "the git work tree whose commit time is the timestamp when SOURCE_DATE_EPOCH is unset (`DIR`)")
	return cmd
}

// closureOf returns the runtime or build-time closure of what the query
// names: a store path, the outputs of a .drv, or the outputs of an
// installable.
func closureOf(ctx context.Context, q nixcli.Query, buildTime bool) (*sbom.Closure, error) {
	arg := q.Installables[0]
	var roots []string
	var graph map[string]nixcli.DrvNode
	p := ""
	if q.File == "" {
		p = storePathOf(arg)
	}
	switch {
	case strings.HasSuffix(p, ".drv"):
		g, err := nixcli.DerivationGraph(ctx, nixcli.Query{Store: q.Store, Installables: []string{p}})
		if err != nil {
			return nil, nixFailed("nix show-derivation "+p, err)
		}
		for _, o := range g[p].Outputs {
			roots = append(roots, o.Path)
		}
		graph = g
	case p != "":
		roots = []string{p}
	default:
		infos, err := nixcli.Outputs(ctx, q)
		if err != nil {
			return nil, nixFailed("nix path-info "+arg, err)
		}
		for _, in := range infos {
			roots = append(roots, in.Path)
		}
	}
	if len(roots) == 0 {
		return nil, badInput(fmt.Errorf("%s names no store path", arg))
	}
	if !buildTime {
		return runtimeClosure(ctx, q, roots)
	}
	if graph == nil {
		gq := q
		if p != "" {
			gq = nixcli.Query{Store: q.Store, Installables: roots}
		}
		g, err := nixcli.DerivationGraph(ctx, gq)
		if err != nil {
			return nil, nixFailed("nix show-derivation --recursive "+arg, err)
		}
		graph = g
	}
	return buildTimeClosure(ctx, q, roots, graph)
}

func runtimeClosure(ctx context.Context, q nixcli.Query, roots []string) (*sbom.Closure, error) {
	infos, err := nixcli.Closure(ctx, nixcli.Query{Store: q.Store, Installables: roots})
	if err != nil {
		return nil, nixFailed("nix path-info --recursive", err)
	}
	cl, err := sbom.FromPathInfo(roots, infos)
	var nv *sbom.NotValidError
	if errors.As(err, &nv) {
		return nil, withHint(badInput(err), "build it first (nix build), or describe its build-time closure with --buildtime")
	}
	if err != nil {
		return nil, incompletef("sbom: %w", err)
	}
	return cl, nil
}

func buildTimeClosure(ctx context.Context, q nixcli.Query, roots []string, graph map[string]nixcli.DrvNode) (*sbom.Closure, error) {
	var paths []string
	for _, d := range graph {
		for _, o := range d.Outputs {
			paths = append(paths, o.Path)
		}
		paths = append(paths, d.InputSrcs...)
	}
	infos, err := nixcli.PathInfos(ctx, q.Store, paths)
	if err != nil {
		return nil, nixFailed("nix path-info", err)
	}
	cl, err := sbom.FromDerivations(roots, graph, infos)
	if err != nil {
		return nil, incompletef("sbom: %w", err)
	}
	return cl, nil
}
