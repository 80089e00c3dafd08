package report

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// sameJSON fails unless writeJSON gives encodeJSON's bytes for r.
func sameJSON(t *testing.T, r *Report) {
	t.Helper()
	var got, want bytes.Buffer
	if err := writeJSON(&got, r); err != nil {
		t.Fatal(err)
	}
	if err := encodeJSON(&want, r); err != nil {
		t.Fatal(err)
	}
	if g, w := got.String(), want.String(); g != w {
		i := 0
		for i < len(g) && i < len(w) && g[i] == w[i] {
			i++
		}
		t.Fatalf("the JSON report differs from encoding/json's at byte %d:\n got %q\nwant %q", i, g[max(0, i-100):min(len(g), i+100)], w[max(0, i-100):min(len(w), i+100)])
	}
}

type extraStruct struct {
	Name  string         `json:"name"`
	Items []string       `json:"items,omitempty"`
	N     map[string]int `json:"n"`
}

func TestJSONMatchesEncoding(t *testing.T) {
	empty := &Report{Command: "check", FailOn: check.High, Result: &check.Result{}}
	withExtra := sample()
	withExtra.Extra = extraStruct{Name: "<x>&", N: map[string]int{"b": 2, "a": 1}}
	nilExtra := sample()
	nilExtra.Extra = (*extraStruct)(nil)
	norules := sample()
	norules.Result.Checks = append(norules.Result.Checks, &check.Check{ID: "x", Title: "t", Severity: check.Info})
	for name, r := range map[string]*Report{"sample": sample(), "grouped": grouped(), "hostile": hostile(), "empty": empty,
		"extra": withExtra, "typed nil extra": nilExtra, "check without rules": norules} {
		t.Run(name, func(t *testing.T) { sameJSON(t, r) })
	}
}

// FuzzJSON puts arbitrary text in every string a report carries.
func FuzzJSON(f *testing.F) {
	f.Add("a/b.txt", "compiled <binary> & more", "v1", 3, 7)
	f.Add("x\ntouch\x1b[2J\u2028", "\xff\xfe", "", 0, 0)
	f.Fuzz(func(t *testing.T, path, msg, version string, n, line int) {
		fuzzlimit.Default(t, func() {
			n = max(0, min(n, 12))
			var fs []check.Finding
			for i := range n {
				fs = append(fs, check.Finding{CheckID: "c" + msg[:min(len(msg), i)], Severity: check.Severity(i % 5), Message: msg,
					Location: check.Location{Path: fmt.Sprintf("%s%d", path, i%3), Line: line * (i % 2), Column: i % 3}, Fingerprint: fmt.Sprintf("%032x", i)})
			}
			check.SortFindings(fs)
			res := &check.Result{Findings: fs, Checks: []*check.Check{{ID: path, Title: msg, Rules: []string{version}}}}
			if n > 2 {
				res.Suppressed = []check.Suppressed{{Finding: fs[0], Via: path, Reason: msg}}
				res.Errors = []check.Errored{{CheckID: version, Error: msg}}
			}
			sameJSON(t, &Report{Command: msg, Target: path, ToolVersion: version, FailOn: check.Severity(n % 5), Result: res,
				Extra: extraStruct{Name: msg, Items: []string{path}}})
		})
	})
}

// fillStruct sets every exported field of the struct v points to, nested
// structs too: a field the hand-laid writer leaves out shows up as a
// difference from encoding/json.
func fillStruct(v reflect.Value, n int) {
	v = v.Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString(fmt.Sprintf("%s <%d> & \"x\"", v.Type().Field(i).Name, n))
		case reflect.Int, reflect.Int64:
			if f.Type() == reflect.TypeFor[check.Severity]() {
				f.SetInt(int64(check.High))
			} else {
				f.SetInt(int64(n + i + 1))
			}
		case reflect.Struct:
			fillStruct(f.Addr(), n+1)
		}
	}
}

// TestJSONEveryField: a finding, a suppressed finding and an error with
// every field set are written as encoding/json writes them.
func TestJSONEveryField(t *testing.T) {
	var f check.Finding
	fillStruct(reflect.ValueOf(&f), 1)
	var s check.Suppressed
	fillStruct(reflect.ValueOf(&s), 2)
	var e check.Errored
	fillStruct(reflect.ValueOf(&e), 3)
	g := f
	g.Location.Line++
	sameJSON(t, &Report{Command: "check", FailOn: check.High, Result: &check.Result{
		Findings: []check.Finding{f, g}, Suppressed: []check.Suppressed{s}, Errors: []check.Errored{e}}})
}
