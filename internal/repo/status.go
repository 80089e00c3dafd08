package repo

import (
	"bytes"
	"context"
	"strings"
)

// StatusEntry is one path that makes a work tree dirty.
type StatusEntry struct {
	Path string
	// What says how: "staged change", "modified, not staged", "untracked,
	// not ignored", "deleted", "unmerged", and so on.
	What string
}

// Status lists what makes the work tree at dir dirty, below dir only.
func Status(ctx context.Context, dir string) ([]StatusEntry, error) {
	out, err := Git(ctx, dir, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--ignore-submodules=all", "--", ".")
	if err != nil {
		return nil, err
	}
	prefix, err := Git(ctx, dir, "rev-parse", "--show-prefix")
	if err != nil {
		return nil, err
	}
	return parseStatus(out, strings.TrimSpace(string(prefix))), nil
}

// parseStatus reads `git status --porcelain=v1 -z --no-renames`; paths
// are relative to the repository root and made relative to prefix.
func parseStatus(out []byte, prefix string) []StatusEntry {
	var es []StatusEntry
	for _, rec := range bytes.Split(out, []byte{0}) {
		if len(rec) < 4 {
			continue
		}
		x, y := rec[0], rec[1]
		name := strings.TrimPrefix(string(rec[3:]), prefix)
		es = append(es, StatusEntry{Path: name, What: describe(x, y)})
	}
	return es
}

func describe(x, y byte) string {
	switch {
	case x == '?' && y == '?':
		return "untracked, not ignored"
	case x == 'U' || y == 'U' || (x == 'A' && y == 'A') || (x == 'D' && y == 'D'):
		return "unmerged"
	}
	var parts []string
	switch x {
	case 'A':
		parts = append(parts, "added, staged")
	case 'M', 'T':
		parts = append(parts, "modified, staged")
	case 'D':
		parts = append(parts, "deleted, staged")
	}
	switch y {
	case 'M', 'T':
		parts = append(parts, "modified, not staged")
	case 'D':
		parts = append(parts, "deleted, not staged")
	}
	if len(parts) == 0 {
		return "changed"
	}
	return strings.Join(parts, "; ")
}
