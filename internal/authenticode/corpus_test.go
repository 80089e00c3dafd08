package authenticode

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	goauth "github.com/foxboron/go-uefi/authenticode"

	"github.com/nixgate/nixgate/internal/pecoff"
	"github.com/nixgate/nixgate/internal/ukifixture"
)

// corpusFile is one file of the signature-transplant corpus.
type corpusFile struct {
	name string
	data []byte
	// goUEFI is what go-uefi's Verify is expected to say: the transplants
	// fool it.
	goUEFI bool
}

// firstSignature returns the DER of the first signature of a signed image.
func firstSignature(t *testing.T, signed []byte) []byte {
	t.Helper()
	tab, err := ReadTable(parseFile(t, signed))
	if err != nil || len(tab.Entries) == 0 {
		t.Fatalf("no signature: %v", err)
	}
	return bytes.TrimRight(tab.Entries[0].Data, "\x00")
}

// transplant moves sig (signed over another image) onto image, replacing
// the SpcIndirectDataContent digest with image's own: the signed
// attributes, and so the signature, are unchanged, but messageDigest no
// longer matches the content.
func transplant(t *testing.T, sig, image []byte, alsoMessageDigest bool) []byte {
	t.Helper()
	sd, err := ParseSignedData(sig)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := AttachDigest(image)
	if err != nil {
		t.Fatal(err)
	}
	der := bytes.Replace(bytes.Clone(sig), sd.Digest, digest, 1)
	if alsoMessageDigest {
		// Rebind messageDigest too: then the signature over the signed
		// attributes breaks instead.
		nsd, err := ParseSignedData(der)
		if err != nil {
			t.Fatal(err)
		}
		h := crypto.SHA256.New()
		h.Write(nsd.ContentOctets)
		der = bytes.Replace(der, sd.Signers[0].MessageDigest, h.Sum(nil), 1)
	}
	out, err := Attach(image, der)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// buildCorpus makes the corpus from the real fixture: controls that every
// verifier accepts or refuses, and transplants of the snakeoil signature
// onto other images.
func buildCorpus(t *testing.T) []corpusFile {
	fx := ukifixture.Get(t)
	signed := mustRead(t, fx.Signed)
	unsigned := mustRead(t, fx.Unsigned)
	sig := firstSignature(t, signed)
	stub := mustRead(t, "/usr/lib/systemd/boot/efi/linuxx64.efi.stub")

	// Another image: the UKI with one .cmdline byte changed
	// (init=/bin/bay0 -> init=/bin/bxy0), and one with init=/bin/sh.
	f := parseFile(t, unsigned)
	cl := f.Section(".cmdline")
	evil := bytes.Clone(unsigned)
	evil[cl.PointerToRawData+11] = 'x'
	shell := bytes.Clone(unsigned)
	copy(shell[cl.PointerToRawData:], []byte("init=/bin/sh   "))
	// An image with data appended after its sections.
	grown := append(bytes.Clone(unsigned), bytes.Repeat([]byte("nixgate"), 100)...)

	return []corpusFile{
		{name: "control-signed.efi", data: signed, goUEFI: true},
		{name: "control-other-key.efi", data: mustRead(t, fx.Other)},
		{name: "control-moved-unchanged.efi", data: mustAttach(t, evil, sig)},
		{name: "transplant-cmdline-byte.efi", data: transplant(t, sig, evil, false), goUEFI: true},
		{name: "transplant-init-sh.efi", data: transplant(t, sig, shell, false), goUEFI: true},
		{name: "transplant-stub.efi", data: transplant(t, sig, stub, false), goUEFI: true},
		{name: "transplant-appended-data.efi", data: transplant(t, sig, grown, false), goUEFI: true},
		{name: "transplant-rebound.efi", data: transplant(t, sig, shell, true)},
	}
}

func mustAttach(t *testing.T, image, der []byte) []byte {
	t.Helper()
	out, err := Attach(image, der)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func goUEFIVerify(data []byte, cert *x509.Certificate) bool {
	bin, err := goauth.Parse(bytes.NewReader(data))
	if err != nil {
		return false
	}
	ok, err := bin.Verify(cert)
	return err == nil && ok
}

func oracle(name string, args ...string) bool {
	return exec.Command(name, args...).Run() == nil
}

// TestTransplantCorpus: on every file nixgate's verdict equals sbverify's
// and osslsigncode's, while go-uefi's Verify accepts the transplants.
func TestTransplantCorpus(t *testing.T) {
	fx := ukifixture.Get(t)
	cert := readCert(t, fx.SnakeoilCert)
	dir := t.TempDir()
	for _, c := range buildCorpus(t) {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			sb := oracle("sbverify", "--cert", fx.SnakeoilCert, path)
			ossl := osslsigncodeVerify(t, fx.SnakeoilCert, path)
			res := verifyBytes(t, c.data, StoreFromCerts(cert), nil)
			ng := res.Verdict == Verified
			gu := goUEFIVerify(c.data, cert)
			t.Logf("sbverify %v, osslsigncode %v, go-uefi %v, nixgate %s (%s)", sb, ossl, gu, res.Verdict, res.Reason)
			if sb != ossl {
				t.Fatalf("the oracles disagree: sbverify %v, osslsigncode %v", sb, ossl)
			}
			if ng != sb {
				t.Errorf("nixgate says %s, the oracles %v", res.Verdict, sb)
			}
			if gu != c.goUEFI {
				t.Errorf("go-uefi says %v, want %v", gu, c.goUEFI)
			}
			if c.goUEFI && !sb {
				// A transplant: nixgate must name the unbound messageDigest.
				if f := res.Signatures[0].Failure(); f == nil || f.Name != StepMessageDigest {
					t.Errorf("transplant not explained by the messageDigest step: %+v", res.Signatures[0].Steps)
				}
			}
		})
	}
}

// TestHashRangesMatchFirmwareLayout cross-checks the image hash against
// sbsign's signed digest (done in TestSignMatchesOracles) and the checksum
// against objcopy's.
func TestChecksum(t *testing.T) {
	fx := ukifixture.Get(t)
	data := mustRead(t, fx.Unsigned)
	f := parseFile(t, data)
	if got := pecoff.Checksum(data, f.ChecksumOffset); got != f.Checksum {
		t.Errorf("checksum %#x, objcopy wrote %#x", got, f.Checksum)
	}
	signed := mustRead(t, fx.Signed)
	g := parseFile(t, signed)
	if got := pecoff.Checksum(signed, g.ChecksumOffset); got != binary.LittleEndian.Uint32(signed[g.ChecksumOffset:]) {
		t.Errorf("checksum %#x, sbsign wrote %#x", got, g.Checksum)
	}
}
