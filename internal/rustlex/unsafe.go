package rustlex

import (
	"slices"
	"strings"
)

// Site is one use of `unsafe`.
type Site struct {
	// Kind is "block", "fn", "impl", "trait", "extern block" or
	// "attribute" (#[unsafe(no_mangle)]); "keyword" for any other use
	// (inside macro patterns, say).
	Kind string
	Line int
	Col  int
	// Item is the path of the enclosing items, such as "Port::read" or
	// "main"; for an unsafe fn, impl or trait, the item itself.
	Item string
	// Safety is true when a comment directly above (or earlier on the same
	// line) says "SAFETY:", or, for an unsafe fn or trait, its doc comment
	// has a "# Safety" section.
	Safety bool
}

// Unsafe finds every `unsafe` keyword in the tokens and says what it
// introduces. Unsafe fn pointer types (`unsafe fn(u8)`) introduce no code
// and are not reported.
func Unsafe(toks []Token) []Site {
	code := make([]int, 0, len(toks)) // indexes of non-comment tokens
	for i, t := range toks {
		if t.Kind != Comment && t.Kind != Shebang {
			code = append(code, i)
		}
	}
	items := enclosing(toks, code)
	lines := lineInfo(toks)
	var sites []Site
	for ci, ti := range code {
		t := toks[ti]
		if t.Kind != Ident || t.Raw || t.Text != "unsafe" {
			continue
		}
		next := func(k int) *Token {
			if ci+k < len(code) {
				return &toks[code[ci+k]]
			}
			return nil
		}
		is := func(k int, text string) bool {
			n := next(k)
			return n != nil && n.Text == text && (n.Kind == Ident || n.Kind == Punct)
		}
		kind, name := "keyword", ""
		switch {
		case is(1, "{"):
			kind = "block"
		case is(1, "fn"):
			if n := next(2); n != nil && n.Kind == Ident {
				kind, name = "fn", n.Text
			} else {
				continue // an unsafe fn pointer type
			}
		case is(1, "extern"):
			k := 2
			if n := next(2); n != nil && n.Kind == String {
				k = 3
			}
			switch {
			case is(k, "{"):
				kind = "extern block"
			case is(k, "fn"):
				if n := next(k + 1); n != nil && n.Kind == Ident {
					kind, name = "fn", n.Text
				} else {
					continue
				}
			}
		case is(1, "impl"):
			kind, name = "impl", implName(toks, code, ci+2)
		case is(1, "trait"):
			kind = "trait"
			if n := next(2); n != nil {
				name = n.Text
			}
		case is(1, "auto") && is(2, "trait"):
			kind = "trait"
			if n := next(3); n != nil {
				name = n.Text
			}
		case is(1, "(") && ci >= 2 && toks[code[ci-1]].Text == "[" && toks[code[ci-2]].Text == "#":
			kind = "attribute"
		}
		item := items[ci]
		if name != "" {
			item = joinItem(item, name)
		}
		s := Site{Kind: kind, Line: t.Line, Col: t.Col, Item: item}
		s.Safety = lines.safetyAbove(toks, ti, kind == "fn" || kind == "trait")
		sites = append(sites, s)
	}
	return sites
}

func joinItem(outer, name string) string {
	if outer == "" {
		return name
	}
	return outer + "::" + name
}

// implName renders the type of an impl: `impl<T> Send for Foo<T>` is
// "Foo"; `impl Foo` is "Foo".
func implName(toks []Token, code []int, from int) string {
	depth := 0
	last := ""
	for k := from; k < len(code); k++ {
		t := toks[code[k]]
		switch t.Text {
		case "<":
			depth++
			continue
		case ">":
			depth--
			continue
		case "{", "where", ";":
			return last
		case "for":
			if depth == 0 {
				last = ""
				continue
			}
		}
		if depth == 0 && t.Kind == Ident && last == "" {
			last = t.Text
		}
	}
	return last
}

// enclosing computes, for each code token, the path of the items (mod,
// impl, trait, fn) whose braces contain it.
func enclosing(toks []Token, code []int) []string {
	out := make([]string, len(code))
	type frame struct{ name string }
	var stack []frame
	pending := ""
	path := func() string {
		var names []string
		for _, f := range stack {
			if f.name != "" {
				names = append(names, f.name)
			}
		}
		return strings.Join(names, "::")
	}
	for ci, ti := range code {
		t := toks[ti]
		out[ci] = path()
		if t.Kind == Ident {
			switch t.Text {
			case "fn", "mod", "trait":
				if ci+1 < len(code) && toks[code[ci+1]].Kind == Ident {
					pending = toks[code[ci+1]].Text
				}
			case "impl":
				pending = implName(toks, code, ci+1)
			}
			continue
		}
		if t.Kind != Punct {
			continue
		}
		switch t.Text {
		case "{":
			stack = append(stack, frame{name: pending})
			pending = ""
		case "}":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ";":
			pending = ""
		}
	}
	return out
}

// lines describes what starts on each line.
type lines struct {
	// first token index starting on each line, by line number
	first map[int]int
}

func lineInfo(toks []Token) lines {
	l := lines{first: map[int]int{}}
	for i, t := range toks {
		if _, ok := l.first[t.Line]; !ok {
			l.first[t.Line] = i
		}
	}
	return l
}

// safetyAbove looks for "SAFETY:" in comments earlier on the line of token
// ti, then in the comment lines directly above it (attribute lines may sit
// in between). With docSafety, a "# Safety" heading in a doc comment
// counts too.
func (l lines) safetyAbove(toks []Token, ti int, docSafety bool) bool {
	says := func(t Token) bool {
		if t.Kind != Comment {
			return false
		}
		if strings.Contains(t.Text, "SAFETY:") {
			return true
		}
		return docSafety && t.Doc && containsSafetyHeading(t.Text)
	}
	line := toks[ti].Line
	// earlier on the same line: `let x = /* SAFETY: … */ unsafe { … }` or
	// `// SAFETY: …` ending a multi-line comment block that closes here.
	for i := ti - 1; i >= 0 && toks[i].EndLine == line; i-- {
		if says(toks[i]) {
			return true
		}
	}
	// then the comment and attribute lines directly above
	i := ti - 1
	for i >= 0 && toks[i].EndLine >= line {
		i--
	}
	for i >= 0 {
		t := toks[i]
		if t.Kind == Comment {
			// a comment that shares its line with code ends the block
			if f := l.first[t.Line]; f != i && toks[f].Kind != Comment {
				return false
			}
			if says(t) {
				return true
			}
			i--
			continue
		}
		// attribute lines: `#[…]` starting a line
		f := l.first[t.Line]
		if toks[f].Text == "#" && f+1 < len(toks) && toks[f+1].Text == "[" {
			i = f - 1
			continue
		}
		return false
	}
	return false
}

func containsSafetyHeading(text string) bool {
	for _, ln := range strings.Split(text, "\n") {
		ln = strings.TrimLeft(strings.TrimSpace(ln), "/!*")
		if strings.TrimSpace(ln) == "# Safety" {
			return true
		}
	}
	return false
}

// ForbidsUnsafe reports whether the tokens hold a crate-level
// #![forbid(unsafe_code)] (also inside a longer forbid list), and the line
// of the attribute. #![cfg_attr(…, forbid(unsafe_code))] does not count:
// the crate is not always built with it.
func ForbidsUnsafe(toks []Token) (bool, int) {
	var code []Token
	for _, t := range toks {
		if t.Kind != Comment && t.Kind != Shebang {
			code = append(code, t)
		}
	}
	for i := 0; i+4 < len(code); i++ {
		if code[i].Text != "#" || code[i+1].Text != "!" || code[i+2].Text != "[" {
			continue
		}
		if code[i+3].Text != "forbid" || code[i+4].Text != "(" {
			continue
		}
		for j := i + 5; j < len(code) && code[j].Text != ")"; j++ {
			if code[j].Kind == Ident && code[j].Text == "unsafe_code" {
				return true, code[i].Line
			}
		}
	}
	return false, 0
}

// Kinds lists the site kinds, for documentation.
func Kinds() []string {
	k := []string{"block", "fn", "impl", "trait", "extern block", "attribute", "keyword"}
	slices.Sort(k)
	return k
}
