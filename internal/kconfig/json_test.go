package kconfig

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func sameAsMarshal(t *testing.T, what string, got []byte, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: AppendJSON differs from json.Marshal at byte %d:\n got %q\nwant %q", what, i, got[max(0, i-100):min(len(got), i+100)], want[max(0, i-100):min(len(want), i+100)])
	}
}

// fill sets every exported field of the struct v points to: strings to
// text that needs escaping, numbers and booleans to non-zero values, so
// that a field AppendJSON does not write shows up as a difference.
func fill(v reflect.Value) {
	v = v.Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch f.Kind() {
		case reflect.String:
			f.SetString(v.Type().Field(i).Name + ` <a href="x">&` + "\u2028\xff")
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.String {
				f.Set(reflect.ValueOf([]string{"a<b", ""}))
			}
		case reflect.Struct:
			if v.Type().Field(i).Anonymous { // Report's Inputs
				fill(f.Addr())
			}
		}
	}
}

func TestAppendJSON(t *testing.T) {
	c, err := ReadConfigFile("testdata/configs/nixpkgs-linux_latest.config.gz")
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := ReadCmdlineFile("testdata/cmdline_example.txt")
	sy, _ := ReadSysctlFile("testdata/example_sysctls.txt")
	r := Evaluate(&Input{Config: c, Cmdline: cl, Sysctl: sy}, loadBuiltin(t, "anchor", "kspp", "khc"))
	if len(r.Results) < 500 {
		t.Fatalf("%d results", len(r.Results))
	}
	sameAsMarshal(t, "report", r.AppendJSON(nil), r)
	sameAsMarshal(t, "check report", CheckReport{Check: "kconfig-khc", Report: r}.AppendJSON(nil), CheckReport{Check: "kconfig-khc", Report: r})
	sameAsMarshal(t, "check report without a report", CheckReport{Check: "x"}.AppendJSON(nil), CheckReport{Check: "x"})
	empty := &Report{}
	sameAsMarshal(t, "empty report", empty.AppendJSON(nil), empty)
	var res Result
	fill(reflect.ValueOf(&res))
	sameAsMarshal(t, "every field of a result", res.AppendJSON(nil), &res)
	full := &Report{Results: []Result{res, {}}}
	fill(reflect.ValueOf(full))
	fill(reflect.ValueOf(&full.Summary))
	sameAsMarshal(t, "every field of a report", full.AppendJSON(nil), full)
}
