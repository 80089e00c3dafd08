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

Builders (--builder, repeatable): a directory (a chroot store, created when
missing), "local" (your own store; alone, it rebuilds with --check
semantics), or ssh-ng://HOST / ssh://HOST (Nix's remote building). Default:
two fresh chroot stores in a temporary directory.

--substitute-inputs lets the inputs of the derivations under test (the
outputs of their input derivations) be substituted first, from --substituter
URLs (default: the substituters of your Nix configuration), signatures
required, with --trusted-public-key keys trusted in addition to the
configured ones; the derivations under test are then built as without it,
substituters off. The report counts, per builder, the inputs substituted and
built.

Progress goes to stderr, the report to stdout; every run is recorded in
$XDG_STATE_HOME/nixgate/rebuild.db (see "nixgate rebuild history").

Exit 0 reproducible, 1 not reproducible, 3 a build failed.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := rebuild.Options{Artifact: artifact, Keep: keep, Progress: e.stderr}
			if verbose {
				opts.Log = e.stderr
			}
			for _, a := range args {
				i, err := rebuild.ParseInstallable(a, attrs)
				if err != nil {
					return usagef("%v", err)
				}
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
			out, err := out.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			w, format, closeOut := out.W, out.Format, out.Commit
			if !nixcli.Available() {
				return &Hint{Err: fmt.Errorf("nix is not installed: %w", ErrIncomplete), Hints: []string{"install Nix (Debian: apt-get install nix-bin)"}}
			}
			if submit != "" && !keep && len(opts.Builders) == 0 {
				// The chroot stores are read after the build for the
				// outputs' references.
				if opts.TempDir, err = os.MkdirTemp("", "nixgate-rebuild-submit-"); err != nil {
					return incompletef("%w", err)
				}
				opts.Keep = true
				defer removeStores(opts.TempDir)
			}
			rep, err := rebuild.Run(cmd.Context(), opts)
			if err != nil {
				return fmt.Errorf("rebuild: %v: %w", err, ErrIncomplete)
			}
			if submit != "" {
				if err := submitRebuild(cmd.Context(), e, submit, subKeys, rep); err != nil {
					return err
				}
			}
			if !noRecord {
				if err := record(cmd, rep); err != nil {
					fmt.Fprintf(e.stderr, "nixgate: warning: %v\n", err)
				}
			}
			if err := rebuild.Write(w, format, rep); err != nil {
				return err
			}
			if err := closeOut(); err != nil {
				return err
			}
			switch rep.Verdict {
			case rebuild.BuildFailed:
				return fmt.Errorf("a build failed: %w", ErrIncomplete)
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
	f.StringVar(&artifact, "artifact", "", "also compare the sha256 of `FILE` in the output (e.g. result/anchor.efi)")
	f.BoolVar(&keep, "keep", false, "keep the temporary chroot stores")
	f.BoolVarP(&verbose, "verbose", "v", false, "stream Nix's build logs to stderr")
	f.BoolVar(&noRecord, "no-record", false, "do not record the run in the history database")
	f.BoolVar(&subst, "substitute-inputs", false, "let the inputs of the derivations under test be substituted (signatures required); these are still built")
	f.StringArrayVar(&substs, "substituter", nil, "with --substitute-inputs: substituter `URL` (repeatable; default: the configured substituters)")
	f.StringArrayVar(&keys, "trusted-public-key", nil, "with --substitute-inputs: trust `KEY` (NAME:BASE64) in addition to the configured keys (repeatable)")
	f.StringVar(&submit, "submit", "", "submit each builder's result as a claim to the build-claim log at `URL`")
	f.StringArrayVar(&subKeys, "key", nil, "with --submit: the Nix secret key `FILE` to sign claims with (once, or once per builder)")
	cmd.AddCommand(newRebuildHistoryCmd(e))
	return cmd
}

func record(cmd *cobra.Command, rep *rebuild.Report) error {
	dir, err := rebuild.StateDir()
	if err != nil {
		return err
	}
	h, err := rebuild.OpenHistory(dir)
	if err != nil {
		return err
	}
	defer h.Close()
	return h.Record(cmd.Context(), rep)
}

func newRebuildHistoryCmd(e *env) *cobra.Command {
	var limit int
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "history [INSTALLABLE]",
		Short: "List recorded rebuilds, newest first",
		Args:  cobra.MaximumNArgs(1),
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
				return fmt.Errorf("%v: %w", err, ErrIncomplete)
			}
			defer h.Close()
			filter := ""
			if len(args) == 1 {
				filter = args[0]
			}
			runs, err := h.Runs(cmd.Context(), filter, limit)
			if err != nil {
				return fmt.Errorf("%v: %w", err, ErrIncomplete)
			}
			if err := rebuild.WriteHistory(w, format, runs); err != nil {
				return err
			}
			return closeOut()
		},
	}
	out = addOutputFlags(cmd, "text", "json")
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "show at most `N` runs (0 for all)")
	return cmd
}
