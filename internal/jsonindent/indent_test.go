package jsonindent

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// want is encoding/json's own indenting of a compact document.
func want(t testing.TB, compact []byte) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, compact, "", Indent); err != nil {
		t.Fatalf("json.Indent: %v", err)
	}
	return buf.Bytes()
}

var cases = []string{
	`{}`,
	`[]`,
	`"x"`,
	`1.5e-3`,
	`null`,
	`{"a":[],"b":{},"c":[1,true,false,null],"d":{"e":{"f":"g"}}}`,
	`[{"a":"q\"uote","b":"back\\slash\\","c":"\\\"","d":"{[,:]}"}]`,
	`{"unicode":"\u003chtml\u003e é ✓","empty":"","n":-0.0}`,
	`[[[[]]],[{}],"",[""]]`,
}

func TestAppendMatchesEncodingJSON(t *testing.T) {
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			if got, w := Append(nil, []byte(c)), want(t, []byte(c)); !bytes.Equal(got, w) {
				t.Errorf("Append(%s):\n%s\nwant\n%s", c, got, w)
			}
		})
	}
}

// TestEncodeMatchesEncoder compares Encode with json.Encoder's indenting on
// a value with every JSON kind, HTML escaping on and off.
func TestEncodeMatchesEncoder(t *testing.T) {
	v := map[string]any{
		"html":   "<a href=\"x\">&</a>",
		"list":   []any{1, 2.5, "three", nil, true, map[string]any{}, []any{}},
		"nested": map[string]any{"k": []map[string]int{{"a": 1}, {"b": 2}}},
		"time":   time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	}
	for _, esc := range []bool{true, false} {
		var a, b bytes.Buffer
		enc := json.NewEncoder(&a)
		enc.SetIndent("", Indent)
		enc.SetEscapeHTML(esc)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if err := Encode(&b, v, esc); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("escapeHTML=%v:\n%s\nwant\n%s", esc, b.Bytes(), a.Bytes())
		}
	}
	m, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := json.MarshalIndent(v, "", Indent); !bytes.Equal(m, w) {
		t.Errorf("Marshal:\n%s\nwant\n%s", m, w)
	}
}

func TestEncodeError(t *testing.T) {
	if err := Encode(&bytes.Buffer{}, map[string]any{"f": func() {}}, true); err == nil {
		t.Error("Encode of a func: no error")
	}
}

// FuzzAppend holds Append to json.Indent on every valid document, made
// compact as encoding/json writes it; on any other input it must return.
func FuzzAppend(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	if b, err := os.ReadFile("testdata/report.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"a":"\`))
	f.Add([]byte(strings.Repeat("[", 100)))
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzlimit.Default(t, func() {
			Append(nil, in)
			if !json.Valid(in) {
				return
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, in); err != nil {
				t.Fatalf("json.Compact of valid input: %v", err)
			}
			got, w := Append(nil, compact.Bytes()), want(t, compact.Bytes())
			if !bytes.Equal(got, w) {
				t.Fatalf("Append(%q) = %q, want %q", compact.Bytes(), got, w)
			}
		})
	})
}

func BenchmarkIndent(b *testing.B) {
	src, err := os.ReadFile("testdata/report.json")
	if err != nil {
		b.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, src); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(compact.Len()))
	b.Run("jsonindent", func(b *testing.B) {
		var dst []byte
		for b.Loop() {
			dst = Append(dst[:0], compact.Bytes())
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		var dst bytes.Buffer
		for b.Loop() {
			dst.Reset()
			_ = json.Indent(&dst, compact.Bytes(), "", Indent)
		}
	})
}
