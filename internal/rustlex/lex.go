// Package rustlex is a lexer for Rust source: it knows strings (with
// escapes), raw strings r#"…"#, byte and C strings, char literals versus
// lifetimes, and nested block comments, so that a keyword found in the
// token stream is really code. On top of it, Unsafe finds every `unsafe`
// block, fn, impl, trait and extern block, and ForbidsUnsafe finds a
// crate-level #![forbid(unsafe_code)].
package rustlex

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is a token's kind.
type Kind uint8

// Token kinds.
const (
	Ident Kind = iota
	Lifetime
	Char     // 'a', b'a'
	String   // "…", b"…", c"…", and their raw forms
	Number   // 1, 0x1f, 1.5e3, 1u8
	Punct    // one punctuation character
	Comment  // // … and /* … */ (nested)
	Shebang  // #!… on the first line
	numKinds // keep last
)

var kindNames = [...]string{"ident", "lifetime", "char", "string", "number", "punct", "comment", "shebang"}

func (k Kind) String() string {
	if k >= numKinds {
		return fmt.Sprintf("kind(%d)", int(k))
	}
	return kindNames[k]
}

// Token is one lexeme. Line and Col are 1-based; Col counts bytes.
type Token struct {
	Kind Kind
	Text string
	// Line and Col are int32 to keep a token at 40 bytes: a source file
	// of millions of tokens must stay affordable.
	Line    int32
	Col     int32
	EndLine int32 // the line of the token's last byte
	// Doc marks doc comments (///, //!, /** */, /*! */).
	Doc bool
	// Raw marks raw identifiers (r#unsafe is not a keyword).
	Raw bool
}

// Error is a lexing error at a position.
type Error struct {
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

type lexer struct {
	src       string
	pos       int
	line, col int
	toks      []Token
}

// Lex splits src into tokens. Whitespace is dropped; comments are kept.
func Lex(src []byte) ([]Token, error) {
	s := strings.TrimPrefix(string(src), "\ufeff")
	// Real code has a token per four bytes or more: one allocation then
	// serves it without regrowth.
	lx := &lexer{src: s, line: 1, col: 1, toks: make([]Token, 0, len(s)/4+16)}
	if err := lx.run(); err != nil {
		return lx.toks, err
	}
	return lx.toks, nil
}

func (lx *lexer) errorf(line, col int, format string, args ...any) error {
	return &Error{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// advance moves over n bytes, keeping line and column.
func (lx *lexer) advance(n int) {
	for i := 0; i < n && lx.pos < len(lx.src); i++ {
		if lx.src[lx.pos] == '\n' {
			lx.line++
			lx.col = 1
		} else {
			lx.col++
		}
		lx.pos++
	}
}

func (lx *lexer) peek(i int) byte {
	if lx.pos+i < len(lx.src) {
		return lx.src[lx.pos+i]
	}
	return 0
}

func (lx *lexer) rest() string { return lx.src[lx.pos:] }

func isIdentStart(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	return unicode.IsLetter(r) || unicode.Is(unicode.Other_ID_Start, r)
}

func isIdentContinue(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
	}
	return isIdentStart(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) ||
		unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r)
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\v', '\f', 0x85, 0x200e, 0x200f, 0x2028, 0x2029:
		return true
	}
	return false
}

func (lx *lexer) emit(k Kind, start, line, col int) *Token {
	lx.toks = append(lx.toks, Token{Kind: k, Text: lx.src[start:lx.pos], Line: int32(line), Col: int32(col), EndLine: int32(lx.endLine())})
	return &lx.toks[len(lx.toks)-1]
}

// endLine is the line of the byte before pos.
func (lx *lexer) endLine() int {
	if lx.pos > 0 && lx.src[lx.pos-1] == '\n' {
		return lx.line - 1
	}
	return lx.line
}

func (lx *lexer) run() error {
	if strings.HasPrefix(lx.src, "#!") && !strings.HasPrefix(strings.TrimLeft(lx.src[2:], " \t\r\n"), "[") {
		end := strings.IndexByte(lx.src, '\n')
		if end < 0 {
			end = len(lx.src)
		}
		lx.advance(end)
		lx.emit(Shebang, 0, 1, 1)
	}
	for lx.pos < len(lx.src) {
		r, size := utf8.DecodeRuneInString(lx.rest())
		if r == utf8.RuneError && size == 1 {
			return lx.errorf(lx.line, lx.col, "invalid UTF-8")
		}
		if isSpace(r) {
			lx.advance(size)
			continue
		}
		start, line, col := lx.pos, lx.line, lx.col
		rest := lx.rest()
		switch {
		case strings.HasPrefix(rest, "//"):
			end := strings.IndexByte(rest, '\n')
			if end < 0 {
				end = len(rest)
			}
			lx.advance(end)
			t := lx.emit(Comment, start, line, col)
			t.Doc = (strings.HasPrefix(t.Text, "///") && !strings.HasPrefix(t.Text, "////")) || strings.HasPrefix(t.Text, "//!")
		case strings.HasPrefix(rest, "/*"):
			if err := lx.blockComment(); err != nil {
				return err
			}
			t := lx.emit(Comment, start, line, col)
			t.Doc = (strings.HasPrefix(t.Text, "/**") && !strings.HasPrefix(t.Text, "/***") && t.Text != "/**/") || strings.HasPrefix(t.Text, "/*!")
		case r == '"':
			if err := lx.quoted('"', 1); err != nil {
				return err
			}
			lx.emit(String, start, line, col)
		case r == '\'':
			k, err := lx.quote(0)
			if err != nil {
				return err
			}
			lx.emit(k, start, line, col)
		case r >= '0' && r <= '9':
			lx.number()
			lx.emit(Number, start, line, col)
		case isIdentStart(r):
			if ok, err := lx.prefixed(); err != nil {
				return err
			} else if ok {
				continue
			}
			raw := false
			if strings.HasPrefix(rest, "r#") && len(rest) > 2 {
				if r2, _ := utf8.DecodeRuneInString(rest[2:]); isIdentStart(r2) {
					raw = true
					lx.advance(2)
				}
			}
			lx.ident()
			t := lx.emit(Ident, start, line, col)
			t.Raw = raw
		default:
			lx.advance(size)
			lx.emit(Punct, start, line, col)
		}
	}
	return nil
}

func (lx *lexer) ident() {
	for lx.pos < len(lx.src) {
		r, size := utf8.DecodeRuneInString(lx.rest())
		if !isIdentContinue(r) {
			return
		}
		lx.advance(size)
	}
}

// prefixed lexes b'…', b"…", br"…", r"…", r#"…"#, c"…", cr"…" and
// reports whether it did.
func (lx *lexer) prefixed() (bool, error) {
	rest := lx.rest()
	start, line, col := lx.pos, lx.line, lx.col
	p := 0
	switch {
	case strings.HasPrefix(rest, "br"), strings.HasPrefix(rest, "cr"):
		p = 2
	case strings.HasPrefix(rest, "b'"):
		lx.advance(1)
		k, err := lx.quote(1)
		if err != nil {
			return true, err
		}
		if k != Char {
			return true, lx.errorf(line, col, "malformed byte literal")
		}
		lx.emit(Char, start, line, col)
		return true, nil
	case strings.HasPrefix(rest, "b\""), strings.HasPrefix(rest, "c\""):
		lx.advance(1)
		if err := lx.quoted('"', 1); err != nil {
			return true, err
		}
		lx.emit(String, start, line, col)
		return true, nil
	case rest[0] == 'r':
		p = 1
	default:
		return false, nil
	}
	// raw string: prefix, n hashes, a quote
	n := 0
	for p+n < len(rest) && rest[p+n] == '#' {
		n++
	}
	if p+n >= len(rest) || rest[p+n] != '"' {
		return false, nil // r#ident or an identifier such as br_x
	}
	if n > 255 {
		return true, lx.errorf(line, col, "too many '#' in raw string")
	}
	closing := "\"" + strings.Repeat("#", n)
	end := strings.Index(rest[p+n+1:], closing)
	if end < 0 {
		return true, lx.errorf(line, col, "unterminated raw string")
	}
	lx.advance(p + n + 1 + end + len(closing))
	lx.emit(String, start, line, col)
	return true, nil
}

// quoted lexes a string starting with the quote q (skipping skip bytes of
// it), honouring backslash escapes.
func (lx *lexer) quoted(q byte, skip int) error {
	line, col := lx.line, lx.col
	lx.advance(skip)
	for lx.pos < len(lx.src) {
		switch lx.src[lx.pos] {
		case '\\':
			lx.advance(1)
			if lx.pos < len(lx.src) {
				_, size := utf8.DecodeRuneInString(lx.rest())
				lx.advance(size)
			}
		case q:
			lx.advance(1)
			return nil
		default:
			lx.advance(1)
		}
	}
	return lx.errorf(line, col, "unterminated string")
}

// quote lexes what starts with a single quote: a char literal or, when
// lifetimes are allowed (prefix 0), a lifetime.
func (lx *lexer) quote(prefix int) (Kind, error) {
	line, col := lx.line, lx.col
	rest := lx.rest()
	if len(rest) < 2 {
		return 0, lx.errorf(line, col, "unterminated char literal")
	}
	if rest[1] == '\\' {
		// escaped char: find the closing quote after the escape
		i := 3
		if len(rest) > 2 && rest[2] == 'u' {
			j := strings.IndexByte(rest, '}')
			if j < 0 {
				return 0, lx.errorf(line, col, "unterminated unicode escape")
			}
			i = j + 1
		} else if len(rest) > 2 && rest[2] == 'x' {
			i = 5
		}
		if i >= len(rest) || rest[i] != '\'' {
			return 0, lx.errorf(line, col, "unterminated char literal")
		}
		lx.advance(i + 1)
		return Char, nil
	}
	r, size := utf8.DecodeRuneInString(rest[1:])
	if 1+size < len(rest) && rest[1+size] == '\'' && r != '\n' {
		lx.advance(2 + size)
		return Char, nil
	}
	if prefix == 0 && (isIdentStart(r) || r >= '0' && r <= '9') {
		lx.advance(1)
		if strings.HasPrefix(lx.rest(), "r#") {
			lx.advance(2)
		}
		lx.ident()
		return Lifetime, nil
	}
	return 0, lx.errorf(line, col, "unterminated char literal")
}

func (lx *lexer) number() {
	hex := strings.HasPrefix(lx.rest(), "0x") || strings.HasPrefix(lx.rest(), "0b") || strings.HasPrefix(lx.rest(), "0o")
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
			lx.advance(1)
			if !hex && (c == 'e' || c == 'E') && (lx.peek(0) == '+' || lx.peek(0) == '-') && lx.peek(1) >= '0' && lx.peek(1) <= '9' {
				lx.advance(1)
			}
		case c == '.' && !hex && lx.peek(1) >= '0' && lx.peek(1) <= '9':
			lx.advance(1)
		default:
			return
		}
	}
}

func (lx *lexer) blockComment() error {
	line, col := lx.line, lx.col
	depth := 0
	for lx.pos < len(lx.src) {
		switch {
		case strings.HasPrefix(lx.rest(), "/*"):
			depth++
			lx.advance(2)
		case strings.HasPrefix(lx.rest(), "*/"):
			depth--
			lx.advance(2)
			if depth == 0 {
				return nil
			}
		default:
			lx.advance(1)
		}
	}
	return lx.errorf(line, col, "unterminated block comment")
}
