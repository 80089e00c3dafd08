package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/gctune"
	"github.com/nixgate/nixgate/internal/nar"
)

func newNarCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "nar",
		Short: "Hash and compare Nix archives (store paths, directories, .nar files)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newNarDiffCmd(e), newNarHashCmd(e))
	return cmd
}

func newNarDiffCmd(e *env) *cobra.Command {
	var diffoscope bool
	var o nar.Options
	var out *outputFlags
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Explain the difference between two build outputs",
		Long: `Compares A and B (store paths, directories or .nar files) in NAR order and
reports added and removed entries, type, executable-bit and symlink changes,
and content changes: a unified diff for text, differing byte ranges for
binaries. Equal bytes are equal: a file is opened as a container only when
its bytes differ. Containers are opened recursively and in place, within
bounds (--max-depth, --max-expand): gzip, xz, bzip2, zstd, tar, zip (jar,
wheel), ar (.a, .deb), cpio (newc, odc), ELF (which sections differ, the
build ID, the compile units' DWARF comp_dir and name) and .pyc headers; a
member is named with its containers, "lib.a:foo.o:.debug_str".

It names the usual causes, one summary cause per file: timestamps (ISO 8601
basic and extended, RFC 2822, date(1), __DATE__ and __TIME__, epoch seconds,
archive header times), time zones, build paths (/build, a varied build
directory, /tmp/nix-build-*, a Go binary without -trimpath, DWARF comp_dir),
store paths with another hash, ordering, random bytes, inode numbers,
NIX_BUILD_CORES-like numbers and kernel releases.

Exit 0 when identical, 1 when they differ.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if diffoscope {
				return runDiffoscope(cmd, e, args[0], args[1])
			}
			gctune.Start()
			out, err := out.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			w, format, closeOut := out.W, out.Format, out.Commit
			res, err := nar.DiffPaths(args[0], args[1], o)
			var fe *nar.FormatError
			if errors.As(err, &fe) {
				// A NAR Nix would reject is bad input, never "identical".
				return badInput(fmt.Errorf("nar diff: %w", err))
			}
			if err != nil {
				return narError("nar diff", err)
			}
			switch format {
			case "json":
				err = nar.WriteJSON(w, res)
			case "markdown":
				err = nar.WriteMarkdown(w, res)
			default:
				err = nar.WriteText(w, res)
			}
			if cerr := closeOut(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			if !res.Identical {
				return ErrFindings
			}
			return nil
		},
	}
	out = addOutputFlags(cmd, "text", "json", "markdown")
	cmd.Flags().BoolVar(&diffoscope, "diffoscope", false, "hand the pair to diffoscope (when installed) instead")
	cmd.Flags().IntVar(&o.MaxDiffLines, "max-diff-lines", 200, "at most `N` lines of unified diff per file")
	cmd.Flags().Int64Var(&o.MaxInMemory, "max-in-memory", 4<<20, "largest file, in `BYTES`, compared in memory with a text diff")
	cmd.Flags().Int64Var(&o.MaxExpand, "max-expand", 1<<30, "at most `BYTES` decompressed or extracted from archives, per side")
	cmd.Flags().IntVar(&o.MaxDepth, "max-depth", 6, "open containers at most `N` deep")
	return cmd
}

// runDiffoscope hands a pair to diffoscope; its exit code 1 (different)
// maps to ours.
func runDiffoscope(cmd *cobra.Command, e *env, a, b string) error {
	bin, err := exec.LookPath("diffoscope")
	if err != nil {
		return withHint(incompletef("diffoscope is not installed: %w", err), "install it (apt-get install diffoscope) or drop --diffoscope")
	}
	c := exec.CommandContext(cmd.Context(), bin, a, b)
	c.Stdout, c.Stderr, c.Stdin = e.stdout, e.stderr, os.Stdin
	err = c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return ErrFindings
	}
	if err != nil {
		return incompletef("diffoscope: %w", err)
	}
	return nil
}

func newNarHashCmd(e *env) *cobra.Command {
	var base32 bool
	cmd := &cobra.Command{
		Use:   "hash PATH...",
		Short: "Print the NAR hash of paths (like nix hash path), SRI form",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, p := range args {
				h, err := nar.HashPath(p)
				if err != nil {
					return narError("nar hash", err)
				}
				s := h.SRI()
				if base32 {
					s = h.String()
				}
				if len(args) > 1 {
					fmt.Fprintf(e.stdout, "%s  %s\n", s, p)
				} else {
					fmt.Fprintln(e.stdout, s)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&base32, "base32", false, "print sha256:<nixbase32> (as nix-store --query --hash) instead of SRI")
	return cmd
}

// narError maps a NAR read error to the CLI contract: a path that does not
// exist or cannot be read is an input error (exit 2), as is a malformed
// NAR; anything else could not complete (exit 3).
func narError(op string, err error) error {
	var pe *fs.PathError
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.As(err, &pe) {
		return badInput(fmt.Errorf("%s: %w", op, err))
	}
	return incompletef("%s: %w", op, err)
}
