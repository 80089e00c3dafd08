// Package jsonindent writes encoding/json's indented form of a value, byte
// for byte what json.Encoder with SetIndent("", "  ") writes, in a fraction
// of its time.
//
// encoding/json indents by running its scanner's state machine over every
// byte of the compact encoding; on a report of half a megabyte of short
// strings that is five times the cost of the marshalling itself. The
// compact encoding a json.Encoder writes is known to be valid and has no
// white space outside strings, so the indenting here needs only to find
// where each string ends (a search for the next quote) and to break the
// line at the structural bytes between strings. A fuzz target holds it to
// json.Indent's output on every valid compact document.
package jsonindent

import (
	"bytes"
	"encoding/json"
	"io"
)

// Indent is the indentation of one nesting level.
const Indent = "  "

// Encode writes v to w as json.Encoder with SetIndent("", Indent) and the
// given HTML escaping writes it: indented, then a newline.
func Encode(w io.Writer, v any, escapeHTML bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return Write(w, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// Marshal is json.MarshalIndent(v, "", Indent).
func Marshal(v any) ([]byte, error) {
	compact, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return Append(make([]byte, 0, len(compact)+len(compact)/2), compact), nil
}

// Append appends the indented form of src to dst. src must be compact
// JSON as encoding/json writes it (valid, no white space outside strings);
// on other input the result is unspecified, but Append returns.
func Append(dst, src []byte) []byte {
	dst, _ = indent(dst, src, nil)
	return dst
}

// Write writes the indented form of src to w, then a newline, through a
// buffer of 64 KiB rather than one the size of the output (for reports of
// half a megabyte). src is as for Append.
func Write(w io.Writer, src []byte) error {
	const size = 64 << 10
	flush := func(b []byte) ([]byte, error) {
		if _, err := w.Write(b); err != nil {
			return b, err
		}
		return b[:0], nil
	}
	dst, err := indent(make([]byte, 0, size+size/8), src, flush)
	if err != nil {
		return err
	}
	dst = append(dst, '\n')
	_, err = flush(dst)
	return err
}

// indent appends the indented form of src to dst, handing dst to flush
// (when not nil) whenever it holds 64 KiB or more.
func indent(dst, src []byte, flush func([]byte) ([]byte, error)) ([]byte, error) {
	depth := 0
	newline := func() {
		dst = append(dst, '\n')
		for range depth {
			dst = append(dst, Indent...)
		}
	}
	for i := 0; i < len(src); i++ {
		if flush != nil && len(dst) >= 64<<10 {
			var err error
			if dst, err = flush(dst); err != nil {
				return dst, err
			}
		}
		switch c := src[i]; c {
		case '"':
			end := stringEnd(src, i+1)
			dst = append(dst, src[i:end]...)
			i = end - 1
		case '{', '[':
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				// An empty object or array stays on its line, as
				// json.Indent leaves it.
				dst = append(dst, c, src[i+1])
				i++
				continue
			}
			dst = append(dst, c)
			depth++
			newline()
		case '}', ']':
			if depth > 0 {
				depth--
			}
			newline()
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, c, ' ')
		default:
			// A number or a literal: copy it up to the next structural byte.
			j := i + 1
			for j < len(src) && !structural(src[j]) {
				j++
			}
			dst = append(dst, src[i:j]...)
			i = j - 1
		}
	}
	return dst, nil
}

// stringEnd is the index just past the quote that closes the string whose
// contents start at from (or len(src) when it does not close).
func stringEnd(src []byte, from int) int {
	for j := from; j < len(src); {
		k := bytes.IndexByte(src[j:], '"')
		if k < 0 {
			return len(src)
		}
		q := j + k
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for p := q - 1; p >= from && src[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
	return len(src)
}

func structural(c byte) bool {
	switch c {
	case '"', '{', '}', '[', ']', ',', ':':
		return true
	}
	return false
}
