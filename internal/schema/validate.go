package schema

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/nixgate/nixgate/internal/lazyre"
)

// base is the URL under which repository files are given to the schema
// compiler; nothing outside it is ever loaded (no network, no file outside
// the repository).
const base = "file:///repo/"

// ReadFunc reads a repository file by its slash path.
type ReadFunc func(name string) ([]byte, error)

// Schema is a compiled JSON Schema.
type Schema struct {
	s *jsonschema.Schema
}

type loader struct{ read ReadFunc }

func (l loader) Load(u string) (any, error) {
	if !strings.HasPrefix(u, base) {
		return nil, fmt.Errorf("schema %s is outside the repository; only local schemas are loaded", u)
	}
	p, err := url.PathUnescape(strings.TrimPrefix(u, base))
	if err != nil {
		return nil, err
	}
	data, err := l.read(p)
	if err != nil {
		return nil, err
	}
	doc, err := Parse(p, data)
	if err != nil {
		if Format(p) == "" {
			// a schema without a known extension is JSON
			doc, err = ParseJSON(data)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%w", p, err)
		}
	}
	return doc.Value, nil
}

// Compile compiles the schema at the repository path name; $refs to other
// repository files are followed through read.
func Compile(read ReadFunc, name string) (*Schema, error) {
	c := jsonschema.NewCompiler()
	c.UseLoader(loader{read: read})
	c.AssertFormat()
	s, err := c.Compile(base + (&url.URL{Path: path.Clean(name)}).EscapedPath())
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %s", name, strings.ReplaceAll(err.Error(), base, ""))
	}
	return &Schema{s: s}, nil
}

var english = message.NewPrinter(language.English)

// Violation is one way a document breaks its schema.
type Violation struct {
	Pointer string // JSON pointer of the offending value
	Pos     Pos
	Msg     string
}

// Validate checks doc against the schema. The violations are the leaves of
// the validator's error tree, in document order.
func (s *Schema) Validate(doc *Doc) []Violation {
	err := s.s.Validate(doc.Value)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Violation{{Pos: Pos{Line: 1, Col: 1}, Msg: err.Error()}}
	}
	var out []Violation
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		ptr := ""
		for _, seg := range e.InstanceLocation {
			ptr += "/" + escape(seg)
		}
		msg := e.ErrorKind.LocalizedString(english)
		if ap, ok := e.ErrorKind.(*kind.AdditionalProperties); ok && len(ap.Properties) > 0 {
			ptr += "/" + escape(ap.Properties[0]) // point at the first one
		}
		if msg == "" {
			msg = strings.TrimSpace(e.Error())
		}
		if ptr != "" {
			msg = "at " + ptr + ": " + msg
		}
		out = append(out, Violation{Pointer: ptr, Pos: doc.At(ptr), Msg: msg})
	}
	walk(ve)
	slices.SortStableFunc(out, func(a, b Violation) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
	return slices.CompactFunc(out, func(a, b Violation) bool { return a.Pointer == b.Pointer && a.Msg == b.Msg })
}

var (
	tomlSchema = lazyre.New(`^#:schema\s+(\S+)`)
	yamlSchema = lazyre.New(`^#\s*yaml-language-server:\s*\$schema=(\S+)`)
)

// Declared returns the schema a file names for itself, as editors read
// it: a top-level "$schema" member in JSON, a "# yaml-language-server:
// $schema=…" modeline in YAML, a "#:schema …" directive in TOML (Taplo).
// The reference is returned as written; "" when there is none.
func Declared(name string, data []byte) string {
	switch Format(name) {
	case "toml", "yaml":
		re := tomlSchema
		if Format(name) == "yaml" {
			re = yamlSchema
		}
		for _, l := range bytes.Split(data, []byte("\n")) {
			l = bytes.TrimSpace(l)
			if len(l) == 0 {
				continue
			}
			if l[0] != '#' {
				if Format(name) == "toml" {
					return "" // Taplo reads the directive before any key
				}
				continue
			}
			if m := re().FindSubmatch(l); m != nil {
				return string(m[1])
			}
		}
	case "json":
		if !bytes.Contains(data, []byte(`"$schema"`)) {
			return ""
		}
		doc, err := ParseJSON(data)
		if err != nil {
			return ""
		}
		if m, ok := doc.Value.(map[string]any); ok {
			if s, ok := m["$schema"].(string); ok {
				return s
			}
		}
	}
	return ""
}

// Resolve turns a declared reference into a repository path, relative to
// the declaring file. Remote references (with a URL scheme) and
// references leaving the repository give "".
func Resolve(file, ref string) string {
	if ref == "" || strings.Contains(ref, "://") || strings.HasPrefix(ref, "urn:") {
		return ""
	}
	ref = strings.TrimPrefix(ref, "file:")
	ref, _, _ = strings.Cut(ref, "#")
	var p string
	if strings.HasPrefix(ref, "/") {
		p = path.Clean(strings.TrimPrefix(ref, "/"))
	} else {
		p = path.Join(path.Dir(file), ref)
	}
	if p == ".." || strings.HasPrefix(p, "../") || p == "." {
		return ""
	}
	return p
}
