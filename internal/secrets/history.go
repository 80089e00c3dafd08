package secrets

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"

	"github.com/nixgate/nixgate/internal/repo"
)

// gitCmd runs git with internal/repo's fixed configuration.
func gitCmd(ctx context.Context, dir string, args ...string) *exec.Cmd {
	return repo.Command(ctx, dir, args...)
}

// Range names the commits of a history scan: those reachable from Until
// (default HEAD) and not from Since (default: none, the whole history).
type Range struct {
	Since, Until string
}

func (r Range) spec() string {
	until := r.Until
	if until == "" {
		until = "HEAD"
	}
	if r.Since == "" {
		return until
	}
	return r.Since + ".." + until
}

// Added is the text a commit added to one file.
type Added struct {
	Commit, Author, Path string
	text                 bytes.Buffer
	lines                []int // line in the new file of each added line
}

// ScanHistory scans the lines each commit of a range added, reporting the
// commit and author of each finding. Kubernetes manifests touched by a
// commit are read whole at that commit, so that their encoded values are
// decoded; only findings on added lines are reported. Manifests whose
// kind line was added go to sink.Manifest.
func (rs *Ruleset) ScanHistory(ctx context.Context, dir string, rg Range, sink Sink) error {
	cmd := gitCmd(ctx, dir, "log", "--reverse", "-p", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames",
		"--diff-filter=AMCRT", "--format=%x01%H%x02%an <%ae>", "--end-of-options", rg.spec(), "--")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	sc := rs.NewScanner()
	perr := parseLog(out, func(a *Added) error {
		if rs.SkipPath(a.Path) {
			return nil
		}
		if sink.Stats != nil {
			sink.Stats.Files.Add(1)
			sink.Stats.Bytes.Add(int64(a.text.Len()))
		}
		return rs.scanAdded(ctx, sc, dir, a, sink)
	})
	if perr != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return perr
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git log %s: %s", rg.spec(), strings.TrimSpace(stderr.String()))
	}
	return nil
}

// maxAdded bounds the added text of one file held in memory at once.
const maxAdded = 32 << 20

// parseLog reads `git log -p -U0` output and calls fn once per commit and
// file with the lines added.
func parseLog(r io.Reader, fn func(*Added) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var commit, author string
	var cur *Added
	inHunk, binary := false, false
	next := 0
	flush := func() error {
		if cur != nil && !binary && cur.text.Len() > 0 {
			if err := fn(cur); err != nil {
				return err
			}
		}
		cur = nil
		return nil
	}
	for {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			if err == io.EOF {
				return flush()
			}
			return err
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		switch {
		case len(line) > 0 && line[0] == 1:
			if err := flush(); err != nil {
				return err
			}
			h, a, _ := bytes.Cut(line[1:], []byte{2})
			commit, author = string(h), string(a)
			inHunk = false
		case bytes.HasPrefix(line, []byte("diff --git ")):
			if err := flush(); err != nil {
				return err
			}
			inHunk, binary = false, false
		case !inHunk && bytes.HasPrefix(line, []byte("+++ ")):
			p := string(line[4:])
			if p == "/dev/null" {
				continue
			}
			p = unquote(p)
			p = strings.TrimPrefix(p, "b/")
			cur = &Added{Commit: commit, Author: author, Path: p}
		case !inHunk && bytes.HasPrefix(line, []byte("Binary files ")):
			binary = true
		case bytes.HasPrefix(line, []byte("@@ ")):
			inHunk = true
			// @@ -a[,b] +c[,d] @@
			f := strings.Fields(string(line))
			if len(f) >= 3 && strings.HasPrefix(f[2], "+") {
				n, _, _ := strings.Cut(f[2][1:], ",")
				next, _ = strconv.Atoi(n)
			}
		case inHunk && len(line) > 0 && line[0] == '+':
			if cur != nil {
				cur.text.Write(line[1:])
				cur.text.WriteByte('\n')
				cur.lines = append(cur.lines, next)
				if cur.text.Len() >= maxAdded {
					// Scan huge additions in parts: memory stays bounded.
					part := cur
					if err := flush(); err != nil {
						return err
					}
					cur = &Added{Commit: part.Commit, Author: part.Author, Path: part.Path}
				}
			}
			next++
		case inHunk && len(line) > 0 && line[0] == ' ':
			next++
		}
	}
}

func unquote(p string) string {
	if strings.HasPrefix(p, `"`) {
		if u, err := strconv.Unquote(p); err == nil {
			return u
		}
	}
	return p
}

func (rs *Ruleset) scanAdded(ctx context.Context, sc *Scanner, dir string, a *Added, sink Sink) error {
	added := map[int]bool{}
	for _, l := range a.lines {
		added[l] = true
	}
	lineMap := func(l int) int {
		if l >= 1 && l <= len(a.lines) {
			return a.lines[l-1]
		}
		return 0
	}
	in := Input{Path: a.Path, Commit: a.Commit, LineMap: lineMap}
	emit := func(f Finding) {
		f.Author = a.Author
		f.Commit = a.Commit
		if sink.Finding != nil {
			sink.Finding(f)
		}
	}
	if kubeName(a.Path) && bytes.Contains(a.text.Bytes(), []byte(":")) {
		blob, err := gitCmd(ctx, dir, "cat-file", "blob", a.Commit+":"+a.Path).Output()
		if err == nil && len(blob) <= kubeMax && LooksKubernetes(a.Path, blob) {
			if k, _ := rs.Kubernetes(a.Path, blob); k != nil {
				for _, f := range k.Findings {
					if added[f.Line] {
						emit(f)
					}
				}
				for _, m := range k.Manifests {
					if added[m.Line] && sink.Manifest != nil {
						sink.Manifest(m)
					}
				}
				in.Skip = func(l int) bool { return k.Skip(lineMap(l)) }
			}
		}
	}
	err := sc.ScanBytes(in, a.text.Bytes(), emit)
	if err == ErrBinary {
		return nil
	}
	return err
}
