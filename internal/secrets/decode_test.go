package secrets

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

// TestDecoding: a secret written base64, hex or percent-encoded (and
// nested) inside any file is found, reported at the encoded span's line
// and column with the layers named; depth 0 turns decoding off and the
// depth bound is kept.
func TestDecoding(t *testing.T) {
	g := newGen(11)
	tok := g.render(t, "{gh:ghp}")
	key := g.render(t, "{nixkey:cache.example.org-1}")
	b64 := base64.StdEncoding.EncodeToString
	cases := []struct {
		name, content string
		line, col     int
		rule, note    string
	}{
		{"base64 in YAML", "ci:\n  blob: " + b64([]byte("ci-bot:"+tok)) + "\n", 2, 9, "github-pat", "base64-decoded"},
		{"base64 URL alphabet", "X=" + base64.RawURLEncoding.EncodeToString([]byte("token "+tok+"??>>")) + "\n", 1, 3, "github-pat", "base64-decoded"},
		{"hex", "blob = \"" + hex.EncodeToString([]byte("export T="+tok)) + "\"\n", 1, 9, "github-pat", "hex-decoded"},
		{"percent", "u=https://x.example.org/?k=" + url.QueryEscape("sig "+key+" end") + "\n", 1, 1, "nix-signing-key", "percent-decoded"},
		{"nested", "# x\nV: " + b64([]byte("inner: "+b64([]byte("T="+tok)))) + "\n", 2, 4, "github-pat", "base64-decoded; base64-decoded"},
		{"wrapped base64 block", "key: |\n" + wrap(b64([]byte(g.render(t, "{pem:RSA PRIVATE KEY}"))), "  "), 2, 3, "private-key", "base64-decoded"},
	}
	rs := defaultRuleset(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hit *Finding
			for _, f := range scanString(t, rs, "f.txt", c.content) {
				if f.RuleID == c.rule {
					hit = &f
				}
			}
			if hit == nil {
				t.Fatalf("%s not found in %q", c.rule, c.content)
			}
			if hit.Line != c.line || hit.Column != c.col || !strings.HasPrefix(hit.Note, c.note) {
				t.Errorf("at %d:%d note %q, want %d:%d %q", hit.Line, hit.Column, hit.Note, c.line, c.col, c.note)
			}
		})
	}
	// Depth: three layers are found by default, four are not; 0 is off.
	s := "T=" + tok
	for i := 0; i < 4; i++ {
		s = "v " + b64([]byte(s))
	}
	if fs := scanString(t, rs, "f.txt", s); len(fs) != 0 {
		t.Errorf("four layers: %v", ids(fs))
	}
	off := defaultRuleset(t)
	off.MaxDecodeDepth = 0
	if fs := scanString(t, off, "f.txt", cases[0].content); len(fs) != 0 {
		t.Errorf("decoding off: %v", ids(fs))
	}
	// The shared default set: a copy turns decoding off, the set stays as
	// it was for every other caller.
	shared, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := Default(); again != shared {
		t.Error("Default compiled the rules twice")
	}
	if fs := scanString(t, shared.WithDecodeDepth(0), "f.txt", cases[0].content); len(fs) != 0 {
		t.Errorf("shared, decoding off: %v", ids(fs))
	}
	if shared.MaxDecodeDepth != DefaultDecodeDepth || len(scanString(t, shared, "f.txt", cases[0].content)) == 0 {
		t.Errorf("WithDecodeDepth changed the shared set (depth %d)", shared.MaxDecodeDepth)
	}
	// Binary behind base64 (ciphertext, images) is not text: nothing.
	if fs := scanString(t, rs, "f.txt", "data: "+b64(g.bytes(300))+"\n"); len(fs) != 0 {
		t.Errorf("binary: %v", ids(fs))
	}
}

func wrap(s, indent string) string {
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(indent + s[:64] + "\n")
		s = s[64:]
	}
	b.WriteString(indent + s + "\n")
	return b.String()
}

// TestContinuation: a match that spans a shell line continuation is found
// and reported at the secret's line.
func TestContinuation(t *testing.T) {
	g := newGen(12)
	rs := defaultRuleset(t)
	tok := g.render(t, "{an:40}")
	content := "#!/bin/sh\ncurl -X POST https://api.example.org/v1 \\\n  -H \"Authorization: Bearer \\\n" + tok + "\" \\\n  -d @body.json\n"
	var got []string
	for _, f := range scanString(t, rs, "deploy.sh", content) {
		got = append(got, f.RuleID)
		if f.RuleID == "authorization-header" && (f.Line != 4 || f.Column != 1) {
			t.Errorf("at %d:%d, want 4:1", f.Line, f.Column)
		}
	}
	if len(got) != 1 || got[0] != "authorization-header" {
		t.Errorf("findings %v, want one authorization-header", got)
	}
}

// TestFingerprint: a finding's identity is derived from its rule and where
// it is written, never from the secret: it cannot confirm a guess, it does
// not change when lines shift, and two keys on identical lines differ.
func TestFingerprint(t *testing.T) {
	rs := defaultRuleset(t)
	one := func(content string) Finding {
		t.Helper()
		fs := scanString(t, rs, "db.env", content)
		if len(fs) != 1 {
			t.Fatalf("findings %v in %q", ids(fs), content)
		}
		return fs[0]
	}
	a := one("DATABASE_URL=postgres://app:hunter22@db/app\n")
	b := one("DATABASE_URL=postgres://app:Tr0ub4dor3@db/app\n")
	if a.Key() != b.Key() {
		t.Errorf("the key depends on the secret: %s vs %s", a.Key(), b.Key())
	}
	if strings.Contains(a.Message(), "hunter22") || strings.Contains(a.Message(), "hu") || strings.Contains(a.Key(), Sha256Hex("hunter22")[:8]) {
		t.Errorf("message or key reveals the secret: %s %s", a.Message(), a.Key())
	}
	shifted := one("# a new first line\n\nDATABASE_URL=postgres://app:hunter22@db/app\n")
	if shifted.Key() != a.Key() || shifted.Line == a.Line {
		t.Errorf("a line shift changed the key")
	}
	moved := one("OTHER=1\nDB=postgres://app:hunter22@db/app\n")
	if moved.Key() == a.Key() {
		t.Errorf("a different line kept the key")
	}
	g := newGen(13)
	two := scanString(t, rs, "keys.txt", g.render(t, "{nixkey:c-1}\n{nixkey:c-1}\n"))
	if len(two) != 2 || two[0].Key() == two[1].Key() {
		t.Errorf("two keys on identical lines: %v", two)
	}
}

// Sha256Hex is the hex SHA-256 of s (what an unsalted fingerprint of the
// secret would print).
func Sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
