package uki

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/nixgate/nixgate/internal/pecoff"
	"github.com/nixgate/nixgate/internal/ukifixture"
)

// newc makes a cpio archive of a small tree with the real cpio.
func newc(t *testing.T, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("sh", "-c", "find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// compress runs a real compressor the way initramfs tools call it.
func compress(t *testing.T, kind string, data []byte) []byte {
	t.Helper()
	args := map[string][]string{
		Gzip: {"gzip", "-n", "-9"}, XZ: {"xz", "--check=crc32", "--lzma2=dict=1MiB"}, Zstd: {"zstd", "-q", "-19"},
		LZ4: {"lz4", "-l", "-q"}, Bzip2: {"bzip2", "-9"}, LZMA: {"lzma", "-9"},
	}[kind]
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", args[0], err)
	}
	return out
}

func paths(in *Initrd) []string {
	var out []string
	for _, f := range in.Files {
		out = append(out, f.Path)
	}
	return out
}

func TestInitrdCompressions(t *testing.T) {
	arch := newc(t, map[string]string{"init": "#!/bin/sh\n", "etc/anchor/rooms/clock.toml": "name = \"clock\"\n"})
	want := []string{"etc", "etc/anchor", "etc/anchor/rooms", "etc/anchor/rooms/clock.toml", "init"}
	for _, kind := range []string{None, Gzip, XZ, Zstd, LZ4, Bzip2, LZMA} {
		t.Run(kind, func(t *testing.T) {
			data := arch
			if kind != None {
				data = compress(t, kind, arch)
			}
			in, err := ReadInitrd(bytes.NewReader(data), int64(len(data)), func(p string) bool { return strings.HasSuffix(p, ".toml") })
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Problems) > 0 || !slices.Equal(paths(in), want) || in.Segments[0].Compression != kind {
				t.Fatalf("files %q, segments %+v, problems %q", paths(in), in.Segments, in.Problems)
			}
			if string(in.Contents["etc/anchor/rooms/clock.toml"]) != "name = \"clock\"\n" {
				t.Errorf("contents %q", in.Contents)
			}
		})
	}
}

// TestInitrdConcatenated: an uncompressed early archive (microcode),
// padding, then a gzip one and a zstd one, as dracut and mkinitcpio lay
// them out; a later archive replaces a path.
func TestInitrdConcatenated(t *testing.T) {
	early := newc(t, map[string]string{"kernel/x86/microcode/GenuineIntel.bin": "ucode"})
	main1 := compress(t, Gzip, newc(t, map[string]string{"init": "one"}))
	main2 := compress(t, Zstd, newc(t, map[string]string{"init": "two", "etc/x.toml": "a = 1\n"}))
	data := slices.Concat(early, make([]byte, 512), main1, make([]byte, 3), main2)
	in, err := ReadInitrd(bytes.NewReader(data), int64(len(data)), func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	var comps []string
	for _, s := range in.Segments {
		comps = append(comps, s.Compression)
	}
	if !slices.Equal(comps, []string{None, Gzip, Zstd}) {
		t.Fatalf("segments %+v, problems %q", in.Segments, in.Problems)
	}
	if string(in.Contents["init"]) != "two" {
		t.Errorf("init is %q, want the last archive's", in.Contents["init"])
	}
	if !slices.ContainsFunc(in.Problems, func(p string) bool { return strings.Contains(p, "init in segment 3 replaces the one in segment 2") }) {
		t.Errorf("problems %q", in.Problems)
	}
}

func TestInitrdGarbage(t *testing.T) {
	data := append(newc(t, map[string]string{"init": "x"}), "garbage that is no archive"...)
	in, _ := ReadInitrd(bytes.NewReader(data), int64(len(data)), nil)
	if len(in.Problems) != 1 || !strings.Contains(in.Problems[0], "neither a cpio archive nor a known compression") {
		t.Errorf("problems %q", in.Problems)
	}
}

// bzImage builds a kernel image around payload with the real setup header
// of the fixture's Debian kernel (setup sectors, protocol, version string).
func bzImage(t *testing.T, payload []byte) []byte {
	t.Helper()
	k, err := os.ReadFile(ukifixture.Get(t).Kernel)
	if err != nil {
		t.Fatal(err)
	}
	setup := (int(k[0x1f1]) + 1) * 512
	out := bytes.Clone(k[:setup])
	binary.LittleEndian.PutUint32(out[0x248:], 0)
	sized := binary.LittleEndian.AppendUint32(bytes.Clone(payload), 12345)
	binary.LittleEndian.PutUint32(out[0x24c:], uint32(len(sized)))
	return append(out, sized...)
}

// TestKernelConfig finds IKCONFIG in payloads made by the real
// compressors. Debian's kernels are built without IKCONFIG, so the
// payload here is a stand-in vmlinux holding the markers and a gzipped
// configuration, as the kernel build embeds them.
func TestKernelConfig(t *testing.T) {
	cfg := "# Linux/x86 6.1.0 Kernel Configuration\nCONFIG_MODULES=y\n# CONFIG_IKCONFIG_PROC is not set\n"
	vmlinux := slices.Concat([]byte("\x7fELF"), make([]byte, 1000), []byte("IKCFG_ST"), compress(t, Gzip, []byte(cfg)), []byte("IKCFG_ED"), make([]byte, 100))
	for _, kind := range []string{Gzip, XZ, Zstd, LZ4, Bzip2, LZMA} {
		t.Run(kind, func(t *testing.T) {
			img := bzImage(t, compress(t, kind, vmlinux))
			k := ReadKernel(bytes.NewReader(img), int64(len(img)), true)
			if !k.HasConfig || string(k.Config) != cfg || k.Compression != kind || k.Format != "bzImage" {
				t.Fatalf("%+v", k)
			}
			if !strings.HasPrefix(k.Version, "6.1.0-") {
				t.Errorf("version %q", k.Version)
			}
		})
	}
	// The real kernel: LZ4 payload, decompressed to an ELF, no IKCONFIG.
	fx := ukifixture.Get(t)
	data, _ := os.ReadFile(fx.Kernel)
	k := ReadKernel(bytes.NewReader(data), int64(len(data)), true)
	if k.HasConfig || k.Problem != "" || k.UncompressedSize < 10<<20 || k.Compression != LZ4 {
		t.Errorf("Debian kernel: %+v", k)
	}
}

func TestInspectFixture(t *testing.T) {
	fx := ukifixture.Get(t)
	im, err := Open(fx.Signed)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	ins, err := im.Inspect(InspectOptions{Initrd: true, Kernel: true})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]SectionInfo{}
	for _, s := range ins.Sections {
		byName[s.Name] = s
	}
	cmdline, _ := os.ReadFile(fx.Cmdline)
	if byName[".cmdline"].Text != string(cmdline) || !strings.HasPrefix(byName[".sbat"].Text, "sbat,1,") {
		t.Errorf("texts: %q %q", byName[".cmdline"].Text, byName[".sbat"].Text)
	}
	// Section hashes equal the files objcopy embedded.
	for name, file := range map[string]string{".linux": fx.Kernel, ".initrd": fx.Initrd} {
		out, _ := exec.Command("sha256sum", file).Output()
		if got := byName[name].SHA256; !strings.HasPrefix(string(out), got) || got == "" {
			t.Errorf("%s sha256 %s, sha256sum %s", name, got, out)
		}
	}
	if ins.Signatures != 1 || len(ins.Problems) != 0 || ins.Kernel.Format != "bzImage" {
		t.Errorf("signatures %d, problems %q, kernel %+v", ins.Signatures, ins.Problems, ins.Kernel)
	}
	if !slices.Contains(paths(ins.Initrd), "bin/bay0") {
		t.Errorf("initrd %q", paths(ins.Initrd))
	}
}

// TestLanzaboote builds a thin stub like lzbt's (paths in .linux and
// .initrd, hashes in .linuxh and .initrdh) and checks it against an ESP.
func TestLanzaboote(t *testing.T) {
	esp := t.TempDir()
	os.MkdirAll(filepath.Join(esp, "EFI", "nixos"), 0o755)
	os.WriteFile(filepath.Join(esp, "EFI", "nixos", "kernel.efi"), []byte("kernel"), 0o644)
	os.WriteFile(filepath.Join(esp, "EFI", "nixos", "initrd.efi"), []byte("initrd"), 0o644)
	h := func(s string) []byte {
		sum := sha256.Sum256([]byte(s))
		return sum[:]
	}
	img := pecoff.Minimal(map[string][]byte{
		".text": {0xc3}, ".linux": []byte(`\EFI\nixos\kernel.efi`), ".initrd": []byte(`\EFI\nixos\initrd.efi`),
		".linuxh": h("kernel"), ".initrdh": h("tampered"), ".cmdline": []byte("init=/bin/bay0"),
	}, []string{".text", ".cmdline", ".initrd", ".linux", ".initrdh", ".linuxh"})
	im, err := Parse(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	if !im.IsLanzaboote() {
		t.Fatal("not a lanzaboote stub")
	}
	files, err := im.VerifyESP(esp)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || !files[0].OK || files[1].OK || files[1].What != "initrd" {
		t.Fatalf("%+v", files)
	}
}

// TestFindConfigSplit: the markers are found when reads split them.
func TestFindConfigSplit(t *testing.T) {
	cfg := "CONFIG_A=y\n"
	data := slices.Concat(bytes.Repeat([]byte{7}, 3000), []byte("IKCFG_ST"), compress(t, Gzip, []byte(cfg)), []byte("IKCFG_ED"), make([]byte, 10))
	for _, r := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data)), iotest.HalfReader(bytes.NewReader(data))} {
		k := &Kernel{}
		k.findConfig(r)
		if !k.HasConfig || string(k.Config) != cfg {
			t.Errorf("%T: %+v", r, k)
		}
	}
}
