package uki

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/nixgate/nixgate/internal/cpio"
)

// Bounds on what an initrd may make nixgate do.
const (
	// maxInitrdData bounds the decompressed size of all segments.
	maxInitrdData = 4 << 30
	// maxInitrdEntries bounds the number of entries listed.
	maxInitrdEntries = 1 << 20
	// maxWantedFile bounds one file read for a check.
	maxWantedFile = 16 << 20
)

// InitrdFile is one entry of the initrd, as the kernel unpacks it.
type InitrdFile struct {
	// Path is relative to the root, without a leading "./" or "/".
	Path string `json:"path"`
	Mode string `json:"mode"`
	Size int64  `json:"size"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	Link string `json:"link,omitempty"`
	// Segment is the 1-based index of the archive segment it came from.
	Segment int `json:"segment"`
}

// Segment is one archive of a (possibly concatenated) initrd.
type Segment struct {
	Offset      int64  `json:"offset"`
	Compression string `json:"compression"`
	Entries     int    `json:"entries"`
}

// Initrd is an initrd's file list.
type Initrd struct {
	Segments []Segment    `json:"segments"`
	Files    []InitrdFile `json:"files"`
	// Problems are defects: data that is no archive, a truncated archive,
	// a path that a later segment overwrites.
	Problems []string `json:"problems,omitempty"`
	// Contents holds the data of the files the caller asked for, by path
	// (the last entry of a path wins, as when the kernel unpacks it).
	Contents map[string][]byte `json:"-"`
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadInitrd lists the initrd in r (size bytes): concatenated cpio
// archives, each uncompressed or compressed (gzip, xz, zstd, lz4, bzip2,
// lzma), separated by zero padding, as the kernel's initramfs unpacker
// reads them. want, when not nil, selects files whose contents are kept
// in Initrd.Contents.
func ReadInitrd(r io.ReaderAt, size int64, want func(path string) bool) (*Initrd, error) {
	in := &Initrd{Segments: []Segment{}, Files: []InitrdFile{}, Contents: map[string][]byte{}}
	cr := &countingReader{r: io.NewSectionReader(r, 0, size)}
	br := bufio.NewReaderSize(cr, 256<<10)
	pos := func() int64 { return cr.n - int64(br.Buffered()) }
	seen := map[string]int{}
	budget := &limitReader{n: maxInitrdData}
	for {
		if err := skipZeros(br); err != nil {
			break
		}
		start := pos()
		head, _ := br.Peek(6)
		seg := Segment{Offset: start, Compression: None}
		if !cpio.IsMagic(head) {
			seg.Compression = sniff(head)
			if seg.Compression == "" {
				in.Problems = append(in.Problems, fmt.Sprintf("offset %d: %d bytes that are neither a cpio archive nor a known compression", start, size-start))
				break
			}
		}
		idx := len(in.Segments) + 1
		if seg.Compression == None {
			n, err := readArchives(br, idx, in, seen, want, nil)
			seg.Entries = n
			in.Segments = append(in.Segments, seg)
			if err != nil {
				in.Problems = append(in.Problems, fmt.Sprintf("segment %d at offset %d: %v", idx, start, err))
				break
			}
			continue
		}
		dec, closeDec, err := decompressor(seg.Compression, br)
		if err != nil {
			in.Segments = append(in.Segments, seg)
			in.Problems = append(in.Problems, fmt.Sprintf("segment %d at offset %d: %s: %v", idx, start, seg.Compression, err))
			break
		}
		budget.r = dec
		n, err := readArchives(bufio.NewReaderSize(budget, 256<<10), idx, in, seen, want, budget)
		closeDec()
		seg.Entries = n
		in.Segments = append(in.Segments, seg)
		if err != nil {
			in.Problems = append(in.Problems, fmt.Sprintf("segment %d at offset %d (%s): %v", idx, start, seg.Compression, err))
			break
		}
		if seg.Compression != Gzip {
			// Only gzip members end at a known place; the other
			// decompressors read the data to its end.
			break
		}
		if len(in.Files) >= maxInitrdEntries {
			break
		}
	}
	return in, nil
}

func skipZeros(br *bufio.Reader) error {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return err
		}
		if b[0] != 0 {
			return nil
		}
		// Discard a run of zeros at once.
		buf, _ := br.Peek(br.Buffered())
		n := 0
		for n < len(buf) && buf[n] == 0 {
			n++
		}
		br.Discard(n)
	}
}

// readArchives reads one or more archives from br. In a decompressed
// stream (inner), archives may follow each other with zero padding until
// the stream ends; uncompressed, one archive is read and the caller looks
// at what follows.
func readArchives(br *bufio.Reader, seg int, in *Initrd, seen map[string]int, want func(string) bool, budget *limitReader) (int, error) {
	inner := budget != nil
	n := 0
	for {
		cr := cpio.NewReader(br)
		for {
			e, err := cr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if budget != nil && budget.hit {
					return n, fmt.Errorf("the initrd %v (%d bytes)", errTooLarge, maxInitrdData)
				}
				return n, err
			}
			n++
			if len(in.Files) >= maxInitrdEntries {
				return n, fmt.Errorf("more than %d entries", maxInitrdEntries)
			}
			p := strings.TrimPrefix(path.Clean("/"+e.Name), "/")
			if p == "" {
				continue
			}
			f := InitrdFile{Path: p, Mode: e.FileMode().String(), Size: e.Size, UID: e.UID, GID: e.GID, Link: e.Linkname, Segment: seg}
			if prev, ok := seen[p]; ok && e.Mode&cpio.TypeMask != cpio.TypeDir {
				in.Problems = append(in.Problems, fmt.Sprintf("%s in segment %d replaces the one in segment %d", p, seg, prev))
			}
			seen[p] = seg
			in.Files = append(in.Files, f)
			if want != nil && e.Mode&cpio.TypeMask == cpio.TypeRegular && want(p) {
				data, err := io.ReadAll(io.LimitReader(cr, maxWantedFile+1))
				if err != nil {
					return n, fmt.Errorf("read %s: %w", p, err)
				}
				if len(data) > maxWantedFile {
					return n, fmt.Errorf("%s is larger than %d bytes", p, maxWantedFile)
				}
				in.Contents[p] = data
			}
		}
		if !inner {
			return n, nil
		}
		if err := skipZeros(br); err != nil {
			if budget != nil && budget.hit {
				return n, fmt.Errorf("the initrd %v (%d bytes)", errTooLarge, maxInitrdData)
			}
			if err == io.EOF {
				return n, nil
			}
			return n, err
		}
		head, _ := br.Peek(6)
		if !cpio.IsMagic(head) {
			return n, fmt.Errorf("data after the archive's trailer is not another archive")
		}
	}
}
