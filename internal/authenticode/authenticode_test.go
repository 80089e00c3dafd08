package authenticode

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nixgate/nixgate/internal/pecoff"
	"github.com/nixgate/nixgate/internal/ukifixture"
)

func readCert(t testing.TB, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func parseFile(t testing.TB, data []byte) *pecoff.File {
	t.Helper()
	f, err := pecoff.Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func verifyBytes(t testing.TB, data []byte, db, dbx *Store) *Result {
	t.Helper()
	res, err := Verify(parseFile(t, data), db, dbx)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyFixture checks the three verdicts of the boot matrix on real
// images signed by sbsign.
func TestVerifyFixture(t *testing.T) {
	fx := ukifixture.Get(t)
	db := StoreFromCerts(readCert(t, fx.SnakeoilCert))
	for _, tc := range []struct {
		file string
		want Verdict
	}{
		{fx.Signed, Verified},
		{fx.Other, Untrusted},
		{fx.Unsigned, Unsigned},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			res := verifyBytes(t, mustRead(t, tc.file), db, nil)
			if res.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s", res.Verdict, res.Reason, tc.want)
			}
		})
	}
}

// TestSignMatchesOracles signs the unsigned fixture with nixgate and has
// sbverify and osslsigncode verify the result.
func TestSignMatchesOracles(t *testing.T) {
	fx := ukifixture.Get(t)
	key, err := ParseKey(mustRead(t, fx.SnakeoilKey))
	if err != nil {
		t.Fatal(err)
	}
	cert := readCert(t, fx.SnakeoilCert)
	unsigned := mustRead(t, fx.Unsigned)
	signed, err := Sign(unsigned, key, cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Sign(unsigned, key, cert, nil)
	if err != nil || !bytes.Equal(signed, again) {
		t.Errorf("signing is not deterministic (err %v)", err)
	}
	out := filepath.Join(t.TempDir(), "nixgate-signed.efi")
	if err := os.WriteFile(out, signed, 0o644); err != nil {
		t.Fatal(err)
	}
	if res := verifyBytes(t, signed, StoreFromCerts(cert), nil); res.Verdict != Verified {
		t.Fatalf("nixgate verdict %s: %s", res.Verdict, res.Reason)
	}
	if b, err := exec.Command("sbverify", "--cert", fx.SnakeoilCert, out).CombinedOutput(); err != nil {
		t.Errorf("sbverify: %v\n%s", err, b)
	}
	if b, err := exec.Command("osslsigncode", "verify", "-CAfile", fx.SnakeoilCert, "-in", out).CombinedOutput(); err != nil {
		t.Errorf("osslsigncode: %v\n%s", err, b)
	}
	// The same digest as sbsign's signature of the same image.
	sb := verifyBytes(t, mustRead(t, fx.Signed), StoreFromCerts(cert), nil)
	ng := verifyBytes(t, signed, StoreFromCerts(cert), nil)
	if sb.Signatures[0].ClaimedDigest != ng.Signatures[0].ClaimedDigest {
		t.Errorf("nixgate signed digest %s, sbsign %s", ng.Signatures[0].ClaimedDigest, sb.Signatures[0].ClaimedDigest)
	}
	// Appending a second signature keeps the first.
	other, err := ParseKey(mustRead(t, fx.OtherKey))
	if err != nil {
		t.Fatal(err)
	}
	two, err := Sign(signed, other, readCert(t, fx.OtherCert), nil)
	if err != nil {
		t.Fatal(err)
	}
	res := verifyBytes(t, two, StoreFromCerts(readCert(t, fx.OtherCert)), nil)
	if len(res.Signatures) != 2 || !res.Signatures[0].Good || !res.Signatures[1].Trusted || res.Verdict != Verified {
		t.Fatalf("two signatures: %+v", res)
	}
}
