package schema

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"fmt"
	"io/fs"
	"path"

	"github.com/google/go-cmp/cmp"
	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

func read(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line, col int
	}{
		{"a.json", "{\n  \"a\": 1,\n  \"b\": ]\n}", 3, 8},
		{"a.json", "{\"a\": 1", 1, 8},
		{"a.json", "{} x", 1, 4},
		{"a.toml", "a = 1\nb = \n", 2, 5},
		{"a.toml", "a = 1\na = 2\n", 2, 1},
		{"a.yaml", "a: 1\nb: [1, 2\n", 1, 1}, // yaml.v3 names the line of the flow
		{"a.yaml", "a: 1\n  b: 2\n", 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Parse(tt.name, []byte(tt.src))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if pe.Line != tt.line || pe.Col != tt.col {
				t.Errorf("error at %d:%d (%s), want %d:%d", pe.Line, pe.Col, pe.Msg, tt.line, tt.col)
			}
		})
	}
}

func TestParseSameValue(t *testing.T) {
	want := map[string]any{
		"name":     "lab",
		"capacity": json.Number("4"),
		"opened":   "2024-05-01T09:30:00Z",
		"doors":    []any{map[string]any{"id": "d1", "locked": true}, map[string]any{"id": "d2"}},
	}
	srcs := map[string]string{
		"r.toml": "name = \"lab\"\ncapacity = 4\nopened = 2024-05-01T09:30:00Z\n[[doors]]\nid = \"d1\"\nlocked = true\n[[doors]]\nid = \"d2\"\n",
		"r.json": `{"name": "lab", "capacity": 4, "opened": "2024-05-01T09:30:00Z", "doors": [{"id": "d1", "locked": true}, {"id": "d2"}]}`,
		"r.yaml": "name: lab\ncapacity: 4\nopened: 2024-05-01T09:30:00Z\ndoors:\n  - id: d1\n    locked: true\n  - id: d2\n",
	}
	for name, src := range srcs {
		t.Run(name, func(t *testing.T) {
			d, err := Parse(name, []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, d.Value); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestTOMLDates(t *testing.T) {
	d, err := ParseTOML([]byte("a = 1979-05-27T07:32:00-08:00\nb = 1979-05-27T07:32:00\nc = 1979-05-27\nd = 07:32:00\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": "1979-05-27T07:32:00-08:00", "b": "1979-05-27T07:32:00", "c": "1979-05-27", "d": "07:32:00"}
	if diff := cmp.Diff(want, d.Value); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestTOMLPositions(t *testing.T) {
	src := "title = \"x\"\n[[rooms]]\nname = \"a\"\n[[rooms]]\nname = \"b\"\n[rooms.limits]\nmax = [1, 2]\ninline = { k = 3 }\n"
	d, err := ParseTOML([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for ptr, want := range map[string]int{
		"/title": 1, "/rooms/0": 2, "/rooms/0/name": 3, "/rooms/1/name": 5,
		"/rooms/1/limits": 6, "/rooms/1/limits/max": 7, "/rooms/1/limits/inline/k": 8,
	} {
		if got := d.At(ptr).Line; got != want {
			t.Errorf("%s at line %d, want %d", ptr, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	s, err := Compile(read, "room.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src string
		want      []string // line:pointer
	}{
		{"ok.toml", "name = \"lab\"\ncapacity = 4\nopened = 2024-05-01T09:30:00Z\n", nil},
		{"bad.toml", "name = \"Lab\"\ncapacity = 0\n[[doors]]\nlocked = \"yes\"\n", []string{"1:/name", "2:/capacity", "3:/doors/0", "4:/doors/0/locked"}},
		{"bad-date.toml", "name = \"lab\"\ncapacity = 1\nopened = 2024-05-01\n", []string{"3:/opened"}},
		{"bad.yaml", "name: lab\nextra: 1\n", []string{"1:", "2:/extra"}},
		{"bad.json", "{\n  \"name\": \"lab\",\n  \"capacity\": \"4\"\n}", []string{"3:/capacity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse(tt.name, []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range s.Validate(d) {
				got = append(got, strconv.Itoa(v.Pos.Line)+":"+v.Pointer)
				if v.Msg == "" {
					t.Errorf("empty message at %s", v.Pointer)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s\n%+v", diff, s.Validate(d))
			}
		})
	}
}

func TestCompileStaysLocal(t *testing.T) {
	read := func(name string) ([]byte, error) {
		if name == "a.json" {
			return []byte(`{"$ref": "https://example.org/x.json"}`), nil
		}
		return nil, os.ErrNotExist
	}
	if _, err := Compile(read, "a.json"); err == nil {
		t.Fatal("a remote $ref compiled")
	}
}

func TestDeclared(t *testing.T) {
	tests := []struct{ name, src, want, resolved string }{
		{"policies/rooms/a.toml", "#:schema ../room.schema.json\nname = 1\n", "../room.schema.json", "policies/room.schema.json"},
		{"a.toml", "name = 1\n#:schema x.json\n", "", ""},
		{"c/a.yaml", "# yaml-language-server: $schema=/schemas/a.json\nx: 1\n", "/schemas/a.json", "schemas/a.json"},
		{"a.json", `{"$schema": "https://json-schema.org/draft/2020-12/schema"}`, "https://json-schema.org/draft/2020-12/schema", ""},
		{"d/a.json", `{"$schema": "./s.json", "x": 1}`, "./s.json", "d/s.json"},
		{"a.json", `{"$schema": "../../etc/x.json"}`, "../../etc/x.json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Declared(tt.name, []byte(tt.src))
			if got != tt.want {
				t.Errorf("Declared = %q, want %q", got, tt.want)
			}
			if r := Resolve(tt.name, got); r != tt.resolved {
				t.Errorf("Resolve = %q, want %q", r, tt.resolved)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("r.toml", "name = \"lab\"\n[[doors]]\nid = 1\n[doors.x]\ny = [1, {z = 2}]\n")
	f.Add("r.json", `{"a": [1, {"b": null}], "c": "\u00e9"}`)
	f.Add("r.yaml", "a: &x {b: 1}\nc: *x\nd: [1, 2]\n<<: *x\n")
	if b, err := os.ReadFile("testdata/room.schema.json"); err == nil {
		f.Add("s.json", string(b))
	}
	f.Fuzz(func(t *testing.T, name, src string) {
		names := []string{"x.toml", "x.json", "x.yaml"}
		name = names[len(name)%3]
		d, err := Parse(name, []byte(src))
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Col < 1 {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		for ptr, p := range d.Pos {
			if p.Line < 1 || p.Col < 1 {
				t.Fatalf("%s at %d:%d", ptr, p.Line, p.Col)
			}
		}
	})
}

// FuzzCompile compiles arbitrary schemas, with $refs to a second schema
// and out of the repository, and validates a document against them: no
// panic, a ref out of the tree is an error, bounded cost.
func FuzzCompile(f *testing.F) {
	if b, err := os.ReadFile("testdata/room.schema.json"); err == nil {
		f.Add(string(b), `{"$defs":{"n":{"type":"integer"}}}`, `{"name": "lab"}`)
	}
	f.Add(`{"$ref": "other.json#/$defs/n"}`, `{"$defs":{"n":{"type":"integer","minimum":1}}}`, `0`)
	f.Add(`{"$ref": "../../etc/passwd"}`, `{}`, `{}`)
	f.Add(`{"$ref": "#"}`, `{"$ref": "s.json"}`, `[]`)
	f.Add(`{"pattern": "(a+)+$"}`, `{}`, `"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"`)
	f.Fuzz(func(t *testing.T, s, other, doc string) {
		read := func(name string) ([]byte, error) {
			switch path.Clean(name) {
			case "s.json":
				return []byte(s), nil
			case "other.json":
				return []byte(other), nil
			}
			return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
		}
		fuzzlimit.Default(t, func() {
			sch, err := Compile(read, "s.json")
			if err != nil {
				return
			}
			d, err := Parse("d.json", []byte(doc))
			if err != nil {
				return
			}
			for _, v := range sch.Validate(d) {
				if v.Msg == "" || v.Pos.Line < 1 {
					t.Fatalf("violation without message or position: %+v", v)
				}
			}
		})
	})
}
