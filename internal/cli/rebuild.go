package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/nixcli"
	"github.com/nixgate/nixgate/internal/rebuild"
)

func newRebuildCmd(e *env) *cobra.Command {
	var (
		attrs    []string
		builders []string
		artifact string
		keep     bool
		verbose  bool
		noRecord bool
		subst    bool
		substs   []string
		keys     []string
		vary     []string
		noVary   bool
		args     []string
		argstrs  []string
		policyF  string
		submit   string
		subKeys  []string
		out      *outputFlags
	)
	cmd := &cobra.Command{
		Use:   "rebuild INSTALLABLE...",
		Short: "Build on independent clean builders, compare NAR hashes, explain differences",
		Long: `Builds each INSTALLABLE (a flake output reference, a .nix file with -A ATTR,
or a .drv path) on every builder with Nix, sandbox on, substituters and
remote builders off, then compares the NAR hash of every output: computed by
nixgate and cross-checked against Nix's own record. Every mismatch is
explained with the nar diff engine (files, bytes, causes).

Every output of every derivation is compared (out, dev, lib, ...). --arg
NAME=EXPR and --argstr NAME=VALUE pass arguments to a .nix file's function.

Builders (--builder, repeatable): a directory (a chroot store, created when
missing), "local" (your own store; alone, it rebuilds with --check
semantics), or ssh-ng://[USER@]HOST (Nix's remote building; ssh:// cannot
build). Default: two fresh chroot stores in a temporary directory.

Builders 2..N differ from the first where Nix's sandbox leaves room
(--vary LIST, default all; --no-vary for none; [rebuild] vary in
nixgate.toml): time (a later start past a second boundary, shifted
monotonic and boot-time clocks), cores (cores 1), cpus (one CPU),
build-dir (sandbox-build-dir /build-ID), kernel (impersonate-linux-26),
timezone (/etc/localtime of UTC+14), file-order (a disorderfs build
directory). The report says which were applied on each builder. Every
output is also compared with the hashes earlier runs recorded.

--substitute-inputs lets the inputs of the derivations under test (the
outputs of their input derivations) be substituted first, from --substituter
URLs (default: the substituters of your Nix configuration), signatures
required, with --trusted-public-key keys trusted in addition to the
configured ones; the derivations under test are then built as without it,
substituters off. The report counts, per builder, the inputs substituted and
built.

Progress goes to stderr, the report to stdout; every run is recorded in
$XDG_STATE_HOME/nixgate/rebuild.db (see "nixgate rebuild history").

Exit 0 reproducible, 1 not reproducible (on this run, or against an
earlier one), 3 a build failed (the report keeps the hashes of what did
build and the failing builder's log tail).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, pos []string) error {
			opts := rebuild.Options{Artifact: artifact, Keep: keep, Progress: e.stderr}
			if verbose {
				opts.Log = e.stderr
			}
			autoArgs, err := rebuild.ParseArgs(args, argstrs)
			if err != nil {
				return usagef("%v", err)
			}
			for _, a := range pos {
				i, err := rebuild.ParseInstallable(a, attrs)
				if err != nil {
					return badInput(err)
				}
				if len(autoArgs) > 0 && i.Kind != rebuild.KindFile {
					return usagef("%s: --arg and --argstr apply to .nix files", a)
				}
				i.Args = autoArgs
				opts.Installables = append(opts.Installables, i)
			}
			for _, b := range builders {
				pb, err := rebuild.ParseBuilder(b)
				if err != nil {
					return usagef("--builder: %v", err)
				}
				opts.Builders = append(opts.Builders, pb)
			}
			if len(opts.Builders) == 1 && opts.Builders[0].Kind != rebuild.Local {
				return usagef("--builder: name at least two builders (or only \"local\" for --check semantics)")
			}
			switch {
			case subst:
				opts.SubstituteInputs = &rebuild.InputSubstitution{Substituters: substs, TrustedPublicKeys: keys}
				if err := opts.SubstituteInputs.Validate(); err != nil {
					return usagef("%v", err)
				}
			case len(substs) > 0 || len(keys) > 0:
				return usagef("--substituter and --trusted-public-key apply with --substitute-inputs")
			}
			p, err := loadPolicy(".", policyF)
			if err != nil {
				return err
			}
			switch {
			case noVary && len(vary) > 0:
				return usagef("--vary and --no-vary exclude each other")
			case noVary:
				opts.Vary = []string{}
			case len(vary) > 0:
				if opts.Vary, err = rebuild.ParseVary(vary); err != nil {
					return usagef("--vary: %v", err)
				}
			case p.Rebuild.Vary != nil:
				if opts.Vary, err = rebuild.ParseVary(p.Rebuild.Vary); err != nil {
					return usagef("policy: [rebuild] vary: %v", err)
				}
			}
			out, err := out.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			if !nixcli.Available() {
				return &Hint{Err: incompletef("nix is not installed"), Hints: []string{"install Nix (Debian: apt-get install nix-bin)"}}
			}
			var hist *rebuild.History
			if dir, err := rebuild.StateDir(); err == nil {
				if hist, err = rebuild.OpenHistory(dir); err != nil {
					fmt.Fprintf(e.stderr, "nixgate: warning: no comparison with earlier runs: %v\n", err)
				} else {
					defer hist.Close()
					opts.History = hist
				}
			}
			if submit != "" && !keep && len(opts.Builders) == 0 {
				// The chroot stores are read after the build for the
				// outputs' references.
				if opts.TempDir, err = os.MkdirTemp("", "nixgate-rebuild-submit-"); err != nil {
					return incompletef("%w", err)
				}
				// Searchable by the build users: disorderfs reaches its
				// directory as them.
				if err := os.Chmod(opts.TempDir, 0o711); err != nil {
					return incompletef("%w", err)
				}
				opts.Keep = true
				defer removeStores(opts.TempDir)
			}
			rep, err := rebuild.Run(cmd.Context(), opts)
			if err != nil {
				return incompletef("rebuild: %w", err)
			}
			if submit != "" {
				if err := submitRebuild(cmd.Context(), e, submit, subKeys, rep); err != nil {
					return err
				}
			}
			if !noRecord && hist != nil {
				if err := hist.Record(cmd.Context(), rep); err != nil {
					fmt.Fprintf(e.stderr, "nixgate: warning: %v\n", err)
				}
			}
			if err := rebuild.Write(out.W, out.Format, rep); err != nil {
				return err
			}
			if err := out.Commit(); err != nil {
				return err
			}
			switch rep.Verdict {
			case rebuild.BuildFailed:
				return incompletef("a build failed (the report has the failing builder's log)")
			case rebuild.NotReproducible:
				return ErrFindings
			}
			return nil
		},
	}
	out = addOutputFlags(cmd, "text", "json", "markdown")
	f := cmd.Flags()
	f.StringArrayVarP(&attrs, "attr", "A", nil, "`ATTR` of a .nix file to build (repeatable)")
	f.StringArrayVar(&builders, "builder", nil, "builder `URI`: a directory (chroot store), local, ssh-ng://HOST (repeatable)")
	f.StringArrayVar(&args, "arg", nil, "pass `NAME=EXPR` to a .nix file's function (repeatable)")
	f.StringArrayVar(&argstrs, "argstr", nil, "pass the string `NAME=VALUE` to a .nix file's function (repeatable)")
	f.StringSliceVar(&vary, "vary", nil, "vary builders 2..N in `LIST`: time, cores, cpus, build-dir, kernel, timezone, file-order, all, none (default: all, or the policy's [rebuild] vary)")
	f.BoolVar(&noVary, "no-vary", false, "no variation: every builder as the first")
	f.StringVar(&policyF, "policy", "", "policy `FILE` (default: ./nixgate.toml, else the built-in policy)")
	f.StringVar(&artifact, "artifact", "", "also compare the sha256 of `FILE` in the output (e.g. result/anchor.efi)")
	f.BoolVar(&keep, "keep", false, "keep the temporary chroot stores")
	f.BoolVarP(&verbose, "verbose", "v", false, "stream Nix's build logs to stderr")
	f.BoolVar(&noRecord, "no-record", false, "do not record the run in the history database (it is still compared with earlier runs)")
	f.BoolVar(&subst, "substitute-inputs", false, "let the inputs of the derivations under test be substituted (signatures required); these are still built")
	f.StringArrayVar(&substs, "substituter", nil, "with --substitute-inputs: substituter `URL` (repeatable; default: the configured substituters)")
	f.StringArrayVar(&keys, "trusted-public-key", nil, "with --substitute-inputs: trust `KEY` (NAME:BASE64) in addition to the configured keys (repeatable)")
	f.StringVar(&submit, "submit", "", "submit each builder's result as a claim to the build-claim log at `URL`")
	f.StringArrayVar(&subKeys, "key", nil, "with --submit: the Nix secret key `FILE` to sign claims with (once, or once per builder)")
	cmd.AddCommand(newRebuildHistoryCmd(e))
	return cmd
}

func newRebuildHistoryCmd(e *env) *cobra.Command {
	var limit int
	var check bool
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "history [INSTALLABLE]",
		Short: "List recorded rebuilds, newest first; --check finds outputs that changed between runs",
		Long: `Lists the rebuilds recorded in $XDG_STATE_HOME/nixgate/rebuild.db, newest first
(those whose installables contain INSTALLABLE, when given).

--check looks at every derivation output recorded more than once and lists
those recorded with different hashes: across runs (a stamp of a day's or an
hour's resolution, which two builders of one run agree on) or across
builders. Exit 1 when there is one.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := out.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			w, format, closeOut := out.W, out.Format, out.Commit
			dir, err := rebuild.StateDir()
			if err != nil {
				return errors.Join(err, ErrIncomplete)
			}
			h, err := rebuild.OpenHistory(dir)
			if err != nil {
				return incompletef("%w", err)
			}
			defer h.Close()
			filter := ""
			if len(args) == 1 {
				filter = args[0]
			}
			if check {
				all, err := h.Runs(cmd.Context(), filter, 0)
				if err != nil {
					return incompletef("%w", err)
				}
				bad, err := h.Check(cmd.Context(), filter)
				if err != nil {
					return incompletef("%w", err)
				}
				if err := rebuild.WriteCheck(w, format, len(all), bad); err != nil {
					return err
				}
				if err := closeOut(); err != nil {
					return err
				}
				if len(bad) > 0 {
					return ErrFindings
				}
				return nil
			}
			runs, err := h.Runs(cmd.Context(), filter, limit)
			if err != nil {
				return incompletef("%w", err)
			}
			if err := rebuild.WriteHistory(w, format, runs); err != nil {
				return err
			}
			return closeOut()
		},
	}
	out = addOutputFlags(cmd, "text", "json")
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "show at most `N` runs (0 for all)")
	cmd.Flags().BoolVar(&check, "check", false, "list the derivation outputs recorded with different hashes (exit 1 when any)")
	return cmd
}
