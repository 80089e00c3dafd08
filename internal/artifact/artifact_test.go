package artifact

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
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
		var k Kind
		fuzzlimit.Default(t, func() { k = Sniff(head, bytes.NewReader(data), int64(len(data))) })
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

func narStr(b []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(b)))
	out = append(out, b...)
	return append(out, make([]byte, (8-len(b)%8)%8)...)
}

func narOf(files ...[]byte) []byte {
	out := narStr([]byte("nix-archive-1"))
	out = append(out, narStr([]byte("("))...)
	out = append(out, narStr([]byte("type"))...)
	out = append(out, narStr([]byte("directory"))...)
	for i, f := range files {
		for _, s := range []string{"entry", "(", "name", fmt.Sprint(i), "node", "(", "type", "regular", "contents"} {
			out = append(out, narStr([]byte(s))...)
		}
		out = append(out, narStr(f)...)
		out = append(out, narStr([]byte(")"))...)
		out = append(out, narStr([]byte(")"))...)
	}
	return append(out, narStr([]byte(")"))...)
}

func TestScanNAR(t *testing.T) {
	elf := pad([]byte("\x7fELF\x02\x01\x01"), 57)
	for name, tc := range map[string]struct {
		data  []byte
		files int
		bins  []Kind
	}{
		"text only":    {narOf([]byte("hello\n"), []byte("#!/bin/sh\n")), 2, nil},
		"with an elf":  {narOf([]byte("hello\n"), elf, elf), 3, []Kind{ELF}},
		"truncated":    {narOf(elf)[:70], 0, nil},
		"empty":        {nil, 0, nil},
		"lying length": {append(narStr([]byte("contents")), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), 0, nil},
	} {
		got := ScanNAR(tc.data)
		if got.Files != tc.files || !slices.Equal(got.Binaries, tc.bins) {
			t.Errorf("%s: got %+v, want %d files, binaries %v", name, got, tc.files, tc.bins)
		}
	}
}

func TestBuildArtifactName(t *testing.T) {
	for name, want := range map[string]bool{
		"build/init.o": true, "build/lib/libx.so": true, "build/CMakeCache.txt": true, "build/CMakeFiles/x/y.txt": true,
		"build/static/js/main.3f2a9c1b.js": true, "build/app.min.js": true, "build/x.tar.gz": true, "build/x.js.map": true,
		"build/derivation-goal.cc": false, "build/worker.hh": false, "build/app.js": false, "build/README.md": false, "build/meson.build": false,
	} {
		if got := BuildArtifactName(name) != ""; got != want {
			t.Errorf("BuildArtifactName(%q) = %q, want artifact %v", name, BuildArtifactName(name), want)
		}
	}
	for name, want := range map[string]bool{
		"tests/functional/case.nar": true, "src/libutil-tests/data/nars/dot.nar": true, "pkg/testdata/x": true,
		"src/x.nar": false, "latest/x": false, "contest/x": false, "tests.nar": false,
	} {
		if InTestData(name) != want {
			t.Errorf("InTestData(%q) != %v", name, want)
		}
	}
}

func FuzzScanNAR(f *testing.F) {
	f.Add(narOf([]byte("hello\n"), pad([]byte("\x7fELF"), 60)))
	f.Add(narOf())
	f.Add([]byte("\x0d\x00\x00\x00\x00\x00\x00\x00nix-archive-1\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p NARPayload
		fuzzlimit.Default(t, func() { p = ScanNAR(data) })
		if p.Files < 0 || p.Files > len(data)/8 || len(p.Binaries) > len(Kinds()) {
			t.Errorf("implausible payload %+v for %d bytes", p, len(data))
		}
	})
}
