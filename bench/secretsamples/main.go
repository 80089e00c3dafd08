// Command secretsamples writes the labelled secret-scanning sample set
// (internal/secrets/samples) and scores scanners' reports on it: recall
// and false-positive rate per class, as a Markdown table.
//
//	go run ./bench/secretsamples gen -o DIR
//	go run ./bench/secretsamples score -dir DIR nixgate=ng.json gitleaks=gl.json trufflehog=th.jsonl
//	go run ./bench/secretsamples history -o DIR -commits 3000
//
// A sample counts as found by a tool when the tool reports anything in its
// file (a positive: a true positive; a negative: a false alarm). Reports
// are nixgate's JSON, gitleaks' JSON and trufflehog's JSON lines.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/secrets/samples"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: secretsamples gen -o DIR | score -dir DIR TOOL=REPORT...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		fs := flag.NewFlagSet("gen", flag.ExitOnError)
		out := fs.String("o", "", "output `DIR`")
		seed := fs.Uint64("seed", 21, "generator seed")
		fs.Parse(os.Args[2:])
		if *out == "" {
			err = fmt.Errorf("gen: -o DIR is required")
			break
		}
		set := samples.Set(*seed)
		err = samples.Write(*out, set)
		if err == nil {
			npos := 0
			for _, s := range set {
				if s.Positive {
					npos++
				}
			}
			fmt.Fprintf(os.Stderr, "secretsamples: %d files (%d positive, %d negative) in %s\n", len(set), npos, len(set)-npos, *out)
		}
	case "external":
		fs := flag.NewFlagSet("external", flag.ExitOnError)
		out := fs.String("o", "", "output `DIR`")
		module := fs.String("module", "", "trufflehog's module `DIR` (go mod download -json …@v3.97.0)")
		fs.Parse(os.Args[2:])
		if *out == "" || *module == "" {
			err = fmt.Errorf("external: -o DIR and -module DIR are required")
			break
		}
		err = external(*out, *module)
	case "history":
		fs := flag.NewFlagSet("history", flag.ExitOnError)
		out := fs.String("o", "", "output `DIR` (a new git repository)")
		commits := fs.Int("commits", 3000, "number of commits")
		fs.Parse(os.Args[2:])
		if *out == "" {
			err = fmt.Errorf("history: -o DIR is required")
			break
		}
		err = history(*out, *commits)
	case "score":
		fs := flag.NewFlagSet("score", flag.ExitOnError)
		dir := fs.String("dir", "", "the sample set's `DIR`")
		fs.Parse(os.Args[2:])
		err = score(*dir, fs.Args())
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "secretsamples:", err)
		os.Exit(1)
	}
}

type tool struct {
	name  string
	files map[string]bool // sample files with a finding
}

func score(dir string, reports []string) error {
	b, err := os.ReadFile(filepath.Join(dir, "labels.json"))
	if err != nil {
		return err
	}
	var labels []samples.Sample
	if err := json.Unmarshal(b, &labels); err != nil {
		return err
	}
	abs, _ := filepath.Abs(dir)
	var tools []tool
	for _, r := range reports {
		name, file, ok := strings.Cut(r, "=")
		if !ok {
			return fmt.Errorf("want TOOL=REPORT, got %q", r)
		}
		files, err := readReport(name, file, abs)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		tools = append(tools, tool{name, files})
	}
	type count struct{ pos, neg int }
	present := map[string]bool{}
	for _, l := range labels {
		present[l.Class] = true
	}
	var classes []string
	for _, c := range append(samples.Classes(), "encrypted") {
		if present[c] {
			classes = append(classes, c)
		}
	}
	per := map[string]*count{}
	hit := map[string]map[string]*count{}
	for _, c := range classes {
		per[c] = &count{}
		hit[c] = map[string]*count{}
		for _, t := range tools {
			hit[c][t.name] = &count{}
		}
	}
	total := &count{}
	totHit := map[string]*count{}
	for _, t := range tools {
		totHit[t.name] = &count{}
	}
	for _, l := range labels {
		c := per[l.Class]
		if l.Positive {
			c.pos++
			total.pos++
		} else {
			c.neg++
			total.neg++
		}
		for _, t := range tools {
			if !t.files[l.Name] {
				continue
			}
			if l.Positive {
				hit[l.Class][t.name].pos++
				totHit[t.name].pos++
			} else {
				hit[l.Class][t.name].neg++
				totHit[t.name].neg++
			}
		}
	}
	pct := func(a, b int) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%d/%d (%.0f%%)", a, b, 100*float64(a)/float64(b))
	}
	fmt.Print("| class | samples (+/−) |")
	for _, t := range tools {
		fmt.Printf(" %s recall | %s FP |", t.name, t.name)
	}
	fmt.Print("\n|---|---|")
	for range tools {
		fmt.Print("---|---|")
	}
	fmt.Println()
	row := func(name string, c *count, h map[string]*count) {
		fmt.Printf("| %s | %d / %d |", name, c.pos, c.neg)
		best := 0.0
		if c.pos > 0 {
			for _, t := range tools {
				best = max(best, float64(h[t.name].pos)/float64(c.pos))
			}
		}
		for _, t := range tools {
			r := pct(h[t.name].pos, c.pos)
			if c.pos > 0 && float64(h[t.name].pos)/float64(c.pos) == best && len(tools) > 1 {
				r = "**" + r + "**"
			}
			fmt.Printf(" %s | %s |", r, pct(h[t.name].neg, c.neg))
		}
		fmt.Println()
	}
	for _, c := range classes {
		row(c, per[c], hit[c])
	}
	row("all", total, totHit)
	// The misses and false alarms of the first tool, for the record.
	if len(tools) > 0 {
		var miss, fa []string
		for _, l := range labels {
			got := tools[0].files[l.Name]
			switch {
			case l.Positive && !got:
				miss = append(miss, l.Name+" ("+l.Source+")")
			case !l.Positive && got:
				fa = append(fa, l.Name+" ("+l.Source+")")
			}
		}
		slices.Sort(miss)
		slices.Sort(fa)
		fmt.Fprintf(os.Stderr, "%s misses (%d):\n  %s\n%s false alarms (%d):\n  %s\n", tools[0].name, len(miss), strings.Join(miss, "\n  "), tools[0].name, len(fa), strings.Join(fa, "\n  "))
	}
	return nil
}

// readReport returns the set-relative paths of the files a report names.
func readReport(name, file, dir string) (map[string]bool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	rel := func(p string) {
		if filepath.IsAbs(p) {
			if r, err := filepath.Rel(dir, p); err == nil {
				p = r
			}
		} else if r, err := filepath.Rel(dir, filepath.Join(mustwd(), p)); err == nil && !strings.HasPrefix(r, "..") {
			p = r
		}
		out[filepath.ToSlash(p)] = true
	}
	switch {
	case strings.HasPrefix(name, "nixgate"):
		var rep struct {
			Findings []struct {
				Location struct {
					Path string `json:"path"`
				} `json:"location"`
			} `json:"findings"`
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			return nil, err
		}
		for _, f := range rep.Findings {
			out[f.Location.Path] = true
		}
	case strings.HasPrefix(name, "gitleaks"):
		var rep []struct{ File string }
		if err := json.Unmarshal(b, &rep); err != nil {
			return nil, err
		}
		for _, f := range rep {
			rel(f.File)
		}
	case strings.HasPrefix(name, "trufflehog"):
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var r struct {
				SourceMetadata struct {
					Data struct {
						Filesystem struct {
							File string `json:"file"`
						} `json:"Filesystem"`
					} `json:"Data"`
				} `json:"SourceMetadata"`
			}
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.SourceMetadata.Data.Filesystem.File != "" {
				rel(r.SourceMetadata.Data.Filesystem.File)
			}
		}
	default:
		return nil, fmt.Errorf("unknown report kind %q (nixgate, gitleaks, trufflehog)", name)
	}
	return out, nil
}

// history writes a git repository of n commits through git fast-import:
// a tree of source-like files in which each commit edits a few files
// (lines changed, added, removed), a large generated reference file
// rewritten in part every few commits, and samples of the set added now
// and then, so that the history holds secrets to find.
func history(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	git := func(stdin io.Reader, args ...string) error {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Stdin, cmd.Stderr = stdin, os.Stderr
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		return cmd.Run()
	}
	if err := git(nil, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	g := samples.New(uint64(n))
	set := samples.Set(7)
	words := []string{"let", "in", "inherit", "pkgs", "lib", "config", "value", "name", "path", "mkOption", "default", "description", "enable",
		"services", "options", "type", "types", "str", "port", "cache", "build", "src", "version", "meta", "token", "user", "host"}
	line := func() string {
		var b strings.Builder
		for k := 0; k < 3+g.IntN(6); k++ {
			b.WriteString(words[g.IntN(len(words))])
			b.WriteString([]string{" = ", ".", "_", " ", "(", ", "}[g.IntN(6)])
		}
		b.WriteString(g.Pick("abcdefghijklmnopqrstuvwxyz0123456789", 4+g.IntN(12)))
		return b.String()
	}
	const nfiles = 400
	files := make([][]string, nfiles)
	for i := range files {
		for k := 0; k < 20+g.IntN(200); k++ {
			files[i] = append(files[i], line())
		}
	}
	var ref []string
	for k := 0; k < 4000; k++ {
		ref = append(ref, "  "+line())
	}
	var w strings.Builder
	blob := func(path string, lines []string) {
		content := strings.Join(lines, "\n") + "\n"
		fmt.Fprintf(&w, "M 100644 inline %s\ndata %d\n%s\n", path, len(content), content)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- git(pr, "fast-import", "--quiet") }()
	for c := 1; c <= n; c++ {
		w.Reset()
		fmt.Fprintf(&w, "commit refs/heads/main\ncommitter Bench <bench@example.org> %d +0000\ndata 12\ncommit %05d\n", 1700000000+c*60, c)
		if c == 1 {
			for i := range files {
				blob(fmt.Sprintf("src/f%03d.txt", i), files[i])
			}
		}
		for k := 0; k < 1+g.IntN(4); k++ {
			i := g.IntN(nfiles)
			f := files[i]
			switch g.IntN(3) {
			case 0:
				f[g.IntN(len(f))] = line()
			case 1:
				at := g.IntN(len(f) + 1)
				f = append(f[:at], append([]string{line()}, f[at:]...)...)
			default:
				if len(f) > 5 {
					at := g.IntN(len(f))
					f = append(f[:at], f[at+1:]...)
				}
			}
			files[i] = f
			blob(fmt.Sprintf("src/f%03d.txt", i), f)
		}
		if c%10 == 0 || c == 1 {
			// A generated reference document: a block of it regenerated.
			at := g.IntN(len(ref) - 40)
			for k := 0; k < 40; k++ {
				ref[at+k] = "  " + line()
			}
			blob("docs/reference.md", ref)
		}
		if c%50 == 0 {
			s := set[g.IntN(len(set))]
			content := s.Content
			fmt.Fprintf(&w, "M 100644 inline samples/%05d-%s\ndata %d\n%s\n", c, strings.ReplaceAll(s.Name, "/", "-"), len(content), content)
		}
		w.WriteString("\n")
		if _, err := io.WriteString(pw, w.String()); err != nil {
			pw.Close()
			return err
		}
	}
	pw.Close()
	if err := <-done; err != nil {
		return err
	}
	return git(nil, "reset", "-q", "--hard", "main")
}

func mustwd() string {
	wd, _ := os.Getwd()
	return wd
}
