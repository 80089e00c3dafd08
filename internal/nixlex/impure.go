package nixlex

import (
	"fmt"
	"strings"

	"github.com/nixgate/nixgate/internal/lazyre"
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

// impureBuiltins are builtins whose result depends on the machine or the
// moment of evaluation (or that run code), by name, with the finding kind
// and why.
var impureBuiltins = map[string][2]string{
	"currentTime":   {"current-time", "the result changes with every evaluation"},
	"getEnv":        {"get-env", "reads the environment of whoever evaluates it"},
	"currentSystem": {"current-system", "is the system of the machine that evaluates it"},
	"nixPath":       {"nix-path", "is the NIX_PATH of the machine that evaluates it"},
	"findFile":      {"find-file", "looks the path up in the NIX_PATH of the machine that evaluates it"},
	"storePath":     {"store-path", "takes a path from the local store of the machine that evaluates it"},
	"exec":          {"exec", "runs a program at evaluation time"},
	"getFlake":      {"get-flake", "fetches a flake that no lock pins"},
}

// scope is a range of code tokens under `with builtins;`.
type scope struct{ start, end int }

// ScanImpure lexes a .nix file and reports constructs that depend on the
// machine evaluating it: search-path lookups (<nixpkgs>), builtin fetchers
// without a hash or rev (a URL given literally or through a variable bound
// to a string in the file), and the impure builtins (currentTime, getEnv,
// currentSystem, nixPath, findFile, storePath, exec, getFlake of an
// unlocked reference) however they are reached: builtins.x,
// builtins."x", an alias (b = builtins; b.x), `with builtins; x`,
// `inherit (builtins) x;` and the global __x. Nothing inside a string or a
// comment is reported.
func ScanImpure(src string) ([]Finding, error) {
	toks, err := Lex(src)
	if err != nil {
		return nil, err
	}
	code := Code(toks)
	isOp := func(i int, s string) bool { return i >= 0 && i < len(code) && code[i].Kind == Op && code[i].Text == s }
	// Names bound to builtins, names bound anywhere (they shadow `with`),
	// and names bound to a plain string (a URL given to a fetcher).
	aliases := map[string]bool{"builtins": true}
	bound := map[string]bool{}
	strs := map[string]string{}
	// ctx tracks what the innermost brace or let is: a binding there is a
	// variable (let, rec { }) or an attribute of a set (which shadows
	// nothing).
	var ctx []string
	for i, t := range code {
		switch {
		case t.Kind == Keyword && t.Text == "let":
			ctx = append(ctx, "let")
		case t.Kind == Keyword && t.Text == "in":
			if len(ctx) > 0 && ctx[len(ctx)-1] == "let" {
				ctx = ctx[:len(ctx)-1]
			}
		case t.Kind == Op && t.Text == "{":
			kind := "set"
			if i > 0 && code[i-1].Kind == Keyword && code[i-1].Text == "rec" {
				kind = "rec"
			}
			ctx = append(ctx, kind)
		case t.Kind == Op && t.Text == "}":
			for len(ctx) > 0 && ctx[len(ctx)-1] == "let" { // a let left open in broken code
				ctx = ctx[:len(ctx)-1]
			}
			if len(ctx) > 0 {
				ctx = ctx[:len(ctx)-1]
			}
		}
		if t.Kind != Ident {
			continue
		}
		switch {
		case isOp(i+1, "=") && !isOp(i-1, "."):
			if len(ctx) > 0 && (ctx[len(ctx)-1] == "let" || ctx[len(ctx)-1] == "rec") {
				bound[t.Text] = true
			}
			if i+3 < len(code) && code[i+2].Kind == Ident && aliases[code[i+2].Text] && isOp(i+3, ";") {
				aliases[t.Text] = true
			}
			if i+2 < len(code) && code[i+2].Kind == StrOpen {
				if lit, ok := plainLiteral(code, i+2); ok {
					strs[t.Text] = lit
				}
			}
		case isOp(i+1, ":") || isOp(i+1, ",") || isOp(i+1, "?") && (isOp(i-1, "{") || isOp(i-1, ",")) || isOp(i+1, "}") && (isOp(i-1, ",") || isOp(i-1, "{")) || isOp(i+1, "@") || isOp(i-1, "@"):
			bound[t.Text] = true // a lambda argument or formal
		}
	}
	var scopes []scope
	depth := 0
	type open struct{ depth, start int }
	var withs []open
	closeWiths := func(i int, d int) {
		for len(withs) > 0 && withs[len(withs)-1].depth >= d {
			scopes = append(scopes, scope{withs[len(withs)-1].start, i})
			withs = withs[:len(withs)-1]
		}
	}
	for i, t := range code {
		switch {
		case t.Kind == Op && (t.Text == "{" || t.Text == "(" || t.Text == "["), t.Kind == InterpOpen:
			depth++
		case t.Kind == Op && (t.Text == "}" || t.Text == ")" || t.Text == "]"), t.Kind == InterpClose:
			closeWiths(i, depth)
			depth--
		case t.Kind == Op && (t.Text == ";" || t.Text == ","), t.Kind == Keyword && (t.Text == "then" || t.Text == "else" || t.Text == "in"):
			if !(t.Text == ";" && i > 1 && code[i-2].Kind == Keyword && code[i-2].Text == "with") {
				closeWiths(i, depth)
			}
		case t.Kind == Keyword && t.Text == "with" && i+2 < len(code) && code[i+1].Kind == Ident && aliases[code[i+1].Text] && isOp(i+2, ";"):
			withs = append(withs, open{depth, i + 3})
		}
	}
	closeWiths(len(code), -1)
	// withDepth[i] > 0 when token i is under a with builtins (a difference
	// array: linear however many scopes there are).
	withDepth := make([]int32, len(code)+1)
	for _, s := range scopes {
		withDepth[s.start]++
		withDepth[s.end]--
	}
	for i := 1; i < len(withDepth); i++ {
		withDepth[i] += withDepth[i-1]
	}
	inWith := func(i int) bool { return withDepth[i] > 0 }

	var out []Finding
	report := func(start Pos, full, name string, next int) {
		k := impureBuiltins[name]
		if name == "getFlake" {
			if next >= len(code) {
				return
			}
			ref, ok := argLiteral(code, next, strs)
			if !ok || lockedFlakeRef(ref) {
				return
			}
			out = append(out, Finding{Pos: start, Kind: k[0], Key: full + ":" + ref,
				Message: fmt.Sprintf("%s %s %s", full, quoteShort(ref), k[1])})
			return
		}
		arg := ""
		if name == "getEnv" && next < len(code) {
			arg, _ = argLiteral(code, next, strs)
		}
		msg := fmt.Sprintf("%s %s", full, k[1])
		if arg != "" {
			msg = fmt.Sprintf("%s %q %s", full, arg, k[1])
		}
		key := "builtins." + name
		if name == "getEnv" {
			key += ":" + arg
		}
		out = append(out, Finding{Pos: start, Kind: k[0], Key: key, Message: msg})
	}
	for i := 0; i < len(code); i++ {
		t := code[i]
		switch t.Kind {
		case SearchPath:
			if t.Text == "<nix/fetchurl.nix>" {
				// Nix's own fetchurl, built into the evaluator
				// (src/libexpr/eval.cc:375-379, found at eval.cc:3339).
				continue
			}
			out = append(out, Finding{Pos: t.Pos, Kind: "search-path", Key: "search-path:" + t.Text,
				Message: fmt.Sprintf("search-path lookup %s: resolved through NIX_PATH of the machine that evaluates it", t.Text)})
		case Keyword:
			// inherit (builtins) currentTime getEnv;
			if t.Text == "inherit" && isOp(i+1, "(") && i+3 < len(code) && code[i+2].Kind == Ident && aliases[code[i+2].Text] && isOp(i+3, ")") {
				for j := i + 4; j < len(code) && code[j].Kind == Ident; j++ {
					if _, ok := impureBuiltins[code[j].Text]; ok && code[j].Text != "getFlake" {
						report(code[j].Pos, "builtins."+code[j].Text+" (inherited)", code[j].Text, len(code))
					}
				}
			}
		case Ident:
			name, start, next := t.Text, t.Pos, i+1
			qualified := false
			full := name
			switch {
			case aliases[t.Text] && isOp(i+1, ".") && i+2 < len(code) && (code[i+2].Kind == Ident || code[i+2].Kind == StrOpen):
				if isOp(i-1, ".") {
					continue // x.builtins.y
				}
				if code[i+2].Kind == Ident {
					name, next = code[i+2].Text, i+3
				} else { // builtins."getEnv"
					lit, ok := plainLiteral(code, i+2)
					if !ok {
						continue
					}
					name, next = lit, closeOf(code, i+2)+1
				}
				qualified, full = true, t.Text+"."+name
				if t.Text != "builtins" {
					full = "builtins." + name + " (as " + t.Text + "." + name + ")"
				}
			case isOp(i-1, ".") || isOp(i-1, "?"):
				continue // an attribute named like a builtin: pkgs.fetchGit
			case isOp(i+1, "="):
				continue // a binding named like a builtin
			case strings.HasPrefix(name, "__") && impureBuiltins[name[2:]] != [2]string{}:
				if bound[name] {
					continue
				}
				name, qualified = name[2:], true
			case impureBuiltins[name] != [2]string{} && inWith(i) && !bound[name]:
				qualified, full = true, "builtins."+name+" (through `with builtins;`)"
			case strings.HasPrefix(name, "__") && fetchers[name[2:]] != nil && !bound[name]:
				name, qualified = name[2:], true
			}
			switch {
			case qualified && impureBuiltins[name] != [2]string{}:
				report(start, full, name, next)
				i = next - 1
			case fetchers[name] != nil && (qualified || bareFetchers[name] && !bound[name]):
				if f, ok := checkFetch(code, name, qualified, start, next, strs); ok {
					out = append(out, f)
				}
				i = next - 1
			}
		}
	}
	return out, nil
}

// plainLiteral returns the text of the string opening at code[i] when it
// has no interpolation.
func plainLiteral(code []Token, i int) (string, bool) {
	var b strings.Builder
	for j := i + 1; j < len(code); j++ {
		switch code[j].Kind {
		case StrText:
			b.WriteString(code[j].Text)
		case StrClose:
			return b.String(), true
		default:
			return "", false
		}
	}
	return "", false
}

// closeOf returns the index of the StrClose of the string opening at i.
func closeOf(code []Token, i int) int {
	depth := 0
	for j := i + 1; j < len(code); j++ {
		switch {
		case code[j].Kind == InterpOpen:
			depth++
		case code[j].Kind == InterpClose:
			depth--
		case code[j].Kind == StrClose && depth == 0:
			return j
		}
	}
	return len(code) - 1
}

// argLiteral returns the literal an argument stands for: a plain string,
// or a variable bound to one in the file.
func argLiteral(code []Token, i int, strs map[string]string) (string, bool) {
	switch code[i].Kind {
	case StrOpen:
		return plainLiteral(code, i)
	case Ident:
		s, ok := strs[code[i].Text]
		return s, ok
	case URI:
		return code[i].Text, true
	}
	return "", false
}

var fullRev = lazyre.New(`(^|[/?&=])[0-9a-f]{40}([/?&#]|$)`)

// lockedFlakeRef reports a flake reference that names a commit or a
// narHash (what getFlake needs in pure evaluation).
func lockedFlakeRef(ref string) bool {
	return fullRev().MatchString(ref) || strings.Contains(ref, "narHash=") || strings.HasPrefix(ref, "/nix/store/")
}

// checkFetch looks at a fetcher's argument: a string, path or URI (no
// hash possible), or an attribute set without the pinning attributes.
// Anything else (a variable, a function call) cannot be judged statically.
func checkFetch(code []Token, name string, qualified bool, start Pos, i int, strs map[string]string) (Finding, bool) {
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
	case arg.Kind == StrOpen, arg.Kind == URI, arg.Kind == Path, arg.Kind == Ident && strs[arg.Text] != "":
		url := arg.Text
		switch arg.Kind {
		case StrOpen:
			url = stringLiteral(code, i)
		case Ident: // a variable bound to a string in the file
			url = strs[arg.Text]
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

// maxSetTokens bounds the scan of a fetcher's argument set, so that
// fetchers nested in fetchers cannot make the scan quadratic; a longer set
// is not judged.
const maxSetTokens = 4096

// topAttrs collects the attribute names bound at the top level of the set
// opening at code[i], and the value of a "url" attribute when it is a
// plain string. ok is false when the set has dynamic attributes.
func topAttrs(code []Token, i int) (map[string]bool, string, bool) {
	attrs := map[string]bool{}
	url := ""
	depth := 0
	atStart := true // at the start of a binding
	for j := i; j < len(code) && j-i < maxSetTokens; j++ {
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
