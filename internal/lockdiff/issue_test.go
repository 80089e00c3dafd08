package lockdiff

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// lockOf builds a lock from the root's inputs and the nodes (JSON
// fragments), so that a test reads like the lock it describes.
func lockOf(rootInputs string, nodes ...string) []byte {
	return []byte(`{"nodes":{"root":{"inputs":{` + rootInputs + `}}` + func() string {
		var b strings.Builder
		for _, n := range nodes {
			b.WriteString("," + n)
		}
		return b.String()
	}() + `},"root":"root","version":7}`)
}

func ghNode(key, inputs, lockedOwner, origOwner, rev, narHash string) string {
	return fmt.Sprintf(`%q:{"inputs":{%s},"locked":{"type":"github","owner":%q,"repo":"nixpkgs","rev":%q,"narHash":%q,"lastModified":1700000000},"original":{"type":"github","owner":%q,"repo":"nixpkgs","ref":"nixos-25.05"}}`,
		key, inputs, lockedOwner, rev, narHash, origOwner)
}

func flagCodes(r *Report, input string) []string {
	var out []string
	for _, c := range r.Changes {
		if c.Input == input {
			for _, f := range c.Flags {
				out = append(out, f.Code+":"+f.Risk.String())
			}
		}
	}
	return out
}

func TestLockedSourceJudged(t *testing.T) {
	base := lockOf(`"nixpkgs":"nixpkgs"`, ghNode("nixpkgs", "", "NixOS", "NixOS", rev1, hashA))
	for _, tc := range []struct {
		name, input string
		new         []byte
		want        []string // flags that must be present
		risk        Risk
	}{
		// The first case: locked.owner points at a fork, original
		// untouched (what Nix then fetches).
		{"locked owner fork", "nixpkgs", lockOf(`"nixpkgs":"nixpkgs"`, ghNode("nixpkgs", "", "evil", "NixOS", rev2, hashB)),
			[]string{"source-change:high", "locked-differs-from-original:high"}, High},
		{"git locked url", "nixpkgs", lockOf(`"nixpkgs":"nixpkgs"`,
			`"nixpkgs":{"locked":{"type":"git","url":"https://github.com/evil/nixpkgs","ref":"nixos-25.05","rev":"`+rev2+`","lastModified":1700001000},"original":{"type":"git","url":"https://github.com/NixOS/nixpkgs","ref":"nixos-25.05"}}`),
			[]string{"locked-differs-from-original:high"}, High},
		{"dir", "nixpkgs", lockOf(`"nixpkgs":"nixpkgs"`,
			`"nixpkgs":{"locked":{"type":"github","owner":"NixOS","repo":"nixpkgs","rev":"`+rev2+`","dir":"evil","lastModified":1700001000},"original":{"type":"github","owner":"NixOS","repo":"nixpkgs","ref":"nixos-25.05"}}`),
			[]string{"dir-change:high", "locked-differs-from-original:high"}, High},
		// The same hash re-encoded from base-32 to SRI is no content change.
		{"narHash re-encoded", "nixpkgs", lockOf(`"nixpkgs":"nixpkgs"`, ghNode("nixpkgs", "", "NixOS", "NixOS", rev1,
			"sha256:"+"0000000000000000000000000000000000000000000000000000")),
			[]string{"narhash-reencoded:low"}, Low},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Diff(base, tc.new)
			if err != nil {
				t.Fatal(err)
			}
			got := flagCodes(r, tc.input)
			for _, w := range tc.want {
				if !strings.Contains(strings.Join(got, " "), w) {
					t.Errorf("flags %v, want %s", got, w)
				}
			}
			if r.Risk != tc.risk {
				t.Errorf("risk %s, want %s (%v)", r.Risk, tc.risk, got)
			}
		})
	}
}

// TestFollowsRewiring: an input that followed the root's nixpkgs and is now
// its own node locked to another owner's nixpkgs is compared with what it
// resolved to before.
func TestFollowsRewiring(t *testing.T) {
	a := `"a":{"inputs":{%s},"locked":{"type":"github","owner":"o","repo":"a","rev":"` + rev1 + `","lastModified":1700000000},"original":{"type":"github","owner":"o","repo":"a"}}`
	old := lockOf(`"a":"a","nixpkgs":"nixpkgs"`, fmt.Sprintf(a, `"nixpkgs":["nixpkgs"]`), ghNode("nixpkgs", "", "NixOS", "NixOS", rev1, hashA))
	new := lockOf(`"a":"a","nixpkgs":"nixpkgs"`, fmt.Sprintf(a, `"nixpkgs":"evilpkgs"`), ghNode("nixpkgs", "", "NixOS", "NixOS", rev1, hashA),
		ghNode("evilpkgs", "", "evil", "evil", rev2, hashB))
	r, err := Diff(old, new)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(flagCodes(r, "a/nixpkgs"), " ")
	for _, w := range []string{"follows-change:low", "source-change:high"} {
		if !strings.Contains(got, w) {
			t.Errorf("a/nixpkgs flags %q, want %s", got, w)
		}
	}
	if !r.HighRisk() {
		t.Errorf("risk %s, want high", r.Risk)
	}
	// Rewired to another follows path resolving elsewhere.
	new2 := lockOf(`"a":"a","nixpkgs":"nixpkgs","other":"evilpkgs"`, fmt.Sprintf(a, `"nixpkgs":["other"]`),
		ghNode("nixpkgs", "", "NixOS", "NixOS", rev1, hashA), ghNode("evilpkgs", "", "evil", "evil", rev2, hashB))
	r, err = Diff(old, new2)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(flagCodes(r, "a/nixpkgs"), " "); !strings.Contains(got, "source-change:high") {
		t.Errorf("follows rewired to another owner: flags %q", got)
	}
	// Rewired to an identical node: low.
	same := lockOf(`"a":"a","nixpkgs":"nixpkgs"`, fmt.Sprintf(a, `"nixpkgs":"np2"`), ghNode("nixpkgs", "", "NixOS", "NixOS", rev1, hashA),
		ghNode("np2", "", "NixOS", "NixOS", rev1, hashA))
	if r, err = Diff(old, same); err != nil || r.Risk != Low {
		t.Errorf("rewired to the same content: risk %v, %v (%v)", r.Risk, err, flagCodes(r, "a/nixpkgs"))
	}
}

// TestHostileDiff: issue 12's crasher (a node input pointing at "root") is
// an error, and following the root flake never panics.
func TestHostileDiff(t *testing.T) {
	good := lockOf(`"a":"a"`, ghNode("a", "", "NixOS", "NixOS", rev1, hashA))
	cyc := lockOf(`"a":"a"`, ghNode("a", `"r":"root"`, "NixOS", "NixOS", rev1, hashA))
	if _, err := Diff(good, cyc); err == nil || !strings.Contains(err.Error(), "leads back to the root") {
		t.Errorf("cycle to root: err = %v", err)
	}
	self := lockOf(`"a":[]`)
	for _, pair := range [][2][]byte{{good, self}, {self, good}, {self, self}} {
		r, err := Diff(pair[0], pair[1])
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := r.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteMarkdown(&b); err != nil {
			t.Fatal(err)
		}
	}
}

// deepChain is a chain of n inputs; rev is the last node's rev.
func deepChain(n int, rev string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"nodes":{"root":{"inputs":{"n0":"n0"}}`)
	for i := range n {
		in, r := "", rev1
		if i+1 < n {
			in = fmt.Sprintf(`"next":"n%d","np":["n0"]`, i+1)
		} else {
			r = rev
		}
		fmt.Fprintf(&b, ",\n%q:{\"inputs\":{%s},\"locked\":{\"type\":\"github\",\"owner\":\"o\",\"repo\":\"r%d\",\"rev\":%q},\"original\":{\"type\":\"github\",\"owner\":\"o\",\"repo\":\"r%d\"}}", fmt.Sprintf("n%d", i), in, i, r, i)
	}
	b.WriteString(`},"root":"root","version":7}`)
	return b.Bytes()
}

// TestDeepDiff: two 10,000-node locks diff in under 2 s and 256 MB, and
// the one change deep down is reported with a bounded path.
func TestDeepDiff(t *testing.T) {
	a, b := deepChain(10000, rev1), deepChain(10000, rev2)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := cpuTime()
	r, err := Diff(a, b)
	var out bytes.Buffer
	if err == nil {
		err = r.WriteText(&out)
	}
	el := cpuTime() - start
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("10,000-node diff: %v CPU, %.1f MB allocated, %d bytes of report", el, float64(alloc)/1e6, out.Len())
	if el > 2*time.Second || alloc > 256<<20 {
		t.Errorf("10,000-node diff: %v, %d bytes allocated; want < 2 s, < 256 MB", el, alloc)
	}
	if len(r.Changes) != 1 || !strings.Contains(r.Changes[0].Input, "more)") || len(r.Changes[0].Input) > 200 {
		t.Errorf("changes: %d: %.300v", len(r.Changes), r.Changes)
	}
}
