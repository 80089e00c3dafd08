package flakelock

import (
	"fmt"
	"slices"
	"strings"
)

// Input is one edge of the input tree: the input reached by Path from the
// root flake.
type Input struct {
	Path []string
	// Node is the key of the node the input resolves to, following
	// follows paths; the root's key when it follows the root flake.
	Node string
	// Follows is the follows path when the input follows another input.
	Follows   []string
	IsFollows bool
	// Declarer is the key of the node whose "inputs" declares this edge.
	Declarer string
}

// PathString joins an input path as Nix prints it: "a/b/c".
func PathString(p []string) string { return strings.Join(p, "/") }

// ResolveError is a follows cycle or a dangling reference.
type ResolveError struct {
	Path []string
	Msg  string
}

func (e *ResolveError) Error() string {
	return fmt.Sprintf("input '%s': %s", PathString(e.Path), e.Msg)
}

// Resolve returns the key of the node an input path reaches from the root,
// following follows paths as Nix does.
func (l *Lock) Resolve(path []string) (string, error) {
	return l.newResolver().resolve(path)
}

// resolver memoizes resolved paths: follows paths through follows paths
// would otherwise take exponential time on a hostile lock.
type resolver struct {
	l        *Lock
	memo     map[string]string
	visiting map[string]bool
}

func (l *Lock) newResolver() *resolver {
	return &resolver{l: l, memo: map[string]string{}, visiting: map[string]bool{}}
}

func (rs *resolver) resolve(path []string) (string, error) {
	l, visiting := rs.l, rs.visiting
	id := PathString(path)
	if k, ok := rs.memo[id]; ok {
		return k, nil
	}
	if visiting[id] {
		return "", &ResolveError{Path: path, Msg: "follows cycle"}
	}
	visiting[id] = true
	defer delete(visiting, id)
	pos := l.Root
	for i, elem := range path {
		n := l.Nodes[pos]
		in, ok := n.Inputs[elem]
		if !ok {
			return "", &ResolveError{Path: path, Msg: fmt.Sprintf("'%s' has no input '%s'", displayPath(path[:i]), elem)}
		}
		if !in.IsFollows {
			if l.Nodes[in.Node] == nil {
				return "", &ResolveError{Path: path[:i+1], Msg: fmt.Sprintf("refers to missing node %q", in.Node)}
			}
			pos = in.Node
			continue
		}
		k, err := rs.resolve(in.Follows)
		if err != nil {
			return "", &ResolveError{Path: path[:i+1], Msg: fmt.Sprintf("follows '%s': %v", PathString(in.Follows), err)}
		}
		pos = k
	}
	rs.memo[id] = pos
	return pos, nil
}

func displayPath(p []string) string {
	if len(p) == 0 {
		return "the root flake"
	}
	return PathString(p)
}

// maxInputs bounds the input tree of hostile lock files.
const maxInputs = 1 << 16

// Inputs flattens the input tree as Nix does for its update messages:
// depth first from the root, inputs in name order, each node's inputs
// listed once (at the first path reaching it). Every follows path is
// resolved; a cycle or a dangling reference is an error naming the input.
func (l *Lock) Inputs() ([]Input, error) {
	var out []Input
	rs := l.newResolver()
	done := map[string]bool{}
	var walk func(key string, prefix []string) error
	walk = func(key string, prefix []string) error {
		if done[key] {
			return nil
		}
		done[key] = true
		n := l.Nodes[key]
		for _, name := range n.InputNames() {
			in := n.Inputs[name]
			p := append(slices.Clip(prefix), name)
			e := Input{Path: p, Declarer: key}
			if in.IsFollows {
				e.IsFollows, e.Follows = true, in.Follows
				k, err := rs.resolve(p)
				if err != nil {
					return err
				}
				e.Node = k
				out = append(out, e)
				if len(out) > maxInputs {
					return fmt.Errorf("more than %d inputs", maxInputs)
				}
				continue
			}
			e.Node = in.Node
			out = append(out, e)
			if len(out) > maxInputs {
				return fmt.Errorf("more than %d inputs", maxInputs)
			}
			if err := walk(in.Node, p); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(l.Root, nil); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Input) int { return slices.Compare(a.Path, b.Path) })
	return out, nil
}

// NodeUse is a node of the input tree with the paths that reach it.
type NodeUse struct {
	Key  string
	Node *Node
	// Path is the first direct (non-follows) path reaching the node.
	Path []string
	// Aliases are the other paths that resolve to it (follows included).
	Aliases [][]string
}

// Used returns the nodes the root's input tree reaches (the root excluded)
// in the order of their first path, each with the paths that reach it.
// Nodes no path reaches (left over in a hand-edited lock) are not listed.
func (l *Lock) Used() ([]NodeUse, error) {
	ins, err := l.Inputs()
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	var out []NodeUse
	for _, in := range ins {
		if in.Node == l.Root {
			continue
		}
		i, ok := idx[in.Node]
		if !ok {
			i = len(out)
			idx[in.Node] = i
			out = append(out, NodeUse{Key: in.Node, Node: l.Nodes[in.Node]})
		}
		u := &out[i]
		switch {
		case u.Path == nil && !in.IsFollows:
			u.Path = in.Path
		default:
			u.Aliases = append(u.Aliases, in.Path)
		}
	}
	for i := range out {
		if out[i].Path == nil && len(out[i].Aliases) > 0 { // reached only via follows
			out[i].Path, out[i].Aliases = out[i].Aliases[0], out[i].Aliases[1:]
		}
	}
	return out, nil
}
