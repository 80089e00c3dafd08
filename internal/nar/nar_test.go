package nar

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	gonar "github.com/nix-community/go-nix/pkg/nar"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
	"github.com/nixgate/nixgate/internal/nixcli"
)

var update = flag.Bool("update", false, "rewrite golden files")

// file is a tree entry for writeTree: content, or a symlink target with
// link set, or a directory when dir is set.
type file struct {
	content string
	exec    bool
	link    string
	dir     bool
}

func writeTree(t testing.TB, files map[string]file) string {
	t.Helper()
	root := t.TempDir()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f := files[n]
		p := filepath.Join(root, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case f.dir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case f.link != "":
			if err := os.Symlink(f.link, p); err != nil {
				t.Fatal(err)
			}
		default:
			mode := os.FileMode(0o644)
			if f.exec {
				mode = 0o755
			}
			if err := os.WriteFile(p, []byte(f.content), mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func gz(t *testing.T, content string, mtime time.Time) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.ModTime = mtime
	w.Name = "notes.txt"
	w.Write([]byte(content))
	w.Close()
	return b.String()
}

func tarball(t *testing.T, members [][2]string, mtime time.Time) string {
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, m := range members {
		w.WriteHeader(&tar.Header{Name: m[0], Mode: 0o644, Size: int64(len(m[1])), ModTime: mtime, Typeflag: tar.TypeReg})
		w.Write([]byte(m[1]))
	}
	w.Close()
	return b.String()
}

func zipfile(t *testing.T, members [][2]string, mtime time.Time) string {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, m := range members {
		f, _ := w.CreateHeader(&zip.FileHeader{Name: m[0], Method: zip.Deflate, Modified: mtime})
		f.Write([]byte(m[1]))
	}
	w.Close()
	return b.String()
}

type summary struct {
	Path   string
	Kind   string
	Causes []string
}

func summarize(chs []Change, prefix string) []summary {
	var out []summary
	for _, c := range chs {
		s := summary{Path: prefix + c.Path, Kind: c.Kind}
		for _, k := range c.Causes {
			s.Causes = append(s.Causes, k.Kind)
		}
		out = append(out, s)
		if c.Content != nil {
			out = append(out, summarize(c.Content.Members, prefix+c.Path+"!")...)
		}
	}
	return out
}

func TestDiff(t *testing.T) {
	t1 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(90 * time.Second)
	lines := "alpha\nbeta\ngamma\ndelta\n"
	tests := []struct {
		name string
		a, b map[string]file
		want []summary
	}{
		{"identical",
			map[string]file{"a": {content: "x"}, "d/b": {content: "y", exec: true}, "l": {link: "a"}},
			map[string]file{"a": {content: "x"}, "d/b": {content: "y", exec: true}, "l": {link: "a"}},
			nil},
		{"added removed and NAR order",
			map[string]file{"a/b": {content: "1"}, "a.txt": {content: "2"}, "gone": {content: "3"}},
			map[string]file{"a/b": {content: "1"}, "a/c": {content: "new"}, "a.txt": {content: "2"}},
			[]summary{{Path: "/a/c", Kind: Added}, {Path: "/gone", Kind: Removed}}},
		{"type exec symlink",
			map[string]file{"t": {content: "file"}, "x": {content: "run"}, "l": {link: "one"}},
			map[string]file{"t/inner": {content: "file"}, "x": {content: "run", exec: true}, "l": {link: "two"}},
			[]summary{{Path: "/l", Kind: LinkChange}, {Path: "/t", Kind: TypeChange}, {Path: "/t/inner", Kind: Added}, {Path: "/x", Kind: ExecChange}}},
		{"timestamp in text",
			map[string]file{"v": {content: "version 1\nbuilt on Sat Nov 21 05:35:06 UTC 2026\n"}},
			map[string]file{"v": {content: "version 1\nbuilt on Sat Nov 21 05:36:11 UTC 2026\n"}},
			[]summary{{Path: "/v", Kind: Content, Causes: []string{CauseTimestamp}}}},
		{"epoch and iso timestamps",
			map[string]file{"e": {content: "SOURCE_DATE=1795239306\n"}, "i": {content: `{"built":"2026-11-21T05:35:06Z"}`}},
			map[string]file{"e": {content: "SOURCE_DATE=1795239399\n"}, "i": {content: `{"built":"2026-11-21T05:37:00Z"}`}},
			[]summary{{Path: "/e", Kind: Content, Causes: []string{CauseTimestamp}}, {Path: "/i", Kind: Content, Causes: []string{CauseTimestamp}}}},
		{"build paths",
			map[string]file{"a": {content: "cwd=/build/source\n"}, "b": {content: "tmp=/tmp/nix-build-hello-1.0.drv-0/x.c\n"}, "c": {content: "/home/me/build/x\n"}},
			map[string]file{"a": {content: "cwd=/build/tmp.Xy12/source\n"}, "b": {content: "tmp=/tmp/nix-build-hello-1.0.drv-3/x.c\n"}, "c": {content: "/home/me/build/y\n"}},
			[]summary{{Path: "/a", Kind: Content, Causes: []string{CauseBuildPath}}, {Path: "/b", Kind: Content, Causes: []string{CauseBuildPath}}, {Path: "/c", Kind: Content}}},
		{"store path hash",
			map[string]file{"rpath": {content: "RPATH=/nix/store/0c0wa3p2hm0rkfn1z4vvw3mbvks5ba1z-glibc-2.39/lib\n"}},
			map[string]file{"rpath": {content: "RPATH=/nix/store/9z1ay6bv8gfvbj9h4akdi4vv4w3bq0l1-glibc-2.39/lib\n"}},
			[]summary{{Path: "/rpath", Kind: Content, Causes: []string{CauseStoreHash}}}},
		{"reordered lines",
			map[string]file{"s": {content: lines}},
			map[string]file{"s": {content: "gamma\nalpha\ndelta\nbeta\n"}},
			[]summary{{Path: "/s", Kind: Content, Causes: []string{CauseOrder}}}},
		{"binary with an embedded build path",
			map[string]file{"bin": {content: "\x7fELF\x00\x01\x02 compiled in /build/tmp.aaaa/src \x00\xff"}},
			map[string]file{"bin": {content: "\x7fELF\x00\x01\x02 compiled in /build/tmp.bbbb/src \x00\xff"}},
			[]summary{{Path: "/bin", Kind: Content, Causes: []string{CauseBuildPath}}}},
		{"gzip header mtime",
			map[string]file{"n.gz": {content: gz(t, "same", t1)}},
			map[string]file{"n.gz": {content: gz(t, "same", t2)}},
			[]summary{{Path: "/n.gz", Kind: Content, Causes: []string{CauseTimestamp}}}},
		{"gzip member content",
			map[string]file{"n.gz": {content: gz(t, "built Sat Nov 21 05:35:06 UTC 2026\n", t1)}},
			map[string]file{"n.gz": {content: gz(t, "built Sat Nov 21 05:35:09 UTC 2026\n", t1)}},
			[]summary{{Path: "/n.gz", Kind: Content}, {Path: "/n.gz!notes.txt", Kind: Content, Causes: []string{CauseTimestamp}}}},
		{"tar members",
			map[string]file{"x.tar": {content: tarball(t, [][2]string{{"a", "1"}, {"b", "cwd /build/one\n"}}, t1)}},
			map[string]file{"x.tar": {content: tarball(t, [][2]string{{"a", "1"}, {"b", "cwd /build/two\n"}}, t2)}},
			[]summary{{Path: "/x.tar", Kind: Content}, {Path: "/x.tar!a", Kind: "metadata", Causes: []string{CauseTimestamp}},
				{Path: "/x.tar!b", Kind: Content, Causes: []string{CauseTimestamp, CauseBuildPath}}}},
		{"tar member order",
			map[string]file{"x.tar": {content: tarball(t, [][2]string{{"a", "1"}, {"b", "2"}}, t1)}},
			map[string]file{"x.tar": {content: tarball(t, [][2]string{{"b", "2"}, {"a", "1"}}, t1)}},
			[]summary{{Path: "/x.tar", Kind: Content, Causes: []string{CauseOrder}}}},
		{"zip (jar) members",
			map[string]file{"app.jar": {content: zipfile(t, [][2]string{{"META-INF/MANIFEST.MF", "Built-By: a\n"}, {"A.class", "\xca\xfe"}}, t1)}},
			map[string]file{"app.jar": {content: zipfile(t, [][2]string{{"META-INF/MANIFEST.MF", "Built-By: b\n"}, {"A.class", "\xca\xfe"}}, t2)}},
			[]summary{{Path: "/app.jar", Kind: Content},
				{Path: "/app.jar!META-INF/MANIFEST.MF", Kind: Content, Causes: []string{CauseTimestamp}},
				{Path: "/app.jar!A.class", Kind: "metadata", Causes: []string{CauseTimestamp}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := writeTree(t, tc.a), writeTree(t, tc.b)
			r, err := DiffPaths(a, b, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := summarize(r.Changes, "")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				var txt bytes.Buffer
				WriteText(&txt, r)
				t.Errorf("changes (-want +got):\n%s\n%s", diff, txt.String())
			}
			if r.Identical != (len(tc.want) == 0) {
				t.Errorf("identical = %v", r.Identical)
			}
		})
	}
}

func TestBinaryRanges(t *testing.T) {
	a := bytes.Repeat([]byte{0}, 200<<10)
	b := slices.Clone(a)
	b[10] = 1
	b[11] = 1
	b[100<<10] = 7
	b = append(b, 1, 2, 3)
	ra, rb := writeTree(t, map[string]file{"f": {content: string(a)}}), writeTree(t, map[string]file{"f": {content: string(b)}})
	for _, mem := range []int64{1 << 20, 1024} { // in memory, then streamed
		r, err := DiffPaths(ra, rb, Options{MaxInMemory: mem})
		if err != nil {
			t.Fatal(err)
		}
		d := r.Changes[0].Content
		want := &Diff{Format: "binary", SizeA: 200 << 10, SizeB: 200<<10 + 3, FirstDifference: 10,
			Ranges: []Range{{10, 12}, {100 << 10, 100<<10 + 1}, {200 << 10, 200<<10 + 3}}}
		if diff := cmp.Diff(want, d); diff != "" {
			t.Errorf("MaxInMemory %d (-want +got):\n%s", mem, diff)
		}
	}
}

func TestTextGolden(t *testing.T) {
	a := writeTree(t, map[string]file{"v": {content: "version 1\nbuilt on Sat Nov 21 05:35:06 UTC 2026\nend\n"}, "s": {content: "x\ny\n"}})
	b := writeTree(t, map[string]file{"v": {content: "version 1\nbuilt on Sat Nov 21 05:36:11 UTC 2026\nend\n"}, "s": {content: "y\nx\n"}})
	r, err := DiffPaths(a, b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.A, r.B = "A", "B"
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer, *Result) error
	}{
		{"diff.txt", func(w *bytes.Buffer, r *Result) error { return WriteText(w, r) }},
		{"diff.md", func(w *bytes.Buffer, r *Result) error { return WriteMarkdown(w, r) }},
		{"diff.json", func(w *bytes.Buffer, r *Result) error { return WriteJSON(w, r) }},
	} {
		var got bytes.Buffer
		if err := f.write(&got, r); err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", f.name)
		if *update {
			os.WriteFile(golden, got.Bytes(), 0o644)
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), got.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", golden, diff)
		}
	}
}

// TestNARFile compares a directory with the NAR of another: both sources
// walk in the same order.
func TestNARFile(t *testing.T) {
	a := writeTree(t, map[string]file{"a/b": {content: "1"}, "a.txt": {content: "2"}, "l": {link: "a.txt"}, "x": {content: "e", exec: true}})
	b := writeTree(t, map[string]file{"a/b": {content: "1"}, "a.txt": {content: "3"}, "l": {link: "a.txt"}, "x": {content: "e", exec: true}})
	narFile := filepath.Join(t.TempDir(), "b.nar")
	f, _ := os.Create(narFile)
	if err := gonar.DumpPath(f, b); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r, err := DiffPaths(a, narFile, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]summary{{Path: "/a.txt", Kind: Content}}, summarize(r.Changes, "")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if r.EntriesA != 6 || r.EntriesB != 6 {
		t.Errorf("entries %d, %d; want 6, 6", r.EntriesA, r.EntriesB)
	}
	// The NAR file's own hash is the tree's NAR hash.
	hb, err := HashPath(b)
	if err != nil {
		t.Fatal(err)
	}
	nf, _ := os.Open(narFile)
	defer nf.Close()
	hn, err := HashNAR(nf, nil)
	if err != nil || hn != hb {
		t.Errorf("HashNAR = %v, %v; want %v", hn, err, hb)
	}
}

// TestHashPathAgainstNix checks HashPath against `nix hash path`.
func TestHashPathAgainstNix(t *testing.T) {
	if !nixcli.Available() {
		t.Skip("nix is not installed (apt-get install nix-bin; make deps does it)")
	}
	trees := map[string]string{
		"tree": writeTree(t, map[string]file{"a/b": {content: "1"}, "a.txt": {content: strings.Repeat("2", 100000)}, "l": {link: "a.txt"}, "x": {content: "e", exec: true}, "empty": {dir: true}}),
	}
	single := filepath.Join(t.TempDir(), "single")
	os.WriteFile(single, []byte("just a file"), 0o644)
	trees["file"] = single
	for name, p := range trees {
		t.Run(name, func(t *testing.T) {
			want, err := nixcli.HashPath(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			h, err := HashPath(p)
			if err != nil {
				t.Fatal(err)
			}
			if h.SRI() != want {
				t.Errorf("HashPath = %s, nix hash path = %s", h.SRI(), want)
			}
			if ok, err := h.Equal(want); !ok || err != nil {
				t.Errorf("Equal(%s) = %v, %v", want, ok, err)
			}
			if ok, err := h.Equal(h.String()); !ok || err != nil {
				t.Errorf("Equal(%s) = %v, %v", h.String(), ok, err)
			}
		})
	}
}

func TestComparePaths(t *testing.T) {
	ordered := []string{"/", "/a", "/a/b", "/a/b/c", "/a/c", "/a.txt", "/a0", "/b"}
	for i := range ordered {
		for j := range ordered {
			got := comparePaths(ordered[i], ordered[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("comparePaths(%q, %q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestOpenFollowsResultLink(t *testing.T) {
	a := writeTree(t, map[string]file{"f": {content: "1"}})
	link := filepath.Join(t.TempDir(), "result")
	os.Symlink(a, link)
	r, err := DiffPaths(link, a, Options{})
	if err != nil || !r.Identical {
		t.Fatalf("DiffPaths(result link, dir) = %+v, %v", r, err)
	}
	if _, err := exec.LookPath("nix"); err != nil {
		return
	}
}

// FuzzCauses runs the cause detectors on arbitrary line pairs.
func FuzzCauses(f *testing.F) {
	f.Add("built Sat Nov 21 05:35:06 UTC 2026", "built Sat Nov 21 05:36:06 UTC 2026")
	f.Add("/nix/store/0c0wa3p2hm0rkfn1z4vvw3mbvks5ba1z-glibc", "/nix/store/9z1ay6bv8gfvbj9h4akdi4vv4w3bq0l1-glibc")
	f.Add("cwd=/build/a 2026-11-21T05:35:06Z 1795239306", "cwd=/tmp/nix-build-x-0/b")
	f.Fuzz(func(t *testing.T, a, b string) {
		fuzzlimit.Default(t, func() {
			d := &differ{}
			d.o.defaults()
			d.textCauses(strings.Split(a, "\n"), strings.Split(b, "\n"), false)
			d.textDiff([]byte(a), []byte(b))
		})
	})
}
