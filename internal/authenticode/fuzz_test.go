package authenticode

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
	"github.com/nixgate/nixgate/internal/pecoff"
)

// testSigned signs a minimal PE with a fresh ECDSA key: a seed that needs
// nothing outside the test.
func testSigned(tb testing.TB) ([]byte, *x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "fuzz"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	img := pecoff.Minimal(map[string][]byte{".text": {0xc3}, ".cmdline": []byte("init=/bin/bay0")}, []string{".text", ".cmdline"})
	signed, err := Sign(img, key, cert, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return signed, cert
}

func TestECDSASignature(t *testing.T) {
	signed, cert := testSigned(t)
	if res := verifyBytes(t, signed, StoreFromCerts(cert), nil); res.Verdict != Verified {
		t.Fatalf("%s: %s", res.Verdict, res.Reason)
	}
}

// FuzzVerify: any image is verified or refused with a reason, never a
// panic.
func FuzzVerify(f *testing.F) {
	signed, cert := testSigned(f)
	f.Add(signed)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			img, err := pecoff.Parse(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				return
			}
			res, err := Verify(img, StoreFromCerts(cert), StoreFromCerts(cert))
			if err == nil && res.Verdict == "" {
				t.Fatal("no verdict")
			}
		})
	})
}

// FuzzParseSignedData: any DER is a SignedData or an error.
func FuzzParseSignedData(f *testing.F) {
	signed, _ := testSigned(f)
	img, _ := pecoff.Parse(bytes.NewReader(signed), int64(len(signed)))
	tab, _ := ReadTable(img)
	f.Add(tab.Entries[0].Data)
	f.Fuzz(func(t *testing.T, der []byte) {
		fuzzlimit.Default(t, func() {
			ParseSignedData(der)
		})
	})
}
