// Package flakelock reads Nix flake lock files (versions 5, 6 and 7),
// resolves their input trees (node references and follows paths), and
// decides whether each input is locked the way Nix itself decides it.
//
// Nothing here evaluates Nix code or fetches anything: a lock file is data.
package flakelock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lock versions Nix accepts (src/libflake/lockfile.cc).
const (
	MinVersion = 5
	MaxVersion = 7
)

// Lock is a parsed flake.lock.
type Lock struct {
	Version int
	// Root is the key of the root node (normally "root").
	Root string
	// Nodes by key.
	Nodes map[string]*Node
	// keys in file order
	order []string
}

// Node is one entry of "nodes".
type Node struct {
	Key string
	// Inputs by name. Each is either a node key or a follows path.
	Inputs map[string]InputRef
	// Locked and Original are nil for the root node.
	Locked   *Ref
	Original *Ref
	// Flake is false for `flake = false` inputs.
	Flake bool
	// Parent is the input path of the flake a relative path input is
	// relative to (lock version 7, newer Nix).
	Parent []string
	// Line and Column locate the node's key in the lock file (1-based).
	Line, Column int
}

// InputRef is the value of one entry of a node's "inputs": a node key, or
// a follows path resolved from the root (an empty path follows the root).
type InputRef struct {
	Node    string
	Follows []string
	// IsFollows distinguishes `[]` (follows the root) from a node key.
	IsFollows bool
}

// InputNames returns the names of a node's inputs, sorted as Nix sorts them.
func (n *Node) InputNames() []string {
	names := make([]string, 0, len(n.Inputs))
	for k := range n.Inputs {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// Ref is a flake reference as stored in "locked" or "original": its
// attributes, with the common ones decoded.
type Ref struct {
	Type         string
	Owner        string
	Repo         string
	Host         string
	Ref          string
	Rev          string
	URL          string
	Path         string
	ID           string
	Dir          string
	NarHash      string
	LastModified int64
	RevCount     int64
	// Attrs holds every attribute as decoded from JSON (strings, numbers
	// as json.Number, booleans).
	Attrs map[string]any
}

// Time returns lastModified as a time, or the zero time when absent.
func (r *Ref) Time() time.Time {
	if r == nil || r.LastModified == 0 {
		return time.Time{}
	}
	return time.Unix(r.LastModified, 0).UTC()
}

// Error is a problem in a lock file with its position.
type Error struct {
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg)
}

// Parse reads a lock file.
func Parse(data []byte) (*Lock, error) {
	var raw struct {
		Nodes   map[string]*rawNode `json:"nodes"`
		Root    *string             `json:"root"`
		Version *json.Number        `json:"version"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		off := dec.InputOffset()
		l, c := lineCol(data, int(off))
		return nil, &Error{l, c, "unexpected data after the top-level object"}
	}
	if raw.Version == nil {
		return nil, &Error{1, 1, `missing "version"`}
	}
	v, err := raw.Version.Int64()
	if err != nil {
		return nil, &Error{1, 1, fmt.Sprintf("version %s is not an integer", raw.Version)}
	}
	if v < MinVersion || v > MaxVersion {
		return nil, &Error{1, 1, fmt.Sprintf("unsupported lock version %d (Nix reads %d to %d)", v, MinVersion, MaxVersion)}
	}
	if raw.Root == nil {
		return nil, &Error{1, 1, `missing "root"`}
	}
	l := &Lock{Version: int(v), Root: *raw.Root, Nodes: make(map[string]*Node, len(raw.Nodes))}
	pos, order := nodePositions(data)
	l.order = order
	for key, msg := range raw.Nodes {
		p := pos[key]
		if msg == nil {
			return nil, &Error{p[0], p[1], fmt.Sprintf("node %q is null", key)}
		}
		n, err := parseNode(key, msg)
		if err != nil {
			return nil, &Error{p[0], p[1], fmt.Sprintf("node %q: %v", key, err)}
		}
		n.Line, n.Column = p[0], p[1]
		l.Nodes[key] = n
	}
	if len(l.order) != len(l.Nodes) { // duplicate keys or a scan mismatch
		l.order = l.order[:0]
		for k := range l.Nodes {
			l.order = append(l.order, k)
		}
		slices.Sort(l.order)
	} else {
		l.order = slices.Compact(l.order)
	}
	root := l.Nodes[l.Root]
	if root == nil {
		return nil, &Error{1, 1, fmt.Sprintf("root node %q does not exist", l.Root)}
	}
	// Every node reference must exist.
	for _, key := range l.order {
		n := l.Nodes[key]
		for _, name := range n.InputNames() {
			in := n.Inputs[name]
			if !in.IsFollows && l.Nodes[in.Node] == nil {
				return nil, &Error{n.Line, n.Column, fmt.Sprintf("node %q: input %q refers to missing node %q", key, name, in.Node)}
			}
		}
		if key != l.Root && n.Locked == nil {
			return nil, &Error{n.Line, n.Column, fmt.Sprintf("node %q has no \"locked\" reference", key)}
		}
	}
	return l, nil
}

// NodeKeys returns the node keys in file order.
func (l *Lock) NodeKeys() []string { return l.order }

// RootNode returns the root node.
func (l *Lock) RootNode() *Node { return l.Nodes[l.Root] }

type rawNode struct {
	Inputs   map[string]json.RawMessage `json:"inputs"`
	Locked   map[string]json.RawMessage `json:"locked"`
	Original map[string]json.RawMessage `json:"original"`
	Info     map[string]json.RawMessage `json:"info"`
	Flake    *bool                      `json:"flake"`
	Parent   []string                   `json:"parent"`
}

func parseNode(key string, raw *rawNode) (*Node, error) {
	n := &Node{Key: key, Inputs: make(map[string]InputRef, len(raw.Inputs)), Flake: true, Parent: raw.Parent}
	if raw.Flake != nil {
		n.Flake = *raw.Flake
	}
	for name, v := range raw.Inputs {
		if len(v) > 0 && v[0] == '"' {
			var s string
			if err := json.Unmarshal(v, &s); err == nil {
				n.Inputs[name] = InputRef{Node: s}
				continue
			}
		}
		var path []string
		if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &path) != nil {
			return nil, fmt.Errorf("input %q: want a node key or a follows path (array of strings)", name)
		}
		if path == nil {
			path = []string{}
		}
		n.Inputs[name] = InputRef{Follows: path, IsFollows: true}
	}
	if raw.Locked != nil {
		// Lock version 5 kept lastModified and narHash in "info".
		for k, v := range raw.Info {
			if _, ok := raw.Locked[k]; !ok {
				raw.Locked[k] = v
			}
		}
		r, err := newRef(rawAttrs(raw.Locked))
		if err != nil {
			return nil, fmt.Errorf("locked: %w", err)
		}
		n.Locked = r
	}
	if raw.Original != nil {
		r, err := newRef(rawAttrs(raw.Original))
		if err != nil {
			return nil, fmt.Errorf("original: %w", err)
		}
		n.Original = r
	}
	return n, nil
}

// plainString returns the content of a JSON string without escapes.
func plainString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	for _, c := range b[1 : len(b)-1] {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	return string(b[1 : len(b)-1]), true
}

// rawAttrs decodes attribute values: strings, numbers (as json.Number),
// booleans; anything else as encoding/json decodes it.
func rawAttrs(m map[string]json.RawMessage) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case len(v) == 0:
		case v[0] == '"':
			if s, ok := plainString(v); ok {
				out[k] = s
			} else if json.Unmarshal(v, &s) == nil {
				out[k] = s
			}
		case v[0] == '-' || '0' <= v[0] && v[0] <= '9':
			out[k] = json.Number(v)
		case string(v) == "true":
			out[k] = true
		case string(v) == "false":
			out[k] = false
		default:
			var x any
			if json.Unmarshal(v, &x) == nil {
				out[k] = x
			}
		}
	}
	return out
}

func newRef(attrs map[string]any) (*Ref, error) {
	r := &Ref{Attrs: attrs}
	str := func(k string, dst *string) error {
		v, ok := attrs[k]
		if !ok {
			return nil
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("attribute %q must be a string", k)
		}
		*dst = s
		return nil
	}
	num := func(k string, dst *int64) error {
		v, ok := attrs[k]
		if !ok {
			return nil
		}
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("attribute %q must be an integer", k)
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return fmt.Errorf("attribute %q must be an integer", k)
		}
		*dst = i
		return nil
	}
	for _, e := range []error{
		str("type", &r.Type), str("owner", &r.Owner), str("repo", &r.Repo), str("host", &r.Host),
		str("ref", &r.Ref), str("rev", &r.Rev), str("url", &r.URL), str("path", &r.Path),
		str("id", &r.ID), str("dir", &r.Dir), str("narHash", &r.NarHash),
		num("lastModified", &r.LastModified), num("revCount", &r.RevCount),
	} {
		if e != nil {
			return nil, e
		}
	}
	if r.Type == "" {
		return nil, errors.New(`missing "type"`)
	}
	return r, nil
}

// jsonError turns a decoding error into an *Error with line:col.
func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		l, c := lineCol(data, int(se.Offset)-1)
		return &Error{l, c, "invalid JSON: " + strings.TrimPrefix(se.Error(), "json: ")}
	case errors.As(err, &te):
		l, c := lineCol(data, int(te.Offset))
		what := te.Field
		if what == "" {
			what = "value"
		}
		return &Error{l, c, fmt.Sprintf("%s: want %s, have JSON %s", what, te.Type, te.Value)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		l, c := lineCol(data, len(data))
		return &Error{l, c, "unexpected end of JSON"}
	}
	return &Error{1, 1, err.Error()}
}

// lineCol converts a byte offset into a 1-based line and column (in bytes).
func lineCol(data []byte, off int) (int, int) {
	off = max(0, min(off, len(data)))
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// nodePositions finds the line:col of every key of the top-level "nodes"
// object, and the keys in file order. It assumes the data is valid JSON.
func nodePositions(data []byte) (map[string][2]int, []string) {
	pos := map[string][2]int{}
	var order []string
	line, lineStart := 1, 0
	depth := 0
	var stack []byte // '{' or '['
	expectKey := false
	lastTop := ""
	inNodes := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch c {
		case '\n':
			line++
			lineStart = i + 1
		case '{', '[':
			if depth == 1 && c == '{' && lastTop == "nodes" {
				inNodes = true
			}
			stack = append(stack, c)
			depth++
			expectKey = c == '{'
		case '}', ']':
			if depth == 0 {
				return pos, order
			}
			stack = stack[:len(stack)-1]
			depth--
			if depth == 1 {
				inNodes = false
			}
		case ',':
			expectKey = depth > 0 && stack[len(stack)-1] == '{'
		case '"':
			start := i
			j := i + 1
			for j < len(data) && data[j] != '"' {
				if data[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(data) {
				return pos, order
			}
			if expectKey {
				key, ok := plainString(data[start : j+1])
				if !ok && json.Unmarshal(data[start:j+1], &key) == nil {
					ok = true
				}
				if ok {
					if depth == 1 {
						lastTop = key
					}
					if inNodes && depth == 2 {
						if _, dup := pos[key]; !dup {
							pos[key] = [2]int{line, start - lineStart + 1}
						}
						order = append(order, key)
					}
				}
				expectKey = false
			}
			i = j
		}
	}
	return pos, order
}
