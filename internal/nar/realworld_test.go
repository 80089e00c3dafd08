package nar

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nixgate/nixgate/internal/xzdec"
)

// The real-world pairs of issue 15, made at test time with the real tools
// (go, gcc, ar, tar, xz, python3): nobody writes their bytes by hand.

// tool fails the test when a tool is missing: scripts/deps.sh installs
// them.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed (scripts/deps.sh installs it): %v", name, err)
	}
	return p
}

func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pairCase is a pair of outputs and what nar diff must say of it.
type pairCase struct {
	name    string
	a, b    string   // the two outputs (files or directories)
	members []string // paths MemberPaths must list
	summary string   // the summary cause of the first change
}

func checkPair(t *testing.T, c pairCase) *Result {
	t.Helper()
	r, err := DiffPaths(c.a, c.b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	WriteChangesText(&text, r.Changes, "")
	if r.Identical {
		t.Fatalf("identical")
	}
	paths := MemberPaths(r.Changes)
	for _, m := range c.members {
		if !slices.Contains(paths, m) {
			t.Errorf("no change at %s; changes:\n%s", m, strings.Join(paths, "\n"))
		}
	}
	if s := r.Changes[0].Summary; s == nil || s.Kind != c.summary {
		t.Errorf("summary %+v, want %s", s, c.summary)
	}
	if t.Failed() {
		t.Logf("diff:\n%s", text.String())
	}
	return r
}

const goMain = `package main

import "fmt"

var stamp = "none"

func main() { fmt.Println("hello", stamp) }
`

func goBuild(t *testing.T, dir, out string, args ...string) {
	t.Helper()
	write(t, filepath.Join(dir, "go.mod"), "module example.com/hello\n\ngo 1.21\n")
	write(t, filepath.Join(dir, "main.go"), goMain)
	run(t, dir, []string{"CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOTOOLCHAIN=local"}, tool(t, "go"), append(append([]string{"build"}, args...), "-o", out, ".")...)
}

func TestRealWorldGo(t *testing.T) {
	tmp := t.TempDir()
	t.Run("trimpath", func(t *testing.T) {
		t.Parallel()
		a, b := filepath.Join(tmp, "trim-a"), filepath.Join(tmp, "trim-b")
		goBuild(t, filepath.Join(tmp, "src1"), a)
		goBuild(t, filepath.Join(tmp, "src1"), b, "-trimpath")
		checkPair(t, pairCase{a: a, b: b, members: []string{"/"}, summary: CauseBuildPath})
	})
	t.Run("two directories without -trimpath", func(t *testing.T) {
		t.Parallel()
		a, b := filepath.Join(tmp, "dir-a"), filepath.Join(tmp, "dir-b")
		goBuild(t, filepath.Join(tmp, "checkout-one", "hello"), a)
		goBuild(t, filepath.Join(tmp, "checkout-two", "hello"), b)
		r := checkPair(t, pairCase{a: a, b: b, members: []string{"/"}, summary: CauseBuildPath})
		if d := r.Changes[0].Summary.Detail; !strings.Contains(d, "Go source path") {
			t.Errorf("detail %q", d)
		}
	})
	t.Run("ldflags -X build stamp", func(t *testing.T) {
		t.Parallel()
		a, b := filepath.Join(tmp, "x-a"), filepath.Join(tmp, "x-b")
		goBuild(t, filepath.Join(tmp, "src2"), a, "-trimpath", "-ldflags=-X main.stamp=2026-12-01T08:00:00Z")
		goBuild(t, filepath.Join(tmp, "src2"), b, "-trimpath", "-ldflags=-X main.stamp=2026-12-02T09:30:00Z")
		r := checkPair(t, pairCase{a: a, b: b, members: []string{"/"}, summary: CauseTimestamp})
		if r.Changes[0].Content.Format != "elf" {
			t.Errorf("format %s, want elf", r.Changes[0].Content.Format)
		}
	})
}

func TestRealWorldC(t *testing.T) {
	gcc, ar := tool(t, "gcc"), tool(t, "ar")
	tmp := t.TempDir()
	t.Run("static library built in two directories with -g", func(t *testing.T) {
		t.Parallel()
		var libs []string
		for _, d := range []string{"build-one", "build-two"} {
			src := filepath.Join(tmp, d, "src")
			write(t, filepath.Join(src, "foo.c"), "int foo(int x) { return x * 2; }\n")
			write(t, filepath.Join(src, "bar.c"), "int bar(int x) { return x + 1; }\n")
			run(t, src, nil, gcc, "-g", "-O1", "-c", "foo.c", "bar.c")
			run(t, src, nil, ar, "rcD", "libfoo.a", "foo.o", "bar.o")
			libs = append(libs, filepath.Join(src, "libfoo.a"))
		}
		r := checkPair(t, pairCase{a: libs[0], b: libs[1], members: []string{"/", "/:foo.o"}, summary: CauseBuildPath})
		// The section that holds the directory: .debug_str or, with
		// DWARF 5, .debug_line_str.
		paths := MemberPaths(r.Changes)
		if !slices.Contains(paths, "/:foo.o:.debug_str") && !slices.Contains(paths, "/:foo.o:.debug_line_str") {
			t.Errorf("no debug string section named: %v", paths)
		}
		// The code's bytes are equal, its source lines are not: .text is
		// named as diffoscope names it (its objdump -dl differs).
		if !slices.Contains(paths, "/:foo.o:.text") || !slices.Contains(paths, "/:bar.o:.text") {
			t.Errorf(".text not named: %v", paths)
		}
	})
	t.Run("__DATE__ and __TIME__", func(t *testing.T) {
		t.Parallel()
		src := filepath.Join(tmp, "date")
		write(t, filepath.Join(src, "main.c"), "#include <stdio.h>\nint main(void) { printf(\"built %s %s\\n\", __DATE__, __TIME__); return 0; }\n")
		// SOURCE_DATE_EPOCH fixes what GCC puts in __DATE__ and __TIME__:
		// two builds a day and 20 minutes apart.
		run(t, src, []string{"SOURCE_DATE_EPOCH=1796112000"}, gcc, "-O1", "-o", "a.out", "main.c")
		run(t, src, []string{"SOURCE_DATE_EPOCH=1796199600"}, gcc, "-O1", "-o", "b.out", "main.c")
		r := checkPair(t, pairCase{a: filepath.Join(src, "a.out"), b: filepath.Join(src, "b.out"), members: []string{"/", "/:.rodata"}, summary: CauseTimestamp})
		if d := r.Changes[0].Summary.Detail; !strings.Contains(d, "__DATE__") {
			t.Errorf("detail %q, want __DATE__", d)
		}
	})
}

func TestRealWorldDeb(t *testing.T) {
	tar, xzBin, ar := tool(t, "tar"), tool(t, "xz"), tool(t, "ar")
	tmp := t.TempDir()
	var debs []string
	for i, date := range []string{"2026-11-30 10:00:00", "2026-12-01 09:00:00"} {
		root := filepath.Join(tmp, fmt.Sprint(i))
		write(t, filepath.Join(root, "data/usr/share/doc/hello/changelog"), "hello (1.0-1) unstable; urgency=low\n\n  * built on "+date+"\n")
		write(t, filepath.Join(root, "data/usr/bin/hello"), "#!/bin/sh\necho hello\n")
		write(t, filepath.Join(root, "control/control"), "Package: hello\nVersion: 1.0-1\nArchitecture: all\n")
		write(t, filepath.Join(root, "debian-binary"), "2.0\n")
		for _, part := range []string{"data", "control"} {
			run(t, filepath.Join(root, part), nil, tar, "--mtime="+date, "--owner=0", "--group=0", "--sort=name", "-cf", "../"+part+".tar", ".")
			run(t, root, nil, xzBin, "-6", part+".tar")
		}
		run(t, root, nil, ar, "rcD", "hello.deb", "debian-binary", "control.tar.xz", "data.tar.xz")
		debs = append(debs, filepath.Join(root, "hello.deb"))
	}
	checkPair(t, pairCase{a: debs[0], b: debs[1],
		members: []string{"/:data.tar.xz", "/:data.tar.xz:data.tar", "/:data.tar.xz:data.tar:./usr/share/doc/hello/changelog", "/:control.tar.xz:control.tar:./control"},
		summary: CauseTimestamp})
}

func TestRealWorldPyc(t *testing.T) {
	py := tool(t, "python3")
	tmp := t.TempDir()
	var pycs []string
	for i, mtime := range []string{"2026-11-30 10:00:00", "2026-12-01 09:00:00"} {
		dir := filepath.Join(tmp, fmt.Sprint(i))
		src := filepath.Join(dir, "mod.py")
		write(t, src, "def f():\n    return 42\n")
		run(t, dir, nil, "touch", "-d", mtime, src)
		run(t, dir, nil, py, "-c", "import py_compile; py_compile.compile('mod.py', cfile='mod.pyc', invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)")
		pycs = append(pycs, filepath.Join(dir, "mod.pyc"))
	}
	r := checkPair(t, pairCase{a: pycs[0], b: pycs[1], members: []string{"/"}, summary: CauseTimestamp})
	if f := r.Changes[0].Content; f.Format != "pyc" || len(f.Header) == 0 || f.Header[0].Name != "source mtime" {
		t.Errorf("pyc diff %+v, want its header's source mtime", f)
	}
}

// TestEqualBytesAreEqual: two byte-identical .gz files are identical, not
// "different compression of the same content"; two files whose gzip
// bytes differ but whose content is the same are that.
func TestEqualBytesAreEqual(t *testing.T) {
	body := strings.Repeat("the same content\n", 100)
	gzOf := func(level int) string {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, level)
		w.ModTime = time.Unix(1700000000, 0)
		w.Write([]byte(body))
		w.Close()
		return b.String()
	}
	same := writeTree(t, map[string]file{"x.gz": {content: gzOf(6)}})
	same2 := writeTree(t, map[string]file{"x.gz": {content: gzOf(6)}})
	r, err := DiffPaths(same, same2, Options{})
	if err != nil || !r.Identical {
		t.Fatalf("identical .gz files: %+v, %v", r, err)
	}
	other := writeTree(t, map[string]file{"x.gz": {content: gzOf(1)}})
	r, err = DiffPaths(same, other, Options{})
	if err != nil || r.Identical || len(r.Changes) != 1 || r.Changes[0].Summary == nil || r.Changes[0].Summary.Kind != CauseArchive {
		t.Fatalf("recompressed .gz: %+v, %v", r, err)
	}
}

// TestDecompressionBomb: a gzip of 64 MiB of zeros (64 KiB compressed)
// against another is compared within MaxExpand, in bounded memory.
func TestDecompressionBomb(t *testing.T) {
	bomb := func(b byte) string {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		chunk := bytes.Repeat([]byte{0}, 1<<20)
		for range 64 {
			w.Write(chunk)
		}
		w.Write([]byte{b})
		w.Close()
		return buf.String()
	}
	a := writeTree(t, map[string]file{"bomb.gz": {content: bomb('a')}})
	b := writeTree(t, map[string]file{"bomb.gz": {content: bomb('b')}})
	r, err := DiffPaths(a, b, Options{MaxExpand: 8 << 20, MaxInMemory: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if r.Identical || !strings.Contains(r.Changes[0].Content.Note, "expansion limit") {
		t.Errorf("bomb: %+v", r.Changes[0].Content)
	}
}

// TestDeepArchive: gzip inside gzip, 20 levels, is opened MaxDepth deep
// and no further.
func TestDeepArchive(t *testing.T) {
	wrap := func(s string) string {
		for range 20 {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write([]byte(s))
			w.Close()
			s = b.String()
		}
		return s
	}
	a := writeTree(t, map[string]file{"deep": {content: wrap("a\n")}})
	b := writeTree(t, map[string]file{"deep": {content: wrap("b\n")}})
	r, err := DiffPaths(a, b, Options{MaxDepth: 4})
	if err != nil {
		t.Fatal(err)
	}
	depth := 0
	for _, p := range MemberPaths(r.Changes) {
		depth = max(depth, strings.Count(p, ":"))
	}
	if depth != 4 {
		t.Errorf("opened %d levels, want 4", depth)
	}
}

// TestRealWorldCpio: two initramfs-like cpio archives (newc, as the
// kernel's), made by cpio(1) from trees whose files differ by content and
// modification time; and odc.
func TestRealWorldCpio(t *testing.T) {
	cpioBin := tool(t, "cpio")
	tmp := t.TempDir()
	for _, format := range []string{"newc", "odc"} {
		t.Run(format, func(t *testing.T) {
			var archives []string
			for i, stamp := range []string{"2026-11-30 10:00:00", "2026-12-01 09:00:00"} {
				root := filepath.Join(tmp, format, fmt.Sprint(i))
				write(t, filepath.Join(root, "init"), "#!/bin/sh\nexec /bin/app\n")
				write(t, filepath.Join(root, "etc/build-info"), "built "+stamp+"\n")
				run(t, root, nil, "touch", "-d", stamp, filepath.Join(root, "etc/build-info"))
				out := filepath.Join(tmp, format, fmt.Sprintf("%d.cpio", i))
				cmd := exec.Command(cpioBin, "-o", "-H", format, "--quiet", "-O", out)
				cmd.Dir = root
				cmd.Stdin = strings.NewReader("init\netc\netc/build-info\n")
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("cpio: %v: %s", err, b)
				}
				archives = append(archives, out)
			}
			r := checkPair(t, pairCase{a: archives[0], b: archives[1], members: []string{"/:etc/build-info"}, summary: CauseTimestamp})
			if r.Changes[0].Content.Format != "cpio" {
				t.Errorf("format %s", r.Changes[0].Content.Format)
			}
		})
	}
}

// TestXZSmallDictionary: xz -9 asks for a 64 MiB dictionary whatever the
// file's size; it is within the bound, the index gives the size the
// member is spooled into, and the file decodes to its bytes.
func TestXZSmallDictionary(t *testing.T) {
	xzBin := tool(t, "xz")
	dir := t.TempDir()
	body := strings.Repeat("a line of a small file\n", 300)
	write(t, filepath.Join(dir, "f"), body)
	run(t, dir, nil, xzBin, "-9", "f")
	data, err := os.ReadFile(filepath.Join(dir, "f.xz"))
	if err != nil {
		t.Fatal(err)
	}
	b := memBlob(data)
	size, err := xzdec.Size(b.ra, b.size, maxXZDict)
	if err != nil || size != int64(len(body)) {
		t.Fatalf("xzdec.Size = %d, %v; want %d", size, err, len(body))
	}
	r, done, err := decompressor("xz", b)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	var got bytes.Buffer
	if _, err := got.ReadFrom(r); err != nil || got.String() != body {
		t.Fatalf("decoded %d bytes (%v), want the %d of the file", got.Len(), err, len(body))
	}
}
