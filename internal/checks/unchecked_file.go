package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/repo"
)

// UncheckedFile makes every read nixgate refuses visible: a file over its
// size limit, a FIFO, a device or a socket, a policy or lock symlinked out
// of the repository, a nested repository. The other checks skip those
// files; this one says so, so that nothing is skipped silently.
var UncheckedFile = &check.Check{
	ID:       "unchecked-file",
	Title:    "A file could not be checked",
	Severity: check.Medium,
	Rules:    []string{"R1", "R4", "R5"},
	Why: "nixgate reads a repository under hard limits so that a hostile change cannot exhaust memory, hang the " +
		"gate or make it read files outside the tree. A file it refused to read is a file no gate looked at: a " +
		"secret or an unpinned input could hide in it, so the refusal is a finding, never a silent skip.",
	Remediation: "Remove the FIFO, device or socket from the tree; move large generated data out of the repository " +
		"(or raise the limit for its kind under [limits] in nixgate.toml, in a reviewed change); make policy and " +
		"lock files regular files inside the repository.",
	Scope: check.ScopeRepo,
	Run:   runUncheckedFile,
}

func runUncheckedFile(ctx context.Context, p *check.Pass) error {
	for _, name := range p.Repo.Files() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if p.Skip(name) {
			continue
		}
		fi, err := p.Repo.Lstat(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the work tree: dirty-tree reports it
		}
		if err != nil {
			return fmt.Errorf("lstat %s: %w", name, err)
		}
		kind := repo.KindOf(name)
		switch m := fi.Mode(); {
		case m&fs.ModeSymlink != 0:
			if kind != repo.KindPolicy && kind != repo.KindLock {
				continue // build-output-committed judges links; other checks skip them
			}
			if _, err := p.Repo.ReadHead(name, 1); repo.IsRefused(err) {
				p.ReportSeverity(check.High, check.Finding{Location: check.Location{Path: name}, Key: "escapes",
					Message: fmt.Sprintf("%s is a symlink that leads out of the repository; nixgate does not follow it, so this %s file was not checked", name, kind)})
			}
		case m&(fs.ModeNamedPipe|fs.ModeDevice|fs.ModeCharDevice|fs.ModeSocket) != 0:
			p.ReportSeverity(check.High, check.Finding{Location: check.Location{Path: name}, Key: "special",
				Message: fmt.Sprintf("%s is %s where a file belongs; nixgate does not read it (a read could block or never end)", name, specialName(m))})
		case m.IsRegular():
			lim := p.Repo.Limits.For(name)
			if fi.Size() <= lim {
				continue
			}
			if kind == repo.KindText {
				// Binary content is not scanned anyway (the secret scan skips
				// it by content): only text over the limit is a gap.
				head, err := p.Repo.ReadHead(name, 8000)
				if err == nil && bytes.IndexByte(head, 0) >= 0 {
					continue
				}
			}
			p.Report(check.Finding{Location: check.Location{Path: name}, Key: fmt.Sprintf("size:%s", kind),
				Message: fmt.Sprintf("%s is %s, over the %s limit for %s files: no check read it", name, repo.Size(fi.Size()), repo.Size(lim), kind)})
		}
	}
	for _, n := range p.Repo.Nested() {
		if p.Skip(n) {
			continue
		}
		p.ReportSeverity(check.Low, check.Finding{Location: check.Location{Path: n + "/"}, Key: "nested",
			Message: fmt.Sprintf("%s/ is a nested git repository: nixgate does not run git in it or read it (commit it as a submodule, or ignore it)", n)})
	}
	return nil
}

func specialName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a device node"
}
