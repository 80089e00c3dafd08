package sbom

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
	"github.com/nixgate/nixgate/internal/nixcli"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testStore builds closure.nix's app in a fresh chroot store and returns
// the store and app's output path.
func testStore(t *testing.T) (store, app string) {
	t.Helper()
	if !nixcli.Available() {
		t.Fatal("nix is not installed (make deps installs nix-bin)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Fatal("/bin/busybox is missing (make deps installs busybox-static)")
	}
	dir := t.TempDir()
	t.Cleanup(func() { chmodTree(dir) })
	store = filepath.Join(dir, "store")
	file, _ := filepath.Abs("testdata/closure.nix")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := nixcli.Build(ctx, nixcli.BuildOptions{
		Store: store, File: file, Installables: []string{"app"},
		Settings: nixcli.Settings{"sandbox": "true", "sandbox-paths": "/bin/busybox", "substituters": ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	return store, res[0].Outputs["out"]
}

// chmodTree makes a chroot store removable.
func chmodTree(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

func compileSchema(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	// The CycloneDX schema refers to its companions by relative URL.
	for _, f := range []string{"bom-1.6.schema.json", "spdx.schema.json", "jsf-0.82.schema.json", "spdx-2.3.schema.json"} {
		b, err := os.ReadFile(filepath.Join("testdata/schema", f))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		id := "http://cyclonedx.org/schema/" + f
		if f == "spdx-2.3.schema.json" {
			id = "http://spdx.org/rdf/terms/2.3"
		}
		if err := c.AddResource(id, doc); err != nil {
			t.Fatal(err)
		}
	}
	c.AssertFormat()
	id := "http://cyclonedx.org/schema/" + file
	if file == "spdx-2.3.schema.json" {
		id = "http://spdx.org/rdf/terms/2.3"
	}
	s, err := c.Compile(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validate(t *testing.T, s *jsonschema.Schema, data []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(doc); err != nil {
		t.Errorf("schema validation failed: %v", err)
	}
}

// golden compares got with testdata/name, both indented (the SBOM itself
// is compact JSON) so that a change reads as a diff.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var ind bytes.Buffer
	if err := json.Indent(&ind, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	got = ind.Bytes()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", name, diff)
	}
}

var meta = Meta{Name: "closure.nix#app", Time: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), ToolVersion: "test"}

func TestRuntimeClosure(t *testing.T) {
	store, app := testStore(t)
	ctx := context.Background()
	infos, err := nixcli.Closure(ctx, nixcli.Query{Store: store, Installables: []string{app}})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := FromPathInfo([]string{app}, infos)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cl.Components {
		names = append(names, c.Name+" "+c.Version)
		// The hash is the one Nix reports, by another route.
		h, err := nixcli.QueryHash(ctx, store, c.Path)
		if err != nil {
			t.Fatal(err)
		}
		if hx, _ := NarHashHex(h); hx != c.NarHash || c.NarHash == "" {
			t.Errorf("%s: NAR hash %s, nix-store --query --hash says %s", c.Path, c.NarHash, h)
		}
	}
	slices.Sort(names)
	want := []string{"app 2.0", "curl 8.9.1", "openssl 3.0.15", "perl5.38.2-URI 5.21", "zlib 1.3.1"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	if got := cl.Component(app).DependsOn; len(got) != 2 {
		t.Errorf("app depends on %v, want curl and perl5.38.2-URI", got)
	}
	for _, f := range []struct{ format, schema, golden string }{
		{CycloneDX, "bom-1.6.schema.json", "app.cdx.json"},
		{SPDX, "spdx-2.3.schema.json", "app.spdx.json"},
	} {
		t.Run(f.format, func(t *testing.T) {
			var a, b bytes.Buffer
			if err := Write(&a, f.format, cl, meta); err != nil {
				t.Fatal(err)
			}
			if err := Write(&b, f.format, cl, meta); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Error("two runs differ")
			}
			validate(t, compileSchema(t, f.schema), a.Bytes())
			golden(t, f.golden, a.Bytes())
		})
	}
}

func TestBuildTimeClosure(t *testing.T) {
	store, app := testStore(t)
	ctx := context.Background()
	graph, err := nixcli.DerivationGraph(ctx, nixcli.Query{Store: store, Installables: []string{app}})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, d := range graph {
		for _, o := range d.Outputs {
			paths = append(paths, o.Path)
		}
		paths = append(paths, d.InputSrcs...)
	}
	infos, err := nixcli.PathInfos(ctx, store, paths)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := FromDerivations([]string{app}, graph, infos)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cl.Components {
		names = append(names, c.Name)
	}
	// cmake and the patch are needed to build app but not kept by it.
	want := []string{"app", "cmake", "curl", "fix-build.patch", "openssl", "perl5.38.2-URI", "zlib"}
	slices.Sort(names)
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	for _, f := range []struct{ format, schema, golden string }{
		{CycloneDX, "bom-1.6.schema.json", "app.buildtime.cdx.json"},
		{SPDX, "spdx-2.3.schema.json", "app.buildtime.spdx.json"},
	} {
		t.Run(f.format, func(t *testing.T) {
			var a bytes.Buffer
			if err := Write(&a, f.format, cl, meta); err != nil {
				t.Fatal(err)
			}
			validate(t, compileSchema(t, f.schema), a.Bytes())
			golden(t, f.golden, a.Bytes())
		})
	}
}

func TestParseName(t *testing.T) {
	for _, tc := range []struct{ in, name, version string }{
		{"hello-2.12.1", "hello", "2.12.1"},
		{"busybox", "busybox", ""},
		{"perl5.38.2-URI-5.21", "perl5.38.2-URI", "5.21"},
		{"openssl-3.0.15-dev", "openssl", "3.0.15-dev"},
		{"source", "source", ""},
		{"nixos-system-host-25.05.20251027.daf6dc4", "nixos-system-host", "25.05.20251027.daf6dc4"},
		{"xorg-server-21.1.13", "xorg-server", "21.1.13"},
		{"foo-", "foo-", ""},
		{"-1", "", "1"},
	} {
		n, v := ParseName(tc.in)
		if n != tc.name || v != tc.version {
			t.Errorf("ParseName(%q) = %q, %q; want %q, %q", tc.in, n, v, tc.name, tc.version)
		}
	}
}

// TestParseNameAsNix checks ParseName against builtins.parseDrvName.
func TestParseNameAsNix(t *testing.T) {
	if !nixcli.Available() {
		t.Fatal("nix is not installed (make deps installs nix-bin)")
	}
	names := []string{"hello-2.12.1", "busybox", "perl5.38.2-URI-5.21", "a-b-c-1-d", "gtk+3-3.24", "x-1a", "foo-", "-1", "python3.12-requests-2.32.3"}
	js, _ := json.Marshal(names)
	expr := "map builtins.parseDrvName (builtins.fromJSON ''" + string(js) + "'')"
	out, err := exec.Command("nix-instantiate", "--eval", "--json", "--strict", "--expr", expr).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []struct{ Name, Version string }
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		name, version := ParseName(n)
		if name != want[i].Name || version != want[i].Version {
			t.Errorf("ParseName(%q) = %q, %q; Nix says %q, %q", n, name, version, want[i].Name, want[i].Version)
		}
	}
}

func TestPURL(t *testing.T) {
	c := Component{Path: "/nix/store/bf77dq1hr2i3xxfja1f072nigkq2k1dr-gtk+3-3.24", Name: "gtk+3", Version: "3.24"}
	if got, want := c.PURL(), "pkg:nix/gtk%2B3@3.24?store-hash=bf77dq1hr2i3xxfja1f072nigkq2k1dr"; got != want {
		t.Errorf("PURL = %s, want %s", got, want)
	}
}

func TestNarHashHex(t *testing.T) {
	const hx = "3ea73a85107202a3b2ba4cd7770a9045738891 6e98f3efc09b09a289ec54e924"
	want := strings.ReplaceAll(hx, " ", "")
	for _, in := range []string{"sha256-Pqc6hRByAqOyukzXdwqQRXOIkW6Y8+/AmwmiiexU6SQ=", "sha256:" + want} {
		got, err := NarHashHex(in)
		if err != nil || got != want {
			t.Errorf("NarHashHex(%q) = %q, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "sha1-AAAA", "sha256-!!", "md5:00"} {
		if _, err := NarHashHex(bad); err == nil {
			t.Errorf("NarHashHex(%q): want an error", bad)
		}
	}
}

// FuzzNames feeds arbitrary store path names and NAR hashes to the parsers
// of what Nix prints: no panic, and a name splits into parts that join back.
func FuzzNames(f *testing.F) {
	f.Add("hello-2.12.1", "sha256-Pqc6hRByAqOyukzXdwqQRXOIkW6Y8+/AmwmiiexU6SQ=")
	f.Add("perl5.38.2-URI-5.21", "sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s")
	f.Add("-", "sha256-")
	f.Fuzz(func(t *testing.T, name, hash string) {
		fuzzlimit.Default(t, func() {
			n, v := ParseName(name)
			if v != "" && n+"-"+v != name || v == "" && n != name {
				t.Fatalf("ParseName(%q) = %q, %q", name, n, v)
			}
			if h, err := NarHashHex(hash); err == nil && len(h) != 64 {
				t.Fatalf("NarHashHex(%q) = %q", hash, h)
			}
			c := Component{Path: StoreDir + "/" + strings.Repeat("a", 32) + "-" + name, Name: n, Version: v}
			_ = c.PURL()
			_ = appendSPDXID(nil, c.Path)
		})
	})
}
