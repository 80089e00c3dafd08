package nar

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
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
	CauseTimezone  = "timezone"        // the same or another time in another time zone
	CauseBuildPath = "build-path"      // the build directory (/build, a varied one, /tmp/nix-build-..., a source directory)
	CauseStoreHash = "store-path-hash" // a store path with a different hash
	CauseOrder     = "ordering"        // the same lines, members or entries in a different order
	CauseRandom    = "random"          // high-entropy bytes of the same length
	CauseCores     = "build-cores"     // NIX_BUILD_CORES, nproc, -jN: the builder's parallelism
	CauseKernel    = "kernel"          // the kernel release (uname -r)
	CauseArchive   = "archive-metadata"
)

// causePriority orders cause kinds from the most to the least telling,
// for the one summary cause of a file: an ordering or a header field is
// often the consequence of a cause named before it.
var causePriority = []string{CauseTimezone, CauseKernel, CauseCores, CauseBuildPath, CauseTimestamp, CauseStoreHash, CauseRandom, CauseOrder, CauseArchive}

// Options tune Diff. The zero value is usable.
type Options struct {
	// MaxInMemory is the largest content (per side) held in memory and
	// compared with a text diff; larger contents are compared as streams
	// of bytes, and archive members larger than it are spooled to
	// temporary files. Default 4 MiB.
	MaxInMemory int64
	// MaxExpand bounds the bytes decompressed or extracted from archives
	// in one diff (per side); what is past it is not compared, and the
	// report says so. Default 1 GiB.
	MaxExpand int64
	// TempDir is where members larger than MaxInMemory are spooled (""
	// for the system's temporary directory).
	TempDir string
	// Context lines around a change in a unified diff (default 3).
	Context int
	// MaxDiffLines bounds the unified diff of one file (default 200).
	MaxDiffLines int
	// MaxRanges bounds the differing byte ranges listed per file
	// (default 16).
	MaxRanges int
	// MaxDepth bounds how deep containers inside containers are opened
	// (default 6: a .deb's data.tar.xz's tar's ELF file's section).
	MaxDepth int
	// MaxMembers bounds the members compared in one archive (default
	// 100,000).
	MaxMembers int
	// Sides are what is known of the builders of A and B: build times,
	// build directories, cores, kernels, time zones. A value found in the
	// content that matches is named with its cause.
	Sides [2]Side
}

// Side is what is known of the builder that produced one side of a diff.
type Side struct {
	// Name is the builder's name ("a").
	Name string `json:"name,omitempty"`
	// Start and End are when the build ran.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// BuildDir is the build directory inside the sandbox ("/build").
	BuildDir string `json:"buildDir,omitempty"`
	// Cores is NIX_BUILD_CORES, CPUs the CPUs the build could run on
	// (nproc); 0 when unknown.
	Cores int `json:"cores,omitempty"`
	CPUs  int `json:"cpus,omitempty"`
	// Kernel is the kernel release the build saw (uname -r).
	Kernel string `json:"kernel,omitempty"`
	// TimeZone is the build's time zone abbreviation ("UTC", "+14").
	TimeZone string `json:"timeZone,omitempty"`
	// ClockShift is how far the build's monotonic and boot-time clocks
	// were moved ahead (a time namespace).
	ClockShift time.Duration `json:"clockShift,omitempty"`
}

func (s Side) contains(t time.Time, slack time.Duration) bool {
	if s.Start.IsZero() {
		return false
	}
	return !t.Before(s.Start.Add(-slack)) && !t.After(s.End.Add(slack))
}

func (o *Options) defaults() {
	if o.MaxInMemory <= 0 {
		o.MaxInMemory = 4 << 20
	}
	if o.MaxExpand <= 0 {
		o.MaxExpand = 1 << 30
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
		o.MaxDepth = 6
	}
	if o.MaxMembers <= 0 {
		o.MaxMembers = 100000
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
	// Summary is the one cause that best explains this change, its
	// members' included (the first kind of causePriority found).
	Summary *Cause `json:"summary,omitempty"`
}

// Diff is how the contents of two files differ.
type Diff struct {
	Format string `json:"format"` // text, binary, gzip, xz, bzip2, zstd, tar, zip, ar, cpio, elf, pyc
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
	r, err := diffTrees(ta, tb, o, filepath.Base(a))
	if err != nil {
		return nil, err
	}
	r.A, r.B = a, b
	return r, nil
}

// DiffTrees compares two trees, walking both in NAR order at once, so
// that memory stays bounded by the options whatever the trees' sizes.
func DiffTrees(ta, tb Tree, o Options) (*Result, error) {
	return diffTrees(ta, tb, o, "")
}

// diffTrees is DiffTrees; rootName names a tree that is one file (for
// the formats known by their names, .pyc).
func diffTrees(ta, tb Tree, o Options, rootName string) (*Result, error) {
	o.defaults()
	d := newDiffer(o)
	d.rootName = rootName
	defer d.close()
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
			d.endEntry()
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
	for i := range res.Changes {
		res.Changes[i].Summary = summaryCause(res.Changes[i])
	}
	res.Causes = causeKinds(res.Changes)
	return res, nil
}

// summaryCause picks the one cause of a change (its members' included) that
// best explains it, by causePriority.
func summaryCause(c Change) *Cause {
	var all []Cause
	var walk func(Change)
	walk = func(c Change) {
		all = append(all, c.Causes...)
		if c.Content != nil {
			for _, m := range c.Content.Members {
				walk(m)
			}
		}
	}
	walk(c)
	for _, k := range causePriority {
		for _, x := range all {
			if x.Kind == k {
				return &x
			}
		}
	}
	return nil
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

func (d *differ) compareEntries(ea, eb *Entry, ta, tb Tree) ([]Change, error) {
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
		ba, err := d.entryBlob(ta, ea, 0)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", ea.Path, err)
		}
		bb, err := d.entryBlob(tb, eb, 1)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", eb.Path, err)
		}
		name := path.Base(ea.Path)
		if ea.Path == "/" && d.rootName != "" {
			name = d.rootName
		}
		diff, causes, err := d.compare(name, ba, bb, 0)
		if err != nil {
			return nil, fmt.Errorf("compare %s: %w", ea.Path, err)
		}
		if diff != nil {
			out = append(out, Change{Path: ea.Path, Kind: Content, A: ea, B: eb, Content: diff, Causes: causes})
		}
	}
	return out, nil
}
