package nar

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Change kinds.
const (
	Added      = "added"
	Removed    = "removed"
	TypeChange = "type"
	ExecChange = "executable"
	LinkChange = "symlink"
	Content    = "content"
)

// Cause kinds: what a release engineer looks for in an unreproducible
// build.
const (
	CauseTimestamp = "timestamp"       // a time embedded in content or an archive header
	CauseBuildPath = "build-path"      // the build directory (/build/..., /tmp/nix-build-...)
	CauseStoreHash = "store-path-hash" // a store path with a different hash
	CauseOrder     = "ordering"        // the same lines or members in a different order
	CauseArchive   = "archive-metadata"
)

// Options tune Diff. The zero value is usable.
type Options struct {
	// MaxInMemory is the largest file (per side) compared in memory, with
	// a text diff; larger files are compared as streams of bytes.
	// Default 4 MiB.
	MaxInMemory int64
	// Context lines around a change in a unified diff (default 3).
	Context int
	// MaxDiffLines bounds the unified diff of one file (default 200).
	MaxDiffLines int
	// MaxRanges bounds the differing byte ranges listed per file
	// (default 16).
	MaxRanges int
	// MaxDepth bounds how deep archives inside archives are opened
	// (default 3).
	MaxDepth int
	// BuildTimes are when each side was built, when known: an embedded
	// time inside a window is named as the build time.
	BuildTimes [2]TimeWindow
}

// TimeWindow is when a build ran.
type TimeWindow struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

func (w TimeWindow) contains(t time.Time, slack time.Duration) bool {
	if w.Start.IsZero() {
		return false
	}
	return !t.Before(w.Start.Add(-slack)) && !t.After(w.End.Add(slack))
}

func (o *Options) defaults() {
	if o.MaxInMemory <= 0 {
		o.MaxInMemory = 4 << 20
	}
	if o.Context <= 0 {
		o.Context = 3
	}
	if o.MaxDiffLines <= 0 {
		o.MaxDiffLines = 200
	}
	if o.MaxRanges <= 0 {
		o.MaxRanges = 16
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = 3
	}
}

// Result is the explanation of the differences between two trees.
type Result struct {
	SchemaVersion int      `json:"schemaVersion"`
	A             string   `json:"a"`
	B             string   `json:"b"`
	Identical     bool     `json:"identical"`
	EntriesA      int      `json:"entriesA"`
	EntriesB      int      `json:"entriesB"`
	Changes       []Change `json:"changes"`
	// Causes are the distinct cause kinds found, sorted.
	Causes []string `json:"causes"`
}

// Change is one difference between the trees (or between two members of
// an archive).
type Change struct {
	Path    string  `json:"path"`
	Kind    string  `json:"kind"`
	A       *Entry  `json:"a,omitempty"`
	B       *Entry  `json:"b,omitempty"`
	Content *Diff   `json:"content,omitempty"`
	Causes  []Cause `json:"causes,omitempty"`
}

// Diff is how the contents of two files differ.
type Diff struct {
	Format string `json:"format"` // text, binary, gzip, tar, zip
	SizeA  int64  `json:"sizeA"`  // -1 when unknown (a decompressed stream)
	SizeB  int64  `json:"sizeB"`
	// FirstDifference is the offset of the first differing byte.
	FirstDifference int64   `json:"firstDifference"`
	Ranges          []Range `json:"ranges,omitempty"`
	MoreRanges      int     `json:"moreRanges,omitempty"`
	Unified         string  `json:"unified,omitempty"`
	Truncated       bool    `json:"truncated,omitempty"`
	// Header lists the archive header fields that differ.
	Header []Field `json:"header,omitempty"`
	// Members are the archive members that differ.
	Members []Change `json:"members,omitempty"`
	// Note says why the content could not be looked at more closely.
	Note string `json:"note,omitempty"`
}

// Range is a differing byte range [Start, End).
type Range struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// Field is an archive header field that differs.
type Field struct {
	Name string `json:"name"`
	A    string `json:"a"`
	B    string `json:"b"`
}

// Cause is a detected reason for a difference, with its evidence.
type Cause struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
	A      string `json:"a,omitempty"`
	B      string `json:"b,omitempty"`
}

// DiffPaths opens a and b (store paths, directories or NAR files) and
// compares them.
func DiffPaths(a, b string, o Options) (*Result, error) {
	ta, err := Open(a)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", a, err)
	}
	defer ta.Close()
	tb, err := Open(b)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", b, err)
	}
	defer tb.Close()
	r, err := DiffTrees(ta, tb, o)
	if err != nil {
		return nil, err
	}
	r.A, r.B = a, b
	return r, nil
}

// DiffTrees compares two trees, walking both in NAR order at once, so
// that memory stays bounded by the options whatever the trees' sizes.
func DiffTrees(ta, tb Tree, o Options) (*Result, error) {
	o.defaults()
	d := &differ{o: o}
	res := &Result{SchemaVersion: 1, Changes: []Change{}}
	next := func(t Tree, n *int) (*Entry, error) {
		e, err := t.Next()
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if e != nil {
			*n++
		}
		return e, err
	}
	ea, err := next(ta, &res.EntriesA)
	if err != nil {
		return nil, err
	}
	eb, err := next(tb, &res.EntriesB)
	if err != nil {
		return nil, err
	}
	for ea != nil || eb != nil {
		c := 0
		switch {
		case ea == nil:
			c = 1
		case eb == nil:
			c = -1
		default:
			c = comparePaths(ea.Path, eb.Path)
		}
		switch {
		case c < 0:
			res.Changes = append(res.Changes, Change{Path: ea.Path, Kind: Removed, A: ea})
			if ea, err = next(ta, &res.EntriesA); err != nil {
				return nil, err
			}
		case c > 0:
			res.Changes = append(res.Changes, Change{Path: eb.Path, Kind: Added, B: eb})
			if eb, err = next(tb, &res.EntriesB); err != nil {
				return nil, err
			}
		default:
			chs, err := d.compareEntries(ea, eb, ta, tb)
			if err != nil {
				return nil, err
			}
			res.Changes = append(res.Changes, chs...)
			if ea, err = next(ta, &res.EntriesA); err != nil {
				return nil, err
			}
			if eb, err = next(tb, &res.EntriesB); err != nil {
				return nil, err
			}
		}
	}
	res.Identical = len(res.Changes) == 0
	res.Causes = causeKinds(res.Changes)
	return res, nil
}

// causeKinds collects the distinct cause kinds of changes and their
// archive members.
func causeKinds(chs []Change) []string {
	seen := map[string]bool{}
	var walk func([]Change)
	walk = func(chs []Change) {
		for _, c := range chs {
			for _, k := range c.Causes {
				seen[k.Kind] = true
			}
			if c.Content != nil {
				walk(c.Content.Members)
			}
		}
	}
	walk(chs)
	kinds := []string{}
	for k := range seen {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return kinds
}

type differ struct {
	o Options
}

func (d *differ) compareEntries(ea, eb *Entry, ta, tb io.Reader) ([]Change, error) {
	if ea.Type != eb.Type {
		return []Change{{Path: ea.Path, Kind: TypeChange, A: ea, B: eb}}, nil
	}
	var out []Change
	switch ea.Type {
	case Symlink:
		if ea.Target != eb.Target {
			ch := Change{Path: ea.Path, Kind: LinkChange, A: ea, B: eb}
			ch.Causes = d.textCauses([]string{ea.Target}, []string{eb.Target}, false)
			out = append(out, ch)
		}
	case Regular:
		if ea.Executable != eb.Executable {
			out = append(out, Change{Path: ea.Path, Kind: ExecChange, A: ea, B: eb})
		}
		diff, causes, err := d.compare(ea.Path, ta, tb, ea.Size, eb.Size, 0)
		if err != nil {
			return nil, fmt.Errorf("compare %s: %w", ea.Path, err)
		}
		if diff != nil {
			out = append(out, Change{Path: ea.Path, Kind: Content, A: ea, B: eb, Content: diff, Causes: causes})
		}
	}
	return out, nil
}
