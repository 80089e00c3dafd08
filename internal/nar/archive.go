package nar

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "0 (none)"
	}
	return t.UTC().Format(time.RFC3339)
}

// compareGzip compares two gzip streams: their headers, then their
// decompressed contents as one member.
func (d *differ) compareGzip(name string, ra, rb *bufio.Reader, sizeA, sizeB int64, depth int) (*Diff, []Cause, error) {
	diff := &Diff{Format: "gzip", SizeA: sizeA, SizeB: sizeB, FirstDifference: -1}
	ga, errA := gzip.NewReader(ra)
	gb, errB := gzip.NewReader(rb)
	if errA != nil || errB != nil {
		diff.Note = fmt.Sprintf("cannot read gzip header: %v", firstErr(errA, errB))
		return diff, nil, nil
	}
	ga.Multistream(true)
	gb.Multistream(true)
	var causes []Cause
	ha, hb := ga.Header, gb.Header
	if !ha.ModTime.Equal(hb.ModTime) {
		diff.Header = append(diff.Header, Field{Name: "mtime", A: fmtTime(ha.ModTime), B: fmtTime(hb.ModTime)})
		c := Cause{Kind: CauseTimestamp, Detail: "gzip header modification time", A: fmtTime(ha.ModTime), B: fmtTime(hb.ModTime)}
		if d.o.BuildTimes[0].contains(ha.ModTime, time.Minute) || d.o.BuildTimes[1].contains(hb.ModTime, time.Minute) {
			c.Detail = "gzip header modification time (the build time)"
		}
		causes = append(causes, c)
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
	member := ha.Name
	if member == "" {
		member = strings.TrimSuffix(path.Base(name), ".gz")
		if member == path.Base(name) {
			member = "content"
		}
	}
	md, mc, err := d.compare(member, ga, gb, -1, -1, depth+1)
	if err != nil {
		// A corrupt stream is a difference to report, not a failure.
		diff.Note = fmt.Sprintf("decompress: %v", err)
	}
	if md != nil {
		diff.Members = append(diff.Members, Change{Path: member, Kind: Content, Content: md, Causes: mc})
	}
	if len(diff.Header) == 0 && len(diff.Members) == 0 && diff.Note == "" {
		// Same header and content, different compressed bytes: another
		// compression level or implementation.
		diff.Note = "same header and decompressed content; the compressed bytes differ (compression level or implementation)"
		causes = append(causes, Cause{Kind: CauseArchive, Detail: "different compression of the same content"})
	}
	return diff, causes, nil
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
		case "size", "crc32":
		default:
			causes = append(causes, Cause{Kind: CauseArchive, Detail: fmt.Sprintf("%s member %s %s", format, member, f.Name), A: f.A, B: f.B})
		}
	}
	return causes
}

// compareTar walks two tar streams member by member; when the member
// lists part ways, the rest is compared by name and content hash.
func (d *differ) compareTar(ra, rb io.Reader, sizeA, sizeB int64, depth int) (*Diff, []Cause, error) {
	diff := &Diff{Format: "tar", SizeA: sizeA, SizeB: sizeB, FirstDifference: -1}
	ta, tb := tar.NewReader(ra), tar.NewReader(rb)
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
		r.order = append(r.order, h.Name)
		r.hdr[h.Name] = h
		r.sum[h.Name] = [32]byte(s.Sum(nil))
		return nil
	}
	parted := false
	for {
		ha, errA := ta.Next()
		hb, errB := tb.Next()
		if errA != nil && errA != io.EOF || errB != nil && errB != io.EOF {
			diff.Note = fmt.Sprintf("read tar: %v", firstErr(errA, errB))
			break
		}
		if errA == io.EOF && errB == io.EOF {
			break
		}
		if !parted && ha != nil && hb != nil && ha.Name == hb.Name {
			fields := headerDiff(tarHeaderFields(ha), tarHeaderFields(hb))
			md, mc, err := d.compare(ha.Name, ta, tb, ha.Size, hb.Size, depth+1)
			if err != nil {
				return nil, nil, err
			}
			if len(fields) > 0 || md != nil {
				ch := Change{Path: ha.Name, Kind: Content, Content: md, Causes: append(d.metadataCauses("tar", ha.Name, fields), mc...)}
				if md == nil {
					ch.Kind = "metadata"
				}
				ch.Content = orEmpty(ch.Content, "tar")
				ch.Content.Header = fields
				diff.Members = append(diff.Members, ch)
			}
			continue
		}
		parted = true
		if ha != nil && errA == nil {
			if err := add(&restA, ta, ha); err != nil {
				return nil, nil, err
			}
		}
		if hb != nil && errB == nil {
			if err := add(&restB, tb, hb); err != nil {
				return nil, nil, err
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
	return diff, causes, nil
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

// compareZip compares two zip archives (read into memory, bounded by the
// caller): member order, member metadata and member contents.
func (d *differ) compareZip(ra, rb io.Reader, sizeA, sizeB int64, depth int) (*Diff, []Cause, error) {
	da, err := io.ReadAll(ra)
	if err != nil {
		return nil, nil, err
	}
	db, err := io.ReadAll(rb)
	if err != nil {
		return nil, nil, err
	}
	if bytes.Equal(da, db) {
		return nil, nil, nil
	}
	diff := &Diff{Format: "zip", SizeA: int64(len(da)), SizeB: int64(len(db)), FirstDifference: firstDiff(da, db)}
	za, errA := zip.NewReader(bytes.NewReader(da), int64(len(da)))
	zb, errB := zip.NewReader(bytes.NewReader(db), int64(len(db)))
	if errA != nil || errB != nil {
		bd, bc := d.binaryDiff(bytes.NewReader(da), bytes.NewReader(db))
		bd.Note = fmt.Sprintf("cannot read zip: %v", firstErr(errA, errB))
		return bd, bc, nil
	}
	var causes []Cause
	byName := func(z *zip.Reader) (map[string]*zip.File, []string) {
		m := map[string]*zip.File{}
		var order []string
		for _, f := range z.File {
			m[f.Name] = f
			order = append(order, f.Name)
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
	for _, n := range oa {
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
			rA, err := fa.Open()
			if err != nil {
				return nil, nil, err
			}
			rB, err := fb.Open()
			if err != nil {
				rA.Close()
				return nil, nil, err
			}
			md, mc, err = d.compare(n, rA, rB, int64(fa.UncompressedSize64), int64(fb.UncompressedSize64), depth+1)
			rA.Close()
			rB.Close()
			if err != nil {
				return nil, nil, err
			}
		}
		if len(hf) > 0 || md != nil {
			ch := Change{Path: n, Kind: Content, Content: orEmpty(md, "zip"), Causes: append(d.metadataCauses("zip", n, hf), mc...)}
			if md == nil {
				ch.Kind = "metadata"
			}
			ch.Content.Header = hf
			diff.Members = append(diff.Members, ch)
		}
	}
	for _, n := range ob {
		if _, ok := ma[n]; !ok {
			diff.Members = append(diff.Members, Change{Path: n, Kind: Added})
		}
	}
	if len(diff.Members) == 0 && len(diff.Header) == 0 && len(causes) == 0 {
		diff.Note = "same members and metadata; the archive bytes differ (compression or layout)"
		causes = append(causes, Cause{Kind: CauseArchive, Detail: "different compression or layout of the same zip members"})
	}
	return diff, causes, nil
}
