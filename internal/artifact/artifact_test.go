package artifact

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func zipWith(t testing.TB, names ...string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("x"))
	}
	zw.Close()
	return buf.Bytes()
}

func pad(b []byte, n int) []byte { return append(b, make([]byte, n)...) }

func TestSniff(t *testing.T) {
	pe := pad([]byte("MZ"), 0x80)
	pe[0x3c] = 0x40
	copy(pe[0x40:], "PE\x00\x00")
	tests := []struct {
		name string
		data []byte
		want Kind
	}{
		{"elf", []byte("\x7fELF\x02\x01\x01"), ELF},
		{"pe", pe, PE},
		{"dos", pad([]byte("MZ\x90\x00\x03"), 64), DOS},
		{"text starting with MZ", []byte("MZ is the magic of DOS executables, and this is a text file about it.\n"), ""},
		{"macho64", []byte("\xcf\xfa\xed\xfe\x07\x00\x00\x01"), MachO},
		{"macho fat", []byte("\xca\xfe\xba\xbe\x00\x00\x00\x02"), MachOFat},
		{"java class", []byte("\xca\xfe\xba\xbe\x00\x00\x00\x41"), JavaClass},
		{"wasm", []byte("\x00asm\x01\x00\x00\x00"), Wasm},
		{"ar", []byte("!<arch>\nfoo.o/          "), Ar},
		{"deb", []byte("!<arch>\ndebian-binary   "), Deb},
		{"rpm", []byte("\xed\xab\xee\xdb\x03\x00"), RPM},
		{"nar", []byte("\x0d\x00\x00\x00\x00\x00\x00\x00nix-archive-1\x00\x00\x00"), NAR},
		{"squashfs", pad([]byte("hsqs"), 96), SquashFS},
		{"qcow2", []byte("QFI\xfb\x00\x00\x00\x03"), QCOW2},
		{"pyc 3.12", pad([]byte("\xcb\x0d\x0d\x0a"), 12), Pyc},
		{"pyc 2.7", pad([]byte("\x03\xf3\x0d\x0a"), 12), Pyc},
		{"jar", zipWith(t, "META-INF/MANIFEST.MF", "a/B.class"), Jar},
		{"wheel", zipWith(t, "pkg/__init__.py", "pkg-1.0.dist-info/WHEEL"), Wheel},
		{"apk", zipWith(t, "AndroidManifest.xml", "classes.dex"), APK},
		{"plain zip", zipWith(t, "README.txt"), ""},
		{"text", []byte("#!/bin/sh\necho hello\n"), ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := tt.data[:min(len(tt.data), HeadSize)]
			if got := Sniff(head, bytes.NewReader(tt.data), int64(len(tt.data))); got != tt.want {
				t.Errorf("Sniff = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCorpusArtifacts: the committed build outputs of the shared corpus
// (../shared/corpus/secrets/artifacts, copied to testdata/corpus).
func TestCorpusArtifacts(t *testing.T) {
	dir := filepath.Join("testdata", "corpus")
	for name, want := range map[string]Kind{"build/hello.o": ELF, "tools/setup.exe": PE} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := Sniff(data, nil, int64(len(data))); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "result"))
	if err != nil {
		t.Fatal(err)
	}
	if !StorePathTarget(string(data)) || !IsResultName("result") {
		t.Errorf("result (%q) is not recognised as a result link", data)
	}
}

func TestResultNames(t *testing.T) {
	for name, want := range map[string]bool{"result": true, "result-dev": true, "result-1-man": true, "results": false, "my-result": false} {
		if IsResultName(name) != want {
			t.Errorf("IsResultName(%q) != %v", name, want)
		}
	}
	for s, want := range map[string]bool{"/nix/store/abc-x\n": true, "/nix/store/abc\nmore": false, "/tmp/x": false} {
		if StorePathTarget(s) != want {
			t.Errorf("StorePathTarget(%q) != %v", s, want)
		}
	}
}

func FuzzSniff(f *testing.F) {
	f.Add([]byte("\x7fELF"))
	f.Add([]byte("MZ\x00\x00"))
	f.Add([]byte("\xca\xfe\xba\xbe\x00\x00\x00\x02"))
	f.Add(zipWith(f, "META-INF/MANIFEST.MF"))
	f.Add([]byte("!<arch>\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		head := data[:min(len(data), HeadSize)]
		k := Sniff(head, bytes.NewReader(data), int64(len(data)))
		if k != "" && !slicesContains(Kinds(), k) {
			t.Fatalf("unknown kind %q", k)
		}
	})
}

func slicesContains(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}
