package nixconf

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"syscall"

	"github.com/nixgate/nixgate/internal/lazyre"
)

// token is a whitespace-separated word and its 1-based byte column.
type token struct {
	text string
	col  int
}

// isSep reports Nix's token separators (tokenizeString's default " \t\n\r";
// no other whitespace separates tokens).
func isSep(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

func tokenize(line string) []token {
	var out []token
	for i := 0; i < len(line); {
		if isSep(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && !isSep(line[j]) {
			j++
		}
		out = append(out, token{line[i:j], i + 1})
		i = j
	}
	return out
}

// loader applies sources to a Config.
type loader struct {
	root  Root
	cfg   *Config
	stack []string // files being read, for include cycles
}

func (l *loader) problem(k ProblemKind, o Origin, fatal bool, setting, format string, args ...any) {
	l.cfg.Problems = append(l.cfg.Problems, Problem{Kind: k, Origin: o, Fatal: fatal, Setting: setting, Message: fmt.Sprintf(format, args...)})
}

// applyFile reads a configuration file. A missing file is ignored, as Nix
// ignores it (include is checked by the caller).
func (l *loader) applyFile(p string, kind SourceKind, from *Origin) {
	f := &File{Path: p, Kind: kind, From: from}
	l.cfg.Files = append(l.cfg.Files, f)
	fi, err := l.root.Stat(p)
	if err != nil {
		return
	}
	f.Exists = true
	f.Mode = fi.Mode()
	f.Perm = fmt.Sprintf("%04o", uint32(fi.Mode().Perm()))
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		f.UID, f.GID = int(st.Uid), int(st.Gid)
	}
	if fi.IsDir() {
		// Nix's readFile fails with a SysError, which loading ignores.
		l.problem(ProblemRead, Origin{File: p}, false, "", "is a directory; Nix ignores it")
		return
	}
	b, err := l.root.ReadFile(p)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			l.problem(ProblemRead, Origin{File: p}, false, "", "cannot read: %v (Nix ignores an unreadable file)", err)
		}
		return
	}
	l.stack = append(l.stack, p)
	l.applyText(string(b), p, path.Dir(p))
	l.stack = l.stack[:len(l.stack)-1]
}

var assignRE = lazyre.New(`^[A-Za-z0-9_.-]+=`)

// applyText applies configuration text read from name; relative includes
// resolve against dir.
func (l *loader) applyText(text, name, dir string) {
	for n, line := range strings.Split(text, "\n") {
		lineNo := n + 1
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		toks := tokenize(line)
		if len(toks) == 0 {
			continue
		}
		at := func(t token) Origin { return Origin{File: name, Line: lineNo, Column: t.col} }
		if len(toks) < 2 {
			msg := fmt.Sprintf("illegal configuration line %q: Nix refuses the whole configuration, so every nix command fails", strings.TrimSpace(line))
			if assignRE().MatchString(toks[0].text) {
				msg += "; write `NAME = VALUE` with spaces around the `=`"
			}
			l.problem(ProblemSyntax, at(toks[0]), true, "", "%s", msg)
			continue
		}
		if toks[0].text == "include" || toks[0].text == "!include" {
			l.include(toks, at, dir, name)
			continue
		}
		if toks[1].text != "=" {
			msg := fmt.Sprintf("illegal configuration line %q: the second token must be a lone `=` (found %q); Nix refuses the whole configuration, so every nix command fails", strings.TrimSpace(line), toks[1].text)
			l.problem(ProblemSyntax, at(toks[1]), true, "", "%s", msg)
			continue
		}
		vals := make([]string, 0, len(toks)-2)
		for _, t := range toks[2:] {
			vals = append(vals, t.text)
		}
		l.set(toks[0].text, vals, at(toks[0]), func(i int) Origin { return at(toks[2+i]) })
	}
}

func (l *loader) include(toks []token, at func(token) Origin, dir, name string) {
	optional := toks[0].text == "!include"
	if len(toks) != 2 {
		l.problem(ProblemSyntax, at(toks[0]), true, "", "illegal configuration line: %s takes exactly one path; Nix refuses the whole configuration", toks[0].text)
		return
	}
	p := toks[1].text
	if !path.IsAbs(p) {
		if !path.IsAbs(dir) {
			dir = "/"
		}
		p = path.Join(dir, p)
	}
	p = path.Clean(p)
	from := at(toks[0])
	for _, s := range l.stack {
		if s == p {
			l.problem(ProblemCycle, from, true, "", "include cycle: %s includes %s, which is already being read (%s); Nix recurses until it crashes", name, p, strings.Join(append(l.stack, p), " -> "))
			return
		}
	}
	if _, err := l.root.Stat(p); err != nil {
		if optional {
			l.cfg.Files = append(l.cfg.Files, &File{Path: p, Kind: SourceInclude, From: &from})
			return
		}
		l.problem(ProblemInclude, from, true, "", "file %q included from %q not found: Nix refuses the whole configuration (use !include for an optional file)", p, name)
		l.cfg.Files = append(l.cfg.Files, &File{Path: p, Kind: SourceInclude, From: &from})
		return
	}
	l.applyFile(p, SourceInclude, &from)
}

// set applies one assignment as Nix's Config::set does.
func (l *loader) set(name string, vals []string, o Origin, tokOrigin func(int) Origin) {
	spec, known := Lookup(name)
	setting, appendTo := name, false
	if known {
		setting = spec.Name
	} else if base, ok := strings.CutPrefix(name, "extra-"); ok {
		if bs, bk := Lookup(base); bk {
			if !bs.Appendable() {
				l.problem(ProblemUnknown, o, false, bs.Name, "unknown setting %q: %s is not a list, so Nix has no extra-%s and ignores the line with a warning", name, bs.Name, base)
				return
			}
			spec, known, setting, appendTo = bs, true, bs.Name, true
		} else {
			setting, appendTo = base, true
		}
	}
	if known && spec.Secret {
		vals = RedactTokens(vals)
	}
	if !known {
		l.problem(ProblemUnknown, o, false, setting, "setting %q is not known to nixgate (an unknown setting is ignored by Nix with a warning; a newer Nix may know it)", name)
	}
	for i, v := range vals {
		if isQuoted(v) {
			l.problem(ProblemQuoted, tokOrigin(i), false, setting, "token %s of %s contains a quote: nix.conf has no quoting, so the quote is part of the value (%s)", v, name, quotedHint(vals))
			break
		}
	}
	if known {
		if msg := validate(spec, vals); msg != "" {
			l.problem(ProblemValue, o, true, setting, "%s: Nix refuses the whole configuration, so every nix command fails", msg)
			// Nix never applies it; keep the previous value.
			l.cfg.Assignments = append(l.cfg.Assignments, Assignment{Name: name, Setting: setting, Append: appendTo, Tokens: vals, Origin: o})
			return
		}
	}
	l.cfg.Assignments = append(l.cfg.Assignments, Assignment{Name: name, Setting: setting, Append: appendTo, Tokens: vals, Origin: o})
	if l.cfg.values == nil {
		l.cfg.values = map[string]*Value{}
	}
	v, ok := l.cfg.values[setting]
	if !ok || !appendTo {
		if appendTo {
			// extra-NAME on an unset setting appends to the default.
			v = l.cfg.Get(setting)
			v = &Value{Name: setting, Tokens: append([]string(nil), v.Tokens...), Known: known}
		} else {
			v = &Value{Name: setting, Known: known}
		}
		v.Set = true
		l.cfg.values[setting] = v
	}
	if appendTo {
		v.Tokens = append(v.Tokens, vals...)
		v.Origins = append(v.Origins, o)
	} else {
		v.Tokens = append([]string(nil), vals...)
		v.Origins = []Origin{o}
	}
}

func isQuoted(s string) bool {
	return strings.ContainsAny(s, `"'`) && (strings.HasPrefix(s, `"`) || strings.HasSuffix(s, `"`) || strings.HasPrefix(s, `'`) || strings.HasSuffix(s, `'`))
}

func quotedHint(vals []string) string {
	if len(vals) == 1 {
		return fmt.Sprintf("the value is the literal %s", vals[0])
	}
	return fmt.Sprintf("the %d tokens are %s", len(vals), strings.Join(vals, ", "))
}

var (
	intRE  = lazyre.New(`^-?[0-9]+[KMGT]?$`)
	autoOK = map[string]bool{"max-jobs": true, "cores": true}
)

// validate returns why Nix would reject the value, or "".
func validate(s *Spec, vals []string) string {
	v := strings.Join(vals, " ")
	switch s.Kind {
	case KindBool:
		if v != "true" && v != "false" {
			return fmt.Sprintf("Boolean setting %q has invalid value %q (only true or false)", s.Name, v)
		}
	case KindSandbox:
		if v != "true" && v != "false" && v != "relaxed" {
			return fmt.Sprintf("option %q has invalid value %q (true, false or relaxed)", s.Name, v)
		}
	case KindInt:
		if v == "" || (!intRE().MatchString(v) && !(autoOK[s.Name] && v == "auto")) {
			return fmt.Sprintf("setting %q should be an integer, has %q", s.Name, v)
		}
	}
	return ""
}
