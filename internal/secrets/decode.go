package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"unicode/utf8"
)

// Decoding. A secret is often written encoded: a base64 value in a CI
// variable or a docker config, a hex blob, a percent-encoded URL. After
// the plain scan, each encoded segment of the text (a run of base64 or hex
// characters, a run holding percent escapes) is decoded; when the result
// is text, it is scanned with the same rules, and its own encoded segments
// decoded in turn, up to the rule set's MaxDecodeDepth. A secret found
// inside is reported at the encoded segment's place (its line and column,
// and the segment masked in the finding's context), with a note naming
// the layers ("base64-decoded"). Segments that a plain match already
// covers are not decoded again.
//
// Bounds: a segment is at most maxSegment bytes, and one input decodes
// at most decodeBudgetPerInput bytes at every depth together.

const (
	minBase64  = 20       // shortest base64 run decoded (15 bytes of text)
	minHex     = 32       // shortest hex run decoded (16 bytes of text)
	minDecoded = 8        // shortest decoded text scanned
	maxSegment = 64 << 10 // longest segment decoded
	// A base64 run wrapped over lines (a block scalar, a PEM-style body)
	// continues on the next line when each line holds at least this many
	// characters.
	minWrapped = 56
)

type segment struct {
	lo, hi int // in the text
	kind   string
}

// byteClass marks base64 (both alphabets) and hex characters, and '%'.
var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '-' || b == '_' {
			t[c] |= clB64
		}
		if b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' {
			t[c] |= clHex
		}
	}
	t['%'] |= clPct
	return t
}()

const (
	clB64 = 1 << iota
	clHex
	clPct
)

func isB64Byte(c byte) bool { return byteClass[c]&clB64 != 0 }
func isHexByte(c byte) bool { return byteClass[c]&clHex != 0 }

// segments lists the encoded segments that start in data[from:to].
func segments(data []byte, from, to int) []segment {
	var out []segment
	i := from
	// A run that began before from belongs to the previous chunk.
	for i < to && i > 0 && isB64Byte(data[i-1]) && isB64Byte(data[i]) {
		i++
	}
	for i < to {
		cl := byteClass[data[i]]
		if cl == 0 {
			i++
			continue
		}
		if cl&clPct != 0 {
			if i+2 < len(data) && isHexByte(data[i+1]) && isHexByte(data[i+2]) {
				if sg, ok := percentSegment(data, i); ok {
					out = append(out, sg)
					i = sg.hi
					continue
				}
			}
			i++
			continue
		}
		j := i
		allHex := true
		for j < len(data) {
			c := byteClass[data[j]]
			if c&clB64 == 0 {
				break
			}
			if c&clHex == 0 {
				allHex = false
			}
			j++
		}
		if j-i < minBase64 {
			i = j
			continue
		}
		hi := j
		for hi < len(data) && hi-j < 2 && data[hi] == '=' {
			hi++
		}
		// A run wrapped over lines: each full line of the same indentation.
		if hi-i >= minWrapped && hi < len(data) && data[hi] == '\n' && atLineStart(data, i) {
			if w := wrapped(data, i, hi); w > hi {
				hi, allHex = w, false
			}
		}
		n := hi - i
		switch {
		case n > maxSegment:
		case allHex && n >= minHex && n%2 == 0:
			out = append(out, segment{i, hi, "hex"})
		case !allHex:
			out = append(out, segment{i, hi, "base64"})
		}
		i = hi
	}
	return out
}

// atLineStart reports whether only blanks precede p on its line.
func atLineStart(data []byte, p int) bool {
	for k := p - 1; k >= 0; k-- {
		switch data[k] {
		case ' ', '\t':
			continue
		case '\n':
			return true
		}
		return false
	}
	return true
}

// wrapped extends a base64 run that fills its line over the following
// lines of the same indentation, up to maxSegment.
func wrapped(data []byte, lo, hi int) int {
	ls := bytes.LastIndexByte(data[:lo], '\n') + 1
	indent := data[ls:lo]
	width := hi - lo
	for hi < len(data) && data[hi] == '\n' && hi-lo < maxSegment {
		p := hi + 1
		if !bytes.HasPrefix(data[p:], indent) {
			break
		}
		p += len(indent)
		q := p
		for q < len(data) && isB64Byte(data[q]) {
			q++
		}
		for q < len(data) && q-p < width+2 && data[q] == '=' {
			q++
		}
		if q == p || q-p > width || q < len(data) && data[q] != '\n' && data[q] != '\r' {
			break
		}
		hi = q
		if q-p < width {
			break // the last, shorter line
		}
	}
	return hi
}

// percentSegment is the run of URL characters around a percent escape at
// p, when it holds at least one escape that decodes to text.
func percentSegment(data []byte, p int) (segment, bool) {
	isURL := func(c byte) bool {
		return c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != '`' && c != '<' && c != '>' && c != '\\'
	}
	lo := p
	for lo > 0 && isURL(data[lo-1]) && p-lo < 256 {
		lo--
	}
	hi := p
	for hi < len(data) && isURL(data[hi]) && hi-p < maxSegment {
		hi++
	}
	return segment{lo, hi, "percent"}, hi-lo >= 6
}

// decodeSegment decodes a segment into dst and reports whether the result
// is text worth scanning.
func decodeSegment(dst []byte, data []byte, sg segment) ([]byte, bool) {
	src := data[sg.lo:sg.hi]
	switch sg.kind {
	case "hex":
		if !textHex(src) {
			return dst, false
		}
		n, err := hex.Decode(dst[:len(src)/2], src)
		if err != nil {
			return dst, false
		}
		dst = dst[:n]
	case "base64":
		dst = decodeBase64Text(dst, src)
		if dst == nil {
			return dst, false
		}
	case "percent":
		dst = dst[:0]
		changed := false
		for i := 0; i < len(src); i++ {
			if src[i] == '%' && i+2 < len(src) && isHexByte(src[i+1]) && isHexByte(src[i+2]) {
				dst = append(dst, unhex(src[i+1])<<4|unhex(src[i+2]))
				i += 2
				changed = true
				continue
			}
			dst = append(dst, src[i])
		}
		if !changed {
			return dst, false
		}
	}
	return dst, len(dst) >= minDecoded && isText(dst)
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// textHex is a cheap test that hex digits decode to ASCII text: every
// byte's high nibble is 2 to 7, or a tab or newline.
func textHex(src []byte) bool {
	for i := 0; i+1 < len(src); i += 2 {
		switch src[i] {
		case '2', '3', '4', '5', '6', '7':
		case '0':
			if src[i+1] != '9' && src[i+1] != 'a' && src[i+1] != 'A' && src[i+1] != 'd' && src[i+1] != 'D' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// decodeBase64Text decodes standard or URL-safe base64 (padded or not,
// wrapped over lines) into dst, stopping early when the bytes are not
// text. It returns nil when the input is not base64 of text.
func decodeBase64Text(dst []byte, src []byte) []byte {
	// Drop line breaks and indentation of a wrapped run.
	if bytes.IndexByte(src, '\n') >= 0 {
		clean := make([]byte, 0, len(src))
		for _, c := range src {
			if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
				clean = append(clean, c)
			}
		}
		src = clean
	}
	src = bytes.TrimRight(src, "=")
	if len(src)%4 == 1 {
		src = src[:len(src)-1]
	}
	// The first character of each quadruple carries the top bits of a
	// byte: for text (bytes below 0x80) it is one of A-Z or a-f. A quick
	// look at the first quadruples rejects most identifiers and binary.
	for k := 0; k < len(src) && k < 64; k += 4 {
		c := src[k]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'f') {
			return nil
		}
	}
	enc := base64.RawStdEncoding
	if bytes.ContainsAny(src, "-_") {
		if bytes.ContainsAny(src, "+/") {
			return nil
		}
		enc = base64.RawURLEncoding
	}
	if cap(dst) < enc.DecodedLen(len(src)) {
		dst = make([]byte, enc.DecodedLen(len(src)))
	}
	n, err := enc.Decode(dst[:enc.DecodedLen(len(src))], src)
	if err != nil {
		return nil
	}
	return dst[:n]
}

// isText reports whether b is UTF-8 text without control characters other
// than tabs and line breaks.
func isText(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError {
			return false
		}
		i += n
	}
	return true
}

// decoded adds the candidates found inside the encoded segments of
// data[from:to] (depth is the layer being decoded, from 1).
func (s *Scanner) decoded(in Input, data []byte, from, to int, cands []candidate, depth int) []candidate {
	if depth > s.rs.MaxDecodeDepth || s.decodeBudget <= 0 {
		return cands
	}
	sgs := segments(data, from, to)
	if len(sgs) == 0 {
		return cands
	}
	plain := len(cands)
	var dst []byte
	for _, sg := range sgs {
		if s.decodeBudget <= 0 {
			break
		}
		// A segment a specific rule matched is reported as such; one a
		// generic rule matched (a docker auth, a JWT) may hide a specific
		// secret and is decoded.
		covered := false
		for _, c := range cands[:plain] {
			if !c.rule.Generic && c.ms < sg.hi && sg.lo < c.me {
				covered = true
				break
			}
		}
		if covered {
			continue
		}
		if cap(dst) < sg.hi-sg.lo {
			dst = make([]byte, 0, sg.hi-sg.lo)
		}
		dec, ok := decodeSegment(dst[:cap(dst)], data, sg)
		if !ok {
			continue
		}
		s.decodeBudget -= len(dec)
		// The decoded text is scanned whole; the nested scan reuses this
		// scanner's scratch state, which match leaves clean.
		text := bytes.Clone(dec)
		inner := s.match(in, text, 0, len(text), false)
		inner = s.decoded(in, text, 0, len(text), inner, depth+1)
		for _, c := range inner {
			c.note = joinNote(sg.kind+"-decoded", c.note)
			c.ms, c.me, c.ss, c.se = sg.lo, sg.hi, sg.lo, sg.hi
			cands = append(cands, c)
		}
	}
	return cands
}

// continued adds the candidates of logical lines joined over shell line
// continuations (a backslash at the end of a line), such as a curl command
// whose header sits on the next line. A secret is placed at its own line.
func (s *Scanner) continued(in Input, data []byte, from, to int, cands []candidate) []candidate {
	const maxLines, maxJoined = 32, 16 << 10
	type piece struct{ joined, orig, n int }
	type at struct {
		ss   int
		rule *Rule
	}
	seen := map[at]bool{}
	for _, c := range cands {
		seen[at{c.ss, c.rule}] = true
	}
	p := from
	for p < to {
		k := bytes.Index(data[p:to], []byte("\\\n"))
		kr := bytes.Index(data[p:to], []byte("\\\r\n"))
		if k < 0 || kr >= 0 && kr < k {
			k = kr
		}
		if k < 0 {
			break
		}
		start := bytes.LastIndexByte(data[:p+k], '\n') + 1
		if start < p && p > from {
			start = p
		}
		var joined []byte
		var pieces []piece
		q := start
		for n := 0; n < maxLines && q < len(data) && len(joined) < maxJoined; n++ {
			e := q
			if i := bytes.IndexByte(data[q:], '\n'); i >= 0 {
				e = q + i
			} else {
				e = len(data)
			}
			body := e
			if body > q && data[body-1] == '\r' {
				body--
			}
			cont := body > q && data[body-1] == '\\'
			if cont {
				body--
			}
			pieces = append(pieces, piece{len(joined), q, body - q})
			joined = append(joined, data[q:body]...)
			q = e + 1
			if !cont {
				break
			}
		}
		mapOff := func(j int) int {
			for i := len(pieces) - 1; i >= 0; i-- {
				if j >= pieces[i].joined {
					return pieces[i].orig + min(j-pieces[i].joined, pieces[i].n)
				}
			}
			return start
		}
		for _, c := range s.match(in, joined, 0, len(joined), true) {
			ss := mapOff(c.ss)
			if seen[at{ss, c.rule}] {
				continue
			}
			seen[at{ss, c.rule}] = true
			c.ms, c.me, c.ss, c.se = mapOff(c.ms), mapOff(c.me), ss, mapOff(c.se)
			if c.se < c.ss {
				c.se = c.ss
			}
			cands = append(cands, c)
		}
		p = max(q, p+k+2)
	}
	return cands
}
