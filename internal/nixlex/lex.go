// Package nixlex is a lexer for the Nix language, following the token rules
// of Nix's own lexer (src/libexpr/lexer.l): strings with ${} interpolation
// and escapes, indented strings, comments, paths (with interpolation),
// search paths (<nixpkgs>), URIs, numbers, identifiers and operators. It
// also holds the small structural scan behind the nix-impure-construct
// check. It never evaluates anything.
package nixlex

import (
	"fmt"
	"strings"
)

// Kind is a token kind.
type Kind int

// Token kinds.
const (
	EOF Kind = iota
	Ident
	Keyword
	Int
	Float
	Path       // ./a, /a, a/b, ~/a (a path with interpolation: PathText parts)
	SearchPath // <nixpkgs>
	URI        // https://example.org/x
	StrOpen    // " or ''
	StrText    // literal text inside a string (raw, escapes not decoded)
	StrClose   // " or ''
	InterpOpen // ${
	InterpClose
	Op      // operators and punctuation
	Comment // # ... or /* ... */
	Space
)

var kindNames = [...]string{"EOF", "Ident", "Keyword", "Int", "Float", "Path", "SearchPath", "URI",
	"StrOpen", "StrText", "StrClose", "InterpOpen", "InterpClose", "Op", "Comment", "Space"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Pos is a position: 1-based line and column (in bytes), 0-based offset.
type Pos struct {
	Offset, Line, Column int
}

// Token is one token. Text is the exact source text, so that the texts
// of all tokens (Space and Comment included) concatenate to the input.
type Token struct {
	Kind Kind
	Text string
	Pos  Pos
	// Indented is set on StrOpen, StrText and StrClose of ''-strings.
	Indented bool
}

// Error is a lexical error with its position.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Column, e.Msg) }

var keywords = map[string]bool{"if": true, "then": true, "else": true, "assert": true, "with": true,
	"let": true, "in": true, "rec": true, "inherit": true, "or": true}

// modes of the lexer stack
const (
	mExpr   = iota // top level
	mBrace         // inside { }
	mInterp        // inside ${ } (closing returns to a string or a path)
	mStr           // inside "..."
	mIStr          // inside ''...''
	mPath          // after a path part followed by ${
)

type lexer struct {
	src   string
	off   int
	line  int
	col   int
	stack []int
	toks  []Token
}

// Lex splits src into tokens, Space and Comment included.
func Lex(src string) ([]Token, error) {
	lx := &lexer{src: src, line: 1, col: 1, stack: []int{mExpr}, toks: make([]Token, 0, len(src)/6+16)}
	if err := lx.run(); err != nil {
		return lx.toks, err
	}
	return lx.toks, nil
}

// Code returns the tokens without Space and Comment.
func Code(toks []Token) []Token {
	out := make([]Token, 0, len(toks))
	for _, t := range toks {
		if t.Kind != Space && t.Kind != Comment {
			out = append(out, t)
		}
	}
	return out
}

func (lx *lexer) pos() Pos { return Pos{lx.off, lx.line, lx.col} }

func (lx *lexer) errf(p Pos, format string, args ...any) error {
	return &Error{Pos: p, Msg: fmt.Sprintf(format, args...)}
}

// emit makes a token of the next n bytes.
func (lx *lexer) emit(k Kind, n int, indented bool) {
	p := lx.pos()
	text := lx.src[lx.off : lx.off+n]
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			lx.line++
			lx.col = 1
		} else {
			lx.col++
		}
	}
	lx.off += n
	lx.toks = append(lx.toks, Token{Kind: k, Text: text, Pos: p, Indented: indented})
}

func (lx *lexer) top() int   { return lx.stack[len(lx.stack)-1] }
func (lx *lexer) push(m int) { lx.stack = append(lx.stack, m) }
func (lx *lexer) pop()       { lx.stack = lx.stack[:len(lx.stack)-1] }

func (lx *lexer) run() error {
	for {
		var err error
		switch lx.top() {
		case mStr:
			err = lx.str()
		case mIStr:
			err = lx.istr()
		case mPath:
			err = lx.pathCont()
		default:
			if lx.off >= len(lx.src) {
				if len(lx.stack) > 1 {
					return lx.errf(lx.pos(), "unexpected end of file: unclosed %s", lx.openName())
				}
				return nil
			}
			err = lx.expr()
		}
		if err != nil {
			return err
		}
	}
}

func (lx *lexer) openName() string {
	switch lx.top() {
	case mBrace:
		return "'{'"
	case mInterp:
		return "'${'"
	}
	return "expression"
}

func isIDStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIDChar(c byte) bool  { return isIDStart(c) || isDigit(c) || c == '\'' || c == '-' }
func isDigit(c byte) bool   { return '0' <= c && c <= '9' }
func isPathChar(c byte) bool {
	return isIDStart(c) || isDigit(c) || c == '.' || c == '-' || c == '+'
}
func isURIChar(c byte) bool {
	return isIDStart(c) || isDigit(c) || strings.IndexByte("%/?:@&=+$,-_.!~*'", c) >= 0
}
func isSchemeChar(c byte) bool {
	return isIDStart(c) && c != '_' || isDigit(c) || c == '+' || c == '-' || c == '.'
}

// matchPath returns the length of a path at s (Nix's PATH, HPATH and the
// path part before an interpolation), or 0.
//
//	PATH  [a-zA-Z0-9\._\-\+]*(\/[a-zA-Z0-9\._\-\+]+)+\/?
//	HPATH \~(\/[a-zA-Z0-9\._\-\+]+)+\/?
//	PATH_SEG / HPATH_START: the same up to a "/" followed by "${"
func matchPath(s string) (n int, interp bool) {
	i := 0
	if strings.HasPrefix(s, "~") {
		i = 1
	} else {
		for i < len(s) && isPathChar(s[i]) {
			i++
		}
	}
	segs := 0
	for i < len(s) && s[i] == '/' {
		j := i + 1
		for j < len(s) && isPathChar(s[j]) {
			j++
		}
		if j == i+1 {
			if strings.HasPrefix(s[j:], "${") && (segs > 0 || i > 0) {
				return j, true // "./a/${x}" or "./${x}": path start ends with the slash
			}
			break
		}
		segs++
		i = j
	}
	if segs == 0 {
		return 0, false
	}
	if strings.HasPrefix(s[i:], "${") {
		return i, true
	}
	if i < len(s) && s[i] == '/' {
		i++ // trailing slash (Nix rejects it later; the lexer takes it)
	}
	return i, false
}

// matchURI returns the length of a URI at s, or 0.
func matchURI(s string) int {
	if len(s) == 0 || !isIDStart(s[0]) || s[0] == '_' {
		return 0
	}
	i := 1
	for i < len(s) && isSchemeChar(s[i]) {
		i++
	}
	if i >= len(s) || s[i] != ':' {
		return 0
	}
	j := i + 1
	for j < len(s) && isURIChar(s[j]) {
		j++
	}
	if j == i+1 {
		return 0
	}
	return j
}

// matchSearchPath: <[a-zA-Z0-9\._\-\+]+(\/[a-zA-Z0-9\._\-\+]+)*>
func matchSearchPath(s string) int {
	if len(s) < 3 || s[0] != '<' {
		return 0
	}
	i := 1
	for {
		j := i
		for j < len(s) && isPathChar(s[j]) {
			j++
		}
		if j == i {
			return 0
		}
		i = j
		if i < len(s) && s[i] == '/' {
			i++
			continue
		}
		break
	}
	if i < len(s) && s[i] == '>' {
		return i + 1
	}
	return 0
}

var ops = []string{"...", "==", "!=", "<=", ">=", "&&", "||", "->", "//", "++", "|>", "<|",
	"+", "-", "*", "/", "!", "<", ">", "?", ".", ",", ";", ":", "=", "@", "(", ")", "[", "]"}

func (lx *lexer) expr() error {
	s := lx.src[lx.off:]
	c := s[0]
	switch {
	case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		n := 1
		for n < len(s) && (s[n] == ' ' || s[n] == '\t' || s[n] == '\r' || s[n] == '\n') {
			n++
		}
		lx.emit(Space, n, false)
		return nil
	case c == '#':
		n := strings.IndexByte(s, '\n')
		if n < 0 {
			n = len(s)
		}
		lx.emit(Comment, n, false)
		return nil
	case strings.HasPrefix(s, "/*"):
		n := strings.Index(s[2:], "*/")
		if n < 0 {
			return lx.errf(lx.pos(), "unterminated comment")
		}
		lx.emit(Comment, n+4, false)
		return nil
	case c == '"':
		lx.emit(StrOpen, 1, false)
		lx.push(mStr)
		return nil
	case strings.HasPrefix(s, "''"):
		lx.emit(StrOpen, 2, true)
		lx.push(mIStr)
		return nil
	case strings.HasPrefix(s, "${"):
		lx.emit(InterpOpen, 2, false)
		lx.push(mInterp)
		return nil
	case c == '{':
		lx.emit(Op, 1, false)
		lx.push(mBrace)
		return nil
	case c == '}':
		switch lx.top() {
		case mBrace:
			lx.emit(Op, 1, false)
			lx.pop()
		case mInterp:
			lx.emit(InterpClose, 1, false)
			lx.pop()
		default:
			return lx.errf(lx.pos(), "unexpected '}'")
		}
		return nil
	}
	// Longest match among path, URI, search path, identifier, number.
	if n, interp := matchPath(s); n > 0 {
		if k := matchURI(s); k > n {
			lx.emit(URI, k, false)
			return nil
		}
		lx.emit(Path, n, false)
		if interp {
			lx.push(mPath)
		}
		return nil
	}
	if n := matchURI(s); n > 0 {
		lx.emit(URI, n, false)
		return nil
	}
	if n := matchSearchPath(s); n > 0 {
		lx.emit(SearchPath, n, false)
		return nil
	}
	if isIDStart(c) {
		n := 1
		for n < len(s) && isIDChar(s[n]) {
			n++
		}
		k := Ident
		if keywords[s[:n]] {
			k = Keyword
		}
		lx.emit(k, n, false)
		return nil
	}
	if isDigit(c) || c == '.' && len(s) > 1 && isDigit(s[1]) {
		return lx.number(s)
	}
	for _, op := range ops {
		if strings.HasPrefix(s, op) {
			lx.emit(Op, len(op), false)
			return nil
		}
	}
	return lx.errf(lx.pos(), "unexpected character %q", c)
}

// number: INT [0-9]+, FLOAT (([1-9][0-9]*\.[0-9]*)|(0?\.[0-9]+))([Ee][+-]?[0-9]+)?
func (lx *lexer) number(s string) error {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	kind := Int
	if n < len(s) && s[n] == '.' {
		kind = Float
		n++
		for n < len(s) && isDigit(s[n]) {
			n++
		}
	}
	if kind == Float && n < len(s) && (s[n] == 'e' || s[n] == 'E') {
		m := n + 1
		if m < len(s) && (s[m] == '+' || s[m] == '-') {
			m++
		}
		if m < len(s) && isDigit(s[m]) {
			for m < len(s) && isDigit(s[m]) {
				m++
			}
			n = m
		}
	}
	lx.emit(kind, n, false)
	return nil
}

// str lexes the inside of a "..." string up to ", ${ or the end.
func (lx *lexer) str() error {
	s := lx.src[lx.off:]
	i := 0
	for i < len(s) {
		switch {
		case s[i] == '"':
			if i > 0 {
				lx.emit(StrText, i, false)
			}
			lx.emit(StrClose, 1, false)
			lx.pop()
			return nil
		case s[i] == '\\':
			i += 2
		case strings.HasPrefix(s[i:], "$${"):
			i += 3 // "$${" is a literal "$${"
		case strings.HasPrefix(s[i:], "${"):
			if i > 0 {
				lx.emit(StrText, i, false)
			}
			lx.emit(InterpOpen, 2, false)
			lx.push(mInterp)
			return nil
		default:
			i++
		}
	}
	return lx.errf(lx.openPos(), "unterminated string")
}

// istr lexes the inside of an ”...” string.
func (lx *lexer) istr() error {
	s := lx.src[lx.off:]
	i := 0
	for i < len(s) {
		switch {
		case strings.HasPrefix(s[i:], "'''"), strings.HasPrefix(s[i:], "''$"):
			i += 3
		case strings.HasPrefix(s[i:], "''\\"):
			i += 3
			if i < len(s) {
				i++
			}
		case strings.HasPrefix(s[i:], "''"):
			if i > 0 {
				lx.emit(StrText, i, true)
			}
			lx.emit(StrClose, 2, true)
			lx.pop()
			return nil
		case strings.HasPrefix(s[i:], "$${"):
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			if i > 0 {
				lx.emit(StrText, i, true)
			}
			lx.emit(InterpOpen, 2, false)
			lx.push(mInterp)
			return nil
		default:
			i++
		}
	}
	return lx.errf(lx.openPos(), "unterminated indented string")
}

// pathCont continues a path after an interpolation: more path characters
// and slashes, or another ${.
func (lx *lexer) pathCont() error {
	s := lx.src[lx.off:]
	if strings.HasPrefix(s, "${") {
		lx.emit(InterpOpen, 2, false)
		lx.push(mInterp)
		return nil
	}
	n := 0
	for n < len(s) && (isPathChar(s[n]) || s[n] == '/') {
		n++
	}
	if n > 0 {
		lx.emit(Path, n, false)
		if strings.HasPrefix(s[n:], "${") {
			return nil
		}
	}
	lx.pop()
	return nil
}

// openPos is the position of the innermost unclosed string opener.
func (lx *lexer) openPos() Pos {
	for i := len(lx.toks) - 1; i >= 0; i-- {
		if lx.toks[i].Kind == StrOpen {
			return lx.toks[i].Pos
		}
	}
	return lx.pos()
}
