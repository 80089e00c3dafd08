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

// countWriter counts the writes it is given.
type countWriter struct {
	bytes.Buffer
	writes int
}

func (w *countWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

// TestWrite: Write gives Append's bytes and a newline, in pieces of about
// 64 KiB, and returns the writer's error.
func TestWrite(t *testing.T) {
	big := `[` + strings.Repeat(`{"path":"a/b/c.txt","line":12,"message":"x \"y\" z"},`, 4000) + `{}]`
	for _, c := range append(cases, big) {
		var w countWriter
		if err := Write(&w, []byte(c)); err != nil {
			t.Fatal(err)
		}
		if want := append(Append(nil, []byte(c)), '\n'); !bytes.Equal(w.Bytes(), want) {
			t.Errorf("Write(%.40s...) differs from Append", c)
		}
		if n := 1 + w.Len()/(64<<10); w.writes > n {
			t.Errorf("%d bytes in %d writes, want at most %d", w.Len(), w.writes, n)
		}
	}
	if err := Write(failWriter{}, []byte(big)); err == nil {
		t.Error("Write to a failing writer: no error")
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
			var buf bytes.Buffer
			if err := Write(&buf, compact.Bytes()); err != nil || !bytes.Equal(buf.Bytes(), append(got, '\n')) {
				t.Fatalf("Write(%q) = %q, %v; want Append's bytes and a newline", compact.Bytes(), buf.Bytes(), err)
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
