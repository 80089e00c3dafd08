package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/report"
)

// outputFlags are --format and --output, shared by every reporting command.
type outputFlags struct {
	formats []string
	format  string
	output  string
}

// addOutputFlags adds --format (one of formats; the first is the default)
// and --output to cmd.
func addOutputFlags(cmd *cobra.Command, formats ...string) *outputFlags {
	if len(formats) == 0 {
		formats = []string{"text", "json", "sarif", "markdown"}
	}
	o := &outputFlags{formats: formats}
	cmd.Flags().StringVarP(&o.format, "format", "f", formats[0], "report `FORMAT`: "+strings.Join(formats, ", "))
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the report to `FILE` (atomically; never through a symlink) instead of stdout")
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return formats, cobra.ShellCompDirectiveNoFileComp
	})
	return o
}

// sink is where a report goes: stdout, or a file that is written to a
// temporary file in the target's directory and renamed over the target only
// by Commit, so that a failed run never truncates the previous report.
type sink struct {
	// W is where the report is written.
	W io.Writer
	// Format is the validated --format.
	Format string
	// Terminal reports whether W is a terminal (for colour).
	Terminal bool

	path string
	tmp  *os.File
	buf  *bufio.Writer
	done bool
}

// open validates the format and returns where the report goes. Every
// command defers Abort, and calls Commit (through writeReport, or itself)
// once the report is complete.
func (o *outputFlags) open(e *env) (*sink, error) {
	if !slices.Contains(o.formats, o.format) {
		return nil, usagef("unknown --format %q (want one of %s)", o.format, strings.Join(o.formats, ", "))
	}
	if o.output == "" || o.output == "-" {
		return &sink{W: e.stdout, Format: o.format, Terminal: isTerminal(e.stdout)}, nil
	}
	tmp, err := createAtomic(o.output)
	if err != nil {
		return nil, usagef("--output: %w", err)
	}
	buf := bufio.NewWriterSize(tmp, 64<<10)
	return &sink{W: buf, Format: o.format, path: o.output, tmp: tmp, buf: buf}, nil
}

// Commit makes the report visible: for a file, flush and rename the
// temporary file over the target. A reader sees the old report or the new
// one, never part of one. The report is not synced to disk first: it is a
// gate's output, remade by running the gate again, and an fsync on a busy
// CI disk costs milliseconds at the end of every run (here the fsync took
// 0.7 ms; home-manager's 100-commit history scan, 31 interleaved rounds:
// 39.4 -> 38.0 ms wall). What nixgate writes that is not remade so
// (signed images, bundles, baselines, policy files) goes through
// writeFileAtomic, which syncs before the rename.
func (s *sink) Commit() error {
	if s.done || s.tmp == nil {
		s.done = true
		return nil
	}
	s.done = true
	return commitAtomic(s.tmp, s.buf, s.path, false)
}

// Abort drops an uncommitted report; the target is left as it was.
func (s *sink) Abort() {
	if s.done || s.tmp == nil {
		return
	}
	s.done = true
	s.tmp.Close()
	os.Remove(s.tmp.Name())
}

// createAtomic starts writing path atomically: it refuses a path that is a
// symlink (and, for a relative path, one that passes through a symlink: a
// repository can plant those), and opens a new temporary file beside it.
func createAtomic(path string) (*os.File, error) {
	clean := filepath.Clean(path)
	if err := refuseSymlinks(clean); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(clean); err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s exists and is not a regular file", path)
	}
	dir, base := filepath.Split(clean)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return tmp, nil
}

// refuseSymlinks fails when path is a symlink, or when a relative path
// has a symlink among its directories.
func refuseSymlinks(path string) error {
	check := []string{path}
	if !filepath.IsAbs(path) {
		for d := filepath.Dir(path); d != "." && d != string(filepath.Separator); d = filepath.Dir(d) {
			check = append(check, d)
		}
	}
	for _, p := range check {
		fi, err := os.Lstat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symlink: nixgate never writes through one", p)
		}
	}
	return nil
}

func commitAtomic(tmp *os.File, buf *bufio.Writer, path string, sync bool) error {
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if buf != nil {
		if err := buf.Flush(); err != nil {
			return fail(err)
		}
	}
	if sync {
		if err := tmp.Sync(); err != nil {
			return fail(err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	// The target may have become a symlink while we wrote: rename replaces
	// the link itself, never what it points to.
	if err := os.Rename(tmp.Name(), filepath.Clean(path)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic writes data to path with the same rules as --output, and
// syncs it before the rename.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := createAtomic(path)
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return commitAtomic(tmp, nil, path, true)
}

// writeReport writes a findings report, commits the output, and maps the
// result to the command's outcome: ErrFindings when a finding reaches the
// threshold (it takes precedence), ErrIncomplete when a check errored.
func writeReport(e *env, out *sink, rep *report.Report) error {
	rep.Color = out.Format == "text" && out.Terminal
	if err := report.Write(out.W, out.Format, rep); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	for _, er := range rep.Result.Errors {
		fmt.Fprintf(e.stderr, "nixgate: check %s could not complete: %s\n", er.CheckID, report.SafeText(firstLine(er.Error)))
	}
	switch {
	case rep.Failed():
		return ErrFindings
	case len(rep.Result.Errors) > 0:
		return ErrIncomplete
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
