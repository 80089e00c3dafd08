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
		Nodes   map[string]json.RawMessage `json:"nodes"`
		Root    *string                    `json:"root"`
		Version *json.Number               `json:"version"`
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
		n, err := parseNode(key, msg, l.Version)
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

func parseNode(key string, msg json.RawMessage, version int) (*Node, error) {
	var raw struct {
		Inputs   map[string]json.RawMessage `json:"inputs"`
		Locked   map[string]any             `json:"locked"`
		Original map[string]any             `json:"original"`
		Info     map[string]any             `json:"info"`
		Flake    *bool                      `json:"flake"`
		Parent   []string                   `json:"parent"`
	}
	dec := json.NewDecoder(bytes.NewReader(msg))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	n := &Node{Key: key, Inputs: make(map[string]InputRef, len(raw.Inputs)), Flake: true, Parent: raw.Parent}
	if raw.Flake != nil {
		n.Flake = *raw.Flake
	}
	for name, v := range raw.Inputs {
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			n.Inputs[name] = InputRef{Node: s}
			continue
		}
		var path []string
		if err := json.Unmarshal(v, &path); err != nil {
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
		r, err := newRef(raw.Locked)
		if err != nil {
			return nil, fmt.Errorf("locked: %w", err)
		}
		n.Locked = r
	}
	if raw.Original != nil {
		r, err := newRef(raw.Original)
		if err != nil {
			return nil, fmt.Errorf("original: %w", err)
		}
		n.Original = r
	}
	return n, nil
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
	dec := json.NewDecoder(bytes.NewReader(data))
	depth := 0
	inNodes := false
	expectKey := false // inside an object, at a key position
	var stack []bool   // true for objects
	lastTop := ""
	line, lineStart := 1, 0
	scanned := 0
	advance := func(off int) {
		for i := scanned; i < off && i < len(data); i++ {
			if data[i] == '\n' {
				line++
				lineStart = i + 1
			}
		}
		if off > scanned {
			scanned = off
		}
	}
	for {
		before := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if depth == 1 && lastTop == "nodes" && t == '{' {
					inNodes = true
				}
				stack = append(stack, t == '{')
				depth++
				expectKey = t == '{'
			case '}', ']':
				stack = stack[:len(stack)-1]
				depth--
				if depth == 1 {
					inNodes = false
				}
				expectKey = len(stack) > 0 && stack[len(stack)-1]
			}
			continue
		case string:
			if expectKey {
				if depth == 1 {
					lastTop = t
				}
				if inNodes && depth == 2 {
					// The key starts at the first quote after before.
					q := bytes.IndexByte(data[before:], '"')
					if q >= 0 {
						advance(before + q)
						if _, dup := pos[t]; !dup {
							pos[t] = [2]int{line, before + q - lineStart + 1}
						}
						order = append(order, t)
					}
				}
				expectKey = false
				continue
			}
		}
		// a value: next token in an object is a key
		if len(stack) > 0 && stack[len(stack)-1] {
			expectKey = true
		}
	}
	return pos, order
}
