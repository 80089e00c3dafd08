package checks

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
)

// lockFile is a parsed flake.lock of the repository under check.
type lockFile struct {
	Path string
	Lock *flakelock.Lock
	// Used lists the nodes the input tree reaches, in order.
	Used []flakelock.NodeUse
	// Err is why the file could not be read, parsed or resolved.
	Err error
}

// lockFiles reads every flake.lock of the repository that the policy does
// not skip. A file that does not parse comes back with Err set: the
// lock-input-unlocked check reports it, the others pass over it.
func lockFiles(ctx context.Context, p *check.Pass) ([]*lockFile, error) {
	var out []*lockFile
	for _, name := range p.Repo.Files() {
		if path.Base(name) != "flake.lock" || p.Skip(name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Read and parsed once per run, whichever lock check asks first.
		lf, _ := check.SharedValue(p, "flake.lock:"+name, func() (*lockFile, error) {
			lf := &lockFile{Path: name}
			data, err := p.Repo.ReadFile(name)
			if err != nil {
				lf.Err = err
				return lf, nil
			}
			if lf.Lock, lf.Err = flakelock.Parse(data); lf.Err == nil {
				lf.Used = lf.Lock.Used()
			}
			return lf, nil
		})
		out = append(out, lf)
	}
	return out, nil
}

// forEachNode calls fn for each node each readable lock file reaches.
func forEachNode(ctx context.Context, p *check.Pass, fn func(lf *lockFile, u flakelock.NodeUse)) error {
	files, err := lockFiles(ctx, p)
	if err != nil {
		return err
	}
	for _, lf := range files {
		if lf.Err != nil {
			continue
		}
		for _, u := range lf.Used {
			fn(lf, u)
		}
	}
	return nil
}

// nodeLoc points at a node's key in the lock file.
func nodeLoc(lf *lockFile, u flakelock.NodeUse) check.Location {
	return check.Location{Path: lf.Path, Line: u.Node.Line, Column: u.Node.Column}
}

// inputName renders a node's input path, with the other paths that reach
// it ("'nixpkgs' (also home-manager/nixpkgs)"); very deep paths are
// shortened in the middle (flakelock.DisplayPath).
func inputName(u flakelock.NodeUse) string {
	s := "'" + u.PathString() + "'"
	if n := len(u.Aliases); n > 0 {
		more := ""
		if n > 3 {
			more = fmt.Sprintf(" and %d more", n-3)
		}
		s += " (also " + strings.Join(u.AliasStrings(3), ", ") + more + ")"
	}
	return s
}

// inputKey is the fingerprint key of a finding about a node: its first
// input path (bounded).
func inputKey(u flakelock.NodeUse) string { return "input:" + u.PathString() }

// nixpkgsLike reports whether a node counts as nixpkgs for the nixpkgs
// rules: it fetches NixOS/nixpkgs or a repository named nixpkgs (a fork or
// a mirror), or an input of the root flake reaching it has one of names
// (flake-checker's nixpkgs keys).
func nixpkgsLike(u flakelock.NodeUse, names []string) bool {
	if u.Node.NixpkgsLike() {
		return true
	}
	for _, e := range append([]int{u.Edge}, u.Aliases...) {
		if in := u.Lock().Input(e); in.Depth == 1 && slices.Contains(names, in.Name) {
			return true
		}
	}
	return false
}
