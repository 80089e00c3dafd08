package nar

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/pmezard/go-difflib/difflib"
)

const chunkSize = 64 << 10

// compare compares two contents; sizes are -1 when unknown. It returns nil
// when they are equal.
func (d *differ) compare(name string, ra, rb io.Reader, sizeA, sizeB int64, depth int) (*Diff, []Cause, error) {
	ba, bb := bufio.NewReaderSize(ra, chunkSize), bufio.NewReaderSize(rb, chunkSize)
	if depth < d.o.MaxDepth {
		pa, _ := ba.Peek(512)
		pb, _ := bb.Peek(512)
		ka, kb := sniff(pa), sniff(pb)
		if ka == kb && ka != "" {
			switch ka {
			case "gzip":
				return d.compareGzip(name, ba, bb, sizeA, sizeB, depth)
			case "tar":
				return d.compareTar(ba, bb, sizeA, sizeB, depth)
			case "zip":
				if (sizeA < 0 || sizeA <= 4*d.o.MaxInMemory) && (sizeB < 0 || sizeB <= 4*d.o.MaxInMemory) {
					return d.compareZip(ba, bb, sizeA, sizeB, depth)
				}
			}
		}
	}
	// Read up to the in-memory limit.
	limit := d.o.MaxInMemory
	da, fullA, err := readUpTo(ba, limit)
	if err != nil {
		return nil, nil, err
	}
	db, fullB, err := readUpTo(bb, limit)
	if err != nil {
		return nil, nil, err
	}
	if fullA && fullB {
		if bytes.Equal(da, db) {
			return nil, nil, nil
		}
		if isText(da) && isText(db) {
			diff, causes := d.textDiff(da, db)
			return diff, causes, nil
		}
		diff, causes := d.binaryDiff(bytes.NewReader(da), bytes.NewReader(db))
		return diff, causes, nil
	}
	diff, causes := d.binaryDiff(io.MultiReader(bytes.NewReader(da), ba), io.MultiReader(bytes.NewReader(db), bb))
	return diff, causes, nil
}

// readUpTo reads r up to limit bytes; full says r ended within them.
func readUpTo(r io.Reader, limit int64) (data []byte, full bool, err error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	if n <= limit {
		return buf.Bytes(), true, nil
	}
	return buf.Bytes(), false, nil
}

// sniff names the archive format of a file by its first bytes.
func sniff(p []byte) string {
	switch {
	case len(p) >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8:
		return "gzip"
	case len(p) >= 4 && string(p[:4]) == "PK\x03\x04":
		return "zip"
	case len(p) >= 262 && string(p[257:262]) == "ustar":
		return "tar"
	}
	return ""
}

// isText reports whether b looks like text: valid UTF-8 without NUL
// bytes.
func isText(b []byte) bool {
	return bytes.IndexByte(b, 0) < 0 && utf8.Valid(b)
}

// binaryDiff compares two streams chunk by chunk and lists the differing
// byte ranges; causes are looked for in the printable strings around the
// first ranges.
func (d *differ) binaryDiff(ra, rb io.Reader) (*Diff, []Cause) {
	diff := &Diff{Format: "binary", FirstDifference: -1}
	bufA, bufB := make([]byte, chunkSize), make([]byte, chunkSize)
	var off, sizeA, sizeB int64
	var cur *Range
	var ranges []Range
	var strA, strB []string
	flush := func() {
		if cur != nil {
			ranges = append(ranges, *cur)
			cur = nil
		}
	}
	eofA, eofB := false, false
	for !eofA || !eofB {
		na, nb := 0, 0
		if !eofA {
			na, _ = io.ReadFull(ra, bufA)
			eofA = na < len(bufA)
		}
		if !eofB {
			nb, _ = io.ReadFull(rb, bufB)
			eofB = nb < len(bufB)
		}
		sizeA += int64(na)
		sizeB += int64(nb)
		n := max(na, nb)
		if na == nb && bytes.Equal(bufA[:na], bufB[:nb]) {
			if cur != nil && off-cur.End >= 8 {
				flush()
			}
			off += int64(n)
			continue
		}
		chunkHasDiff := false
		for i := 0; i < n; i++ {
			same := i < na && i < nb && bufA[i] == bufB[i]
			if same {
				if cur != nil && off+int64(i)-cur.End >= 8 {
					flush()
				}
				continue
			}
			chunkHasDiff = true
			p := off + int64(i)
			if diff.FirstDifference < 0 {
				diff.FirstDifference = p
			}
			if cur == nil {
				cur = &Range{Start: p, End: p + 1}
			} else {
				cur.End = p + 1
			}
			if i >= na || i >= nb {
				// One side ended: the rest of the longer side differs.
				cur.End = off + int64(n)
				break
			}
		}
		if chunkHasDiff && len(strA) < 64 {
			strA = append(strA, printableStrings(bufA[:na], 6)...)
			strB = append(strB, printableStrings(bufB[:nb], 6)...)
		}
		off += int64(n)
	}
	flush()
	// Merge ranges separated by fewer than 8 equal bytes (done above) and
	// bound the list.
	diff.SizeA, diff.SizeB = sizeA, sizeB
	if len(ranges) > d.o.MaxRanges {
		diff.MoreRanges = len(ranges) - d.o.MaxRanges
		ranges = ranges[:d.o.MaxRanges]
	}
	diff.Ranges = ranges
	if diff.FirstDifference < 0 {
		return nil, nil
	}
	// Only the strings that differ between the sides matter.
	oa, ob := onlyIn(strA, strB), onlyIn(strB, strA)
	causes := d.textCauses(oa, ob, false)
	return diff, causes
}

// onlyIn returns the strings of a that are not in b.
func onlyIn(a, b []string) []string {
	set := make(map[string]bool, len(b))
	for _, s := range b {
		set[s] = true
	}
	var out []string
	for _, s := range a {
		if !set[s] {
			out = append(out, s)
		}
	}
	return out
}

// printableStrings extracts runs of at least min printable ASCII bytes,
// like strings(1).
func printableStrings(b []byte, min int) []string {
	var out []string
	start := -1
	for i := 0; i <= len(b); i++ {
		printable := i < len(b) && b[i] >= 0x20 && b[i] < 0x7f
		if printable {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= min {
			out = append(out, string(b[start:i]))
			if len(out) >= 4096 {
				return out
			}
		}
		start = -1
	}
	return out
}

// splitLines splits text into lines, keeping the line ends.
func splitLines(b []byte) []string {
	s := string(b)
	var lines []string
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// textDiff compares two texts line by line: a bounded unified diff, the
// first differing byte, and the causes found in the changed lines.
func (d *differ) textDiff(a, b []byte) (*Diff, []Cause) {
	diff := &Diff{Format: "text", SizeA: int64(len(a)), SizeB: int64(len(b)), FirstDifference: firstDiff(a, b)}
	la, lb := splitLines(a), splitLines(b)
	var causes []Cause
	// The same lines in another order.
	if len(la) == len(lb) && len(la) > 1 {
		sa, sb := slices.Clone(la), slices.Clone(lb)
		slices.Sort(sa)
		slices.Sort(sb)
		if slices.Equal(sa, sb) {
			causes = append(causes, Cause{Kind: CauseOrder, Detail: fmt.Sprintf("the same %d lines in a different order", len(la))})
		}
	}
	m := difflib.NewMatcher(la, lb)
	groups := m.GetGroupedOpCodes(d.o.Context)
	var out strings.Builder
	var removed, added []string
	lines := 0
	for _, g := range groups {
		first, last := g[0], g[len(g)-1]
		if lines < d.o.MaxDiffLines {
			fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(first.I1, last.I2), hunkRange(first.J1, last.J2))
		}
		for _, op := range g {
			if op.Tag == 'e' {
				for _, l := range la[op.I1:op.I2] {
					lines += d.emit(&out, lines, " ", l)
				}
				continue
			}
			if op.Tag == 'r' || op.Tag == 'd' {
				for _, l := range la[op.I1:op.I2] {
					lines += d.emit(&out, lines, "-", l)
					if len(removed) < 2000 {
						removed = append(removed, l)
					}
				}
			}
			if op.Tag == 'r' || op.Tag == 'i' {
				for _, l := range lb[op.J1:op.J2] {
					lines += d.emit(&out, lines, "+", l)
					if len(added) < 2000 {
						added = append(added, l)
					}
				}
			}
		}
	}
	if lines > d.o.MaxDiffLines {
		diff.Truncated = true
	}
	diff.Unified = out.String()
	reordered := len(causes) > 0
	causes = append(causes, d.textCauses(removed, added, reordered)...)
	return diff, causes
}

// emit writes one diff line while under the bound; it returns 1.
func (d *differ) emit(w *strings.Builder, lines int, prefix, l string) int {
	if lines < d.o.MaxDiffLines {
		w.WriteString(prefix)
		w.WriteString(l)
		if !strings.HasSuffix(l, "\n") {
			w.WriteString("\n\\ No newline at end of file\n")
		}
	}
	return 1
}

func hunkRange(start, end int) string {
	n := end - start
	if n == 1 {
		return fmt.Sprint(start + 1)
	}
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func firstDiff(a, b []byte) int64 {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return int64(i)
		}
	}
	return int64(n)
}
