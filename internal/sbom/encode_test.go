package sbom

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// sameAsLibrary fails unless Write gives, for every format, the bytes the
// libraries' encoders give for the same closure.
func sameAsLibrary(t *testing.T, cl *Closure, m Meta) {
	t.Helper()
	for _, f := range []struct {
		format string
		lib    func(io.Writer, *Closure, Meta) error
	}{{CycloneDX, libCycloneDX}, {SPDX, libSPDX}} {
		var got, want bytes.Buffer
		if err := Write(&got, f.format, cl, m); err != nil {
			t.Fatal(err)
		}
		if err := f.lib(&want, cl, m); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			g, w := got.String(), want.String()
			i := 0
			for i < len(g) && i < len(w) && g[i] == w[i] {
				i++
			}
			t.Fatalf("%s differs from the library's encoding at byte %d:\n got %q\nwant %q", f.format, i, g[max(0, i-80):min(len(g), i+80)], w[max(0, i-80):min(len(w), i+80)])
		}
		if !json.Valid(got.Bytes()) {
			t.Fatalf("%s: not JSON", f.format)
		}
	}
}

func storePath(hash byte, name string) string {
	return StoreDir + "/" + strings.Repeat(string(rune(hash)), 32) + "-" + name
}

func component(path string, hashed bool, deps ...string) Component {
	n, _ := StorePathName(path)
	c := Component{Path: path, DependsOn: deps}
	c.Name, c.Version = ParseName(n)
	if hashed {
		c.NarHash = strings.Repeat("ab", 32)
		c.NarHashSRI = "sha256-q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s="
		c.NarSize = 1 << 40
		c.Deriver = path + ".drv"
	}
	return c
}

func TestEncodeMatchesLibrary(t *testing.T) {
	app, lib, odd := storePath('a', "app-2.0"), storePath('b', "lib-1"), storePath('c', "we\"ird\\na\tme-é\u2028-\xff-<&>")
	bare := storePath('d', "-1")
	for _, tc := range []struct {
		name string
		cl   Closure
		m    Meta
	}{
		{"one root", Closure{Roots: []string{app}, Components: []Component{component(app, true, lib), component(lib, true)}}, meta},
		{"one path", Closure{Roots: []string{app}, Components: []Component{component(app, true)}}, meta},
		{"two roots", Closure{Roots: []string{app, lib}, Components: []Component{component(app, true, lib), component(lib, false)}}, meta},
		{"no roots", Closure{Components: []Component{component(lib, false)}}, meta},
		{"empty", Closure{}, Meta{}},
		{"odd names", Closure{Roots: []string{odd}, Components: []Component{component(bare, false), component(odd, true, bare)}, BuildTime: true},
			Meta{Name: "x\"<y>\n\u2029", Time: time.Date(1969, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)), ToolVersion: "v1 (dirty)"}},
		{"build time", Closure{Roots: []string{app}, BuildTime: true, Components: []Component{
			func() Component { c := component(app, true, lib); c.Output = "out"; return c }(), component(lib, false)}}, meta},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := tc.cl.finish()
			if err != nil {
				t.Fatal(err)
			}
			sameAsLibrary(t, cl, tc.m)
		})
	}
}

// FuzzEncode builds a closure from arbitrary names and edges and requires
// the libraries' bytes for it.
func FuzzEncode(f *testing.F) {
	f.Add("app-2.0", "lib-1.2", "x", "v1", uint8(3), uint8(1), true)
	f.Add("we\"ird\\", "\xff\u2028", "<&>", "", uint8(0), uint8(7), false)
	f.Fuzz(func(t *testing.T, n1, n2, name, version string, edges, roots uint8, build bool) {
		fuzzlimit.Default(t, func() {
			names := []string{n1, n2, n1 + "-" + n2}
			var cl Closure
			cl.BuildTime = build
			var paths []string
			for i, n := range names {
				if strings.Contains(n, "/") {
					continue
				}
				paths = append(paths, storePath(byte('a'+i), n))
			}
			for i, p := range paths {
				var deps []string
				for j := range paths {
					if j != i && edges&(1<<(i*len(paths)+j)) != 0 {
						deps = append(deps, paths[j])
					}
				}
				c := component(p, i%2 == 0, deps...)
				if build && c.Deriver != "" {
					c.Output = version
				}
				cl.Components = append(cl.Components, c)
				if roots&(1<<i) != 0 {
					cl.Roots = append(cl.Roots, p)
				}
			}
			// The tools' versions go through json.Marshal inside the
			// libraries, which escapes HTML; nixgate's version has none.
			version = strings.NewReplacer("<", "", ">", "", "&", "").Replace(version)
			done, err := cl.finish()
			if err != nil {
				t.Fatal(err)
			}
			sameAsLibrary(t, done, Meta{Name: name, Time: time.Unix(int64(edges)<<24, 0), ToolVersion: version})
		})
	})
}

// BenchmarkWrite is the encoding of a closure of 1,000 paths in each format
// (bench/sbom.sh measures the whole command).
func BenchmarkWrite(b *testing.B) {
	var cl Closure
	var prev string
	for i := range 1000 {
		p := StoreDir + "/" + strings.Repeat(string(rune('a'+i%26)), 28) + strings.Repeat("0", 4-len(strconv.Itoa(i))) + strconv.Itoa(i) + "-lib" + strconv.Itoa(i) + "-1." + strconv.Itoa(i)
		var deps []string
		if prev != "" {
			deps = []string{prev}
		}
		cl.Components = append(cl.Components, component(p, true, deps...))
		prev = p
	}
	cl.Roots = []string{prev}
	if _, err := cl.finish(); err != nil {
		b.Fatal(err)
	}
	for _, f := range []string{CycloneDX, SPDX} {
		b.Run(f, func(b *testing.B) {
			for b.Loop() {
				Write(io.Discard, f, &cl, meta)
			}
		})
		b.Run(f+"-library", func(b *testing.B) {
			lib := libCycloneDX
			if f == SPDX {
				lib = libSPDX
			}
			for b.Loop() {
				lib(io.Discard, &cl, meta)
			}
		})
	}
}
