// Package jsonw appends JSON values to a byte slice, for the writers that
// lay a document out themselves because encoding/json's reflection costs
// more than the rest of their job (sbom, where it was 3 to 8 ms of a
// 1,000-path closure; report, for kconfig's half-megabyte reports). String
// writes exactly the bytes encoding/json's Encoder writes with
// SetEscapeHTML(false), StringHTML those json.Marshal writes (HTML
// escaped); the tests and FuzzString hold them to that.
package jsonw

import (
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// String appends s as a JSON string (RFC 8259): '"', '\\' and the control
// characters escaped (the short forms where JSON has one), bytes that are
// not UTF-8 replaced by U+FFFD, and U+2028 and U+2029 escaped so that the
// output is also valid JavaScript.
func String(dst []byte, s string) []byte {
	return appendString(dst, s, false)
}

// StringHTML is String with '<', '>' and '&' escaped too (\u003c, \u003e,
// \u0026), as json.Marshal writes them, so that the JSON can sit in HTML.
func StringHTML(dst []byte, s string) []byte {
	return appendString(dst, s, true)
}

func appendString(dst []byte, s string, html bool) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a look (store paths,
		// hashes and names are plain ASCII).
		for i+8 <= len(s) && plain8(uint64(s[i])|uint64(s[i+1])<<8|uint64(s[i+2])<<16|uint64(s[i+3])<<24|
			uint64(s[i+4])<<32|uint64(s[i+5])<<40|uint64(s[i+6])<<48|uint64(s[i+7])<<56, html) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && !(html && (c == '<' || c == '>' || c == '&')) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plain8 reports whether none of the eight bytes of x is a control
// character, '"', '\\', outside ASCII or (html) one of '<', '>', '&'.
func plain8(x uint64, html bool) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	m := (x-0x20*ones)&^x&highs | zero(x^'"'*ones) | zero(x^'\\'*ones) | x&highs
	if html {
		m |= zero(x^'<'*ones) | zero(x^'>'*ones) | zero(x^'&'*ones)
	}
	return m == 0
}

// Strings appends ss as a JSON array of strings, [] when nil.
func Strings(dst []byte, ss []string) []byte {
	return appendStrings(dst, ss, false)
}

// StringsHTML is Strings with the strings written by StringHTML.
func StringsHTML(dst []byte, ss []string) []byte {
	return appendStrings(dst, ss, true)
}

func appendStrings(dst []byte, ss []string, html bool) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s, html)
	}
	return append(dst, ']')
}

// Array appends items as a JSON array, each one written by each; a nil
// slice is null, as encoding/json writes it.
func Array[T any](dst []byte, items []T, each func([]byte, T) []byte) []byte {
	if items == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, it := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = each(dst, it)
	}
	return append(dst, ']')
}

// OmitEmptyHTML appends ,"key":value (value by StringHTML) unless value
// is empty, as encoding/json writes a field tagged omitempty that follows
// another. key is written as it is.
func OmitEmptyHTML(dst []byte, key, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return appendString(dst, value, true)
}

// Int appends n as a JSON number.
func Int(dst []byte, n int64) []byte {
	return strconv.AppendInt(dst, n, 10)
}
