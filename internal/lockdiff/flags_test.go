package lockdiff

import (
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// mk builds a lock with one root input "x" whose node has the given locked
// and original references, plus extra root inputs.
func mk(t *testing.T, locked, original map[string]any, extra map[string]any) []byte {
	t.Helper()
	inputs := map[string]any{"x": "x"}
	for k, v := range extra {
		inputs[k] = v
	}
	nodes := map[string]any{
		"root": map[string]any{"inputs": inputs},
		"x":    map[string]any{"locked": locked, "original": original},
		"y": map[string]any{"locked": gh("o", "y", rev1, hashA, 1700000000),
			"original": map[string]any{"type": "github", "owner": "o", "repo": "y"}},
	}
	b, err := json.Marshal(map[string]any{"nodes": nodes, "root": "root", "version": 7})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	rev1  = "0123456789abcdef0123456789abcdef01234567"
	rev2  = "89abcdef0123456789abcdef0123456789abcdef"
	hashA = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	hashB = "sha256-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB="
)

func gh(owner, repo, rev, nh string, lm int64) map[string]any {
	m := map[string]any{"type": "github", "owner": owner, "repo": repo, "rev": rev, "lastModified": lm}
	if nh != "" {
		m["narHash"] = nh
	}
	return m
}

func orig(owner, repo, ref string) map[string]any {
	m := map[string]any{"type": "github", "owner": owner, "repo": repo}
	if ref != "" {
		m["ref"] = ref
	}
	return m
}

func TestFlags(t *testing.T) {
	base := mk(t, gh("NixOS", "nixpkgs", rev1, hashA, 1700000000), orig("NixOS", "nixpkgs", "nixos-25.05"), map[string]any{"y": "y"})
	for _, tc := range []struct {
		name  string
		new   []byte
		code  string
		risk  Risk
		input string
	}{
		{"owner", mk(t, gh("evil", "nixpkgs", rev2, hashB, 1700001000), orig("evil", "nixpkgs", "nixos-25.05"), nil), FlagSourceChange, High, "x"},
		{"branch", mk(t, gh("NixOS", "nixpkgs", rev2, hashB, 1700001000), orig("NixOS", "nixpkgs", "nixos-unstable"), nil), FlagRefChange, Medium, "x"},
		{"downgrade", mk(t, gh("NixOS", "nixpkgs", rev2, hashB, 1600000000), orig("NixOS", "nixpkgs", "nixos-25.05"), nil), FlagDowngrade, High, "x"},
		{"same rev other narHash", mk(t, gh("NixOS", "nixpkgs", rev1, hashB, 1700000000), orig("NixOS", "nixpkgs", "nixos-25.05"), nil), FlagSameRevNarHash, Critical, "x"},
		{"unlocked", mk(t, map[string]any{"type": "github", "owner": "NixOS", "repo": "nixpkgs", "narHash": hashB, "lastModified": 1700000000}, orig("NixOS", "nixpkgs", "nixos-25.05"), nil), FlagUnlocked, High, "x"},
		{"indirect", mk(t, gh("NixOS", "nixpkgs", rev2, hashB, 1700001000), map[string]any{"type": "indirect", "id": "nixpkgs"}, nil), FlagIndirect, High, "x"},
		{"type", mk(t, map[string]any{"type": "git", "url": "https://github.com/NixOS/nixpkgs", "rev": rev2, "narHash": hashB, "lastModified": 1700001000},
			map[string]any{"type": "git", "url": "https://github.com/NixOS/nixpkgs", "ref": "nixos-25.05"}, nil), FlagTypeChange, High, "x"},
		{"insecure", mk(t, map[string]any{"type": "git", "url": "git://github.com/NixOS/nixpkgs", "rev": rev2, "lastModified": 1700001000},
			map[string]any{"type": "git", "url": "git://github.com/NixOS/nixpkgs", "ref": "nixos-25.05"}, nil), FlagInsecure, High, "x"},
		{"mutable", mk(t, map[string]any{"type": "tarball", "url": "https://channels.nixos.org/nixos-25.05/nixexprs.tar.xz", "narHash": hashB, "lastModified": 1700001000},
			map[string]any{"type": "tarball", "url": "https://channels.nixos.org/nixos-25.05/nixexprs.tar.xz"}, nil), FlagMutable, High, "x"},
		{"new source", mk(t, gh("NixOS", "nixpkgs", rev1, hashA, 1700000000), orig("NixOS", "nixpkgs", "nixos-25.05"), map[string]any{"y": "y", "z": "y"}), "", Low, "z"},
		{"added unlocked", mk(t, gh("NixOS", "nixpkgs", rev1, hashA, 1700000000), orig("NixOS", "nixpkgs", "nixos-25.05"),
			map[string]any{"w": []string{"x"}}), "", Low, "w"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Diff(base, tc.new)
			if err != nil {
				t.Fatal(err)
			}
			var c *Change
			for i := range r.Changes {
				if r.Changes[i].Input == tc.input {
					c = &r.Changes[i]
				}
			}
			if c == nil {
				t.Fatalf("no change for %s: %+v", tc.input, r.Changes)
			}
			if c.Risk != tc.risk {
				t.Errorf("risk %s, want %s: %+v", c.Risk, tc.risk, c.Flags)
			}
			if tc.code != "" && hasFlag(r, tc.input, tc.code) == nil {
				t.Errorf("no %s flag: %+v", tc.code, c.Flags)
			}
			if r.HighRisk() != (tc.risk >= High) {
				t.Errorf("HighRisk() = %v", r.HighRisk())
			}
		})
	}
}

func TestIdentical(t *testing.T) {
	b := mk(t, gh("NixOS", "nixpkgs", rev1, hashA, 1700000000), orig("NixOS", "nixpkgs", ""), nil)
	r, err := Diff(b, b)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Empty() || r.HighRisk() {
		t.Errorf("identical locks: %+v", r)
	}
}

func FuzzDiff(f *testing.F) {
	f.Add([]byte(`{"nodes":{"root":{"inputs":{"a":"a"}},"a":{"locked":{"type":"github","owner":"o","repo":"r","rev":"`+rev1+`"},"original":{"type":"indirect","id":"a"}}},"root":"root","version":7}`),
		[]byte(`{"nodes":{"root":{"inputs":{"a":["b"],"b":"a"}},"a":{"locked":{"type":"tarball","url":"http://x/archive/main.tar.gz"},"original":{"type":"tarball","url":"http://x"}}},"root":"root","version":7}`))
	f.Add(lockOf(`"a":"a"`, ghNode("a", `"n":["a"]`, "NixOS", "NixOS", rev1, hashA)), lockOf(`"a":[]`))
	f.Add(deepChain(20, rev1), deepChain(21, rev2))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		fuzzlimit.Default(t, func() {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			r, err := Diff(a, b)
			if err != nil {
				return
			}
			var sink discard
			if err := r.WriteText(&sink); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteMarkdown(&sink); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteJSON(&sink); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			n := len(a) + len(b)
			if el := time.Since(start); el > time.Second+time.Duration(n)*time.Microsecond {
				t.Fatalf("%d bytes took %v", n, el)
			}
			if m := after.TotalAlloc - before.TotalAlloc; m > 64<<20+uint64(n)*300 {
				t.Fatalf("%d bytes allocated %d bytes", n, m)
			}
		})
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
