// Package artifact recognises build outputs by their content: compiled
// binaries and archives by magic bytes (never by file name), and result
// links into the Nix store.
package artifact

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"path"
	"slices"
	"strings"
)

// HeadSize is how many leading bytes Sniff needs.
const HeadSize = 4096

// Kind names a kind of build output, or "" for none.
type Kind string

// Kinds recognised by Sniff.
const (
	ELF       Kind = "ELF binary"
	PE        Kind = "PE executable"
	DOS       Kind = "DOS MZ executable"
	MachO     Kind = "Mach-O binary"
	MachOFat  Kind = "Mach-O universal binary"
	JavaClass Kind = "Java class file"
	Wasm      Kind = "WebAssembly module"
	Pyc       Kind = "Python bytecode"
	Ar        Kind = "ar archive (static library)"
	Deb       Kind = "Debian package"
	RPM       Kind = "RPM package"
	Jar       Kind = "Java archive (jar)"
	Wheel     Kind = "Python wheel"
	APK       Kind = "Android package"
	NAR       Kind = "Nix archive (NAR)"
	SquashFS  Kind = "SquashFS image"
	QCOW2     Kind = "QCOW2 disk image"
)

// Kinds lists every kind, for documentation and policy validation.
func Kinds() []Kind {
	return []Kind{ELF, PE, DOS, MachO, MachOFat, JavaClass, Wasm, Pyc, Ar, Deb, RPM, Jar, Wheel, APK, NAR, SquashFS, QCOW2}
}

// Sniff classifies content from its first bytes (at least HeadSize when the
// file is that long). Zip-based formats need the whole file: pass it as ra
// with its size, or nil to skip them.
func Sniff(head []byte, ra io.ReaderAt, size int64) Kind {
	has := func(magic string) bool { return bytes.HasPrefix(head, []byte(magic)) }
	switch {
	case has("\x7fELF"):
		return ELF
	case has("MZ"):
		if len(head) >= 0x40 {
			off := binary.LittleEndian.Uint32(head[0x3c:])
			if int64(off)+4 <= int64(len(head)) && bytes.Equal(head[off:off+4], []byte("PE\x00\x00")) {
				return PE
			}
		}
		if len(head) >= 28 && isBinary(head) {
			return DOS
		}
	case has("\xfe\xed\xfa\xce"), has("\xfe\xed\xfa\xcf"), has("\xce\xfa\xed\xfe"), has("\xcf\xfa\xed\xfe"):
		return MachO
	case has("\xca\xfe\xba\xbe"), has("\xca\xfe\xba\xbf"):
		// Mach-O fat headers and Java class files share this magic: a fat
		// header counts architectures (few); a class file's major version
		// follows (45 or more).
		if len(head) >= 8 {
			if n := binary.BigEndian.Uint32(head[4:]); n > 0 && n < 45 {
				return MachOFat
			}
			if binary.BigEndian.Uint16(head[6:]) >= 45 {
				return JavaClass
			}
		}
	case has("\x00asm") && len(head) >= 8:
		return Wasm
	case has("!<arch>\n"), has("!<thin>\n"):
		if bytes.HasPrefix(head[8:], []byte("debian-binary")) {
			return Deb
		}
		return Ar
	case has("\xed\xab\xee\xdb"):
		return RPM
	case has("\x0d\x00\x00\x00\x00\x00\x00\x00nix-archive-1"):
		return NAR
	case has("hsqs"), has("sqsh"):
		if len(head) >= 96 {
			return SquashFS
		}
	case has("QFI\xfb"):
		return QCOW2
	case has("PK\x03\x04"):
		if ra != nil {
			return sniffZip(ra, size)
		}
	}
	if isPyc(head) {
		return Pyc
	}
	return ""
}

// isPyc recognises CPython bytecode: a two-byte little-endian magic number
// followed by "\r\n", with magic numbers of CPython 2.x or 3.x.
func isPyc(head []byte) bool {
	if len(head) < 16 || head[2] != '\r' || head[3] != '\n' {
		return false
	}
	m := binary.LittleEndian.Uint16(head)
	return (m >= 3000 && m < 4000) || (m >= 20121 && m <= 62211 && m%10 == 1)
}

func sniffZip(ra io.ReaderAt, size int64) Kind {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return ""
	}
	var class bool
	for _, f := range zr.File {
		switch {
		case f.Name == "classes.dex" || f.Name == "AndroidManifest.xml":
			return APK
		case strings.Contains(f.Name, ".dist-info/") && strings.HasSuffix(f.Name, "/WHEEL"):
			return Wheel
		case f.Name == "META-INF/MANIFEST.MF", strings.HasSuffix(f.Name, ".class"):
			class = true
		}
	}
	if class {
		return Jar
	}
	return ""
}

// isBinary reports whether data looks like binary rather than text: a NUL
// byte or many control characters in the first 1 KiB.
func isBinary(data []byte) bool {
	if len(data) > 1024 {
		data = data[:1024]
	}
	ctl := 0
	for _, b := range data {
		if b == 0 {
			return true
		}
		if b < 0x20 && b != '\n' && b != '\r' && b != '\t' && b != '\f' {
			ctl++
		}
	}
	return ctl*10 > len(data)
}

// StorePathTarget reports whether s (a symlink target, or the content of a
// file that git checked out in place of a symlink) points into the Nix
// store.
func StorePathTarget(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "/nix/store/") && !strings.ContainsAny(s, "\n\x00")
}

// IsResultName reports whether base is a name nix-build and nix build give
// their output links: result, result-<output>, result-<n>, result-<n>-<output>.
func IsResultName(base string) bool {
	return base == "result" || strings.HasPrefix(base, "result-")
}

// DefaultBuildDirs are the directory names whose content is build output
// unless a policy says otherwise.
var DefaultBuildDirs = []string{"build", "_build"}

// BuildDir returns the shallowest directory of the slash-separated path name
// whose base is one of dirs, or "".
func BuildDir(name string, dirs []string) string {
	segs := strings.Split(name, "/")
	for i := 0; i < len(segs)-1; i++ {
		if slices.Contains(dirs, segs[i]) {
			return strings.Join(segs[:i+1], "/")
		}
	}
	return ""
}

// NARPayload is what a NAR holds, as far as its bytes can be read.
type NARPayload struct {
	// Files is the number of regular files with contents.
	Files int
	// Binaries are the kinds of the files that are build outputs (an ELF
	// or Mach-O binary, a class file, …), at most one entry per kind.
	Binaries []Kind
}

// ScanNAR reads a NAR's tokens (8-byte little-endian lengths, padded
// strings) and sniffs the head of every file's contents. It stops at the
// first malformed token: test vectors of NAR parsers are often malformed
// on purpose, and what comes before still counts. Linear in len(data).
func ScanNAR(data []byte) NARPayload {
	var p NARPayload
	str := func(off int) (s []byte, next int, ok bool) {
		if off+8 > len(data) {
			return nil, 0, false
		}
		n := binary.LittleEndian.Uint64(data[off:])
		if n > uint64(len(data)-off-8) {
			return nil, 0, false
		}
		end := off + 8 + int(n)
		pad := (8 - int(n)%8) % 8
		return data[off+8 : end], min(len(data), end+pad), true
	}
	for off := 0; off < len(data); {
		s, next, ok := str(off)
		if !ok {
			break
		}
		if string(s) == "contents" {
			body, after, ok := str(next)
			if !ok {
				break
			}
			p.Files++
			if k := Sniff(body[:min(len(body), HeadSize)], nil, int64(len(body))); k != "" && !slices.Contains(p.Binaries, k) {
				p.Binaries = append(p.Binaries, k)
			}
			next = after
		}
		off = next
	}
	return p
}

// BuildArtifactName says what a file's name says it is when it sits in a
// build directory: an object, a library, an archive, a generated bundle or
// a build system's own state; "" for a name that says nothing (sources,
// docs).
func BuildArtifactName(name string) string {
	base := path.Base(name)
	lower := strings.ToLower(base)
	switch lower {
	case "cmakecache.txt", "build.ninja", ".ninja_log", ".ninja_deps", "compile_commands.json", "config.status", "config.log":
		return "build system state"
	}
	if strings.Contains("/"+name+"/", "/CMakeFiles/") || strings.Contains("/"+name+"/", "/meson-private/") {
		return "build system state"
	}
	for _, ext := range []string{".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2"} {
		if strings.HasSuffix(lower, ext) {
			return "archive"
		}
	}
	switch path.Ext(lower) {
	case ".o", ".obj", ".lo", ".so", ".dylib", ".dll", ".lib", ".a", ".ko", ".exe", ".pyc", ".pyo", ".class", ".rlib", ".wasm", ".efi":
		return "object or library"
	case ".tar", ".tgz", ".zip", ".whl", ".jar", ".deb", ".rpm", ".nar", ".xz", ".zst", ".gz", ".bz2", ".7z", ".squashfs", ".qcow2", ".img", ".iso":
		return "archive or image"
	case ".map":
		if strings.HasSuffix(lower, ".js.map") || strings.HasSuffix(lower, ".css.map") {
			return "generated bundle"
		}
	case ".js", ".css", ".mjs":
		if strings.Contains(lower, ".min.") || strings.Contains(lower, ".bundle.") || strings.Contains(lower, ".chunk.") || hashedName(lower) {
			return "generated bundle"
		}
	}
	return ""
}

// hashedName recognises a bundler's content-hashed name: main.3f2a9c1b.js.
func hashedName(base string) bool {
	parts := strings.Split(base, ".")
	for _, p := range parts[1 : len(parts)-1] {
		if len(p) >= 8 && len(p) <= 32 && strings.Trim(p, "0123456789abcdef") == "" {
			return true
		}
	}
	return false
}

// InTestData reports whether a path lies in a directory of tests or test
// fixtures (test, tests, testdata, fixtures, libfoo-tests, …).
func InTestData(name string) bool {
	segs := strings.Split(name, "/")
	for _, s := range segs[:len(segs)-1] {
		s = strings.ToLower(s)
		switch {
		case s == "test", s == "tests", s == "testdata", s == "test-data", s == "test_data", s == "fixtures",
			s == "__fixtures__", s == "testing", s == "spec", s == "__tests__",
			strings.HasSuffix(s, "-tests"), strings.HasSuffix(s, "_tests"), strings.HasSuffix(s, "-test"), strings.HasSuffix(s, "_test"):
			return true
		}
	}
	return false
}

// DefaultOutputDirs are where builds write by default: kernel-builder's
// build/<variant>/ (build/torch28-cxx11-cu128-x86_64-linux/…), at any depth.
var DefaultOutputDirs = []string{"**/build/torch*-*-linux", "**/build/torch*-*-darwin", "**/build/torch*-*-windows"}
