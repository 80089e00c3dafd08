package flakelock

import (
	"fmt"
	"strconv"
	"strings"
)

// Input is one edge of the input tree: an input of the node Declarer,
// reached from the root flake by the path that ends in Name.
type Input struct {
	// Name is the input's name; Parent the index of the edge of the
	// declaring node (-1 for the root's own inputs).
	Name   string
	Parent int
	Depth  int
	// Node is the key of the node the input resolves to, following
	// follows paths; the root's key when it follows the root flake.
	Node string
	// Follows is the follows path when the input follows another input.
	Follows   []string
	IsFollows bool
	// Declarer is the key of the node whose "inputs" declares this edge.
	Declarer string

	anchor int // the ancestor edge at depth shownHead (for DisplayPath)
}

// PathString joins an input path as Nix prints it: "a/b/c".
func PathString(p []string) string { return strings.Join(p, "/") }

// maxInputs bounds the input tree: every edge comes from an entry of the
// file, so this is only reached by files of tens of megabytes.
const maxInputs = 1 << 21

// maxFollowsDepth bounds follows paths resolved through follows paths.
const maxFollowsDepth = 1 << 14

// buildTree flattens the input tree as Nix does (LockFile::getAllInputs,
// lockfile.cc:327-345): depth first from the root, inputs in name order,
// each node's inputs listed once (at the first path reaching it), so the
// edges come in the order of their paths. Every follows path is resolved;
// a cycle or a path that leads nowhere is an *Error at the declaring node
// (Nix: LockFile::check, lockfile.cc:411-425).
func (l *Lock) buildTree() error {
	type frame struct {
		key    string
		parent int
		depth  int
		next   int
	}
	total := 0
	for _, n := range l.Nodes {
		total += len(n.Inputs)
	}
	l.edges = make([]Input, 0, min(total, maxInputs+1))
	done := make(map[string]bool, len(l.Nodes))
	done[l.Root] = true
	stack := []frame{{key: l.Root, parent: -1}}
	for len(stack) > 0 {
		top := len(stack) - 1
		f := stack[top]
		names := l.Nodes[f.key].InputNames()
		if f.next >= len(names) {
			stack = stack[:top]
			continue
		}
		stack[top].next++
		name := names[f.next]
		in := l.Nodes[f.key].Inputs[name]
		e := Input{Name: name, Parent: f.parent, Depth: f.depth + 1, Declarer: f.key}
		idx := len(l.edges)
		switch {
		case e.Depth == shownHead:
			e.anchor = idx
		case f.parent >= 0:
			e.anchor = l.edges[f.parent].anchor
		default:
			e.anchor = -1
		}
		if e.Depth < shownHead {
			e.anchor = -1
		}
		if in.IsFollows {
			e.IsFollows, e.Follows = true, in.Follows
		} else {
			e.Node = in.Node
			if !done[in.Node] {
				done[in.Node] = true
				stack = append(stack, frame{key: in.Node, parent: idx, depth: e.Depth})
			}
		}
		l.edges = append(l.edges, e)
		if len(l.edges) > maxInputs {
			n := l.Nodes[f.key]
			return &Error{n.Line, n.Column, fmt.Sprintf("more than %d inputs", maxInputs)}
		}
	}
	rs := l.newResolver()
	for i := range l.edges {
		e := &l.edges[i]
		if !e.IsFollows {
			continue
		}
		k, err := rs.resolve(e.Follows, 0)
		if err != nil {
			n := l.Nodes[e.Declarer]
			return &Error{n.Line, n.Column, fmt.Sprintf("input '%s' follows '%s': %v", l.DisplayPath(i), displayFollows(e.Follows), err)}
		}
		e.Node = k
	}
	return nil
}

// NumInputs is the number of edges of the input tree.
func (l *Lock) NumInputs() int { return len(l.edges) }

// Input returns edge i of the input tree; edges come in path order.
func (l *Lock) Input(i int) Input { return l.edges[i] }

// Path materialises the input path of edge i ("a", "b", "c").
func (l *Lock) Path(i int) []string {
	if i < 0 {
		return nil
	}
	p := make([]string, l.edges[i].Depth)
	for j := i; j >= 0; j = l.edges[j].Parent {
		p[l.edges[j].Depth-1] = l.edges[j].Name
	}
	return p
}

// Paths shown whole up to this depth; deeper ones show their first and
// last shownHead elements, so that rendering stays bounded on a hostile,
// thousands-deep tree.
const shownHead = 6

// DisplayPath renders the path of edge i as Nix prints it ("a/b/c"); a
// path deeper than 2*shownHead elements is shortened in the middle
// ("a/b/c/d/e/f/…(988 more)…/u/v/w/x/y/z"), in time independent of depth.
func (l *Lock) DisplayPath(i int) string {
	if i < 0 {
		return ""
	}
	e := l.edges[i]
	if e.Depth <= 2*shownHead+1 {
		return PathString(l.Path(i))
	}
	tail := make([]string, shownHead)
	j := i
	for k := shownHead - 1; k >= 0; k-- {
		tail[k] = l.edges[j].Name
		j = l.edges[j].Parent
	}
	return PathString(l.Path(e.anchor)) + "/…(" + strconv.Itoa(e.Depth-2*shownHead) + " more)…/" + PathString(tail)
}

func displayFollows(p []string) string {
	if len(p) <= 2*shownHead+1 {
		return PathString(p)
	}
	return PathString(p[:shownHead]) + "/…(" + strconv.Itoa(len(p)-2*shownHead) + " more)…/" + PathString(p[len(p)-shownHead:])
}

// Resolve returns the key of the node an input path reaches from the root,
// following follows paths as Nix does (lockfile.cc:94-130).
func (l *Lock) Resolve(path []string) (string, error) {
	return l.newResolver().resolve(path, 0)
}

// resolver memoizes resolved follows paths: follows paths through follows
// paths would otherwise take exponential time on a hostile lock.
type resolver struct {
	l        *Lock
	memo     map[string]string
	visiting map[string]bool
}

func (l *Lock) newResolver() *resolver {
	return &resolver{l: l, memo: map[string]string{}, visiting: map[string]bool{}}
}

func (rs *resolver) resolve(path []string, depth int) (string, error) {
	l := rs.l
	id := strings.Join(path, "\x00")
	if k, ok := rs.memo[id]; ok {
		return k, nil
	}
	if rs.visiting[id] {
		return "", fmt.Errorf("follows cycle through '%s'", displayFollows(path))
	}
	if depth > maxFollowsDepth {
		return "", fmt.Errorf("follows paths nested more than %d deep", maxFollowsDepth)
	}
	rs.visiting[id] = true
	defer delete(rs.visiting, id)
	pos := l.Root
	for i, elem := range path {
		n := l.Nodes[pos]
		in, ok := n.Inputs[elem]
		if !ok {
			return "", fmt.Errorf("'%s' has no input '%s'", displayPathOf(path[:i]), elem)
		}
		if !in.IsFollows {
			pos = in.Node
			continue
		}
		k, err := rs.resolve(in.Follows, depth+1)
		if err != nil {
			return "", err
		}
		pos = k
	}
	rs.memo[id] = pos
	return pos, nil
}

func displayPathOf(p []string) string {
	if len(p) == 0 {
		return "the root flake"
	}
	return displayFollows(p)
}

// NodeUse is a node of the input tree with the edges that reach it.
type NodeUse struct {
	Key  string
	Node *Node
	// Edge is the first direct (non-follows) edge reaching the node, or
	// the first follows edge when only follows reach it.
	Edge int
	// Aliases are the other edges that resolve to it (follows included).
	Aliases []int

	lock *Lock
}

// Path is the input path of the node's first edge.
func (u NodeUse) Path() []string { return u.lock.Path(u.Edge) }

// PathString is the node's first input path as Nix prints it, shortened in
// the middle when very deep (see DisplayPath).
func (u NodeUse) PathString() string { return u.lock.DisplayPath(u.Edge) }

// AliasStrings renders the first n alias paths.
func (u NodeUse) AliasStrings(n int) []string {
	var out []string
	for _, a := range u.Aliases[:min(n, len(u.Aliases))] {
		out = append(out, u.lock.DisplayPath(a))
	}
	return out
}

// Names returns the last element of every path reaching the node: the
// names it is known by.
func (u NodeUse) Names() []string {
	out := []string{u.lock.edges[u.Edge].Name}
	for _, a := range u.Aliases {
		out = append(out, u.lock.edges[a].Name)
	}
	return out
}

// IsRootInput reports whether a path of depth 1 (an input of the root
// flake itself) reaches the node.
func (u NodeUse) IsRootInput() bool {
	if u.lock.edges[u.Edge].Depth == 1 {
		return true
	}
	for _, a := range u.Aliases {
		if u.lock.edges[a].Depth == 1 {
			return true
		}
	}
	return false
}

// Used returns the nodes the root's input tree reaches (the root excluded)
// in the order of their first path, each with the edges that reach it.
func (l *Lock) Used() []NodeUse {
	idx := make(map[string]int, len(l.Nodes))
	out := make([]NodeUse, 0, len(l.Nodes))
	for i, in := range l.edges {
		if in.Node == l.Root {
			continue
		}
		j, ok := idx[in.Node]
		if !ok {
			j = len(out)
			idx[in.Node] = j
			out = append(out, NodeUse{Key: in.Node, Node: l.Nodes[in.Node], Edge: -1, lock: l})
		}
		u := &out[j]
		if u.Edge < 0 && !in.IsFollows {
			u.Edge = i
		} else {
			u.Aliases = append(u.Aliases, i)
		}
	}
	for i := range out {
		if out[i].Edge < 0 { // reached only via follows
			out[i].Edge, out[i].Aliases = out[i].Aliases[0], out[i].Aliases[1:]
		}
	}
	return out
}

// RootInput returns the edge of the root's input name, or -1.
func (l *Lock) RootInput(name string) int {
	for i, e := range l.edges {
		if e.Depth == 1 && e.Name == name {
			return i
		}
	}
	return -1
}

// Lock is the lock file the node belongs to.
func (u NodeUse) Lock() *Lock { return u.lock }
