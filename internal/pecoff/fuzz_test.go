package pecoff

import (
	"bytes"
	"crypto"
	_ "crypto/sha256"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

func TestMinimal(t *testing.T) {
	img := Minimal(map[string][]byte{".text": {0xc3}, ".cmdline": []byte("init=/bin/bay0")}, []string{".text", ".cmdline"})
	f, err := Parse(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Sections) != 2 || f.Section(".cmdline").DataSize() != 14 || f.CertDirOffset != 0x58+112+32 {
		t.Fatalf("%+v", f)
	}
	if _, err := f.Hash(crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, []byte("MZ"), img[:0x100], append([]byte("ZM"), img[2:]...)} {
		if _, err := Parse(bytes.NewReader(bad), int64(len(bad))); err == nil {
			t.Errorf("%d bytes parsed", len(bad))
		}
	}
}

// FuzzParse: any input is an image or an error, never a panic, and the
// hash ranges stay inside the file.
func FuzzParse(f *testing.F) {
	f.Add(Minimal(map[string][]byte{".text": {0xc3}, ".cmdline": []byte("init=/bin/bay0")}, []string{".text", ".cmdline"}))
	f.Add(Minimal(map[string][]byte{".linux": bytes.Repeat([]byte{1}, 600)}, []string{".linux"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			img, err := Parse(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				return
			}
			rs, err := img.HashRanges()
			if err == nil {
				for _, r := range rs {
					if r.Start < 0 || r.End > int64(len(data)) || r.Start > r.End {
						t.Fatalf("range [%d, %d) outside %d bytes", r.Start, r.End, len(data))
					}
				}
				img.Hash(crypto.SHA256)
			}
			for i := range img.Sections {
				img.Data(&img.Sections[i])
			}
		})
	})
}
