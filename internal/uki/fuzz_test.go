package uki

import (
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
	"github.com/nixgate/nixgate/internal/pecoff"
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

var seedArchive = []byte("07070100000001000081A4000000000000000000000001000000000000000600000000000000000000000000000000000000050000000061.txt\x00\x00hello\n\x00\x000707010000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000B00000000TRAILER!!!\x00\x00\x00\x00")

func FuzzReadInitrd(f *testing.F) {
	f.Add(seedArchive)
	f.Add(gz(seedArchive))
	f.Add(append(append(bytes.Clone(seedArchive), 0, 0, 0, 0), gz(seedArchive)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			in, err := ReadInitrd(bytes.NewReader(data), int64(len(data)), func(string) bool { return true })
			if err != nil {
				return
			}
			if len(in.Files) > len(data) {
				t.Fatalf("%d files from %d bytes", len(in.Files), len(data))
			}
		})
	})
}

func FuzzReadKernel(f *testing.F) {
	hdr := make([]byte, 0x600)
	copy(hdr[0x202:], "HdrS")
	hdr[0x206], hdr[0x207] = 0x0f, 0x02
	hdr[0x1f1] = 1
	f.Add(append(hdr, gz([]byte("IKCFG_ST"+string(gz([]byte("CONFIG_A=y\n")))+"IKCFG_ED"))...))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			ReadKernel(bytes.NewReader(data), int64(len(data)), true)
		})
	})
}

func FuzzInspect(f *testing.F) {
	f.Add(pecoff.Minimal(map[string][]byte{".text": {0xc3}, ".cmdline": []byte("init=/bin/bay0"), ".initrd": gz(seedArchive)}, []string{".text", ".cmdline", ".initrd"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			im, err := Parse(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				return
			}
			im.Inspect(InspectOptions{Initrd: true, Kernel: true})
			im.Layout()
		})
	})
}
