package nar

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/nixgate/nixgate/internal/xzdec"
)

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "0 (none)"
	}
	return t.UTC().Format(time.RFC3339)
}

// headerTimeCause names a time field of an archive header that differs;
// detail is the field ("gzip header modification time").
func (d *differ) headerTimeCause(detail string, ta, tb time.Time) Cause {
	c := Cause{Kind: CauseTimestamp, Detail: detail, A: fmtTime(ta), B: fmtTime(tb)}
	if d.o.Sides[0].contains(ta, time.Minute) || d.o.Sides[1].contains(tb, time.Minute) {
		c.Detail += " (the build time)"
	}
	return c
}

// Bounds of the decompressors' memory: an xz dictionary or a zstd window
// larger than these is refused (xz -9 uses 64 MiB, zstd --ultra -22 128).
const (
	maxXZDict     = 64 << 20
	maxZstdWindow = 128 << 20
)

// decompressor opens a compressed stream; the returned closer (never nil)
// releases it.
func decompressor(kind string, b blob) (io.Reader, func(), error) {
	nop := func() {}
	// Buffered: the decoders read byte by byte (io.ByteReader when they
	// can), which on a section of a file would be a system call a byte.
	in := bufio.NewReaderSize(b.open(), 64<<10)
	switch kind {
	case "gzip":
		g, err := gzip.NewReader(in)
		if err != nil {
			return nil, nop, err
		}
		g.Multistream(true)
		return g, nop, nil
	case "xz":
		size, err := xzdec.Size(b.ra, b.size, maxXZDict)
		if err != nil {
			return nil, nop, err
		}
		x, err := xzdec.NewReader(in, xzdec.Config{MaxDict: maxXZDict})
		return sizedReader{x, size}, nop, err
	case "bzip2":
		return bzip2.NewReader(in), nop, nil
	case "zstd":
		patches, err := checkZstd(b)
		if err != nil {
			return nil, nop, err
		}
		if len(patches) > 0 {
			in = bufio.NewReaderSize(patched{b, patches}.reader(), 64<<10)
		}
		z, err := zstd.NewReader(in, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(maxZstdWindow))
		if err != nil {
			return nil, nop, err
		}
		return z, z.Close, nil
	}
	return nil, nop, fmt.Errorf("unknown compression %s", kind)
}

// sizedReader is a decompressed stream whose size the container's index
// gives (an xz file's): the buffer it is spooled into is allocated once.
type sizedReader struct {
	io.Reader
	size int64
}

// memberName is the name of the one member of a compressed file.
func memberName(kind, name, gzName string) string {
	if gzName != "" {
		return gzName
	}
	exts := map[string][][2]string{
		"gzip":  {{".tgz", ".tar"}, {".gz", ""}},
		"xz":    {{".txz", ".tar"}, {".xz", ""}},
		"bzip2": {{".tbz2", ".tar"}, {".bz2", ""}},
		"zstd":  {{".tzst", ".tar"}, {".zst", ""}, {".zstd", ""}},
	}[kind]
	for _, e := range exts {
		if base, ok := strings.CutSuffix(name, e[0]); ok && base != "" {
			return base + e[1]
		}
	}
	return "content"
}

// compareCompressed compares two compressed streams: the gzip headers,
// then the decompressed contents as one member.
func (d *differ) compareCompressed(kind, name string, a, b blob, depth int) (*Diff, []Cause, bool) {
	ra, closeA, errA := decompressor(kind, a)
	defer closeA()
	rb, closeB, errB := decompressor(kind, b)
	defer closeB()
	if errA != nil || errB != nil {
		diff, causes, err := d.compareBytes(a, b)
		if err != nil {
			return nil, nil, false
		}
		diff.Note = joinNote(diff.Note, fmt.Sprintf("cannot read %s: %v", kind, firstErr(errA, errB)))
		return diff, causes, true
	}
	diff := &Diff{Format: kind, SizeA: a.size, SizeB: b.size, FirstDifference: -1}
	var causes []Cause
	gzName := ""
	if kind == "gzip" {
		ha, hb := ra.(*gzip.Reader).Header, rb.(*gzip.Reader).Header
		if !ha.ModTime.Equal(hb.ModTime) {
			diff.Header = append(diff.Header, Field{Name: "mtime", A: fmtTime(ha.ModTime), B: fmtTime(hb.ModTime)})
			causes = append(causes, d.headerTimeCause("gzip header modification time", ha.ModTime, hb.ModTime))
		}
		if ha.Name != hb.Name {
			diff.Header = append(diff.Header, Field{Name: "name", A: ha.Name, B: hb.Name})
			causes = append(causes, Cause{Kind: CauseArchive, Detail: "gzip header file name", A: ha.Name, B: hb.Name})
		}
		if ha.Comment != hb.Comment {
			diff.Header = append(diff.Header, Field{Name: "comment", A: ha.Comment, B: hb.Comment})
		}
		if ha.OS != hb.OS {
			diff.Header = append(diff.Header, Field{Name: "os", A: fmt.Sprint(ha.OS), B: fmt.Sprint(hb.OS)})
			causes = append(causes, Cause{Kind: CauseArchive, Detail: "gzip header operating system byte"})
		}
		if !bytes.Equal(ha.Extra, hb.Extra) {
			diff.Header = append(diff.Header, Field{Name: "extra", A: fmt.Sprintf("%x", ha.Extra), B: fmt.Sprintf("%x", hb.Extra)})
		}
		gzName = ha.Name
	}
	member := memberName(kind, name, gzName)
	ma, mb, errA, errB := d.spool2(ra, rb)
	var note string
	if err := firstErr(errA, errB); err != nil {
		if errors.Is(err, errExpand) {
			note = fmt.Sprintf("decompressed past the expansion limit of %d bytes: compared the first %d and %d bytes", d.o.MaxExpand, ma.size, mb.size)
		} else {
			// A corrupt stream is a difference to report, not a failure.
			note = fmt.Sprintf("decompress: %v", err)
		}
	}
	diff.Note = note
	md, mc, err := d.compare(member, ma, mb, depth+1)
	if err != nil {
		diff.Note = joinNote(diff.Note, fmt.Sprintf("compare the decompressed contents: %v", err))
	}
	if md != nil {
		diff.Members = append(diff.Members, Change{Path: member, Kind: Content, Content: md, Causes: mc})
	}
	if len(diff.Header) == 0 && len(diff.Members) == 0 && diff.Note == "" {
		// The bytes differ (compared first), the header and the content
		// do not: another compression level or implementation.
		diff.Note = "same header and decompressed content; the compressed bytes differ (compression level or implementation)"
		causes = append(causes, Cause{Kind: CauseArchive, Detail: fmt.Sprintf("different %s compression of the same content", kind)})
	}
	return diff, causes, true
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// tarHeaderFields lists the metadata of a tar member that reproducible
// builds must pin.
func tarHeaderFields(h *tar.Header) [][2]string {
	return [][2]string{
		{"type", string(h.Typeflag)},
		{"mode", fmt.Sprintf("%o", h.Mode)},
		{"uid", fmt.Sprint(h.Uid)},
		{"gid", fmt.Sprint(h.Gid)},
		{"uname", h.Uname},
		{"gname", h.Gname},
		{"mtime", fmtTime(h.ModTime)},
		{"linkname", h.Linkname},
		{"size", fmt.Sprint(h.Size)},
	}
}

func headerDiff(fa, fb [][2]string) []Field {
	var out []Field
	for i := range fa {
		if fa[i][1] != fb[i][1] {
			out = append(out, Field{Name: fa[i][0], A: fa[i][1], B: fb[i][1]})
		}
	}
	return out
}

// metadataCauses names the causes found in differing member headers.
func (d *differ) metadataCauses(format, member string, fields []Field) []Cause {
	var causes []Cause
	for _, f := range fields {
		switch f.Name {
		case "mtime", "modified":
			causes = append(causes, Cause{Kind: CauseTimestamp, Detail: fmt.Sprintf("%s member %s modification time", format, member), A: f.A, B: f.B})
		case "ino", "inode":
			causes = append(causes, Cause{Kind: CauseArchive, Detail: fmt.Sprintf("%s member %s inode number (of the build's file system)", format, member), A: f.A, B: f.B})
		case "size", "crc32", "filesize", "check":
		default:
			causes = append(causes, Cause{Kind: CauseArchive, Detail: fmt.Sprintf("%s member %s %s", format, member, f.Name), A: f.A, B: f.B})
		}
	}
	return causes
}

// memberChange is the change of one archive member, or nil when its
// header fields and contents are the same.
func memberChange(format, name string, fields []Field, md *Diff, causes []Cause) *Change {
	if len(fields) == 0 && md == nil {
		return nil
	}
	ch := &Change{Path: name, Kind: Content, Content: md, Causes: causes}
	if md == nil {
		ch.Kind = "metadata"
	}
	ch.Content = orEmpty(ch.Content, format)
	ch.Content.Header = append(fields, ch.Content.Header...)
	return ch
}

// compareTar walks two tar streams member by member; when the member
// lists part ways, the rest is compared by name and content hash.
func (d *differ) compareTar(a, b blob, depth int) (*Diff, []Cause, bool) {
	diff := &Diff{Format: "tar", SizeA: a.size, SizeB: b.size, FirstDifference: -1}
	ta, tb := tar.NewReader(bufio.NewReaderSize(a.open(), 64<<10)), tar.NewReader(bufio.NewReaderSize(b.open(), 64<<10))
	var causes []Cause
	type rest struct {
		order []string
		hdr   map[string]*tar.Header
		sum   map[string][32]byte
	}
	restA := rest{hdr: map[string]*tar.Header{}, sum: map[string][32]byte{}}
	restB := rest{hdr: map[string]*tar.Header{}, sum: map[string][32]byte{}}
	add := func(r *rest, tr *tar.Reader, h *tar.Header) error {
		s := sha256.New()
		if _, err := io.Copy(s, tr); err != nil {
			return err
		}
		if _, dup := r.hdr[h.Name]; !dup {
			r.order = append(r.order, h.Name)
		}
		r.hdr[h.Name] = h
		r.sum[h.Name] = [32]byte(s.Sum(nil))
		return nil
	}
	parted := false
	n := 0
	for {
		ha, errA := ta.Next()
		hb, errB := tb.Next()
		if errA != nil && errA != io.EOF || errB != nil && errB != io.EOF {
			if n == 0 {
				return nil, nil, false // not a tar we can read
			}
			diff.Note = fmt.Sprintf("read tar: %v", firstErr(errA, errB))
			break
		}
		if errA == io.EOF && errB == io.EOF {
			break
		}
		if n++; n > d.o.MaxMembers {
			diff.Note = fmt.Sprintf("more than %d members: the rest is not compared", d.o.MaxMembers)
			break
		}
		if !parted && ha != nil && hb != nil && ha.Name == hb.Name {
			fields := headerDiff(tarHeaderFields(ha), tarHeaderFields(hb))
			ma, mb, errA, errB := d.spool2(ta, tb)
			md, mc, err := d.compare(path.Base(ha.Name), ma, mb, depth+1)
			if err == nil {
				err = firstErr(errA, errB)
			}
			if ch := memberChange("tar", ha.Name, fields, md, append(d.metadataCauses("tar", ha.Name, fields), mc...)); ch != nil {
				diff.Members = append(diff.Members, *ch)
			}
			if err != nil {
				diff.Note = fmt.Sprintf("read member %s: %v", ha.Name, err)
				break
			}
			continue
		}
		parted = true
		if ha != nil && errA == nil {
			if err := add(&restA, ta, ha); err != nil {
				diff.Note = fmt.Sprintf("read member %s: %v", ha.Name, err)
				break
			}
		}
		if hb != nil && errB == nil {
			if err := add(&restB, tb, hb); err != nil {
				diff.Note = fmt.Sprintf("read member %s: %v", hb.Name, err)
				break
			}
		}
	}
	if parted {
		same := slices.Equal(sortedCopy(restA.order), sortedCopy(restB.order))
		for _, n := range restA.order {
			hb, ok := restB.hdr[n]
			if !ok {
				diff.Members = append(diff.Members, Change{Path: n, Kind: Removed})
				continue
			}
			fields := headerDiff(tarHeaderFields(restA.hdr[n]), tarHeaderFields(hb))
			if len(fields) > 0 || restA.sum[n] != restB.sum[n] {
				ch := Change{Path: n, Kind: Content, Causes: d.metadataCauses("tar", n, fields),
					Content: &Diff{Format: "binary", SizeA: restA.hdr[n].Size, SizeB: hb.Size, FirstDifference: -1, Header: fields}}
				if restA.sum[n] == restB.sum[n] {
					ch.Kind = "metadata"
				} else {
					ch.Content.Note = "content differs (compared by hash after the member order parted)"
				}
				diff.Members = append(diff.Members, ch)
			}
		}
		for _, n := range restB.order {
			if _, ok := restA.hdr[n]; !ok {
				diff.Members = append(diff.Members, Change{Path: n, Kind: Added})
			}
		}
		if same && !slices.Equal(restA.order, restB.order) {
			causes = append(causes, Cause{Kind: CauseOrder, Detail: "the same tar members in a different order"})
		}
	}
	if len(diff.Members) == 0 && len(causes) == 0 && diff.Note == "" {
		diff.Note = "same members and metadata; the archive bytes differ (padding or header encoding)"
		causes = append(causes, Cause{Kind: CauseArchive, Detail: "different layout of the same tar members"})
	}
	return diff, causes, true
}

func orEmpty(d *Diff, format string) *Diff {
	if d == nil {
		return &Diff{Format: format, FirstDifference: -1, SizeA: -1, SizeB: -1}
	}
	return d
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// compareZip compares two zip archives (jar, wheel, ...) read in place:
// member order, member metadata and member contents.
func (d *differ) compareZip(a, b blob, depth int) (*Diff, []Cause, bool) {
	za, errA := zip.NewReader(a.ra, a.size)
	zb, errB := zip.NewReader(b.ra, b.size)
	if errA != nil || errB != nil {
		return nil, nil, false
	}
	diff := &Diff{Format: "zip", SizeA: a.size, SizeB: b.size, FirstDifference: -1}
	var causes []Cause
	byName := func(z *zip.Reader) (map[string]*zip.File, []string) {
		m := map[string]*zip.File{}
		var order []string
		for _, f := range z.File {
			if _, dup := m[f.Name]; !dup {
				order = append(order, f.Name)
			}
			m[f.Name] = f
		}
		return m, order
	}
	ma, oa := byName(za)
	mb, ob := byName(zb)
	if !slices.Equal(oa, ob) && slices.Equal(sortedCopy(oa), sortedCopy(ob)) {
		causes = append(causes, Cause{Kind: CauseOrder, Detail: "the same zip members in a different order"})
	}
	if za.Comment != zb.Comment {
		diff.Header = append(diff.Header, Field{Name: "comment", A: za.Comment, B: zb.Comment})
	}
	fields := func(f *zip.File) [][2]string {
		return [][2]string{
			{"modified", fmtTime(f.Modified)},
			{"method", fmt.Sprint(f.Method)},
			{"mode", f.Mode().String()},
			{"extra", fmt.Sprintf("%x", f.Extra)},
			{"comment", f.Comment},
			{"crc32", fmt.Sprintf("%08x", f.CRC32)},
		}
	}
	open := func(f *zip.File, side int) (blob, error) {
		r, err := f.Open()
		if err != nil {
			return blob{}, err
		}
		defer r.Close()
		return d.spool(r, side)
	}
	for i, n := range oa {
		if i >= d.o.MaxMembers {
			diff.Note = fmt.Sprintf("more than %d members: the rest is not compared", d.o.MaxMembers)
			break
		}
		fa := ma[n]
		fb, ok := mb[n]
		if !ok {
			diff.Members = append(diff.Members, Change{Path: n, Kind: Removed})
			continue
		}
		hf := headerDiff(fields(fa), fields(fb))
		// Extra fields mostly carry timestamps; report them once with mtime.
		if slices.ContainsFunc(hf, func(f Field) bool { return f.Name == "modified" }) {
			hf = slices.DeleteFunc(hf, func(f Field) bool { return f.Name == "extra" })
		}
		var md *Diff
		var mc []Cause
		if fa.CRC32 != fb.CRC32 || fa.UncompressedSize64 != fb.UncompressedSize64 {
			ba, errA := open(fa, 0)
			bb, errB := open(fb, 1)
			var err error
			md, mc, err = d.compare(path.Base(n), ba, bb, depth+1)
			if err = firstErr(errA, errB, err); err != nil {
				md = orEmpty(md, "zip")
				md.Note = joinNote(md.Note, fmt.Sprintf("read member: %v", err))
			}
		}
		if ch := memberChange("zip", n, hf, md, append(d.metadataCauses("zip", n, hf), mc...)); ch != nil {
			diff.Members = append(diff.Members, *ch)
		}
	}
	for _, n := range ob {
		if _, ok := ma[n]; !ok {
			diff.Members = append(diff.Members, Change{Path: n, Kind: Added})
		}
	}
	if len(diff.Members) == 0 && len(diff.Header) == 0 && len(causes) == 0 && diff.Note == "" {
		diff.Note = "same members and metadata; the archive bytes differ (compression or layout)"
		causes = append(causes, Cause{Kind: CauseArchive, Detail: "different compression or layout of the same zip members"})
	}
	return diff, causes, true
}
