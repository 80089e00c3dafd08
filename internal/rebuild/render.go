package rebuild

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/nixgate/nixgate/internal/jsonindent"
	"github.com/nixgate/nixgate/internal/nar"
)

// Write renders r as text, json or markdown.
func Write(w io.Writer, format string, r *Report) error {
	switch format {
	case "json":
		return jsonindent.Encode(w, r, true)
	case "markdown":
		return writeMarkdown(w, r)
	case "text", "":
		return writeText(w, r)
	}
	return fmt.Errorf("unknown format %q", format)
}

func counts(r *Report) (ok, bad int) {
	for _, o := range r.Outputs {
		if o.Reproducible {
			ok++
		} else {
			bad++
		}
	}
	return
}

func verdictText(v string) string {
	switch v {
	case Reproducible:
		return "REPRODUCIBLE"
	case NotReproducible:
		return "NOT REPRODUCIBLE"
	case BuildFailed:
		return "BUILD FAILED"
	}
	return v
}

func writeText(w io.Writer, r *Report) error {
	var b strings.Builder
	ok, bad := counts(r)
	fmt.Fprintf(&b, "rebuild %s\n", strings.Join(r.Installables, " "))
	fmt.Fprintf(&b, "%s: %d builder(s), %d output(s): %d reproducible, %d not\n", verdictText(r.Verdict), len(r.Builders), len(r.Outputs), ok, bad)
	if s := r.Substitution; s != nil {
		fmt.Fprintf(&b, "%s; the outputs under test were built with substituters off\n", substitutionText(s))
	}
	if r.HistoryRuns != nil {
		fmt.Fprintf(&b, "compared with %d earlier recorded run(s)\n", *r.HistoryRuns)
	}
	b.WriteString("\nbuilders:\n")
	for i, br := range r.Builders {
		where := br.URI
		if where == "" {
			where = "the local store"
		}
		fmt.Fprintf(&b, "  %-8s %-6s %s  %.1fs", br.Name, br.Kind, where, br.Seconds)
		if br.Error != "" {
			fmt.Fprintf(&b, "  FAILED: %s", br.Error)
		}
		b.WriteString("\n")
		if i == 0 && len(r.Builders) > 1 {
			fmt.Fprintf(&b, "           baseline: %s\n", envText(br.Environment))
		}
		for _, v := range br.Variations {
			state := "varied"
			if !v.Applied {
				state = "not varied"
			}
			fmt.Fprintf(&b, "           %s %s: %s", state, v.Name, v.Value)
			if v.Note != "" {
				fmt.Fprintf(&b, " (%s)", v.Note)
			}
			b.WriteString("\n")
		}
		for _, f := range br.Failures {
			fmt.Fprintf(&b, "           failed: %s\n", f.Drv)
			if m := f.HashMismatch; m != nil {
				fmt.Fprintf(&b, "             fixed-output hash mismatch: specified %s, got %s\n", m.Specified, m.Got)
			}
			if len(f.LogTail) > 0 {
				fmt.Fprintf(&b, "             last %d log line(s):\n", len(f.LogTail))
				for _, l := range f.LogTail {
					fmt.Fprintf(&b, "             > %s\n", l)
				}
			}
		}
		if in := br.Inputs; in != nil {
			fmt.Fprintf(&b, "           inputs: %s\n", inputsText(in))
			for _, rf := range in.Refused {
				fmt.Fprintf(&b, "           refused %s from %s: not signed by a trusted key (built instead)\n", rf.Path, rf.From)
			}
		}
	}
	for _, o := range r.Outputs {
		mark := "ok  "
		switch o.Status {
		case StatusDiffers, StatusHistory:
			mark = "DIFF"
		case StatusIncomplete:
			mark = "MISS"
		}
		fmt.Fprintf(&b, "\n%s %s (%s of %s)\n", mark, o.Path, o.Output, shortDrv(o.Drv))
		for _, h := range o.Hashes {
			fmt.Fprintf(&b, "     %-12s %s  %d bytes  nix record: %s\n", h.Builder, h.NarHash, h.NarSize, h.NixRecord)
		}
		if len(o.Missing) > 0 {
			fmt.Fprintf(&b, "     not built on %s\n", strings.Join(o.Missing, ", "))
		}
		for _, d := range o.Diffs {
			if d.Error != "" {
				fmt.Fprintf(&b, "     %s vs %s: cannot explain: %s\n", d.A, d.B, d.Error)
				continue
			}
			fmt.Fprintf(&b, "     %s vs %s: %d difference(s); causes: %s\n", d.A, d.B, len(d.Result.Changes), causeList(d.Result.Causes))
			var sb strings.Builder
			nar.WriteChangesText(&sb, d.Result.Changes, "       ")
			b.WriteString(sb.String())
		}
		if len(o.History) > 0 {
			fmt.Fprintf(&b, "     differs from %d hash(es) recorded by earlier runs:\n", len(o.History))
			for _, h := range o.History {
				fmt.Fprintf(&b, "       run #%d %s  %-10s %s\n", h.Run, h.Started.Format(time.RFC3339), h.Builder, h.NarHash)
			}
		}
	}
	if a := r.Artifact; a != nil {
		fmt.Fprintf(&b, "\nartifact %s (output %s): ", a.Path, a.Output)
		if a.Equal {
			b.WriteString("same sha256 on every builder\n")
		} else {
			b.WriteString("DIFFERS\n")
		}
		for _, n := range sortedKeys(a.SHA256) {
			v := a.SHA256[n]
			if v == "" {
				v = "(missing)"
			}
			fmt.Fprintf(&b, "     %-12s sha256:%s\n", n, v)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// envText describes what the first builder's builds saw.
func envText(e nar.Side) string {
	var parts []string
	if e.Cores > 0 {
		parts = append(parts, fmt.Sprintf("cores %d", e.Cores))
	}
	if e.CPUs > 0 {
		parts = append(parts, fmt.Sprintf("%d CPU(s)", e.CPUs))
	}
	if e.BuildDir != "" {
		parts = append(parts, "build directory "+e.BuildDir)
	}
	if e.Kernel != "" {
		parts = append(parts, "kernel "+e.Kernel)
	}
	if e.TimeZone != "" {
		parts = append(parts, "time zone "+e.TimeZone)
	}
	return strings.Join(parts, ", ")
}

// substitutionText is the sentence on where inputs were substituted from.
func substitutionText(s *SubstitutionReport) string {
	where := strings.Join(s.Substituters, ", ")
	switch {
	case len(s.Substituters) == 0:
		where = "no substituter (none configured)"
	case s.Configured:
		where = "the configured substituters (" + where + ")"
	}
	return "inputs substituted from " + where + " where available, signatures required"
}

func inputsText(in *InputsReport) string {
	t := fmt.Sprintf("%d substituted, %d built, %d already present", in.Substituted, in.Built, in.Present)
	if n := len(in.SubstitutedPaths); n != in.Substituted {
		t += fmt.Sprintf("; %d path(s) substituted in all", n)
	}
	if n := len(in.BuiltDerivations); n != in.Built {
		t += fmt.Sprintf("; %d derivation(s) built in all", n)
	}
	return t
}

func causeList(c []string) string {
	if len(c) == 0 {
		return "none detected"
	}
	return strings.Join(c, ", ")
}

func shortDrv(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func sortedKeys(m map[string]string) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

func writeMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	ok, bad := counts(r)
	fmt.Fprintf(&b, "## Rebuild: %s\n\n", verdictText(r.Verdict))
	fmt.Fprintf(&b, "`%s` on %d builders: %d output(s) reproducible, %d not.\n\n", strings.Join(r.Installables, " "), len(r.Builders), ok, bad)
	if s := r.Substitution; s != nil {
		fmt.Fprintf(&b, "%s; the outputs under test were built with substituters off.\n\n", upperFirst(substitutionText(s)))
	}
	b.WriteString("| builder | kind | store | seconds | variations | status |\n|---|---|---|---|---|---|\n")
	for _, br := range r.Builders {
		st := "built"
		if br.Error != "" {
			st = "failed: " + mdCell(br.Error)
		}
		for _, f := range br.Failures {
			if m := f.HashMismatch; m != nil {
				st += fmt.Sprintf("; `%s`: specified `%s`, got `%s`", shortDrv(f.Drv), m.Specified, m.Got)
			}
		}
		var vs []string
		for _, v := range br.Variations {
			if v.Applied {
				vs = append(vs, v.Name+": "+v.Value)
			} else {
				vs = append(vs, "~~"+v.Name+"~~ ("+v.Note+")")
			}
		}
		varied := mdCell(strings.Join(vs, "; "))
		if varied == "" {
			varied = "baseline"
		}
		if in := br.Inputs; in != nil {
			st += "; inputs: " + mdCell(inputsText(in))
		}
		fmt.Fprintf(&b, "| %s | %s | `%s` | %.1f | %s | %s |\n", br.Name, br.Kind, br.URI, br.Seconds, varied, st)
	}
	b.WriteString("\n| output | builder | NAR hash | size | reproducible |\n|---|---|---|---|---|\n")
	for _, o := range r.Outputs {
		for _, h := range o.Hashes {
			fmt.Fprintf(&b, "| `%s` (%s) | %s | `%s` | %d | %s |\n", o.Path, o.Output, h.Builder, h.NarHash, h.NarSize, yesNo(o.Reproducible))
		}
		for _, m := range o.Missing {
			fmt.Fprintf(&b, "| `%s` (%s) | %s | not built | | **no** |\n", o.Path, o.Output, m)
		}
		for _, h := range o.History {
			fmt.Fprintf(&b, "| `%s` (%s) | run #%d %s | `%s` | | **no** (earlier run) |\n", o.Path, o.Output, h.Run, h.Builder, h.NarHash)
		}
	}
	for _, o := range r.Outputs {
		for _, d := range o.Diffs {
			fmt.Fprintf(&b, "\n### `%s`: %s vs %s\n\n", o.Path, d.A, d.B)
			if d.Error != "" {
				fmt.Fprintf(&b, "Cannot explain: %s\n", d.Error)
				continue
			}
			var sb strings.Builder
			nar.WriteChangesMarkdown(&sb, d.Result.Changes)
			b.WriteString(sb.String())
		}
	}
	if a := r.Artifact; a != nil {
		fmt.Fprintf(&b, "\n### Artifact `%s`\n\n| builder | sha256 |\n|---|---|\n", a.Path)
		for _, n := range sortedKeys(a.SHA256) {
			fmt.Fprintf(&b, "| %s | `%s` |\n", n, a.SHA256[n])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

func mdCell(s string) string { return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s) }
