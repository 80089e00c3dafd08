// Package lockdiff computes the dependency delta between two flake.lock
// files: inputs added, removed and updated (per input path, as Nix names
// them), follows changes, and what a reviewer must look at, with a risk
// level (owner or URL change, type change, branch switch, downgrade, the
// same rev with a different narHash, a newly unlocked or indirect input, a
// move to a mutable source). It renders itself as text, markdown (a PR
// comment) and JSON.
package lockdiff

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nixgate/nixgate/internal/flakelock"
)

// Label is the pull-request label a lock change needs.
const Label = "dependency-update"

// Risk orders how much review a change needs.
type Risk int

// Risk levels, lowest first.
const (
	None Risk = iota
	Low
	Medium
	High
	Critical
)

var riskNames = [...]string{"none", "low", "medium", "high", "critical"}

func (r Risk) String() string {
	if r < None || r > Critical {
		return fmt.Sprintf("risk(%d)", int(r))
	}
	return riskNames[r]
}

// MarshalText implements encoding.TextMarshaler.
func (r Risk) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Kinds of change.
const (
	Added   = "added"
	Removed = "removed"
	Updated = "updated"
)

// Report is the delta between two locks.
type Report struct {
	SchemaVersion int      `json:"schemaVersion"`
	Label         string   `json:"label"`
	Risk          Risk     `json:"risk"`
	Summary       Summary  `json:"summary"`
	Changes       []Change `json:"changes"`
}

// Summary counts the changes.
type Summary struct {
	Added   int `json:"added"`
	Removed int `json:"removed"`
	Updated int `json:"updated"`
	Flagged int `json:"flagged"`
}

// Change is what happened to one input path.
type Change struct {
	// Input is the input path as Nix prints it: "a/b/c".
	Input string `json:"input"`
	Kind  string `json:"kind"`
	Old   *Side  `json:"old,omitempty"`
	New   *Side  `json:"new,omitempty"`
	Risk  Risk   `json:"risk"`
	Flags []Flag `json:"flags,omitempty"`
}

// Side is an input on one side of the change.
type Side struct {
	// Follows is set (possibly empty: the root flake) when the input
	// follows another input.
	Follows *string `json:"follows,omitempty"`
	// Locked is the locked reference as a flake URL; Original the
	// reference flake.nix asks for.
	Locked       string `json:"locked,omitempty"`
	Original     string `json:"original,omitempty"`
	Type         string `json:"type,omitempty"`
	Rev          string `json:"rev,omitempty"`
	NarHash      string `json:"narHash,omitempty"`
	LastModified string `json:"lastModified,omitempty"` // RFC 3339, UTC
	Ref          string `json:"ref,omitempty"`          // branch, tag or version tracked
	LockedRef    string `json:"lockedRef,omitempty"`    // the ref the lock names
	Dir          string `json:"dir,omitempty"`
	// Source is where the locked reference fetches from (what Nix
	// fetches), for a follows side the source it resolves to.
	Source string `json:"source,omitempty"`
	// ResolvesTo is set for a follows side: the node it resolves to
	// ("root" when it follows the root flake).
	ResolvesTo string `json:"resolvesTo,omitempty"`
	// Unlocked is true when Nix does not consider the input locked.
	Unlocked bool `json:"unlocked,omitempty"`

	node *flakelock.Node
	root bool
}

// Flag is one thing a reviewer must look at.
type Flag struct {
	Code    string `json:"code"`
	Risk    Risk   `json:"risk"`
	Message string `json:"message"`
}

// Flag codes.
const (
	FlagSourceChange   = "source-change"
	FlagTypeChange     = "type-change"
	FlagRefChange      = "ref-change"
	FlagDowngrade      = "downgrade"
	FlagSameRevNarHash = "same-rev-different-narhash"
	FlagUnlocked       = "unlocked"
	FlagIndirect       = "indirect"
	FlagMutable        = "mutable-source"
	FlagInsecure       = "insecure-transport"
	FlagLocalPath      = "local-path"
	FlagNewSource      = "new-source"
	FlagFollows        = "follows-change"
	FlagMismatch       = "locked-differs-from-original"
	FlagDirChange      = "dir-change"
	FlagReencoded      = "narhash-reencoded"
	FlagFlake          = "flake-change"
)

// Diff parses two lock files and computes their delta.
func Diff(old, new []byte) (*Report, error) {
	lo, err := flakelock.Parse(old)
	if err != nil {
		return nil, fmt.Errorf("parse old lock: %w", err)
	}
	ln, err := flakelock.Parse(new)
	if err != nil {
		return nil, fmt.Errorf("parse new lock: %w", err)
	}
	return DiffLocks(lo, ln), nil
}

// unode is a node of the union of both input trees: one input path, with
// the edge reaching it on each side (-1 when absent).
type unode struct {
	name     string
	old, new int
	children []int
}

type ukey struct {
	parent int
	name   string
}

// DiffLocks computes the delta between two parsed locks. It walks the union
// of both input trees in Nix's order (sorted paths, each node's inputs
// listed at its first path, as LockFile::diff compares them:
// lockfile.cc:378-409), in time linear in the two trees: paths are matched
// by (parent, name), never compared as strings.
func DiffLocks(lo, ln *flakelock.Lock) *Report {
	nodes := []unode{{old: -1, new: -1}}
	index := map[ukey]int{}
	add := func(l *flakelock.Lock, set func(u *unode, i int)) {
		of := make([]int, l.NumInputs())
		for i := range l.NumInputs() {
			e := l.Input(i)
			parent := 0
			if e.Parent >= 0 {
				parent = of[e.Parent]
			}
			k := ukey{parent, e.Name}
			u, ok := index[k]
			if !ok {
				u = len(nodes)
				index[k] = u
				nodes = append(nodes, unode{name: e.Name, old: -1, new: -1})
				nodes[parent].children = append(nodes[parent].children, u)
			}
			set(&nodes[u], i)
			of[i] = u
		}
	}
	add(lo, func(u *unode, i int) { u.old = i })
	add(ln, func(u *unode, i int) { u.new = i })

	oldSources := map[string]bool{}
	for _, k := range lo.NodeKeys() {
		if n := lo.Nodes[k]; k != lo.Root {
			oldSources[flakelock.Owner(n.LockedSource())] = true
		}
	}
	r := &Report{SchemaVersion: 1, Label: Label, Changes: []Change{}}
	stack := []int{0}
	for len(stack) > 0 {
		u := nodes[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		slices.SortFunc(u.children, func(a, b int) int { return strings.Compare(nodes[a].name, nodes[b].name) })
		for i := len(u.children) - 1; i >= 0; i-- {
			stack = append(stack, u.children[i])
		}
		if u.old < 0 && u.new < 0 {
			continue // the union root
		}
		var c Change
		switch {
		case u.old < 0:
			c.Input = ln.DisplayPath(u.new)
			c.Kind = Added
			c.New = side(ln, u.new)
			flagAdded(&c, oldSources)
			r.Summary.Added++
		case u.new < 0:
			c.Input = lo.DisplayPath(u.old)
			c.Kind = Removed
			c.Old = side(lo, u.old)
			r.Summary.Removed++
		default:
			if sameEdge(lo, ln, u.old, u.new) {
				continue
			}
			c.Input = ln.DisplayPath(u.new)
			c.Old, c.New = side(lo, u.old), side(ln, u.new)
			c.Kind = Updated
			flagUpdated(&c)
			r.Summary.Updated++
		}
		if c.Kind == Added {
			c.Risk = Low
		}
		for _, f := range c.Flags {
			c.Risk = max(c.Risk, f.Risk)
		}
		if len(c.Flags) > 0 {
			r.Summary.Flagged++
		}
		r.Risk = max(r.Risk, c.Risk)
		r.Changes = append(r.Changes, c)
	}
	return r
}

// HighRisk reports whether a change of high or critical risk is present.
func (r *Report) HighRisk() bool { return r.Risk >= High }

// Empty reports whether the locks have the same input tree.
func (r *Report) Empty() bool { return len(r.Changes) == 0 }

// side describes edge i; a follows edge carries the node it resolves to.
func side(l *flakelock.Lock, i int) *Side {
	e := l.Input(i)
	s := &Side{}
	if e.IsFollows {
		f := flakelock.DisplayFollows(e.Follows)
		s.Follows = &f
		s.ResolvesTo = e.Node
	}
	if e.Node == l.Root {
		s.root = true
		return s
	}
	n := l.Nodes[e.Node]
	s.node = n
	s.Locked = n.Locked.String()
	s.Type = n.Locked.Type
	s.Rev = n.Locked.Rev
	s.NarHash = n.Locked.NarHash
	s.Ref = n.RefName()
	s.LockedRef = n.Locked.Ref
	s.Dir = n.Locked.Dir
	s.Source = n.LockedSource()
	ok, _ := n.Locked.Locked()
	s.Unlocked = !ok
	if n.Original != nil {
		s.Original = n.Original.String()
	}
	if t := n.Locked.Time(); !t.IsZero() {
		s.LastModified = t.Format(time.RFC3339)
	}
	return s
}

// sameEdge is Nix's comparison (equal locked references, or equal follows
// paths: lockfile.cc:367-376) extended to the original reference and the
// flake attribute, so that a branch switch at the same revision still
// shows. A follows edge whose path is unchanged is the same edge: a change
// of what it resolves to shows at the path it follows.
func sameEdge(lo, ln *flakelock.Lock, i, j int) bool {
	o, n := lo.Input(i), ln.Input(j)
	if o.IsFollows || n.IsFollows {
		return o.IsFollows && n.IsFollows && slices.Equal(o.Follows, n.Follows)
	}
	a, b := lo.Nodes[o.Node], ln.Nodes[n.Node]
	return a.Flake == b.Flake && attrsEqual(a.Locked, b.Locked) && attrsEqual(a.Original, b.Original)
}

func attrsEqual(a, b *flakelock.Ref) bool {
	if a == nil || b == nil {
		return a == b
	}
	if len(a.Attrs) != len(b.Attrs) {
		return false
	}
	for k, v := range a.Attrs {
		w, ok := b.Attrs[k]
		if !ok || !valueEqual(v, w) {
			return false
		}
	}
	return true
}

func valueEqual(a, b any) bool {
	switch a := a.(type) {
	case string, bool, json.Number:
		return a == b
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func (c *Change) flag(code string, risk Risk, format string, args ...any) {
	c.Flags = append(c.Flags, Flag{Code: code, Risk: risk, Message: fmt.Sprintf(format, args...)})
}

// flagNode flags what is risky about an input by itself.
func flagNode(c *Change, n *flakelock.Node) {
	if ok, why := n.Locked.Locked(); !ok {
		c.flag(FlagUnlocked, High, "not locked: %s", why)
	}
	if n.Original != nil && n.Original.Type == "indirect" {
		c.flag(FlagIndirect, High, "registry lookup %q: the next update resolves through the updater's registry", n.Original.String())
	}
	if n.Locked.Insecure() {
		c.flag(FlagInsecure, High, "fetched over %s:// (no integrity in transit)", n.Locked.Transport())
	}
	if n.Locked.Type == "tarball" || n.Locked.Type == "file" {
		if ok, why := flakelock.MutableURL(n.Locked.URL); ok {
			c.flag(FlagMutable, Medium, "locked URL is mutable: %s", why)
		}
	}
	if p, ok := n.Locked.LocalPath(); ok && strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "/nix/store/") {
		c.flag(FlagLocalPath, Medium, "local path %s exists only on the machine that wrote the lock", p)
	}
	flagMismatch(c, n, nil)
}

// flagMismatch flags a locked reference that differs from its original
// (what Nix fetches is not what flake.nix asks for), unless the old side
// already differed the same way.
func flagMismatch(c *Change, n, old *flakelock.Node) {
	ds := n.Mismatch()
	if len(ds) == 0 {
		return
	}
	if old != nil && slices.Equal(ds, old.Mismatch()) {
		return
	}
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%s %s, original %s", d.What, d.Got, d.Original))
	}
	c.flag(FlagMismatch, High, "locked reference differs from the original: %s (Nix fetches the locked one)", strings.Join(parts, "; "))
}

func flagAdded(c *Change, oldSources map[string]bool) {
	n := c.New.node
	if n == nil {
		return // a new edge following the root flake
	}
	if c.New.Follows != nil {
		return // the followed input is judged at its own path
	}
	flagNode(c, n)
	if o := flakelock.Owner(n.LockedSource()); !oldSources[o] {
		c.flag(FlagNewSource, Medium, "new source %s (no input came from it before)", o)
	}
}

func flagUpdated(c *Change) {
	o, n := c.Old, c.New
	switch {
	case o.Follows != nil && n.Follows != nil:
		c.flag(FlagFollows, Low, "follows '%s' instead of '%s'", *n.Follows, *o.Follows)
	case o.Follows != nil:
		c.flag(FlagFollows, Low, "no longer follows '%s': locked on its own", *o.Follows)
	case n.Follows != nil:
		c.flag(FlagFollows, Low, "now follows '%s'", *n.Follows)
	}
	a, b := o.node, n.node
	switch {
	case a == nil && b == nil:
		return // both the root flake
	case b == nil:
		return // now follows the root flake
	case a == nil:
		flagNode(c, b) // followed the root flake, now an input of its own
		return
	}
	if o.Follows != nil && n.Follows != nil && a.Key == b.Key && attrsEqual(a.Locked, b.Locked) {
		return // a rewiring to the same node
	}
	if n.Follows != nil && o.Follows == nil && attrsEqual(a.Locked, b.Locked) {
		return // now follows an input locked identically
	}
	compareNodes(c, a, b)
}

// compareNodes flags the change from node a to node b: the resolved
// source on each side, whether it came from a node update or a follows
// rewiring.
func compareNodes(c *Change, a, b *flakelock.Node) {
	la, lb := a.Locked, b.Locked
	if sa, sb := a.LockedSource(), b.LockedSource(); sa != sb {
		c.flag(FlagSourceChange, High, "source changed: %s → %s", sa, sb)
	} else if la.HostName() != lb.HostName() {
		c.flag(FlagSourceChange, High, "fetch host changed: %s → %s", la.HostName(), lb.HostName())
	}
	if la.Type != lb.Type {
		c.flag(FlagTypeChange, High, "input type changed: %s → %s", la.Type, lb.Type)
	}
	if la.Dir != lb.Dir {
		c.flag(FlagDirChange, High, "flake directory changed: %s → %s", orRoot(la.Dir), orRoot(lb.Dir))
	}
	switch ra, rb := a.RefName(), b.RefName(); {
	case ra != rb:
		c.flag(FlagRefChange, Medium, "branch/ref changed: %s → %s", orDefault(ra), orDefault(rb))
	case a.Branch() != "" && b.Branch() != "" && a.Branch() != b.Branch():
		c.flag(FlagRefChange, Medium, "%q now resolves to another branch: %s → %s", orDefault(ra), a.Branch(), b.Branch())
	case la.Ref != "" && lb.Ref != "" && strings.TrimPrefix(la.Ref, "refs/heads/") != strings.TrimPrefix(lb.Ref, "refs/heads/"):
		c.flag(FlagRefChange, Medium, "locked ref changed: %s → %s (the original is unchanged)", la.Ref, lb.Ref)
	}
	if ta, tb := la.LastModified, lb.LastModified; ta > 1 && tb > 1 && tb < ta {
		c.flag(FlagDowngrade, High, "downgrade: new revision is older (%s → %s)", date(ta), date(tb))
	}
	if la.NarHash != "" && lb.NarHash != "" && la.NarHash != lb.NarHash {
		same := flakelock.SameNarHash(la.NarHash, lb.NarHash)
		switch {
		case same:
			c.flag(FlagReencoded, Low, "narHash written in another form (the same hash)")
		case la.Rev != "" && strings.EqualFold(la.Rev, lb.Rev):
			c.flag(FlagSameRevNarHash, Critical, "same rev %s with a different narHash: the content changed under the same revision", short(la.Rev))
		case la.Rev == "" && lb.Rev == "" && la.URL != "" && la.URL == lb.URL:
			c.flag(FlagSameRevNarHash, Critical, "same locked URL with a different narHash: the content changed under the same URL")
		}
	}
	oldLocked, _ := la.Locked()
	if ok, why := lb.Locked(); !ok && oldLocked {
		c.flag(FlagUnlocked, High, "no longer locked: %s", why)
	}
	if b.Original != nil && b.Original.Type == "indirect" && (a.Original == nil || a.Original.Type != "indirect") {
		c.flag(FlagIndirect, High, "now a registry lookup %q: the next update resolves through the updater's registry", b.Original.String())
	}
	if lb.Insecure() && !la.Insecure() {
		c.flag(FlagInsecure, High, "now fetched over %s://", lb.Transport())
	}
	if m, why := mutableLocked(b); m {
		if om, _ := mutableLocked(a); !om {
			c.flag(FlagMutable, Medium, "now locked to a mutable URL: %s", why)
		}
	}
	if pinned(a) && !pinned(b) {
		c.flag(FlagMutable, Medium, "moved from a pinned to a mutable source: %s → %s", a.Original.String(), b.Original.String())
	}
	flagMismatch(c, b, a)
	if a.Flake != b.Flake {
		c.flag(FlagFlake, Low, "flake = %v → %v", a.Flake, b.Flake)
	}
}

func orRoot(dir string) string {
	if dir == "" {
		return "(repository root)"
	}
	return dir
}

func mutableLocked(n *flakelock.Node) (bool, string) {
	if n.Locked.Type != "tarball" && n.Locked.Type != "file" {
		return false, ""
	}
	return flakelock.MutableURL(n.Locked.URL)
}

// pinned reports whether flake.nix itself pins the input: a rev in the
// original reference, or an immutable tarball URL.
func pinned(n *flakelock.Node) bool {
	o := n.Original
	if o == nil {
		return false
	}
	switch o.Type {
	case "tarball", "file":
		m, _ := flakelock.MutableURL(o.URL)
		return !m
	case "path":
		return false
	}
	return o.Rev != ""
}

func orDefault(s string) string {
	if s == "" {
		return "(default branch)"
	}
	return s
}

func date(ts int64) string { return time.Unix(ts, 0).UTC().Format(time.DateOnly) }

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// FileDelta is the delta of one flake.lock file of a change, or why there
// is none.
type FileDelta struct {
	Path  string  `json:"path"`
	Delta *Report `json:"delta,omitempty"`
	// Unavailable says why there is no delta.
	Unavailable string `json:"unavailable,omitempty"`
}
