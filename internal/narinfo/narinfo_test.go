package narinfo

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// A narinfo as `nix copy` writes it (with two signatures added by the
// test below).
const good = `StorePath: /nix/store/l3yvwmcpagzxqr78ap43h10z71p5mcnj-app
URL: nar/1wc96r293mksyi509kwbhr6wcz74q84y5jv477i9lf8sv2nbzvkx.nar.xz
Compression: xz
FileHash: sha256:1wc96r293mksyi509kwbhr6wcz74q84y5jv477i9lf8sv2nbzvkx
FileSize: 212
NarHash: sha256:1qwr1fahd2v11d2ic3ymqn9c46zaqq82apxvc2g3fdhwsc2nsarv
NarSize: 328
References: bllblxinz646ma22ys58p4q8izvf6s55-lib l3yvwmcpagzxqr78ap43h10z71p5mcnj-app
Deriver: 1fzvpsp1jzpwqvwwlpmm65f6chxcyic3-app.drv
`

func TestParseGood(t *testing.T) {
	n, err := Parse([]byte(good), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n.StorePath != "/nix/store/l3yvwmcpagzxqr78ap43h10z71p5mcnj-app" || n.NarSize != 328 || n.FileSize != 212 || n.Compression != "xz" || len(n.References) != 2 {
		t.Errorf("parsed %+v", n)
	}
	want := "1;/nix/store/l3yvwmcpagzxqr78ap43h10z71p5mcnj-app;sha256:1qwr1fahd2v11d2ic3ymqn9c46zaqq82apxvc2g3fdhwsc2nsarv;328;/nix/store/bllblxinz646ma22ys58p4q8izvf6s55-lib,/nix/store/l3yvwmcpagzxqr78ap43h10z71p5mcnj-app"
	if got := n.Fingerprint(""); got != want {
		t.Errorf("fingerprint\n got %s\nwant %s", got, want)
	}
	// References are sorted in the fingerprint whatever the file's order.
	swapped := strings.Replace(good, "bllblxinz646ma22ys58p4q8izvf6s55-lib l3yvwmcpagzxqr78ap43h10z71p5mcnj-app", "l3yvwmcpagzxqr78ap43h10z71p5mcnj-app bllblxinz646ma22ys58p4q8izvf6s55-lib", 1)
	n2, err := Parse([]byte(swapped), Options{})
	if err != nil || n2.Fingerprint("") != want {
		t.Errorf("unsorted references: %v, %s", err, n2.Fingerprint(""))
	}
	// No Compression line means bzip2, as Nix reads old caches; SRI and
	// base16 hashes are read too.
	old := strings.Replace(good, "Compression: xz\n", "", 1)
	old = strings.Replace(old, "NarHash: sha256:1qwr1fahd2v11d2ic3ymqn9c46zaqq82apxvc2g3fdhwsc2nsarv", "NarHash: "+n.NarHash.SRIForTest(), 1)
	n3, err := Parse([]byte(old), Options{})
	if err != nil || n3.Compression != "bzip2" || n3.Fingerprint("") != want {
		t.Errorf("old narinfo: %v %+v", err, n3)
	}
}

// SRIForTest is the hash in SRI form.
func (h Hash) SRIForTest() string { return h.Algo + "-" + base64.StdEncoding.EncodeToString(h.Digest) }

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name, edit, want string
		line, col        int
	}{
		{"duplicate StorePath", good + "StorePath: /nix/store/l3yvwmcpagzxqr78ap43h10z71p5mcnj-app\n", "StorePath given twice (first at line 1)", 10, 1},
		{"duplicate NarHash", good + "NarHash: sha256:1qwr1fahd2v11d2ic3ymqn9c46zaqq82apxvc2g3fdhwsc2nsarv\n", "NarHash given twice", 10, 1},
		{"unknown key", good + "Foo: bar\n", `unknown key "Foo"`, 10, 1},
		{"no separator", good + "Sig:abc\n", `the key must be followed by ": "`, 10, 4},
		{"no colon", good + "garbage\n", "not a `Key: Value` line", 10, 1},
		{"empty line", good + "\n", "empty line", 10, 1},
		{"no newline", strings.TrimSuffix(good, "\n"), "no newline", 9, 50},
		{"crlf", strings.Replace(good, "\n", "\r\n", 1), "control character", 1, 59},
		{"escape", strings.Replace(good, "System", "System", 1) + "System: x86\x1b[2J\n", "control character", 10, 12},
		{"bad store path", strings.Replace(good, "/nix/store/l3yv", "/nix/store/L3yv", 1), "not nixbase32", 1, 12},
		{"other store", strings.Replace(good, "/nix/store/l3yv", "/gnu/store/l3yv", 1), "is not in the store /nix/store", 1, 12},
		{"bad hash", strings.Replace(good, "NarHash: sha256:1", "NarHash: sha256:e", 1), "NarHash", 6, 10},
		{"md5 nar hash", strings.Replace(good, "NarHash: sha256:1qwr1fahd2v11d2ic3ymqn9c46zaqq82apxvc2g3fdhwsc2nsarv", "NarHash: sha512:"+strings.Repeat("0", 128), 1), "a NAR hash is sha256", 6, 10},
		{"negative size", strings.Replace(good, "NarSize: 328", "NarSize: -328", 1), "not a decimal size", 7, 10},
		{"leading zero", strings.Replace(good, "NarSize: 328", "NarSize: 0328", 1), "not a decimal size", 7, 10},
		{"zero size", strings.Replace(good, "NarSize: 328", "NarSize: 0", 1), "NarSize: zero", 7, 10},
		{"trailing space", strings.Replace(good, "URL: nar/", "URL:  nar/", 1), "leading or trailing space", 2, 6},
		{"double space refs", strings.Replace(good, "-lib l3", "-lib  l3", 1), "reference", 8, 13},
		{"duplicate ref", strings.Replace(good, "l3yvwmcpagzxqr78ap43h10z71p5mcnj-app\nDeriver", "bllblxinz646ma22ys58p4q8izvf6s55-lib\nDeriver", 1), "listed twice", 8, 13},
		{"bad ref", strings.Replace(good, "-lib l3", "-lib ../../etc", 1), "reference", 8, 13},
		{"no NarHash", strings.Replace(good, "NarHash: sha256:1qwr1fahd2v11d2ic3ymqn9c46zaqq82apxvc2g3fdhwsc2nsarv\n", "", 1), "no NarHash line", 9, 1},
		{"no URL", strings.Replace(good, "URL: nar/1wc96r293mksyi509kwbhr6wcz74q84y5jv477i9lf8sv2nbzvkx.nar.xz\n", "", 1), "no URL line", 9, 1},
		{"none with other hash", strings.Replace(good, "Compression: xz", "Compression: none", 1), "Compression is none", 4, 1},
		{"name with slash", strings.Replace(good, "-app\n", "-a/p\n", 1), "is not in the store", 1, 12},
		{"deriver not drv", strings.Replace(good, "-app.drv", "-app", 1), "not a .drv", 9, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.edit), Options{})
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a SyntaxError", err)
			}
			if !strings.Contains(se.Msg, c.want) || se.Line != c.line || se.Col != c.col {
				t.Errorf("got %d:%d: %s; want %d:%d: …%s…", se.Line, se.Col, se.Msg, c.line, c.col, c.want)
			}
		})
	}
}

func TestSignatures(t *testing.T) {
	n, err := Parse([]byte(good), Options{})
	if err != nil {
		t.Fatal(err)
	}
	fp := []byte(n.Fingerprint(""))
	type kp struct {
		pub  PublicKey
		priv ed25519.PrivateKey
	}
	mk := func(name string, seed byte) kp {
		s := make([]byte, 32)
		s[0] = seed
		priv := ed25519.NewKeyFromSeed(s)
		return kp{PublicKey{name, priv.Public().(ed25519.PublicKey)}, priv}
	}
	a, b, c := mk("a-1", 1), mk("b-1", 2), mk("c-1", 3)
	sig := func(k kp) string {
		return Signature{KeyName: k.pub.Name, Data: ed25519.Sign(k.priv, fp)}.String()
	}
	keys, err := NewKeys([]PublicKey{a.pub, b.pub})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewKeys([]PublicKey{a.pub, {Name: "a-1", Key: b.pub.Key}}); err == nil {
		t.Error("two different keys with one name accepted")
	}
	withSigs := func(sigs ...string) *NarInfo {
		text := good
		for _, s := range sigs {
			text += "Sig: " + s + "\n"
		}
		n, err := Parse([]byte(text), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	forgedB := Signature{KeyName: "b-1", Data: ed25519.Sign(c.priv, fp)}.String()
	respelled := strings.TrimSuffix(sig(a), "==")
	for _, tc := range []struct {
		name   string
		sigs   []string
		valid  []string
		status []string
	}{
		{"two keys", []string{sig(a), sig(b)}, []string{"a-1", "b-1"}, []string{SigValid, SigValid}},
		{"duplicate line", []string{sig(a), sig(a)}, []string{"a-1"}, []string{SigValid, SigDuplicate}},
		{"untrusted", []string{sig(a), sig(c)}, []string{"a-1"}, []string{SigValid, SigUntrusted}},
		{"forged", []string{sig(a), forgedB}, []string{"a-1"}, []string{SigValid, SigForged}},
		{"respelled", []string{sig(a), respelled}, []string{"a-1"}, []string{SigValid, SigForged}},
		{"malformed untrusted", []string{"zz:notbase64"}, []string{}, []string{SigMalformed}},
		{"malformed trusted", []string{"b-1:!!"}, []string{}, []string{SigForged}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := keys.Check(withSigs(tc.sigs...), "")
			if d := cmp.Diff(tc.valid, s.Valid); d != "" {
				t.Errorf("valid (-want +got):\n%s", d)
			}
			var got []string
			for _, c := range s.Sigs {
				got = append(got, c.Status)
			}
			if d := cmp.Diff(tc.status, got); d != "" {
				t.Errorf("statuses (-want +got):\n%s", d)
			}
		})
	}
	// A key or signature is accepted in its canonical spelling only.
	if _, err := ParsePublicKey(a.pub.String()); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", ":" + base64.StdEncoding.EncodeToString(a.pub.Key), "a-1", "a b:" + base64.StdEncoding.EncodeToString(a.pub.Key), strings.TrimSuffix(a.pub.String(), "=")} {
		if _, err := ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(good + "Sig: a-1:" + strings.Repeat("A", 86) + "==\n"))
	f.Add([]byte("StorePath: /nix/store/x\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzlimit.Default(t, func() {
			start := time.Now()
			n, err := Parse(b, Options{})
			if err == nil {
				_ = n.Fingerprint("")
				keys, _ := NewKeys(nil)
				keys.Check(n, "")
				if n.StorePath == "" || n.NarSize == 0 || n.URL == "" {
					t.Fatalf("accepted without required fields: %+v", n)
				}
			} else {
				var se *SyntaxError
				if !errors.As(err, &se) || se.Line < 1 || se.Col < 1 {
					t.Fatalf("error without a position: %v", err)
				}
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("%d bytes took %v", len(b), d)
			}
		})
	})
}
