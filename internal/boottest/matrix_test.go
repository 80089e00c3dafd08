//go:build boot

// The boot matrix: real UKIs booted in QEMU under OVMF's Secure-Boot-
// enforcing snakeoil firmware, each next to nixgate uki verify's verdict on
// the same file. It takes a few seconds to a minute a boot under TCG, so it
// runs in `make test-boot` (go test -tags boot), not in go test ./...

package boottest_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/authenticode"
	"github.com/nixgate/nixgate/internal/cli"
	"github.com/nixgate/nixgate/internal/pecoff"
	"github.com/nixgate/nixgate/internal/ukifixture"
)

const marker = "NIXGATE-BOOT-OK"

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBootMatrix(t *testing.T) {
	fx := ukifixture.Get(t)
	dir := t.TempDir()
	blk, _ := pem.Decode(read(t, fx.SnakeoilCert))
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := authenticode.ParseKey(read(t, fx.SnakeoilKey))
	if err != nil {
		t.Fatal(err)
	}
	ngSigned, err := authenticode.Sign(read(t, fx.Unsigned), key, cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A transplant: sbsign's signature moved onto the image with
	// init=/bin/sh, its SpcIndirectDataContent digest rewritten (go-uefi's
	// Verify accepts this one).
	unsigned := read(t, fx.Unsigned)
	f, _ := pecoff.Parse(bytes.NewReader(unsigned), int64(len(unsigned)))
	shell := bytes.Clone(unsigned)
	copy(shell[f.Section(".cmdline").PointerToRawData:], "init=/bin/sh rdinit=/bin/sh ")
	signed := read(t, fx.Signed)
	sf, _ := pecoff.Parse(bytes.NewReader(signed), int64(len(signed)))
	tab, _ := authenticode.ReadTable(sf)
	der := bytes.TrimRight(bytes.Clone(tab.Entries[0].Data), "\x00")
	sd, _ := authenticode.ParseSignedData(der)
	digest, _ := authenticode.AttachDigest(shell)
	transplant, err := authenticode.Attach(shell, bytes.Replace(der, sd.Digest, digest, 1))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"nixgate-signed.efi": ngSigned, "transplant.efi": transplant}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, file, firmware string
		verify               int // nixgate uki verify's exit code
		boot                 string
	}{
		{"signed with the snakeoil key", fx.Signed, "secure", 0, "BOOTED"},
		{"signed by nixgate uki sign", filepath.Join(dir, "nixgate-signed.efi"), "secure", 0, "BOOTED"},
		{"unsigned", fx.Unsigned, "secure", 1, "REFUSED"},
		{"signed by another key", fx.Other, "secure", 1, "REFUSED"},
		{"transplanted signature", filepath.Join(dir, "transplant.efi"), "secure", 1, "REFUSED"},
		{"unsigned without Secure Boot", fx.Unsigned, "plain", -1, "BOOTED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.verify >= 0 {
				code, out, _ := run("uki", "verify", tc.file, "--cert", fx.SnakeoilCert)
				if code != tc.verify {
					t.Errorf("uki verify exited %d, want %d:\n%s", code, tc.verify, out)
				}
				t.Logf("uki verify: exit %d, %s", code, strings.SplitN(out, "\n", 2)[0])
			}
			code, out, errs := run("uki", "boot-test", tc.file, "--firmware", tc.firmware, "--expect", marker, "--timeout", "240s")
			t.Logf("uki boot-test: exit %d\n%s", code, out)
			if !strings.HasPrefix(out, tc.boot+":") {
				t.Fatalf("boot verdict %q, want %s\n%s", strings.SplitN(out, "\n", 2)[0], tc.boot, errs)
			}
			if want := map[bool]int{true: 0, false: 1}[tc.boot == "BOOTED"]; code != want {
				t.Errorf("uki boot-test exited %d, want %d", code, want)
			}
			// nixgate's verdict and the firmware's agree.
			if tc.verify >= 0 && (tc.verify == 0) != (tc.boot == "BOOTED") {
				t.Errorf("nixgate verify and the firmware disagree")
			}
		})
	}
}
