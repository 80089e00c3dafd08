package flakelock

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func ref(t *testing.T, js string) *Ref {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	r, err := newRef(m)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestLocked(t *testing.T) {
	const h = `"narHash":"sha256-AAAA"`
	const rev = `"rev":"0123456789abcdef0123456789abcdef01234567"`
	for _, tc := range []struct {
		name, js string
		want     bool
	}{
		{"github rev+narHash", `{"type":"github","owner":"o","repo":"r",` + rev + `,` + h + `}`, true},
		{"github no rev", `{"type":"github","owner":"o","repo":"r",` + h + `}`, false},
		{"github no narHash", `{"type":"github","owner":"o","repo":"r",` + rev + `}`, false},
		{"gitlab", `{"type":"gitlab","owner":"o","repo":"r",` + rev + `,` + h + `}`, true},
		{"sourcehut no rev", `{"type":"sourcehut","owner":"~o","repo":"r",` + h + `}`, false},
		{"git rev", `{"type":"git","url":"https://x/y",` + rev + `}`, true},
		{"git null rev", `{"type":"git","url":"https://x/y","rev":"0000000000000000000000000000000000000000"}`, false},
		{"git ref only", `{"type":"git","url":"https://x/y","ref":"main",` + h + `}`, false},
		{"mercurial", `{"type":"mercurial","url":"https://x/y",` + rev + `}`, true},
		{"tarball narHash", `{"type":"tarball","url":"https://x/y.tar.gz",` + h + `}`, true},
		{"tarball rev only", `{"type":"tarball","url":"https://x/y.tar.gz",` + rev + `}`, false},
		{"file narHash", `{"type":"file","url":"https://x/y",` + h + `}`, true},
		{"file rev only", `{"type":"file","url":"https://x/y",` + rev + `}`, false},
		{"path narHash", `{"type":"path","path":"/x",` + h + `}`, true},
		{"path bare", `{"type":"path","path":"/x"}`, false},
		{"indirect", `{"type":"indirect","id":"nixpkgs",` + rev + `,` + h + `}`, false},
		{"unknown type", `{"type":"svn","url":"x",` + h + `}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := ref(t, tc.js).Locked()
			if got != tc.want {
				t.Errorf("Locked() = %v (%s), want %v", got, why, tc.want)
			}
			if !got && why == "" {
				t.Errorf("no reason given")
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"syntax", "{\n  \"nodes\": {,\n}", "2:13: invalid JSON"},
		{"eof", "{\n  \"nodes\": {", "unexpected end of JSON"},
		{"version", `{"nodes":{"root":{}},"root":"root","version":4}`, "unsupported lock version 4"},
		{"no root", `{"nodes":{"a":{}},"root":"root","version":7}`, `root node "root" does not exist`},
		{"missing node", "{\"nodes\":{\n\"root\":{\"inputs\":{\"a\":\"b\"}}},\"root\":\"root\",\"version\":7}", `2:1: node "root": input "a" refers to missing node "b"`},
		{"bad input", "{\"nodes\":{\n\"root\":{\"inputs\":{\"a\":3}}},\"root\":\"root\",\"version\":7}", `2:1: node "root": input "a"`},
		{"no locked", "{\"nodes\":{\"root\":{\"inputs\":{\"a\":\"a\"}},\n \"a\":{}},\"root\":\"root\",\"version\":7}", `2:2: node "a" has no "locked"`},
		{"no type", "{\"nodes\":{\"root\":{\"inputs\":{\"a\":\"a\"}},\n \"a\":{\"locked\":{}}},\"root\":\"root\",\"version\":7}", `missing "type"`},
		{"trailing", `{"nodes":{"root":{}},"root":"root","version":7} {}`, "unexpected data"},
		{"type", `{"nodes":[],"root":"root","version":7}`, "1:11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("not an *Error: %T", err)
			}
		})
	}
}

const followsLock = `{"nodes":{
 "root":{"inputs":{"a":"a","b":["a","x"],"c":["c"],"d":["a","nope"],"self":[]}},
 "a":{"inputs":{"x":"x"},"locked":{"type":"github","owner":"o","repo":"a","rev":"r","narHash":"h"},"original":{"type":"github","owner":"o","repo":"a"}},
 "x":{"locked":{"type":"github","owner":"o","repo":"x","rev":"r","narHash":"h"},"original":{"type":"github","owner":"o","repo":"x"},"flake":false}
},"root":"root","version":7}`

func TestResolve(t *testing.T) {
	l, err := Parse([]byte(followsLock))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path    string
		want    string
		wantErr string
	}{
		{"a", "a", ""},
		{"a/x", "x", ""},
		{"b", "x", ""},
		{"self", "root", ""},
		{"self/a/x", "x", ""},
		{"c", "", "follows cycle"},
		{"d", "", "'a' has no input 'nope'"},
		{"zz", "", "'the root flake' has no input 'zz'"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got, err := l.Resolve(strings.Split(tc.path, "/"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "input '") {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Resolve = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := l.Inputs(); err == nil || !strings.Contains(err.Error(), "input 'c'") {
		t.Errorf("Inputs() err = %v, want the cycle on input 'c'", err)
	}
	if !l.Nodes["a"].Flake || l.Nodes["x"].Flake {
		t.Errorf("flake attribute not read")
	}
}

func TestMutableURL(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://channels.nixos.org/nixos-unstable/nixexprs.tar.xz", true},
		{"https://nixos.org/channels/nixos-24.05/nixexprs.tar.xz", true},
		{"https://releases.nixos.org/nixos/unstable/nixos-26.05pre969196.46db2e09e1d3/nixexprs.tar.xz", false},
		{"https://github.com/NixOS/nixpkgs/archive/nixos-24.05.tar.gz", true},
		{"https://github.com/NixOS/nixpkgs/archive/46db2e09e1d3f113a13c0d7b81e2f221c63b8ce9.tar.gz", false},
		{"https://codeberg.org/nadevko/kasumi/archive/master.tar.gz", true},
		{"https://codeberg.org/api/v1/repos/nadevko/kasumi/archive/cc0a6826be2c4c4c6a419d7b420980b5d58bebca.tar.gz", false},
		{"https://github.com/o/r/archive/v1.2.3.tar.gz", true},
		{"https://flakehub.com/f/NixOS/nixpkgs/0.1", true},
		{"https://api.flakehub.com/f/pinned/NixOS/nixpkgs/0.2505.811874%2Brev-daf6dc47aa4b44791372d6139ab7b25269184d55/019a3494/source.tar.gz", false},
		{"https://example.org/hello/latest.tar.gz", true},
		{"https://example.org/hello-2.12.tar.gz", false},
	} {
		if got, why := MutableURL(tc.url); got != tc.want {
			t.Errorf("MutableURL(%s) = %v (%s), want %v", tc.url, got, why, tc.want)
		}
	}
}

func TestBranches(t *testing.T) {
	d := Branches()
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		branch string
		want   BranchStatus
	}{
		{"nixos-unstable", Rolling},
		{"nixpkgs-unstable", Rolling},
		{"nixos-26.05", Supported},
		{"nixos-26.05-small", Supported},
		{"nixpkgs-26.05-darwin", Supported},
		{"nixos-26.11", Beta},
		{"nixos-25.05", EOL},
		{"release-22.05", EOL},
		{"nixos-27.05", Supported},
		{"nixos-17.09", EOL},
		{"feature-x", Unknown},
	} {
		if got, why := d.Status(tc.branch, now); got != tc.want {
			t.Errorf("Status(%s) = %s (%s), want %s", tc.branch, got, why, tc.want)
		}
	}
}

func TestBranchOfCorpusNodes(t *testing.T) {
	c := corpus(t)
	for _, tc := range []struct{ lock, node, want string }{
		{"NixOS__nix__233bd250d1", "nixpkgs", "nixos-25.05"},
		{"DeterminateSystems__flake-checker__5ccb4c3e90", "nixpkgs", "nixos-25.05"},
		{"nadevko__dotfiles__6e712beddb", "nixpkgs_2", "nixos-unstable"},
		{"Vskilet__nixos-config__003c085ccd", "nixpkgs", "nixos-22.05"},
	} {
		l, err := Parse(c[tc.lock])
		if err != nil {
			t.Fatal(err)
		}
		n := l.Nodes[tc.node]
		if n == nil {
			t.Fatalf("%s: no node %s", tc.lock, tc.node)
		}
		if !n.IsNixpkgs() {
			t.Errorf("%s %s: not recognised as nixpkgs", tc.lock, tc.node)
		}
		if got := n.Branch(); got != tc.want {
			t.Errorf("%s %s: Branch() = %q, want %q", tc.lock, tc.node, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := os.ReadDir("testdata/corpus")
	for _, e := range files {
		if strings.HasSuffix(e.Name(), ".lock") {
			b, _ := os.ReadFile("testdata/corpus/" + e.Name())
			if len(b) < 8000 {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(followsLock))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error without position: %T %v", err, err)
			}
			return
		}
		ins, err := l.Inputs()
		if err != nil {
			return
		}
		for _, in := range ins {
			n := l.Nodes[in.Node]
			if n == nil {
				t.Fatalf("input %v resolves to missing node %q", in.Path, in.Node)
			}
			n.Locked.Locked()
			_ = n.Locked.String()
			_ = n.Branch()
			_ = n.Source()
			_ = n.RefName()
		}
	})
}
