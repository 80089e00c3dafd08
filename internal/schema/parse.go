// Package schema parses TOML, JSON and YAML policy files into one
// JSON-shaped value, remembering where each value came from, and validates
// them against a JSON Schema (github.com/santhosh-tekuri/jsonschema/v6).
// Errors carry line:col. TOML dates and times become RFC 3339 strings
// before validation, so that a schema can say "format": "date-time".
package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
	"go.yaml.in/yaml/v3"

	"github.com/nixgate/nixgate/internal/lazyre"
)

// Pos is a 1-based line and column.
type Pos struct{ Line, Col int }

// Doc is a parsed document: a JSON-shaped value (map[string]any, []any,
// string, json.Number, bool, nil) and the position of every value by JSON
// pointer ("" is the root, "/rooms/0/name" a nested one). For object
// members the position is the member's key.
type Doc struct {
	Value any
	Pos   map[string]Pos
}

// At returns the position of ptr, or of its nearest ancestor that has one.
func (d *Doc) At(ptr string) Pos {
	for {
		if p, ok := d.Pos[ptr]; ok {
			return p
		}
		i := strings.LastIndexByte(ptr, '/')
		if i < 0 {
			return Pos{Line: 1, Col: 1}
		}
		ptr = ptr[:i]
	}
}

// Error is a parse error at a position.
type Error struct {
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// Format says how a file is parsed, from its name: "toml", "json", "yaml",
// or "" when the name has none of their extensions.
func Format(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".toml":
		return "toml"
	case ".json":
		return "json"
	case ".yaml", ".yml":
		return "yaml"
	}
	return ""
}

// Parse parses data in the format its name says.
func Parse(name string, data []byte) (*Doc, error) {
	switch Format(name) {
	case "toml":
		return ParseTOML(data)
	case "json":
		return ParseJSON(data)
	case "yaml":
		return ParseYAML(data)
	}
	return nil, fmt.Errorf("%s: not a TOML, JSON or YAML file name", name)
}

func escape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// lineIndex converts byte offsets to positions.
type lineIndex []int // offsets of line starts

func newLineIndex(data []byte) lineIndex {
	idx := lineIndex{0}
	for i, b := range data {
		if b == '\n' {
			idx = append(idx, i+1)
		}
	}
	return idx
}

func (idx lineIndex) pos(off int) Pos {
	l := sort.Search(len(idx), func(i int) bool { return idx[i] > off }) - 1
	if l < 0 {
		l = 0
	}
	return Pos{Line: l + 1, Col: off - idx[l] + 1}
}

// ParseJSON parses JSON, keeping numbers exact.
func ParseJSON(data []byte) (*Doc, error) {
	p := &jsonParser{data: data, idx: newLineIndex(data), dec: json.NewDecoder(bytes.NewReader(data)), doc: &Doc{Pos: map[string]Pos{}}}
	p.dec.UseNumber()
	v, err := p.value("", p.skip(0))
	if err != nil {
		return nil, p.wrap(err)
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, &Error{Line: p.idx.pos(p.skip(int(p.dec.InputOffset()))).Line, Col: p.idx.pos(p.skip(int(p.dec.InputOffset()))).Col, Msg: "unexpected data after the top-level value"}
	}
	p.doc.Value = v
	return p.doc, nil
}

type jsonParser struct {
	data []byte
	idx  lineIndex
	dec  *json.Decoder
	doc  *Doc
}

func (p *jsonParser) wrap(err error) error {
	var se *json.SyntaxError
	var pe *Error
	switch {
	case errors.As(err, &pe):
		return err
	case errors.As(err, &se):
		off := min(int(se.Offset), len(p.data)-1)
		if off < 0 {
			off = 0
		}
		ps := p.idx.pos(off)
		return &Error{Line: ps.Line, Col: ps.Col, Msg: se.Error()}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		ps := p.idx.pos(len(p.data))
		return &Error{Line: ps.Line, Col: ps.Col, Msg: "unexpected end of JSON input"}
	}
	ps := p.idx.pos(int(p.dec.InputOffset()))
	return &Error{Line: ps.Line, Col: ps.Col, Msg: err.Error()}
}

// skip returns the offset of the next token after off.
func (p *jsonParser) skip(off int) int {
	for off < len(p.data) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

func (p *jsonParser) value(ptr string, start int) (any, error) {
	if _, ok := p.doc.Pos[ptr]; !ok {
		p.doc.Pos[ptr] = p.idx.pos(start)
	}
	tok, err := p.dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for p.dec.More() {
				keyStart := p.skip(int(p.dec.InputOffset()))
				k, err := p.dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := k.(string)
				if !ok {
					return nil, fmt.Errorf("object key is not a string")
				}
				child := ptr + "/" + escape(key)
				p.doc.Pos[child] = p.idx.pos(keyStart)
				v, err := p.value(child, p.skip(int(p.dec.InputOffset())))
				if err != nil {
					return nil, err
				}
				m[key] = v
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, err
			}
			return m, nil
		case '[':
			a := []any{}
			for p.dec.More() {
				v, err := p.value(ptr+"/"+strconv.Itoa(len(a)), p.skip(int(p.dec.InputOffset())))
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, err
			}
			return a, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	}
	return tok, nil
}

// ParseYAML parses YAML (one document; anchors and aliases resolved).
func ParseYAML(data []byte) (*Doc, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, yamlError(err)
	}
	doc := &Doc{Pos: map[string]Pos{}}
	if n.Kind == 0 {
		doc.Pos[""] = Pos{Line: 1, Col: 1}
		return doc, nil // empty document: null
	}
	v, err := yamlValue(&n, "", doc, 0)
	if err != nil {
		return nil, err
	}
	doc.Value = v
	return doc, nil
}

var yamlLine = lazyre.New(`^yaml: line (\d+): (.*)$`)

func yamlError(err error) error {
	msg := err.Error()
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		l, _ := strconv.Atoi(m[1])
		return &Error{Line: l, Col: 1, Msg: m[2]}
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		if m := regexp.MustCompile(`^line (\d+): (.*)$`).FindStringSubmatch(te.Errors[0]); m != nil {
			l, _ := strconv.Atoi(m[1])
			return &Error{Line: l, Col: 1, Msg: m[2]}
		}
	}
	return &Error{Line: 1, Col: 1, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

func yamlValue(n *yaml.Node, ptr string, doc *Doc, depth int) (any, error) {
	if depth > 1000 {
		return nil, &Error{Line: n.Line, Col: n.Column, Msg: "nesting too deep"}
	}
	if _, ok := doc.Pos[ptr]; !ok {
		doc.Pos[ptr] = Pos{Line: n.Line, Col: n.Column}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlValue(n.Content[0], ptr, doc, depth+1)
	case yaml.AliasNode:
		return yamlValue(n.Alias, ptr, doc, depth+1)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" {
				mv, err := yamlValue(v, ptr, doc, depth+1)
				if err != nil {
					return nil, err
				}
				if mm, ok := mv.(map[string]any); ok {
					for kk, vv := range mm {
						if _, ok := m[kk]; !ok {
							m[kk] = vv
						}
					}
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, &Error{Line: k.Line, Col: k.Column, Msg: "mapping key is not a scalar"}
			}
			child := ptr + "/" + escape(k.Value)
			doc.Pos[child] = Pos{Line: k.Line, Col: k.Column}
			cv, err := yamlValue(v, child, doc, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = cv
		}
		return m, nil
	case yaml.SequenceNode:
		a := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			cv, err := yamlValue(c, ptr+"/"+strconv.Itoa(i), doc, depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, cv)
		}
		return a, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, &Error{Line: n.Line, Col: n.Column, Msg: err.Error()}
			}
			return b, nil
		case "!!int", "!!float":
			var f any
			if err := n.Decode(&f); err != nil {
				return nil, &Error{Line: n.Line, Col: n.Column, Msg: err.Error()}
			}
			return number(f), nil
		case "!!timestamp":
			var t time.Time
			if err := n.Decode(&t); err == nil {
				return t.Format(time.RFC3339Nano), nil
			}
			return n.Value, nil
		}
		return n.Value, nil
	}
	return nil, &Error{Line: n.Line, Col: n.Column, Msg: "unsupported YAML node"}
}

// number turns Go numbers into json.Number (NaN and infinities stay
// strings: JSON has no such numbers).
func number(v any) any {
	switch x := v.(type) {
	case int:
		return json.Number(strconv.Itoa(x))
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case uint64:
		return json.Number(strconv.FormatUint(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64))
	}
	return v
}

// ParseTOML parses TOML. Dates and times become RFC 3339 strings
// (offset date-times in full, local ones without an offset).
func ParseTOML(data []byte) (*Doc, error) {
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			l, c := de.Position()
			return nil, &Error{Line: l, Col: c, Msg: de.Error()}
		}
		e := &Error{Line: 1, Col: 1, Msg: err.Error()}
		if m := tomlDup().FindStringSubmatch(err.Error()); m != nil {
			e.Line = lastDefinition(data, m[1])
		}
		return nil, e
	}
	doc := &Doc{Value: tomlValue(m), Pos: map[string]Pos{"": {Line: 1, Col: 1}}}
	tomlPositions(data, doc)
	return doc, nil
}

func tomlValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = tomlValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = tomlValue(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = tomlValue(e)
		}
		return out
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case toml.LocalDateTime:
		return x.String()
	case toml.LocalDate:
		return x.String()
	case toml.LocalTime:
		return x.String()
	}
	return number(v)
}

var tomlDup = lazyre.New(`key (\S+) is already defined`)

// lastDefinition finds the line of the last line defining key (as a key
// or a table header), for go-toml's duplicate-key error, which has no
// position.
func lastDefinition(data []byte, key string) int {
	line := 1
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		k, _, ok := strings.Cut(l, "=")
		if ok && strings.Trim(strings.TrimSpace(k), `"'`) == key || strings.Trim(l, "[] ") == key {
			line = i + 1
		}
	}
	return line
}

// tomlPositions records where keys and tables are, from go-toml's AST.
func tomlPositions(data []byte, doc *Doc) {
	var p unstable.Parser
	p.Reset(data)
	prefix := ""
	arrays := map[string]int{} // array-of-tables path -> number of elements
	at := func(n *unstable.Node) (Pos, bool) {
		if n.Raw.Length == 0 && n.Raw.Offset == 0 {
			return Pos{}, false
		}
		s := p.Shape(n.Raw)
		return Pos{Line: s.Start.Line, Col: s.Start.Column}, true
	}
	// keyPath extends base by a dotted key; in table headers (resolve) a
	// segment naming an array of tables continues in its last element.
	keyPath := func(it unstable.Iterator, base string, resolve bool) (string, Pos) {
		ptr := base
		var first Pos
		ok := false
		for it.Next() {
			k := it.Node()
			if resolve {
				if n, isArr := arrays[ptr]; isArr && ptr != "" {
					ptr += "/" + strconv.Itoa(n-1)
				}
			}
			ptr += "/" + escape(string(k.Data))
			if ps, got := at(k); got && !ok {
				first, ok = ps, true
			}
			if _, seen := doc.Pos[ptr]; !seen && ok {
				doc.Pos[ptr] = first
			}
		}
		if !ok {
			first = Pos{Line: 1, Col: 1}
		}
		return ptr, first
	}
	var values func(n *unstable.Node, ptr string)
	values = func(n *unstable.Node, ptr string) {
		switch n.Kind {
		case unstable.Array:
			i := 0
			it := n.Children()
			for it.Next() {
				c := it.Node()
				cp := ptr + "/" + strconv.Itoa(i)
				if ps, ok := at(c); ok {
					doc.Pos[cp] = ps
				} else if _, ok := doc.Pos[cp]; !ok {
					doc.Pos[cp] = doc.At(ptr)
				}
				values(c, cp)
				i++
			}
		case unstable.InlineTable:
			it := n.Children()
			for it.Next() {
				kv := it.Node()
				kp, _ := keyPath(kv.Key(), ptr, false)
				values(kv.Value(), kp)
			}
		}
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			ptr, ps := keyPath(e.Key(), "", true)
			prefix = ptr
			doc.Pos[ptr] = ps
		case unstable.ArrayTable:
			base, ps := keyPath(e.Key(), "", true)
			i := arrays[base]
			arrays[base] = i + 1
			for k := range arrays {
				if strings.HasPrefix(k, base+"/") {
					delete(arrays, k) // nested arrays start over in the new element
				}
			}
			prefix = base + "/" + strconv.Itoa(i)
			doc.Pos[prefix] = ps
		case unstable.KeyValue:
			kp, _ := keyPath(e.Key(), prefix, false)
			values(e.Value(), kp)
		}
	}
}
