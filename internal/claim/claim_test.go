package claim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/nix-community/go-nix/pkg/narinfo"
	"github.com/nix-community/go-nix/pkg/narinfo/signature"
	"github.com/nix-community/go-nix/pkg/nixbase32"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

func testKey(t testing.TB, name string) SecretKey {
	t.Helper()
	h := sha256.Sum256([]byte(name))
	k, err := ParseSecretKey(name + ":" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(h[:])))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func path(name string) string {
	h := sha256.Sum256([]byte(name))
	return "/nix/store/" + nixbase32.EncodeToString(h[:20]) + "-" + name
}

func sample(t testing.TB) *Claim {
	t.Helper()
	h := sha256.Sum256([]byte("nar"))
	c, err := New(Facts{StorePath: path("hello-2.12"), NarHash: "sha256-" + base64.StdEncoding.EncodeToString(h[:]), NarSize: 226560,
		References: []string{path("hello-2.12"), path("glibc-2.40"), path("glibc-2.40")}, Deriver: path("hello-2.12.drv")}, testKey(t, "builder-a.example-1"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRoundTrip: Marshal and Parse are inverse, references are sorted and
// deduplicated, the SRI hash became nix32, and the signature verifies.
func TestRoundTrip(t *testing.T) {
	c := sample(t)
	b := c.Marshal()
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Marshal(), b) {
		t.Fatal("Parse(Marshal(c)) re-encodes differently")
	}
	if len(got.References) != 2 || got.References[0] > got.References[1] {
		t.Errorf("references %v", got.References)
	}
	if err := got.Verify(testKey(t, "builder-a.example-1").Public()); err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(testKey(t, "builder-b.example-1").Public()); err == nil {
		t.Error("verified with another builder's key")
	}
	lines := strings.Split(string(b), "\n")
	if lines[0] != Header || !strings.HasPrefix(lines[1], "fingerprint 1;/nix/store/") || !strings.HasPrefix(lines[4], "sig builder-a.example-1:") {
		t.Errorf("encoding:\n%s", b)
	}
}

// TestGoNixAgrees: go-nix, an independent reading of Nix's formats,
// computes the same fingerprint from the narinfo the claim renders, and
// verifies the Sig line with the builder's key.
func TestGoNixAgrees(t *testing.T) {
	c := sample(t)
	ni, err := Narinfo([]*Claim{c}, "nar/x.nar", "none", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	n, err := narinfo.Parse(bytes.NewReader(ni))
	if err != nil {
		t.Fatalf("go-nix does not parse the narinfo: %v\n%s", err, ni)
	}
	if n.Fingerprint() != c.Fingerprint() {
		t.Fatalf("go-nix fingerprint %q, claim %q", n.Fingerprint(), c.Fingerprint())
	}
	pk, err := signature.ParsePublicKey(testKey(t, "builder-a.example-1").Public().String())
	if err != nil {
		t.Fatal(err)
	}
	if !signature.VerifyFirst(n.Fingerprint(), n.Signatures, []signature.PublicKey{pk}) {
		t.Fatal("go-nix does not verify the Sig line")
	}
}

// TestParseErrors: each malformed claim is refused with its line.
func TestParseErrors(t *testing.T) {
	good := string(sample(t).Marshal())
	lines := strings.Split(good, "\n")
	cases := map[string]string{
		"no newline":       strings.TrimSuffix(good, "\n"),
		"header":           strings.Replace(good, "v1", "v2", 1),
		"unsorted refs":    strings.Replace(good, lines[1], swapRefs(lines[1]), 1),
		"leading zero":     strings.Replace(good, ";226560;", ";0226560;", 1),
		"bad hash":         strings.Replace(good, "sha256:", "sha1:", 1),
		"key name":         strings.Replace(good, "builder builder-a.example-1", "builder builder-b.example-1", 1),
		"extra line":       good + "x\n",
		"crlf":             strings.ReplaceAll(good, "\n", "\r\n"),
		"deriver":          strings.Replace(good, ".drv\n", "\n", 1),
		"padding bits":     good[:len(good)-4] + flipLast(good[len(good)-4:len(good)-3]) + "==\n",
		"not a store path": strings.Replace(good, ";/nix/store/", ";/gnu/store/", 1),
	}
	for name, in := range cases {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: accepted\n%s", name, in)
		}
	}
	if _, err := Parse(bytes.Repeat([]byte("x"), MaxSize+1)); err == nil {
		t.Error("oversized claim accepted")
	}
}

func swapRefs(fp string) string {
	i := strings.LastIndex(fp, ";")
	refs := strings.Split(fp[i+1:], ",")
	refs[0], refs[1] = refs[1], refs[0]
	return fp[:i+1] + strings.Join(refs, ",")
}

// flipLast changes the last base64 character of a signature so that only
// its padding bits differ.
func flipLast(c string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.Index(alphabet, c)
	return string(alphabet[i^1])
}

func TestKeys(t *testing.T) {
	if _, err := ParsePublicKey("name:AAAA"); err == nil {
		t.Error("short key accepted")
	}
	sk, pk, err := GenerateKey("cache.example.org-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseSecretKey(sk.String())
	if err != nil || again.Public().String() != pk.String() {
		t.Fatalf("secret key round trip: %v", err)
	}
	if _, _, err := GenerateKey("a:b"); err == nil {
		t.Error("a key name with a colon")
	}
	for _, h := range []string{"sha256:" + strings.Repeat("0", 64), "sha256-" + base64.StdEncoding.EncodeToString(make([]byte, 32))} {
		if n, err := NormalizeNarHash(h); err != nil || n != "sha256:"+strings.Repeat("0", 52) {
			t.Errorf("%s -> %s %v", h, n, err)
		}
	}
}

// FuzzParse: Parse never panics, is bounded in time, and accepts only
// canonical encodings.
func FuzzParse(f *testing.F) {
	f.Add(sample(f).Marshal())
	f.Add([]byte(Header + "\nfingerprint 1;;;;\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzlimit.Default(t, func() {
			c, err := Parse(b)
			if err == nil && !bytes.Equal(c.Marshal(), b) {
				t.Errorf("accepted a non-canonical claim:\n%q\n%q", b, c.Marshal())
			}
		})
	})
}
