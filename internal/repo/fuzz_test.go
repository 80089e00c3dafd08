package repo

import (
	"slices"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// FuzzGitOutput feeds the parsers of git's -z listings (ls-files, ls-tree,
// diff-tree --raw and --numstat, status) arbitrary bytes: no panic, no
// empty names, sorted results, bounded cost.
func FuzzGitOutput(f *testing.F) {
	f.Add([]byte("100644 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\ta.txt\x00120000 e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 0\tresult\x00"),
		[]byte(":100644 100644 e69de29 e69de30 M\x00a.txt\x00:000000 100644 0000000 e69de29 A\x00b\nc\x00"),
		[]byte("1\t2\ta.txt\x00-\t-\tbin\x00"))
	f.Add([]byte("100644 blob e69de29bb2d1d6434b8b29ae775ad8c2e48c5391       5\tsrc/a b.go\x00160000 commit 0123 -\tlib\x00"),
		[]byte(" M a.txt\x00?? new\x00UU both\x00"), []byte("vendor/x/\x00new.txt\x00"))
	f.Add([]byte{0, 0, '\t'}, []byte(":"), []byte("\t\t"))
	f.Fuzz(func(t *testing.T, a, b, c []byte) {
		fuzzlimit.Default(t, func() {
			tracked, modes := parseLsFilesStage(a, "")
			if !slices.IsSorted(tracked) || len(tracked) != len(modes) {
				t.Fatalf("ls-files --stage: %d paths, %d modes, sorted %v", len(tracked), len(modes), slices.IsSorted(tracked))
			}
			for _, n := range tracked {
				if n == "" {
					t.Fatal("ls-files --stage: empty path")
				}
			}
			untracked, nested := parseLsFilesOthers(c)
			if !slices.IsSorted(untracked) || !slices.IsSorted(nested) {
				t.Fatal("ls-files --others: not sorted")
			}
			for n, e := range parseLsTree(a) {
				if n == "" || e.size < -1 {
					t.Fatalf("ls-tree: entry %q size %d", n, e.size)
				}
			}
			es := parseDiffTree(b)
			setCounts(es, c)
			for i, e := range es {
				if e.Path == "" || e.Status == "" || e.Added < 0 || e.Removed < 0 || i > 0 && es[i-1].Path >= e.Path {
					t.Fatalf("diff-tree: bad entry %+v", e)
				}
			}
			for _, s := range parseStatus(b, "") {
				if s.What == "" {
					t.Fatalf("status: no description for %q", s.Path)
				}
			}
		})
	})
}
