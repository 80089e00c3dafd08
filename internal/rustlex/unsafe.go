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
	// Test is true for test code: inside an item marked #[cfg(test)],
	// #[test] and the like, or in a module file that starts with
	// #![cfg(test)].
	Test bool
}

// Unsafe finds every `unsafe` keyword in the tokens and says what it
// introduces. Unsafe fn pointer types (`unsafe fn(u8)`) introduce no code
// and are not reported. Time and memory are linear in the number of
// tokens: the item path is kept per open brace, the comment walk above a
// site is memoised, and item headers are read for a bounded number of
// tokens.
func Unsafe(toks []Token) []Site {
	code := make([]int32, 0, len(toks)) // indexes of non-comment tokens
	for i, t := range toks {
		if t.Kind != Comment && t.Kind != Shebang {
			code = append(code, int32(i))
		}
	}
	lines := lineInfo(toks)
	var memo [4][]int8
	for i := range memo {
		memo[i] = make([]int8, len(toks))
	}
	// The item stack: each open brace with the path of the items it is
	// in, and whether it is test code.
	type frame struct {
		path string
		test bool
	}
	stack := []frame{{}}
	// Braces nested deeper than maxDepth are counted, not stacked: real
	// code never nests that deep, and a hostile file of a million "{"
	// must not cost a million frames.
	const maxDepth = 1024
	overflow := 0
	pending, pendingTest := "", false
	fileTest := false
	var sites []Site
	for ci, ti := range code {
		t := toks[ti]
		top := stack[len(stack)-1]
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
		switch {
		case t.Kind == Punct && t.Text == "#" && (is(1, "[") || is(1, "!") && is(2, "[")):
			inner := is(1, "!")
			from := ci + 2
			if inner {
				from = ci + 3
			}
			if testAttribute(toks, code, from) {
				if inner && len(stack) == 1 {
					fileTest = true // #![cfg(test)] at the top of a module file
				} else if !inner {
					pendingTest = true
				}
			}
		case t.Kind == Ident && (t.Text == "fn" || t.Text == "mod" || t.Text == "trait"):
			if n := next(1); n != nil && n.Kind == Ident {
				pending = n.Text
			}
		case t.Kind == Ident && t.Text == "impl":
			pending = implName(toks, code, ci+1)
		case t.Kind == Punct && t.Text == "{":
			if len(stack) >= maxDepth {
				overflow++
			} else {
				p := top.path
				if pending != "" {
					p = joinItem(p, pending)
				}
				stack = append(stack, frame{path: p, test: top.test || pendingTest})
			}
			pending, pendingTest = "", false
		case t.Kind == Punct && t.Text == "}":
			if overflow > 0 {
				overflow--
			} else if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case t.Kind == Punct && t.Text == ";":
			pending, pendingTest = "", false
		}
		if t.Kind != Ident || t.Raw || t.Text != "unsafe" {
			continue
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
		item := top.path
		if name != "" {
			item = joinItem(item, name)
		}
		docSafety := kind == "fn" || kind == "trait"
		s := Site{Kind: kind, Line: int(t.Line), Col: int(t.Col), Item: item, Test: fileTest || top.test || pendingTest}
		s.Safety = lines.safetyAbove(toks, int(ti), docSafety, memo)
		sites = append(sites, s)
	}
	return sites
}

// attrScan bounds how far an attribute or an item header is read.
const attrScan = 256

// testAttribute reports whether the attribute whose tokens start at code
// index from (after `#[` or `#![`) marks test code: #[test], #[bench],
// #[tokio::test] and other paths ending in `test`, #[rstest],
// #[test_case(…)], and #[cfg(…)] naming `test` without `not`.
func testAttribute(toks []Token, code []int32, from int) bool {
	if from >= len(code) {
		return false
	}
	first := toks[code[from]]
	if first.Kind != Ident {
		return false
	}
	switch first.Text {
	case "test", "bench", "rstest", "test_case", "quickcheck":
		return true
	case "cfg":
		depth, test := 0, false
		for k := from + 1; k < len(code) && k < from+attrScan; k++ {
			t := toks[code[k]]
			switch {
			case t.Text == "[" || t.Text == "(":
				depth++
			case t.Text == ")":
				depth--
			case t.Text == "]" && depth == 0:
				return test
			case t.Kind == Ident && t.Text == "not":
				return false
			case t.Kind == Ident && t.Text == "test":
				test = true
			}
		}
		return false
	}
	// a path: tokio::test, async_std::test
	last := first.Text
	for k := from + 1; k < len(code) && k < from+attrScan; k++ {
		t := toks[code[k]]
		switch {
		case t.Text == ":":
		case t.Kind == Ident:
			last = t.Text
		default:
			return last == "test"
		}
	}
	return false
}

func joinItem(outer, name string) string {
	if outer == "" {
		return name
	}
	return outer + "::" + name
}

// implName renders the type of an impl: `impl<T> Send for Foo<T>` is
// "Foo"; `impl Foo` is "Foo". It reads no more than attrScan tokens.
func implName(toks []Token, code []int32, from int) string {
	depth := 0
	last := ""
	for k := from; k < len(code) && k < from+attrScan; k++ {
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

// lines describes what starts on each line.
type lines struct {
	// first[n] is the index of the first token starting on line n, or -1
	first []int32
}

func lineInfo(toks []Token) lines {
	n := int32(0)
	if len(toks) > 0 {
		n = toks[len(toks)-1].EndLine
	}
	l := lines{first: make([]int32, n+2)}
	for i := range l.first {
		l.first[i] = -1
	}
	for i, t := range toks {
		if t.Line >= 0 && int(t.Line) < len(l.first) && l.first[t.Line] < 0 {
			l.first[t.Line] = int32(i)
		}
	}
	return l
}

// at is the index of the first token starting on line n (n has one: it is
// the line of a token).
func (l lines) at(n int32) int {
	if n < 0 || int(n) >= len(l.first) || l.first[n] < 0 {
		return 0
	}
	return int(l.first[n])
}

// safetyAbove looks for "SAFETY:" in comments earlier on the line of token
// ti, then in the comment lines directly above it (attribute lines may sit
// in between). With docSafety, a "# Safety" heading in a doc comment
// counts too. Both walks are memoised per token (memo[0] and memo[1] for
// the walk above, memo[2] and memo[3] for the same-line run, without and
// with docSafety; 0 unknown, 1 no, 2 yes), so sites one after another
// cost linear time together.
func (l lines) safetyAbove(toks []Token, ti int, docSafety bool, memo [4][]int8) bool {
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
	m, r := memo[0], memo[2]
	if docSafety {
		m, r = memo[1], memo[3]
	}
	// earlier on the same line: `let x = /* SAFETY: … */ unsafe { … }` or
	// `// SAFETY: …` ending a multi-line comment block that closes here.
	// Tokens ending on this line come right before ti; the answer for the
	// run up to token k is kept in r[k] (1 no, 2 yes), so many sites on
	// one line do not each walk back over it.
	if i := ti - 1; i >= 0 && toks[i].EndLine == line {
		j := i
		for j >= 0 && toks[j].EndLine == line && r[j] == 0 {
			j--
		}
		run := j >= 0 && toks[j].EndLine == line && r[j] == 2
		for k := j + 1; k <= i; k++ {
			run = run || says(toks[k])
			r[k] = 1
			if run {
				r[k] = 2
			}
		}
		if run {
			return true
		}
	}
	// then the comment and attribute lines directly above: from the
	// line's first token (a token that starts on an earlier line and ends
	// on this one is stepped over too)
	i := l.at(line) - 1
	for i >= 0 && toks[i].EndLine >= line {
		i--
	}
	// Walk up, remembering the tokens visited; every one of them gets the
	// walk's answer.
	var visited []int
	answer := false
walk:
	for i >= 0 {
		if m[i] != 0 {
			answer = m[i] == 2
			break
		}
		visited = append(visited, i)
		t := toks[i]
		if t.Kind == Comment {
			// a comment that shares its line with code ends the block
			if f := l.at(t.Line); f != i && toks[f].Kind != Comment {
				break walk
			}
			if says(t) {
				answer = true
				break walk
			}
			i--
			continue
		}
		// attribute lines: `#[…]` starting a line
		f := l.at(t.Line)
		if toks[f].Text == "#" && f+1 < len(toks) && toks[f+1].Text == "[" {
			i = f - 1
			continue
		}
		break
	}
	v := int8(1)
	if answer {
		v = 2
	}
	for _, k := range visited {
		m[k] = v
	}
	return answer
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
		for j := i + 5; j < len(code) && j < i+5+attrScan && code[j].Text != ")"; j++ {
			if code[j].Kind == Ident && code[j].Text == "unsafe_code" {
				return true, int(code[i].Line)
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
