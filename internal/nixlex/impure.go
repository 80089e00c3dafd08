package nixlex

import (
	"fmt"
	"strings"
)

// Finding is an impure construct at a position.
type Finding struct {
	Pos Pos
	// Kind: "search-path", "fetch-without-hash", "fetch-without-rev",
	// "current-time", "get-env", "impure-flag".
	Kind    string
	Message string
	// Key identifies the construct's content (for fingerprints).
	Key string
}

// fetchers maps builtin fetchers to the attributes that pin them.
var fetchers = map[string][]string{
	"fetchTarball":   {"sha256", "hash", "narHash"},
	"fetchurl":       {"sha256", "hash"},
	"fetchGit":       {"rev"},
	"fetchTree":      {"rev", "narHash"},
	"fetchMercurial": {"rev"},
}

// bare builtins available without "builtins." (fetchurl is not one: a bare
// fetchurl is nixpkgs' fetcher, which requires a hash).
var bareFetchers = map[string]bool{"fetchTarball": true, "fetchGit": true, "fetchTree": true, "fetchMercurial": true}

// ScanImpure lexes a .nix file and reports constructs that depend on the
// machine evaluating it: search-path lookups (<nixpkgs>), builtin fetchers
// without a hash or rev, builtins.currentTime and builtins.getEnv. Nothing
// inside a string or a comment is reported.
func ScanImpure(src string) ([]Finding, error) {
	toks, err := Lex(src)
	if err != nil {
		return nil, err
	}
	code := Code(toks)
	var out []Finding
	for i := 0; i < len(code); i++ {
		t := code[i]
		switch t.Kind {
		case SearchPath:
			out = append(out, Finding{Pos: t.Pos, Kind: "search-path", Key: "search-path:" + t.Text,
				Message: fmt.Sprintf("search-path lookup %s: resolved through NIX_PATH of the machine that evaluates it", t.Text)})
		case Ident:
			name, start, next := t.Text, t.Pos, i+1
			qualified := false
			if t.Text == "builtins" && i+2 < len(code) && code[i+1].Kind == Op && code[i+1].Text == "." && code[i+2].Kind == Ident {
				if i > 0 && code[i-1].Kind == Op && code[i-1].Text == "." {
					continue // x.builtins.y
				}
				name, next, qualified = code[i+2].Text, i+3, true
			} else if i > 0 && code[i-1].Kind == Op && (code[i-1].Text == "." || code[i-1].Text == "?") {
				continue // an attribute named like a builtin: pkgs.fetchGit
			} else if i+1 < len(code) && code[i+1].Kind == Op && code[i+1].Text == "=" {
				continue // a binding named like a builtin
			}
			switch {
			case qualified && name == "currentTime":
				out = append(out, Finding{Pos: start, Kind: "current-time", Key: "builtins.currentTime",
					Message: "builtins.currentTime: the result changes with every evaluation"})
				i = next - 1
			case qualified && name == "getEnv":
				arg := ""
				if next < len(code) && code[next].Kind == StrOpen {
					arg = stringLiteral(code, next)
				}
				msg := "builtins.getEnv reads the environment of whoever evaluates it"
				if arg != "" {
					msg = fmt.Sprintf("builtins.getEnv %q reads the environment of whoever evaluates it", arg)
				}
				out = append(out, Finding{Pos: start, Kind: "get-env", Key: "builtins.getEnv:" + arg, Message: msg})
				i = next - 1
			case fetchers[name] != nil && (qualified || bareFetchers[name]):
				if f, ok := checkFetch(code, name, qualified, start, next); ok {
					out = append(out, f)
				}
				i = next - 1
			}
		}
	}
	return out, nil
}

// checkFetch looks at a fetcher's argument: a string, path or URI (no
// hash possible), or an attribute set without the pinning attributes.
// Anything else (a variable, a function call) cannot be judged statically.
func checkFetch(code []Token, name string, qualified bool, start Pos, i int) (Finding, bool) {
	full := name
	if qualified {
		full = "builtins." + name
	}
	need := fetchers[name]
	kind := "fetch-without-hash"
	what := "a hash (" + strings.Join(need, " or ") + ")"
	if need[0] == "rev" {
		kind, what = "fetch-without-rev", "a rev"
	}
	if i >= len(code) {
		return Finding{}, false
	}
	arg := code[i]
	switch {
	case arg.Kind == StrOpen, arg.Kind == URI, arg.Kind == Path:
		url := arg.Text
		if arg.Kind == StrOpen {
			url = stringLiteral(code, i)
		}
		return Finding{Pos: start, Kind: kind, Key: full + ":" + url,
			Message: fmt.Sprintf("%s %s without %s: fetches whatever the URL serves at evaluation time", full, quoteShort(url), what)}, true
	case arg.Kind == Op && arg.Text == "{":
		attrs, url, ok := topAttrs(code, i)
		if !ok {
			return Finding{}, false
		}
		for _, a := range need {
			if attrs[a] {
				return Finding{}, false
			}
		}
		if name == "fetchTree" && !attrs["type"] {
			return Finding{}, false
		}
		return Finding{Pos: start, Kind: kind, Key: full + ":" + url,
			Message: fmt.Sprintf("%s %swithout %s: fetches whatever the source holds at evaluation time", full, urlPart(url), what)}, true
	}
	return Finding{}, false
}

func urlPart(url string) string {
	if url == "" {
		return ""
	}
	return "of " + quoteShort(url) + " "
}

func quoteShort(s string) string {
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// stringLiteral returns the raw text of the string starting at code[i]
// (interpolations shown as ${...}).
func stringLiteral(code []Token, i int) string {
	var b strings.Builder
	depth := 0
	for j := i + 1; j < len(code); j++ {
		t := code[j]
		switch {
		case depth == 0 && t.Kind == StrClose:
			return b.String()
		case t.Kind == InterpOpen:
			if depth == 0 {
				b.WriteString("${...}")
			}
			depth++
		case t.Kind == InterpClose:
			depth--
		case depth == 0 && t.Kind == StrText:
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// topAttrs collects the attribute names bound at the top level of the set
// opening at code[i], and the value of a "url" attribute when it is a
// plain string. ok is false when the set has dynamic attributes.
func topAttrs(code []Token, i int) (map[string]bool, string, bool) {
	attrs := map[string]bool{}
	url := ""
	depth := 0
	atStart := true // at the start of a binding
	for j := i; j < len(code); j++ {
		t := code[j]
		if depth == 1 && atStart && t.Kind == StrOpen { // "sha256" = ...;
			attrs[stringLiteral(code, j)] = true
			atStart = false
		}
		switch {
		case t.Kind == Op && (t.Text == "{" || t.Text == "(" || t.Text == "["), t.Kind == InterpOpen, t.Kind == StrOpen:
			depth++
		case t.Kind == Op && (t.Text == "}" || t.Text == ")" || t.Text == "]"), t.Kind == InterpClose, t.Kind == StrClose:
			depth--
			if depth == 0 {
				return attrs, url, true
			}
		}
		if depth != 1 {
			continue
		}
		switch {
		case t.Kind == Op && t.Text == "{" && j == i:
			atStart = true
		case t.Kind == Op && t.Text == ";":
			atStart = true
		case atStart && t.Kind == Keyword && t.Text == "inherit":
			for k := j + 1; k < len(code) && !(code[k].Kind == Op && code[k].Text == ";"); k++ {
				if code[k].Kind == Op && code[k].Text == "(" { // inherit (x) a b;
					d := 0
					for ; k < len(code); k++ {
						if code[k].Kind == Op && code[k].Text == "(" {
							d++
						} else if code[k].Kind == Op && code[k].Text == ")" {
							if d--; d == 0 {
								break
							}
						}
					}
					continue
				}
				if code[k].Kind == Ident {
					attrs[code[k].Text] = true
				}
			}
			atStart = false
		case atStart && t.Kind == Ident:
			attrs[t.Text] = true
			if t.Text == "url" && j+2 < len(code) && code[j+1].Text == "=" && code[j+2].Kind == StrOpen {
				url = stringLiteral(code, j+2)
			}
			atStart = false
		case atStart && t.Kind == InterpOpen:
			return nil, "", false
		default:
			atStart = false
		}
	}
	return nil, "", false
}

// ScanImpureFlag reports `--impure` on the lines of a script or CI file,
// skipping comment lines (# or //).
func ScanImpureFlag(src string) []Finding {
	var out []Finding
	for n, line := range strings.Split(src, "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "#") || strings.HasPrefix(trim, "//") {
			continue
		}
		for off := 0; ; {
			k := strings.Index(line[off:], "--impure")
			if k < 0 {
				break
			}
			k += off
			end := k + len("--impure")
			before := k == 0 || strings.IndexByte(" \t\"'=", line[k-1]) >= 0
			after := end == len(line) || strings.IndexByte(" \t\"';)\r", line[end]) >= 0
			if before && after {
				out = append(out, Finding{Pos: Pos{Line: n + 1, Column: k + 1}, Kind: "impure-flag", Key: "impure-flag:" + trim,
					Message: "--impure lets the evaluation read NIX_PATH, the environment and unpinned fetches"})
				break
			}
			off = end
		}
	}
	return out
}
