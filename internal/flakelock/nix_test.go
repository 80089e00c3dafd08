package flakelock

import (
	"errors"
	"strings"
	"testing"
)

// The rules below follow Nix's own readers; each case names the line of
// NixSource (NixOS/nix at 88b09c64fb) it follows.

const (
	rev40   = "0123456789abcdef0123456789abcdef01234567"
	sriHash = "sha256-O2CIn7HjZwEGqBrwu9EU76zlmA5dbmna7jL1XUmAId8="
)

// oneInput is a lock whose root has one input "a" with these references.
func oneInput(locked, original string) string {
	if original == "" {
		original = `{"type":"indirect","id":"a"}`
	}
	return `{"nodes":{"root":{"inputs":{"a":"a"}},
"a":{"locked":` + locked + `,"original":` + original + `}},"root":"root","version":7}`
}

func parseOne(t *testing.T, locked string) *Ref {
	t.Helper()
	l, err := Parse([]byte(oneInput(locked, "")))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return l.Nodes["a"].Locked
}

func TestLockedByType(t *testing.T) {
	const h = `"narHash":"` + sriHash + `"`
	const rev = `"rev":"` + rev40 + `"`
	for _, tc := range []struct {
		name, nix, js string
		want          bool
	}{
		// github.cc:349-356 with trust-tarballs-from-git-forges on by
		// default (fetch-settings.hh:103-106): a rev is enough.
		{"github rev+narHash", "github.cc:355", `{"type":"github","owner":"o","repo":"r",` + rev + `,` + h + `}`, true},
		{"github rev only", "github.cc:355", `{"type":"github","owner":"o","repo":"r",` + rev + `}`, true},
		{"github narHash only", "github.cc:355", `{"type":"github","owner":"o","repo":"r",` + h + `}`, false},
		{"gitlab rev", "github.cc:355", `{"type":"gitlab","owner":"o","repo":"r",` + rev + `}`, true},
		{"sourcehut no rev", "github.cc:355", `{"type":"sourcehut","owner":"~o","repo":"r",` + h + `}`, false},
		// git.cc:1126-1130: a rev, not the all-zero one.
		{"git rev", "git.cc:1129", `{"type":"git","url":"https://x/y",` + rev + `}`, true},
		{"git null rev", "git.cc:1129", `{"type":"git","url":"https://x/y","rev":"0000000000000000000000000000000000000000",` + h + `}`, false},
		{"git ref only", "git.cc:1129", `{"type":"git","url":"https://x/y","ref":"main",` + h + `}`, false},
		// mercurial.cc:410-413: any rev, the all-zero one included.
		{"hg rev", "mercurial.cc:412", `{"type":"hg","url":"https://x/y",` + rev + `}`, true},
		{"hg null rev", "mercurial.cc:412", `{"type":"hg","url":"https://x/y","rev":"0000000000000000000000000000000000000000"}`, true},
		{"hg no rev", "mercurial.cc:412", `{"type":"hg","url":"https://x/y",` + h + `}`, false},
		// mercurial.cc:69: the type is "hg"; an unknown type has no
		// scheme and is never locked (fetchers.cc:99-101, 162-165).
		{"mercurial is no type", "fetchers.cc:164", `{"type":"mercurial","url":"https://x/y",` + rev + `,` + h + `}`, false},
		{"unknown type", "fetchers.cc:164", `{"type":"svn","url":"x",` + h + `}`, false},
		// tarball.cc:394-397: a narHash.
		{"tarball narHash", "tarball.cc:396", `{"type":"tarball","url":"https://x/y.tar.gz",` + h + `}`, true},
		{"tarball rev only", "tarball.cc:396", `{"type":"tarball","url":"https://x/y.tar.gz",` + rev + `}`, false},
		{"file narHash", "tarball.cc:396", `{"type":"file","url":"https://x/y",` + h + `}`, true},
		{"file rev only", "tarball.cc:396", `{"type":"file","url":"https://x/y",` + rev + `,"narHash":"sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`, true},
		// path.cc:126-129: a narHash; relative paths need none
		// (path.cc:117-123, lockfile.cc:72).
		{"path narHash", "path.cc:128", `{"type":"path","path":"/x",` + h + `}`, true},
		{"path absolute bare", "path.cc:128", `{"type":"path","path":"/x","lastModified":1}`, false},
		{"path relative subflake", "path.cc:120", `{"type":"path","path":"./sub"}`, true},
		{"path relative parent", "path.cc:120", `{"type":"path","path":"../","lastModified":0}`, true},
		// fetchers.hh:260-263: indirect has no isLocked of its own.
		{"indirect", "fetchers.hh:262", `{"type":"indirect","id":"nixpkgs",` + rev + `,` + h + `}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := parseOne(t, tc.js)
			got, why := r.Locked()
			if got != tc.want {
				t.Errorf("Locked() = %v (%s), want %v as %s does", got, why, tc.want, tc.nix)
			}
			if !got && why == "" {
				t.Errorf("no reason given")
			}
		})
	}
}

// TestNixRejects: locks Nix refuses to read are *Errors with a position,
// never judged.
func TestNixRejects(t *testing.T) {
	gh := func(extra string) string {
		return oneInput(`{"type":"github","owner":"o","repo":"r"`+extra+`}`, "")
	}
	for _, tc := range []struct{ name, nix, in, want string }{
		{"syntax", "lockfile.cc:136", "{\n  \"nodes\": {,\n}", "2:13: invalid JSON"},
		{"eof", "lockfile.cc:136", "{\n  \"nodes\": {", "unexpected end of JSON"},
		{"non-UTF-8", "lockfile.cc:136", "{\"nodes\":{\"root\":{\"inputs\":{\"\xff\":\"a\"}}},\"root\":\"root\",\"version\":7}", "1:30: invalid UTF-8"},
		{"version 4", "lockfile.cc:142", `{"nodes":{"root":{}},"root":"root","version":4}`, "unsupported lock version 4"},
		{"version string", "lockfile.cc:141", "{\"nodes\":{\"root\":{}},\"root\":\"root\",\n\"version\":\"7\"}", `2:1: version "7" is not a number`},
		{"root not a string", "lockfile.cc:145", `{"nodes":{"root":{}},"root":1,"version":7}`, "root 1 is not a string"},
		{"missing node", "lockfile.cc:164", "{\"nodes\":{\n\"root\":{\"inputs\":{\"a\":\"b\"}}},\"root\":\"root\",\"version\":7}", `2:1: node "root": input "a" refers to missing node "b"`},
		{"cycle to root", "lockfile.cc:173", "{\"nodes\":{\"root\":{\"inputs\":{\"a\":\"a\"}},\n\"a\":{\"inputs\":{\"r\":\"root\"},\"locked\":{\"type\":\"path\",\"path\":\"./a\"},\"original\":{\"type\":\"path\",\"path\":\"./a\"}}},\"root\":\"root\",\"version\":7}", `2:1: node "a": input "r" leads back to the root node`},
		{"bad input", "lockfile.cc:158", "{\"nodes\":{\n\"root\":{\"inputs\":{\"a\":3}}},\"root\":\"root\",\"version\":7}", `2:1: node "root": input "a"`},
		{"no locked", "lockfile.cc:62", "{\"nodes\":{\"root\":{\"inputs\":{\"a\":\"a\"}},\n \"a\":{}},\"root\":\"root\",\"version\":7}", `2:2: node "a": attribute "locked" missing`},
		{"no original", "lockfile.cc:62", oneInput(`{"type":"path","path":"./a"}`, "null"), `attribute "original" missing`},
		{"flake not a bool", "lockfile.cc:68", `{"nodes":{"root":{"inputs":{"a":"a"}},"a":{"flake":"false","locked":{"type":"path","path":"./a"},"original":{"type":"path","path":"./a"}}},"root":"root","version":7}`, "flake: want a boolean"},
		{"no type", "fetchers.cc:79", oneInput(`{}`, ""), `missing "type"`},
		{"object attribute", "attrs.cc:31", oneInput(`{"type":"path","path":"./a","x":{}}`, ""), `attribute "x" is an object`},
		{"unknown attribute", "fetchers.cc:108", gh(`,"rev":"` + rev40 + `","branch":"main"`), `attribute "branch" is not supported by input type "github"`},
		{"ref and rev", "github.cc:131", gh(`,"rev":"` + rev40 + `","ref":"main"`), `both a commit hash`},
		{"8-digit rev", "github.cc:139", gh(`,"rev":"01234567"`), `rev "01234567" is a shortened commit hash`},
		{"short git rev", "fetchers.cc:457", oneInput(`{"type":"git","url":"https://x","rev":"0123456789ab"}`, ""), `shortened commit hash`},
		{"bad ref", "github.cc:141", gh(`,"ref":"a..b"`), `invalid branch/tag name "a..b"`},
		{"bad host", "github.cc:144", gh(`,"host":"x/y"`), `invalid instance host`},
		{"no owner", "github.cc:126", oneInput(`{"type":"github","repo":"r"}`, ""), `attribute "owner" is missing`},
		{"git no url", "git.cc:398", oneInput(`{"type":"git","rev":"`+rev40+`"}`, ""), `attribute "url" is missing`},
		{"git shallow string", "attrs.cc:110", oneInput(`{"type":"git","url":"https://x","shallow":"1"}`, ""), `"shallow" is not a Boolean`},
		{"lastModified string", "attrs.cc:91", gh(`,"lastModified":"1"`), `"lastModified" is not an integer`},
		{"bad flake id", "indirect.cc:96", oneInput(`{"type":"indirect","id":"1x"}`, ""), `is not a valid flake ID`},
		{"hg bad ref", "mercurial.cc:114", oneInput(`{"type":"hg","url":"https://x","ref":"-x"}`, ""), `invalid Mercurial branch/tag name`},
		{"narHash sha1", "fetchers.cc:434", oneInput(`{"type":"tarball","url":"https://x","narHash":"sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA="}`, ""), `must use SHA-256`},
		{"__final", "lockfile.cc:85", gh(`,"rev":"` + rev40 + `","__final":true`), `"__final" is not allowed`},
		{"trailing", "lockfile.cc:136", `{"nodes":{"root":{}},"root":"root","version":7} {}`, "unexpected data"},
		{"nodes array", "lockfile.cc:161", `{"nodes":[],"root":"root","version":7}`, "1:11"},
		{"follows nowhere", "lockfile.cc:419", `{"nodes":{"root":{"inputs":{"a":["b"]}}},"root":"root","version":7}`, `input 'a' follows 'b': 'the root flake' has no input 'b'`},
		{"follows cycle", "lockfile.cc:105", `{"nodes":{"root":{"inputs":{"a":["b"],"b":["a"]}}},"root":"root","version":7}`, `follows cycle`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q (Nix refuses it: %s)", err, tc.want, tc.nix)
			}
			var e *Error
			if !errors.As(err, &e) || e.Line == 0 {
				t.Errorf("not an *Error with a position: %T %v", err, err)
			}
		})
	}
}

// TestNixAccepts: what Nix reads, nixgate reads.
func TestNixAccepts(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		// Nodes nothing reaches are never read (lockfile.cc:148-176).
		{"unreachable garbage", `{"nodes":{"root":{},"junk":{"locked":5}},"root":"root","version":7}`},
		// A missing root node is an empty root (nlohmann's operator[]).
		{"no root node", `{"nodes":{},"root":"root","version":7}`},
		// A cycle between non-root nodes (lock versions <= 6).
		{"cycle", `{"nodes":{"root":{"inputs":{"a":"a"}},"a":{"inputs":{"b":"b"},"locked":{"type":"path","path":"./a"},"original":{"type":"path","path":"./a"}},"b":{"inputs":{"a":"a"},"locked":{"type":"path","path":"./b"},"original":{"type":"path","path":"./b"}}},"root":"root","version":7}`},
		// Unknown types are read as inputs without a scheme.
		{"unknown type", oneInput(`{"type":"mercurial","url":"https://x","anything":1,"narHash":"`+sriHash+`"}`, "")},
		// "dir" is stripped before the scheme sees it (flakeref.cc:277).
		{"dir", oneInput(`{"type":"github","owner":"o","repo":"r","rev":"`+rev40+`","dir":"lib"}`, "")},
		// A sha256 git rev (fetchers.cc:453).
		{"sha256 rev", oneInput(`{"type":"git","url":"https://x","rev":"sha256:`+strings.Repeat("ab", 32)+`"}`, "")},
		{"version 5 float", `{"nodes":{"root":{}},"root":"root","version":5.0}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.in)); err != nil {
				t.Fatalf("Parse: %v", err)
			}
		})
	}
}

func TestNixRefuses(t *testing.T) {
	// lockfile.cc:72-82: unlocked without narHash is an error for Nix;
	// with a narHash a warning.
	l, err := Parse([]byte(oneInput(`{"type":"git","url":"https://x","ref":"main","narHash":"`+sriHash+`"}`, "")))
	if err != nil {
		t.Fatal(err)
	}
	if l.Nodes["a"].Locked.NixRefuses() || len(l.Warnings) != 1 {
		t.Errorf("narHash-checked unlocked entry: refuses=%v warnings=%v", l.Nodes["a"].Locked.NixRefuses(), l.Warnings)
	}
	l, err = Parse([]byte(oneInput(`{"type":"git","url":"https://x","ref":"main"}`, "")))
	if err != nil {
		t.Fatal(err)
	}
	if !l.Nodes["a"].Locked.NixRefuses() {
		t.Errorf("unlocked entry without narHash: Nix refuses it")
	}
}

func TestHashForms(t *testing.T) {
	// The same hash in Nix's forms, as `nix hash to-base32` and
	// `nix hash to-base16` (Nix 2.8) print it.
	forms := []string{
		sriHash,
		"sha256:1pr1h14mvx9jxvd6jvjx1scfbb7g2k8vpw0sm0302rz3n6gqhq1v",
		"sha256:3b60889fb1e3670106a81af0bbd114eface5980e5d6e69daee32f55d498021df",
		"sha256:O2CIn7HjZwEGqBrwu9EU76zlmA5dbmna7jL1XUmAId8=",
		"1pr1h14mvx9jxvd6jvjx1scfbb7g2k8vpw0sm0302rz3n6gqhq1v",
		"3b60889fb1e3670106a81af0bbd114eface5980e5d6e69daee32f55d498021df",
	}
	for _, f := range forms {
		h, err := ParseHash(f, "sha256")
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if h.SRI() != sriHash {
			t.Errorf("%s decodes to %s, want %s", f, h.SRI(), sriHash)
		}
		if !SameNarHash(forms[0], f) {
			t.Errorf("SameNarHash(%s, %s) = false", forms[0], f)
		}
	}
	if SameNarHash(sriHash, "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") {
		t.Error("different hashes compare equal")
	}
	for _, bad := range []string{"sha256-x", "sha256:zzzz", "md6-AAAA", "sha256:" + strings.Repeat("e", 52)} {
		if _, err := ParseHash(bad, "sha256"); err == nil {
			t.Errorf("ParseHash(%q) accepted", bad)
		}
	}
}

const followsLock = `{"nodes":{
 "root":{"inputs":{"a":"a","b":["a","x"],"self":[],"e":["a","x"]}},
 "a":{"inputs":{"x":"x","n":["e"]},"locked":{"type":"github","owner":"o","repo":"a","rev":"` + rev40 + `"},"original":{"type":"github","owner":"o","repo":"a"}},
 "x":{"locked":{"type":"github","owner":"o","repo":"x","rev":"` + rev40 + `"},"original":{"type":"github","owner":"o","repo":"x"},"flake":false}
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
		{"a/n", "x", ""},
		{"self", "root", ""},
		{"self/a/x", "x", ""},
		{"a/nope", "", "'a' has no input 'nope'"},
		{"zz", "", "'the root flake' has no input 'zz'"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got, err := l.Resolve(strings.Split(tc.path, "/"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Resolve = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	// Edges come in Nix's order: sorted paths, each node expanded once.
	var paths []string
	for i := range l.NumInputs() {
		paths = append(paths, l.DisplayPath(i)+"="+l.Input(i).Node)
	}
	if got, want := strings.Join(paths, " "), "a=a a/n=x a/x=x b=x e=x self=root"; got != want {
		t.Errorf("edges:\n got %s\nwant %s", got, want)
	}
	if !l.Nodes["a"].Flake || l.Nodes["x"].Flake {
		t.Errorf("flake attribute not read")
	}
}
