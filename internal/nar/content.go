package nar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pmezard/go-difflib/difflib"
)

const chunkSize = 64 << 10

// blob is one side of a content comparison: bytes in memory, a file on
// disk, a section of one (an ar member, an ELF section), or a member
// spooled to a temporary file. Containers are opened on blobs, so that
// a member is read in place when it can be, and copied at most once
// when it must be (decompressed, extracted from a stream).
type blob struct {
	ra   io.ReaderAt
	size int64
	mem  []byte // the whole content, when in memory
	// cut says the content was cut at the expansion limit (MaxExpand).
	cut bool
}

func memBlob(b []byte) blob { return blob{ra: bytes.NewReader(b), size: int64(len(b)), mem: b} }

func (b blob) open() io.Reader {
	if b.mem != nil {
		return bytes.NewReader(b.mem)
	}
	return io.NewSectionReader(b.ra, 0, b.size)
}

// section is the bytes [off, off+n) of b, clamped to b.
func (b blob) section(off, n int64) blob {
	if off < 0 || off > b.size {
		off = b.size
	}
	n = max(0, min(n, b.size-off))
	if b.mem != nil {
		return memBlob(b.mem[off : off+n])
	}
	return blob{ra: io.NewSectionReader(b.ra, off, n), size: n}
}

// head returns the first n bytes of b (fewer when b is shorter).
func (b blob) head(n int) []byte {
	n = int(min(int64(n), b.size))
	if b.mem != nil {
		return b.mem[:n]
	}
	p := make([]byte, n)
	k, _ := b.ra.ReadAt(p, 0)
	return p[:k]
}

// load returns b's bytes; b must be small (the caller checks MaxInMemory).
func (b blob) load() ([]byte, error) {
	if b.mem != nil {
		return b.mem, nil
	}
	p := make([]byte, b.size)
	n, err := b.ra.ReadAt(p, 0)
	if n == len(p) {
		return p, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return nil, err
}

// differ is one comparison: options, scratch buffers, the temporary
// directory for spooled members, and the expansion budget of each side.
type differ struct {
	mu       sync.Mutex // spool may run for both sides at once
	o        Options
	bufA     []byte
	bufB     []byte
	tmp      string
	spooled  []*os.File
	expanded [2]int64
	members  int
	rootName string
}

func newDiffer(o Options) *differ {
	return &differ{o: o}
}

// close removes the temporary files.
func (d *differ) close() {
	d.endEntry()
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
		d.tmp = ""
	}
}

// endEntry removes the members spooled for the entry just compared.
func (d *differ) endEntry() {
	for _, f := range d.spooled {
		f.Close()
		os.Remove(f.Name())
	}
	d.spooled = d.spooled[:0]
}

func (d *differ) buffers() ([]byte, []byte) {
	if d.bufA == nil {
		d.bufA, d.bufB = make([]byte, chunkSize), make([]byte, chunkSize)
	}
	return d.bufA, d.bufB
}

// entryBlob returns the contents of the regular file a tree has just
// returned: in place when the tree allows it, else read from the stream
// (into memory, or a temporary file when larger than MaxInMemory).
func (d *differ) entryBlob(t Tree, e *Entry, side int) (blob, error) {
	if ra, ok := t.(randomAccess); ok {
		if r, ok := ra.contentAt(); ok {
			return blob{ra: r, size: e.Size}, nil
		}
	}
	b, err := d.spoolN(t, side, e.Size, false)
	if err != nil {
		return blob{}, err
	}
	if b.size != e.Size {
		return blob{}, fmt.Errorf("%s: read %d of %d bytes", e.Path, b.size, e.Size)
	}
	return b, nil
}

// errExpand is returned by spool when the expansion budget ran out.
var errExpand = errors.New("expansion limit reached")

// spool reads r (a decompressor, an archive member) into a blob, charged
// to side's expansion budget. On errExpand or an error of r, the blob
// holds what was read before it.
func (d *differ) spool(r io.Reader, side int) (blob, error) {
	if s, ok := r.(sizedReader); ok {
		return d.spoolN(s.Reader, side, s.size, true)
	}
	return d.spoolN(r, side, -1, true)
}

// spoolN is spool with a known size (-1 when unknown); budget says
// whether the bytes count against MaxExpand (an input file's own bytes do
// not).
func (d *differ) spoolN(r io.Reader, side int, size int64, budget bool) (blob, error) {
	left := int64(math.MaxInt64)
	if budget {
		left = max(0, d.o.MaxExpand-d.expanded[side])
	}
	memLimit := min(d.o.MaxInMemory, left)
	var buf bytes.Buffer
	if size >= 0 && size <= memLimit {
		buf.Grow(int(size))
	}
	n, err := io.Copy(&buf, io.LimitReader(r, memLimit+1))
	if budget {
		d.expanded[side] += min(n, memLimit)
	}
	if err != nil {
		return memBlob(buf.Bytes()), err
	}
	if n <= memLimit {
		return memBlob(buf.Bytes()), nil
	}
	if memLimit == left {
		// The budget ends inside memory.
		return blob{ra: bytes.NewReader(buf.Bytes()[:memLimit]), size: memLimit, mem: buf.Bytes()[:memLimit], cut: true}, errExpand
	}
	// Larger than memory: a temporary file.
	f, err := d.tempFile()
	if err != nil {
		return blob{}, err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return blob{}, err
	}
	total := int64(buf.Len())
	rest := left - total
	m, err := io.Copy(f, io.LimitReader(r, rest+1))
	total += m
	b := blob{ra: f, size: min(total, left)}
	if budget {
		d.expanded[side] += min(m, rest)
	}
	if err != nil {
		return b, err
	}
	if m > rest {
		b.cut = true
		return b, errExpand
	}
	return b, nil
}

// tempFile creates a file in the diff's temporary directory, removed
// with the entry.
func (d *differ) tempFile() (*os.File, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tmp == "" {
		t, err := os.MkdirTemp(d.o.TempDir, "nixgate-nardiff-")
		if err != nil {
			return nil, err
		}
		d.tmp = t
	}
	f, err := os.CreateTemp(d.tmp, "member-")
	if err != nil {
		return nil, err
	}
	d.spooled = append(d.spooled, f)
	return f, nil
}

// spool2 spools both sides at once (two decompressors, two cores).
func (d *differ) spool2(ra, rb io.Reader) (blob, blob, error, error) {
	var a blob
	var errA error
	done := make(chan struct{})
	go func() {
		defer close(done)
		a, errA = d.spool(ra, 0)
	}()
	b, errB := d.spool(rb, 1)
	<-done
	return a, b, errA, errB
}

// equal reports whether two blobs hold the same bytes.
func (d *differ) equal(a, b blob) (bool, error) {
	if a.size != b.size {
		return false, nil
	}
	if a.mem != nil && b.mem != nil {
		return bytes.Equal(a.mem, b.mem), nil
	}
	ba, bb := d.buffers()
	for off := int64(0); off < a.size; off += chunkSize {
		n := int(min(chunkSize, a.size-off))
		if err := readAt(a, ba[:n], off); err != nil {
			return false, err
		}
		if err := readAt(b, bb[:n], off); err != nil {
			return false, err
		}
		if !bytes.Equal(ba[:n], bb[:n]) {
			return false, nil
		}
	}
	return true, nil
}

func readAt(b blob, p []byte, off int64) error {
	if b.mem != nil {
		copy(p, b.mem[off:])
		return nil
	}
	n, err := b.ra.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// compare compares two contents; it returns nil when they are equal.
// Equal bytes are equal: no container is opened before the bytes are
// known to differ.
func (d *differ) compare(name string, a, b blob, depth int) (*Diff, []Cause, error) {
	eq, err := d.equal(a, b)
	if err != nil || eq {
		return nil, nil, err
	}
	if depth < d.o.MaxDepth {
		ka, kb := sniff(name, a.head(512)), sniff(name, b.head(512))
		if ka != "" && ka == kb {
			if diff, causes, ok := d.compareContainer(ka, name, a, b, depth); ok {
				if a.cut || b.cut {
					diff.Note = joinNote(diff.Note, fmt.Sprintf("compared up to the expansion limit of %d bytes", d.o.MaxExpand))
				}
				return diff, causes, nil
			}
		}
	}
	return d.compareBytes(a, b)
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// compareContainer dispatches to the reader of a container format; ok is
// false when either side cannot be opened as one (then the bytes are
// compared).
func (d *differ) compareContainer(kind, name string, a, b blob, depth int) (*Diff, []Cause, bool) {
	switch kind {
	case "gzip", "xz", "bzip2", "zstd":
		return d.compareCompressed(kind, name, a, b, depth)
	case "tar":
		return d.compareTar(a, b, depth)
	case "zip":
		return d.compareZip(a, b, depth)
	case "ar":
		return d.compareAr(a, b, depth)
	case "cpio":
		return d.compareCpio(a, b, depth)
	case "elf":
		return d.compareELF(a, b, depth)
	case "pyc":
		return d.comparePyc(a, b, depth)
	}
	return nil, nil, false
}

// compareBytes compares two contents as text (both small and text) or
// as bytes.
func (d *differ) compareBytes(a, b blob) (*Diff, []Cause, error) {
	if a.size <= d.o.MaxInMemory && b.size <= d.o.MaxInMemory {
		da, err := a.load()
		if err != nil {
			return nil, nil, err
		}
		db, err := b.load()
		if err != nil {
			return nil, nil, err
		}
		if isText(da) && isText(db) {
			diff, causes := d.textDiff(da, db)
			return diff, causes, nil
		}
		diff, causes := d.binaryDiff(bytes.NewReader(da), bytes.NewReader(db))
		if diff != nil && len(causes) == 0 {
			// In memory: the strings of the whole contents, not only of
			// the first differing chunks (a path table, a string table).
			sa, sb := printableStrings(da, 6), printableStrings(db, 6)
			causes = d.textCauses(onlyIn(sa, sb), onlyIn(sb, sa), false)
		}
		return diff, causes, nil
	}
	diff, causes := d.binaryDiff(a.open(), b.open())
	return diff, causes, nil
}

// sniff names the container format of a file by its first bytes (and,
// for Python bytecode, its name).
func sniff(name string, p []byte) string {
	has := func(off int, s string) bool { return len(p) >= off+len(s) && string(p[off:off+len(s)]) == s }
	switch {
	case has(0, "\x1f\x8b\x08"):
		return "gzip"
	case has(0, "\xfd7zXZ\x00"):
		return "xz"
	case has(0, "BZh") && len(p) >= 10 && p[3] >= '1' && p[3] <= '9' && (has(4, "\x31\x41\x59\x26\x53\x59") || has(4, "\x17\x72\x45\x38\x50\x90")):
		return "bzip2"
	case has(0, "\x28\xb5\x2f\xfd"):
		return "zstd"
	case has(0, "PK\x03\x04"), has(0, "PK\x05\x06"):
		return "zip"
	case has(257, "ustar"):
		return "tar"
	case has(0, "!<arch>\n"):
		return "ar"
	case has(0, "070701"), has(0, "070702"), has(0, "070707"):
		return "cpio"
	case has(0, "\x7fELF"):
		return "elf"
	case strings.HasSuffix(name, ".pyc") && len(p) >= 16 && has(2, "\r\n"):
		return "pyc"
	}
	return ""
}

// isText reports whether b looks like text: valid UTF-8 without NUL
// bytes.
func isText(b []byte) bool {
	return bytes.IndexByte(b, 0) < 0 && utf8.Valid(b)
}

// binaryDiff compares two streams chunk by chunk and lists the differing
// byte ranges; causes are looked for in the printable strings of the
// differing chunks, and in the bytes of the differing ranges (random
// bytes).
func (d *differ) binaryDiff(ra, rb io.Reader) (*Diff, []Cause) {
	diff := &Diff{Format: "binary", FirstDifference: -1}
	bufA, bufB := d.buffers()
	var off, sizeA, sizeB int64
	var cur *Range
	var ranges []Range
	var strA, strB []string
	var samples [][2][]byte // the bytes of the first ranges
	var sa, sb []byte
	flush := func() {
		if cur != nil {
			ranges = append(ranges, *cur)
			if len(samples) < 64 {
				samples = append(samples, [2][]byte{sa, sb})
			}
			cur, sa, sb = nil, nil, nil
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
			if len(sa) < 64 {
				sa, sb = append(sa, bufA[i]), append(sb, bufB[i])
			}
		}
		if chunkHasDiff && len(strA) < 64 {
			strA = append(strA, printableStrings(bufA[:na], 6)...)
			strB = append(strB, printableStrings(bufB[:nb], 6)...)
		}
		off += int64(n)
	}
	flush()
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
	if len(causes) == 0 {
		if c, ok := randomRanges(samples); ok {
			causes = append(causes, c)
		}
	}
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
			if len(out) >= 65536 {
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

// maxDiffInput bounds the lines handed to the line matcher (quadratic in
// the worst case): past it, the first differing lines are listed.
const maxDiffInput = 20000

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
	// Common leading and trailing lines need no matcher.
	pre := 0
	for pre < len(la) && pre < len(lb) && la[pre] == lb[pre] {
		pre++
	}
	suf := 0
	for suf < len(la)-pre && suf < len(lb)-pre && la[len(la)-1-suf] == lb[len(lb)-1-suf] {
		suf++
	}
	ma, mb := la[pre:len(la)-suf], lb[pre:len(lb)-suf]
	if len(ma) > maxDiffInput || len(mb) > maxDiffInput {
		ma, mb = ma[:min(len(ma), maxDiffInput)], mb[:min(len(mb), maxDiffInput)]
		diff.Truncated = true
	}
	ctxA := la[max(0, pre-d.o.Context):pre]
	ctxB := la[len(la)-suf : min(len(la), len(la)-suf+d.o.Context)]
	wa := slices.Concat(ctxA, ma, ctxB)
	wb := slices.Concat(ctxA, mb, ctxB)
	base := pre - len(ctxA)
	m := difflib.NewMatcher(wa, wb)
	groups := m.GetGroupedOpCodes(d.o.Context)
	var out strings.Builder
	var removed, added []string
	lines := 0
	for _, g := range groups {
		first, last := g[0], g[len(g)-1]
		if lines < d.o.MaxDiffLines {
			fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(base+first.I1, base+last.I2), hunkRange(base+first.J1, base+last.J2))
		}
		for _, op := range g {
			if op.Tag == 'e' {
				for _, l := range wa[op.I1:op.I2] {
					lines += d.emit(&out, lines, " ", l)
				}
				continue
			}
			if op.Tag == 'r' || op.Tag == 'd' {
				for _, l := range wa[op.I1:op.I2] {
					lines += d.emit(&out, lines, "-", l)
					if len(removed) < 2000 {
						removed = append(removed, l)
					}
				}
			}
			if op.Tag == 'r' || op.Tag == 'i' {
				for _, l := range wb[op.J1:op.J2] {
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
