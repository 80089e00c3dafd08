package jsonw

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// marshalHTML is json.Marshal(v).
func marshalHTML(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// marshal is encoding/json's encoding of v with HTML left as it is,
// without the Encoder's newline.
func marshal(t testing.TB, v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

var cases = []string{
	"", "plain", `a"b\c`, "tab\tnl\nret\rbs\bff\f", "\x00\x01\x1f\x7f", "<html>&amp;",
	"é ü 日本 🎉", "12345678<abcdefgh>&&&&&&&&&", "<", "a&b", "\u2028\u2029", "bad\xffutf8\xc3", "\xe2\x80", "/nix/store/aaaa-x+y=z",
}

func TestString(t *testing.T) {
	for _, s := range cases {
		if got, want := String(nil, s), marshal(t, s); !bytes.Equal(got, want) {
			t.Errorf("String(%q) = %s, encoding/json says %s", s, got, want)
		}
		if got, want := StringHTML(nil, s), marshalHTML(t, s); !bytes.Equal(got, want) {
			t.Errorf("StringHTML(%q) = %s, json.Marshal says %s", s, got, want)
		}
	}
	if got, want := Strings(nil, cases), marshal(t, cases); !bytes.Equal(got, want) {
		t.Errorf("Strings = %s, encoding/json says %s", got, want)
	}
	if got, want := Strings(nil, []string{}), []byte("[]"); !bytes.Equal(got, want) {
		t.Errorf("Strings(empty) = %s", got)
	}
	if got, want := StringsHTML(nil, cases), marshalHTML(t, cases); !bytes.Equal(got, want) {
		t.Errorf("StringsHTML = %s, json.Marshal says %s", got, want)
	}
	if got, want := Array(nil, cases, StringHTML), marshalHTML(t, cases); !bytes.Equal(got, want) {
		t.Errorf("Array = %s, json.Marshal says %s", got, want)
	}
	if got, want := Array(nil, []string(nil), String), marshal(t, []string(nil)); !bytes.Equal(got, want) {
		t.Errorf("Array(nil) = %s, encoding/json says %s", got, want)
	}
	if got := Array(nil, []int{}, func(b []byte, n int) []byte { return Int(b, int64(n)) }); string(got) != "[]" {
		t.Errorf("Array(empty) = %s", got)
	}
	if got := OmitEmptyHTML([]byte("{\"a\":1"), "k", ""); string(got) != `{"a":1` {
		t.Errorf("OmitEmptyHTML of an empty value = %s", got)
	}
	if got := OmitEmptyHTML([]byte("{\"a\":1"), "k", "<x>"); string(got) != `{"a":1,"k":"\u003cx\u003e"` {
		t.Errorf("OmitEmptyHTML = %s", got)
	}
	if got := Int([]byte("x"), -42); string(got) != "x-42" {
		t.Errorf("Int = %s", got)
	}
	// Appends: what is in dst stays.
	if got := String([]byte("ab"), "c"); string(got) != `ab"c"` {
		t.Errorf("String appends %s", got)
	}
}

func FuzzString(f *testing.F) {
	for _, s := range cases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fuzzlimit.Default(t, func() {
			got := String(nil, s)
			if want := marshal(t, s); !bytes.Equal(got, want) {
				t.Fatalf("String(%q) = %s, encoding/json says %s", s, got, want)
			}
			if got, want := StringHTML(nil, s), marshalHTML(t, s); !bytes.Equal(got, want) {
				t.Fatalf("StringHTML(%q) = %s, json.Marshal says %s", s, got, want)
			}
			var back string
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("String(%q) = %s: not JSON: %v", s, got, err)
			}
		})
	})
}

func BenchmarkString(b *testing.B) {
	s := "/nix/store/708rg1xgqn5baz7v4j71ykp708ap4nz3-app-2.0"
	buf := make([]byte, 0, 128)
	for b.Loop() {
		buf = String(buf[:0], s)
	}
}
