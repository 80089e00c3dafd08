package checks

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/repo"
)

// TestUncheckedLargeFiles: over the text limit, a text file is a finding
// and a binary one is not (no check would scan it anyway), which needs the
// head of a file over its limit to be readable; source-loc-limit skips a
// source file over the limit instead of failing.
func TestUncheckedLargeFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "big.log", bytes.Repeat([]byte("a line of text\n"), 200))
	writeFile(t, dir, "vmlinux", append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 4000)...))
	writeFile(t, dir, "small.go", []byte("package small\n\nvar y = 2\n"))
	writeFile(t, dir, "big.go", []byte("package big\n"+strings.Repeat("var x = 1\n", 300)))
	ctx := context.Background()
	r, err := repo.OpenWalk(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Limits = repo.Limits{repo.KindPolicy: 1024, repo.KindLock: 1024, repo.KindSource: 1024, repo.KindText: 1024}
	settings := map[string]check.Settings{
		UncheckedFile.ID:  {Enabled: true, Severity: UncheckedFile.Severity},
		SourceLocLimit.ID: {Enabled: true, Severity: SourceLocLimit.Severity, Options: &SourceLocLimitOptions{Limits: map[string]int{".": 1}}},
	}
	res := check.Run(ctx, []*check.Check{UncheckedFile, SourceLocLimit}, settings, check.Target{Repo: r}, nil)
	for _, e := range res.Errors {
		t.Errorf("check errored: %s", e.Error)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.CheckID+" "+f.Location.Path)
	}
	want := "source-loc-limit ., unchecked-file big.go, unchecked-file big.log"
	if g := strings.Join(got, ", "); g != want {
		t.Errorf("findings: %s\nwant:     %s", g, want)
	}
}
