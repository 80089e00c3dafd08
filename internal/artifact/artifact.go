// Package artifact recognises build outputs by their content: compiled
// binaries and archives by magic bytes (never by file name), and result
// links into the Nix store.
package artifact

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
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
