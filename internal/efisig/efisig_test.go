package efisig

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

const snakeoil = "/usr/share/ovmf/PkKek-1-snakeoil.pem"

// TestEfitools reads lists written by efitools, the reference tools.
func TestEfitools(t *testing.T) {
	dir := t.TempDir()
	esl := filepath.Join(dir, "db.esl")
	owner := "11111111-2222-3333-4444-555555555555"
	if b, err := exec.Command("cert-to-efi-sig-list", "-g", owner, snakeoil, esl).CombinedOutput(); err != nil {
		t.Fatalf("cert-to-efi-sig-list: %v\n%s", err, b)
	}
	data, err := os.ReadFile(esl)
	if err != nil {
		t.Fatal(err)
	}
	lists, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(lists) != 1 || lists[0].Type != CertX509 || len(lists[0].Signatures) != 1 || lists[0].Signatures[0].Owner.String() != owner {
		t.Fatalf("lists %+v", lists)
	}
	if !bytes.Equal(Marshal(lists), data) {
		t.Error("Marshal does not give the same bytes back")
	}
	// A hash list over a file, as hash-to-efi-sig-list writes it for an
	// EFI binary.
	bin := filepath.Join(dir, "x.efi")
	os.WriteFile(bin, []byte("not really"), 0o644)
	hesl := filepath.Join(dir, "dbx.esl")
	out, err := exec.Command("hash-to-efi-sig-list", bin, hesl).CombinedOutput()
	if err != nil {
		// It hashes PE images only; a non-PE input is refused, which
		// makes a plain list by hand instead.
		l := []List{{Type: CertSHA256, Signatures: []Signature{{Owner: lists[0].Signatures[0].Owner, Data: make([]byte, 32)}}}}
		os.WriteFile(hesl, Marshal(l), 0o644)
		t.Logf("hash-to-efi-sig-list: %s", out)
	}
	hd, _ := os.ReadFile(hesl)
	hl, err := Parse(hd)
	if err != nil || len(hl) != 1 || hl[0].Type != CertSHA256 || len(hl[0].Signatures[0].Data) != sha256.Size {
		t.Fatalf("hash list %+v: %v", hl, err)
	}
}

func TestMalformed(t *testing.T) {
	good := Marshal([]List{{Type: CertSHA256, Signatures: []Signature{{Data: make([]byte, 32)}}}})
	for name, data := range map[string][]byte{
		"short":          good[:20],
		"size too big":   append(bytes.Clone(good[:16]), append([]byte{0xff, 0xff, 0, 0}, good[20:]...)...),
		"wrong sig size": append(bytes.Clone(good[:24]), append([]byte{17, 0, 0, 0}, good[28:]...)...),
	} {
		if _, err := Parse(data); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Marshal([]List{{Type: CertSHA256, Signatures: []Signature{{Data: make([]byte, 32)}}}}))
	f.Add(Marshal([]List{{Type: CertX509, Header: []byte{1}, Signatures: []Signature{{Data: []byte("0123")}}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			lists, err := Parse(data)
			if err != nil {
				return
			}
			n := 0
			for _, l := range lists {
				for _, s := range l.Signatures {
					n += 16 + len(s.Data)
				}
			}
			if n > len(data) {
				t.Fatalf("%d bytes of signatures from %d bytes", n, len(data))
			}
		})
	})
}

// TestAuthVariable reads an authenticated variable update (.auth) that
// efitools' sign-efi-sig-list writes around a list.
func TestAuthVariable(t *testing.T) {
	dir := t.TempDir()
	key, crt, esl, auth := filepath.Join(dir, "kek.key"), filepath.Join(dir, "kek.crt"), filepath.Join(dir, "db.esl"), filepath.Join(dir, "db.auth")
	for _, args := range [][]string{
		{"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30", "-subj", "/CN=kek/", "-keyout", key, "-out", crt},
		{"cert-to-efi-sig-list", snakeoil, esl},
		{"sign-efi-sig-list", "-k", key, "-c", crt, "db", esl, auth},
	} {
		if b, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, b)
		}
	}
	data, _ := os.ReadFile(auth)
	plain, _ := os.ReadFile(esl)
	lists, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(Marshal(lists), plain) {
		t.Errorf("the .auth's lists are not the .esl's")
	}
}
