// Package flakelock reads Nix flake lock files (versions 5, 6 and 7) the
// way Nix reads them (src/libflake/lockfile.cc and the input schemes of
// src/libfetchers), resolves their input trees (node references and
// follows paths), and decides whether each input is locked the way Nix
// itself decides it. A lock Nix would refuse to read is an *Error with the
// position of what is wrong.
//
// Everything is linear in the size of the file: the input tree is kept as
// edges with parent links (a path is materialised only when asked for), and
// follows paths are resolved once each. Nothing here evaluates Nix code or
// fetches anything: a lock file is data.
package flakelock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Lock versions Nix accepts (src/libflake/lockfile.cc:142).
const (
	MinVersion = 5
	MaxVersion = 7
)

// Lock is a parsed flake.lock.
type Lock struct {
	Version int
	// Root is the key of the root node (normally "root").
	Root string
	// Nodes by key: the root and every node the root's inputs reach (Nix
	// reads no other node: lockfile.cc:148-176).
	Nodes map[string]*Node
	// keys in file order
	order []string
	// edges is the input tree in Nix's order (see Inputs).
	edges []Input
	// Warnings are what Nix warns about while reading the lock.
	Warnings []string
}

// Node is one entry of "nodes".
type Node struct {
	Key string
	// Inputs by name. Each is either a node key or a follows path.
	Inputs map[string]InputRef
	names  []string
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

// InputNames returns the names of a node's inputs, sorted as Nix sorts them
// (byte order, std::map<std::string>).
func (n *Node) InputNames() []string {
	if n == nil {
		return nil
	}
	if n.names == nil || len(n.names) != len(n.Inputs) {
		names := make([]string, 0, len(n.Inputs))
		for k := range n.Inputs {
			names = append(names, k)
		}
		slices.Sort(names)
		n.names = names
	}
	return n.names
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

// Parse reads a lock file as Nix reads it. Every refusal of Nix's is an
// *Error with a position: invalid JSON or UTF-8, a version that is not a
// number from 5 to 7, a missing node, a node input leading back to the
// root, an attribute an input scheme does not allow, a rev that is not a
// full commit hash, a ref next to a rev on a forge input, and the like. A
// follows path that leads nowhere or in a circle is an *Error too.
func Parse(data []byte) (*Lock, error) {
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		l, c := lineCol(data, off)
		return nil, &Error{l, c, "invalid UTF-8 (Nix's JSON parser rejects it)"}
	}
	var raw struct {
		Nodes   map[string]json.RawMessage `json:"nodes"`
		Root    json.RawMessage            `json:"root"`
		Version json.RawMessage            `json:"version"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, jsonError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		l, c := lineCol(data, int(dec.InputOffset()))
		return nil, &Error{l, c, "unexpected data after the top-level object"}
	}
	top := topPositions(data)
	at := func(key string) (int, int) {
		p, ok := top[key]
		if !ok {
			return 1, 1
		}
		return p[0], p[1]
	}
	// lockfile.cc:141: json.value("version", 0) reads a number.
	if len(raw.Version) == 0 {
		return nil, &Error{1, 1, `missing "version"`}
	}
	vl, vc := at("version")
	if raw.Version[0] != '-' && (raw.Version[0] < '0' || raw.Version[0] > '9') {
		return nil, &Error{vl, vc, fmt.Sprintf("version %s is not a number (Nix reads it as an integer)", raw.Version)}
	}
	vf, err := strconv.ParseFloat(string(raw.Version), 64)
	if err != nil || vf < MinVersion || vf >= MaxVersion+1 {
		return nil, &Error{vl, vc, fmt.Sprintf("unsupported lock version %s (Nix reads %d to %d)", raw.Version, MinVersion, MaxVersion)}
	}
	// lockfile.cc:145: the root key is a string.
	rl, rc := at("root")
	var rootKey string
	if len(raw.Root) == 0 {
		return nil, &Error{1, 1, `missing "root"`}
	}
	if raw.Root[0] != '"' || json.Unmarshal(raw.Root, &rootKey) != nil {
		return nil, &Error{rl, rc, fmt.Sprintf("root %s is not a string", raw.Root)}
	}
	l := &Lock{Version: int(vf), Root: rootKey, Nodes: map[string]*Node{}}
	pos, order := nodePositions(data)
	nodeAt := func(key string) (int, int) {
		if p, ok := pos[key]; ok {
			return p[0], p[1]
		}
		return at("nodes")
	}
	// Read the root and the nodes it reaches, as Nix does
	// (lockfile.cc:148-176); nodes nothing reaches are never read.
	rootRaw, ok := raw.Nodes[rootKey]
	if !ok {
		// nlohmann's json["nodes"][rootKey] is null: a root without inputs.
		rootRaw = json.RawMessage("{}")
	}
	stack := []string{rootKey}
	parsed := map[string]bool{rootKey: true}
	for len(stack) > 0 {
		key := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		msg := raw.Nodes[key]
		if key == rootKey {
			msg = rootRaw
		}
		ln, cn := nodeAt(key)
		n, err := parseNode(key, msg, key == rootKey)
		if err != nil {
			return nil, &Error{ln, cn, fmt.Sprintf("node %q: %v", key, err)}
		}
		n.Line, n.Column = ln, cn
		l.Nodes[key] = n
		if n.Locked != nil {
			if w := lockedWarning(n); w != "" {
				l.Warnings = append(l.Warnings, w)
			}
		}
		names := n.InputNames()
		for i := len(names) - 1; i >= 0; i-- {
			in := n.Inputs[names[i]]
			if in.IsFollows {
				continue
			}
			if in.Node == rootKey {
				return nil, &Error{ln, cn, fmt.Sprintf("node %q: input %q leads back to the root node (Nix: \"lock file contains cycle to root node\")", key, names[i])}
			}
			if _, ok := raw.Nodes[in.Node]; !ok {
				return nil, &Error{ln, cn, fmt.Sprintf("node %q: input %q refers to missing node %q", key, names[i], in.Node)}
			}
			if !parsed[in.Node] {
				parsed[in.Node] = true
				stack = append(stack, in.Node)
			}
		}
	}
	for _, k := range order {
		if l.Nodes[k] != nil {
			l.order = append(l.order, k)
		}
	}
	if len(l.order) != len(l.Nodes) { // duplicate keys or a scan mismatch
		l.order = l.order[:0]
		for k := range l.Nodes {
			l.order = append(l.order, k)
		}
		slices.Sort(l.order)
	}
	raw.Nodes, pos, order = nil, nil, nil // garbage from here on
	if err := l.buildTree(); err != nil {
		return nil, err
	}
	return l, nil
}

// NodeKeys returns the keys of the nodes read, in file order.
func (l *Lock) NodeKeys() []string { return l.order }

// RootNode returns the root node.
func (l *Lock) RootNode() *Node { return l.Nodes[l.Root] }

type rawNode struct {
	Inputs   map[string]json.RawMessage `json:"inputs"`
	Locked   map[string]json.RawMessage `json:"locked"`
	Original map[string]json.RawMessage `json:"original"`
	Info     map[string]json.RawMessage `json:"info"`
	Flake    json.RawMessage            `json:"flake"`
	Parent   json.RawMessage            `json:"parent"`
}

func parseNode(key string, msg json.RawMessage, isRoot bool) (*Node, error) {
	if len(msg) == 0 || msg[0] != '{' {
		return nil, fmt.Errorf("want an object, have %s", jsonKind(msg))
	}
	var raw rawNode
	if err := json.Unmarshal(msg, &raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%s: want %s, have JSON %s", te.Field, jsonWant(te.Type.String()), te.Value)
		}
		return nil, err
	}
	n := &Node{Key: key, Inputs: make(map[string]InputRef, len(raw.Inputs)), Flake: true}
	// lockfile.cc:152-158: a follows path (array) or a node key (string).
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
			return nil, fmt.Errorf("input %q: want a node key or a follows path (array of strings), have %s", name, jsonKind(v))
		}
		if path == nil {
			path = []string{}
		}
		n.Inputs[name] = InputRef{Follows: path, IsFollows: true}
	}
	if isRoot {
		return n, nil
	}
	// lockfile.cc:68: (bool) json["flake"].
	if len(raw.Flake) > 0 {
		switch string(raw.Flake) {
		case "true":
		case "false":
			n.Flake = false
		default:
			return nil, fmt.Errorf("flake: want a boolean, have %s", jsonKind(raw.Flake))
		}
	}
	// lockfile.cc:70: "parent" is an input path.
	if len(raw.Parent) > 0 && string(raw.Parent) != "null" {
		if json.Unmarshal(raw.Parent, &n.Parent) != nil {
			return nil, fmt.Errorf("parent: want an input path (array of strings), have %s", jsonKind(raw.Parent))
		}
	}
	// lockfile.cc:62: "locked" and "original" are required.
	if raw.Locked == nil {
		return nil, errors.New(`attribute "locked" missing`)
	}
	if raw.Original == nil {
		return nil, errors.New(`attribute "original" missing`)
	}
	// Lock version 5 kept lastModified and narHash in "info"
	// (lockfile.cc:52-58: they override "locked").
	for k, v := range raw.Info {
		raw.Locked[k] = v
	}
	r, err := newRef(raw.Locked)
	if err != nil {
		return nil, fmt.Errorf("locked: %w", err)
	}
	if err := r.validate(true); err != nil {
		return nil, fmt.Errorf("locked: %w", err)
	}
	n.Locked = r
	if r, err = newRef(raw.Original); err != nil {
		return nil, fmt.Errorf("original: %w", err)
	}
	if err := r.validate(false); err != nil {
		return nil, fmt.Errorf("original: %w", err)
	}
	n.Original = r
	return n, nil
}

func jsonKind(v []byte) string {
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func jsonWant(goType string) string {
	switch {
	case goType == "map[string]json.RawMessage":
		return "an object"
	case goType == "[]string":
		return "an array of strings"
	case goType == "string":
		return "a string"
	}
	return goType
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

// newRef decodes attribute values as Nix's jsonToAttrs does
// (src/libfetchers/attrs.cc:23-31): numbers, strings and booleans; any
// other JSON value makes the lock unreadable.
func newRef(m map[string]json.RawMessage) (*Ref, error) {
	attrs := make(map[string]any, len(m))
	for k, v := range m {
		switch {
		case len(v) == 0:
		case v[0] == '"':
			s, ok := plainString(v)
			if !ok && json.Unmarshal(v, &s) != nil {
				return nil, fmt.Errorf("attribute %q: invalid string", k)
			}
			attrs[k] = s
		case v[0] == '-' || '0' <= v[0] && v[0] <= '9':
			attrs[k] = json.Number(v)
		case string(v) == "true":
			attrs[k] = true
		case string(v) == "false":
			attrs[k] = false
		default:
			return nil, fmt.Errorf("attribute %q is %s: Nix accepts only strings, numbers and booleans (\"unsupported input attribute type in lock file\")", k, jsonKind(v))
		}
	}
	r := &Ref{Attrs: attrs}
	str := func(k string, dst *string) error {
		v, ok := attrs[k]
		if !ok {
			return nil
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("attribute %q is not a string", k)
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
			return fmt.Errorf("attribute %q is not an integer", k)
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(string(n), 64)
			if ferr != nil || f < 0 || f > 1<<62 {
				return fmt.Errorf("attribute %q is not an integer", k)
			}
			i = int64(f) // nlohmann's get<uint64_t> truncates
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
	if _, ok := attrs["type"]; !ok {
		// fetchers.cc:79-80
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
		return &Error{l, c, "invalid JSON: " + trimJSON(se.Error())}
	case errors.As(err, &te):
		l, c := lineCol(data, int(te.Offset))
		what := te.Field
		if what == "" {
			what = "value"
		}
		return &Error{l, c, fmt.Sprintf("%s: want %s, have JSON %s", what, jsonWant(te.Type.String()), te.Value)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		l, c := lineCol(data, len(data))
		return &Error{l, c, "unexpected end of JSON"}
	}
	return &Error{1, 1, trimJSON(err.Error())}
}

func trimJSON(s string) string {
	if len(s) > 5 && s[:5] == "json:" {
		return s[6:]
	}
	return s
}

// lineCol converts a byte offset into a 1-based line and column (in bytes).
func lineCol(data []byte, off int) (int, int) {
	off = max(0, min(off, len(data)))
	line := 1 + bytes.Count(data[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// topPositions finds the line:col of the keys of the top-level object.
func topPositions(data []byte) map[string][2]int {
	pos := map[string][2]int{}
	scanKeys(data, func(depth int, parent, key string, line, col int) {
		if depth == 1 {
			if _, dup := pos[key]; !dup {
				pos[key] = [2]int{line, col}
			}
		}
	})
	return pos
}

// nodePositions finds the line:col of every key of the top-level "nodes"
// object, and the keys in file order.
func nodePositions(data []byte) (map[string][2]int, []string) {
	pos := map[string][2]int{}
	var order []string
	scanKeys(data, func(depth int, parent, key string, line, col int) {
		if depth == 2 && parent == "nodes" {
			if _, dup := pos[key]; !dup {
				pos[key] = [2]int{line, col}
				order = append(order, key)
			}
		}
	})
	return pos, order
}

// scanKeys calls fn for every object key at depth 1 and 2 with the
// top-level key it is under. It assumes the data is valid JSON and runs in
// one linear pass.
func scanKeys(data []byte, fn func(depth int, parent, key string, line, col int)) {
	line, lineStart := 1, 0
	var stack []byte // '{' or '['
	expectKey := false
	lastTop := ""
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch c {
		case '\n':
			line++
			lineStart = i + 1
		case '{', '[':
			stack = append(stack, c)
			expectKey = c == '{'
		case '}', ']':
			if len(stack) == 0 {
				return
			}
			stack = stack[:len(stack)-1]
		case ',':
			expectKey = len(stack) > 0 && stack[len(stack)-1] == '{'
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
				return
			}
			if expectKey && len(stack) <= 2 {
				key, ok := plainString(data[start : j+1])
				if !ok && json.Unmarshal(data[start:j+1], &key) == nil {
					ok = true
				}
				if ok {
					if len(stack) == 1 {
						lastTop = key
					}
					fn(len(stack), lastTop, key, line, start-lineStart+1)
				}
			}
			expectKey = false
			i = j
		}
	}
}
