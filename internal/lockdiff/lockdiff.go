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
	"maps"
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
	Source       string `json:"source,omitempty"`
	// Unlocked is true when Nix does not consider the input locked.
	Unlocked bool `json:"unlocked,omitempty"`

	node *flakelock.Node
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
	return DiffLocks(lo, ln)
}

// DiffLocks computes the delta between two parsed locks.
func DiffLocks(lo, ln *flakelock.Lock) (*Report, error) {
	io, err := lo.Inputs()
	if err != nil {
		return nil, fmt.Errorf("old lock: %w", err)
	}
	in, err := ln.Inputs()
	if err != nil {
		return nil, fmt.Errorf("new lock: %w", err)
	}
	om := map[string]flakelock.Input{}
	for _, x := range io {
		om[flakelock.PathString(x.Path)] = x
	}
	nm := map[string]flakelock.Input{}
	for _, x := range in {
		nm[flakelock.PathString(x.Path)] = x
	}
	oldSources := map[string]bool{}
	for _, k := range lo.NodeKeys() {
		if n := lo.Nodes[k]; k != lo.Root {
			oldSources[owner(n)] = true
		}
	}
	r := &Report{SchemaVersion: 1, Label: Label}
	paths := slices.Sorted(maps.Keys(union(om, nm)))
	// Nix sorts input paths element-wise.
	slices.SortFunc(paths, func(a, b string) int {
		return slices.Compare(strings.Split(a, "/"), strings.Split(b, "/"))
	})
	for _, p := range paths {
		o, hasO := om[p]
		n, hasN := nm[p]
		var c Change
		c.Input = p
		switch {
		case !hasO:
			c.Kind = Added
			c.New = side(ln, n)
			flagAdded(&c, oldSources)
			r.Summary.Added++
		case !hasN:
			c.Kind = Removed
			c.Old = side(lo, o)
			r.Summary.Removed++
		default:
			c.Old, c.New = side(lo, o), side(ln, n)
			if sameEdge(lo, ln, o, n) {
				continue
			}
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
	if r.Changes == nil {
		r.Changes = []Change{}
	}
	return r, nil
}

// HighRisk reports whether a change of high or critical risk is present.
func (r *Report) HighRisk() bool { return r.Risk >= High }

// Empty reports whether the locks have the same input tree.
func (r *Report) Empty() bool { return len(r.Changes) == 0 }

func union(a, b map[string]flakelock.Input) map[string]bool {
	u := make(map[string]bool, len(a)+len(b))
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

func owner(n *flakelock.Node) string {
	s := n.Source()
	parts := strings.SplitN(s, "/", 3)
	if len(parts) >= 2 {
		return parts[0] + "/" + parts[1]
	}
	return s
}

func side(l *flakelock.Lock, in flakelock.Input) *Side {
	if in.IsFollows {
		f := flakelock.PathString(in.Follows)
		return &Side{Follows: &f}
	}
	n := l.Nodes[in.Node]
	s := &Side{node: n, Locked: n.Locked.String(), Type: n.Locked.Type, Rev: n.Locked.Rev,
		NarHash: n.Locked.NarHash, Ref: n.RefName(), Source: n.Source()}
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
// paths) extended to the original reference and the flake attribute, so
// that a branch switch at the same revision still shows.
func sameEdge(lo, ln *flakelock.Lock, o, n flakelock.Input) bool {
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
}

func flagAdded(c *Change, oldSources map[string]bool) {
	n := c.New.node
	if n == nil {
		return // a new follows edge
	}
	flagNode(c, n)
	if o := owner(n); !oldSources[o] {
		c.flag(FlagNewSource, Medium, "new source %s (no input came from it before)", o)
	}
}

func flagUpdated(c *Change) {
	o, n := c.Old, c.New
	switch {
	case o.node == nil && n.node == nil:
		c.flag(FlagFollows, Low, "follows '%s' instead of '%s'", *n.Follows, *o.Follows)
		return
	case o.node == nil:
		c.flag(FlagFollows, Low, "no longer follows '%s': locked on its own", *o.Follows)
		flagNode(c, n.node)
		return
	case n.node == nil:
		c.flag(FlagFollows, Low, "now follows '%s'", *n.Follows)
		return
	}
	a, b := o.node, n.node
	if a.Source() != b.Source() {
		c.flag(FlagSourceChange, High, "source changed: %s → %s", a.Source(), b.Source())
	} else if a.Locked.HostName() != b.Locked.HostName() {
		c.flag(FlagSourceChange, High, "fetch host changed: %s → %s", a.Locked.HostName(), b.Locked.HostName())
	}
	if a.Locked.Type != b.Locked.Type {
		c.flag(FlagTypeChange, High, "input type changed: %s → %s", a.Locked.Type, b.Locked.Type)
	}
	if ra, rb := a.RefName(), b.RefName(); ra != rb {
		c.flag(FlagRefChange, Medium, "branch/ref changed: %s → %s", orDefault(ra), orDefault(rb))
	} else if ba, bb := a.Branch(), b.Branch(); ra == rb && ba != "" && bb != "" && ba != bb {
		c.flag(FlagRefChange, Medium, "%q now resolves to another branch: %s → %s", orDefault(ra), ba, bb)
	}
	if ta, tb := a.Locked.LastModified, b.Locked.LastModified; ta > 1 && tb > 1 && tb < ta {
		c.flag(FlagDowngrade, High, "downgrade: new revision is older (%s → %s)", date(ta), date(tb))
	}
	if a.Locked.NarHash != "" && b.Locked.NarHash != "" && a.Locked.NarHash != b.Locked.NarHash {
		switch {
		case a.Locked.Rev != "" && a.Locked.Rev == b.Locked.Rev:
			c.flag(FlagSameRevNarHash, Critical, "same rev %s with a different narHash: the content changed under the same revision", short(a.Locked.Rev))
		case a.Locked.Rev == "" && b.Locked.Rev == "" && a.Locked.URL != "" && a.Locked.URL == b.Locked.URL:
			c.flag(FlagSameRevNarHash, Critical, "same locked URL with a different narHash: the content changed under the same URL")
		}
	}
	oldLocked, _ := a.Locked.Locked()
	if ok, why := b.Locked.Locked(); !ok && oldLocked {
		c.flag(FlagUnlocked, High, "no longer locked: %s", why)
	}
	if b.Original != nil && b.Original.Type == "indirect" && (a.Original == nil || a.Original.Type != "indirect") {
		c.flag(FlagIndirect, High, "now a registry lookup %q: the next update resolves through the updater's registry", b.Original.String())
	}
	if b.Locked.Insecure() && !a.Locked.Insecure() {
		c.flag(FlagInsecure, High, "now fetched over %s://", b.Locked.Transport())
	}
	if m, why := mutableLocked(b); m {
		if om, _ := mutableLocked(a); !om {
			c.flag(FlagMutable, Medium, "now locked to a mutable URL: %s", why)
		}
	}
	if pinned(a) && !pinned(b) {
		c.flag(FlagMutable, Medium, "moved from a pinned to a mutable source: %s → %s", a.Original.String(), b.Original.String())
	}
	if a.Flake != b.Flake {
		c.flag("flake-change", Low, "flake = %v → %v", a.Flake, b.Flake)
	}
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
