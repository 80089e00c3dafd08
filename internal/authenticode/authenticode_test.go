package authenticode

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/nixgate/nixgate/internal/efisig"
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
	if !osslsigncodeVerify(t, fx.SnakeoilCert, out) {
		b, _ := exec.Command("osslsigncode", "verify", "-CAfile", fx.SnakeoilCert, "-in", out).CombinedOutput()
		t.Errorf("osslsigncode does not verify nixgate's signature:\n%s", b)
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

func storeFromTool(t *testing.T, args ...string) *Store {
	t.Helper()
	out := filepath.Join(t.TempDir(), "list.esl")
	if b, err := exec.Command(args[0], append(args[1:], out)...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, b)
	}
	lists, err := efisig.Parse(mustRead(t, out))
	if err != nil {
		t.Fatal(err)
	}
	st, err := StoreFromLists(lists)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestDBAndDBX uses signature lists written by efitools: the snakeoil
// certificate as db, and as dbx the image's hash or the certificate.
func TestDBAndDBX(t *testing.T) {
	fx := ukifixture.Get(t)
	signed := mustRead(t, fx.Signed)
	db := storeFromTool(t, "cert-to-efi-sig-list", fx.SnakeoilCert)
	if res := verifyBytes(t, signed, db, nil); res.Verdict != Verified {
		t.Fatalf("db: %s (%s)", res.Verdict, res.Reason)
	}
	byHash := storeFromTool(t, "hash-to-efi-sig-list", fx.Signed)
	if res := verifyBytes(t, signed, db, byHash); res.Verdict != Revoked || !res.RevokedHash {
		t.Errorf("dbx with the image hash: %s (%s)", res.Verdict, res.Reason)
	}
	byCert := storeFromTool(t, "cert-to-efi-sig-list", fx.SnakeoilCert)
	if res := verifyBytes(t, signed, db, byCert); res.Verdict != Revoked {
		t.Errorf("dbx with the certificate: %s (%s)", res.Verdict, res.Reason)
	}
	// The db may allow an unsigned image by its hash. (efitools pads the
	// image to 8 bytes before hashing, as for signing; the firmware hashes
	// an unsigned image as it is, so the two agree on an aligned image.)
	aligned := Pad(mustRead(t, fx.Unsigned))
	ap := filepath.Join(t.TempDir(), "aligned.efi")
	os.WriteFile(ap, aligned, 0o644)
	if res := verifyBytes(t, aligned, storeFromTool(t, "hash-to-efi-sig-list", ap), nil); res.Verdict != Verified || !res.AllowedByHash {
		t.Errorf("db with the unsigned image's hash: %s (%s)", res.Verdict, res.Reason)
	}
	// An x509-sha256 dbx entry (the TBSCertificate's hash) revokes too.
	cert := readCert(t, fx.SnakeoilCert)
	tbs := sha256.Sum256(cert.RawTBSCertificate)
	l := []efisig.List{{Type: efisig.CertX509SHA256, Signatures: []efisig.Signature{{Data: append(tbs[:], make([]byte, 16)...)}}}}
	st, err := StoreFromLists(l)
	if err != nil {
		t.Fatal(err)
	}
	if res := verifyBytes(t, signed, db, st); res.Verdict != Revoked {
		t.Errorf("dbx with the x509-sha256 entry: %s (%s)", res.Verdict, res.Reason)
	}
}
