// Package cpio reads cpio archives in the "new" ASCII format (newc,
// magic 070701, and its checksummed variant 070702, as the Linux kernel's
// initramfs uses them) and the portable ASCII format (odc, magic 070707).
//
// It is a small reader of its own: the Go cpio packages either write only
// or pull in a whole toolkit, and nixgate needs strict bounds on hostile
// input (a name or size field cannot make it allocate or read without
// limit) and positions in its errors.
package cpio

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
)

// Formats.
const (
	Newc    = "newc"
	NewcCRC = "crc"
	ODC     = "odc"
)

// Trailer is the name of the entry that ends an archive.
const Trailer = "TRAILER!!!"

// Limits on one entry.
const (
	MaxName = 4096
	// MaxLink bounds a symlink target read into Entry.Linkname.
	MaxLink = 4096
)

// Mode bits of the file type (the same as in stat(2)).
const (
	TypeMask    = 0o170000
	TypeSocket  = 0o140000
	TypeSymlink = 0o120000
	TypeRegular = 0o100000
	TypeBlock   = 0o060000
	TypeDir     = 0o040000
	TypeChar    = 0o020000
	TypeFIFO    = 0o010000
)

// Entry is one member of an archive.
type Entry struct {
	Name     string
	Mode     uint32
	UID, GID uint32
	NLink    uint32
	MTime    int64
	Size     int64
	Ino      uint32
	// DevMajor, DevMinor are the device the file was on; RDevMajor and
	// RDevMinor the device a block or character special file names.
	DevMajor, DevMinor   uint32
	RDevMajor, RDevMinor uint32
	// Checksum is the 070702 format's sum of the data bytes.
	Checksum uint32
	// Linkname is a symlink's target (its data); empty for other types.
	Linkname string
	// Format is Newc, NewcCRC or ODC.
	Format string
	// Offset is the header's offset in the archive stream.
	Offset int64
}

// FileMode converts Mode to an fs.FileMode.
func (e *Entry) FileMode() fs.FileMode {
	m := fs.FileMode(e.Mode & 0o777)
	if e.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if e.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if e.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch e.Mode & TypeMask {
	case TypeDir:
		m |= fs.ModeDir
	case TypeSymlink:
		m |= fs.ModeSymlink
	case TypeBlock:
		m |= fs.ModeDevice
	case TypeChar:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case TypeFIFO:
		m |= fs.ModeNamedPipe
	case TypeSocket:
		m |= fs.ModeSocket
	}
	return m
}

// Error is a malformed archive.
type Error struct {
	Offset int64
	Msg    string
	// Err is the underlying reader's error, when reading failed for a
	// reason other than the end of the data.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("cpio: offset %d: %s: %v", e.Offset, e.Msg, e.Err)
	}
	return fmt.Sprintf("cpio: offset %d: %s", e.Offset, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Reader reads the entries of one archive, up to and including its
// trailer. Next returns io.EOF after the trailer; Rest then gives the
// reader positioned after it (archives are often concatenated).
type Reader struct {
	r       *bufio.Reader
	off     int64 // bytes consumed from r
	left    int64 // data bytes of the current entry not yet read
	pad     int64 // padding after the current entry's data
	done    bool
	odc     bool
	lastErr error
	cause   error // the underlying reader's last non-EOF error
}

// NewReader reads an archive from r.
func NewReader(r io.Reader) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &Reader{r: br}
}

// Offset is the number of bytes read from the underlying stream.
func (r *Reader) Offset() int64 { return r.off }

// Rest returns the underlying buffered reader, positioned after what the
// archive reader consumed (after the trailer when Next returned io.EOF).
func (r *Reader) Rest() *bufio.Reader { return r.r }

func (r *Reader) read(b []byte) error {
	n, err := io.ReadFull(r.r, b)
	r.off += int64(n)
	if err == io.EOF && n == 0 {
		return io.EOF
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return io.ErrUnexpectedEOF
	}
	if err != nil {
		r.cause = err
		return err
	}
	return nil
}

func (r *Reader) skip(n int64) error {
	m, err := r.r.Discard(int(n))
	r.off += int64(m)
	if err != nil && err != io.EOF {
		r.cause = err
	}
	if err != nil {
		return io.ErrUnexpectedEOF
	}
	return nil
}

// Next advances to the next entry and returns its header. The data is
// read with Read. At the trailer it returns io.EOF.
func (r *Reader) Next() (*Entry, error) {
	if r.lastErr != nil {
		return nil, r.lastErr
	}
	e, err := r.next()
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) && ce.Err == nil && r.cause != nil {
			ce.Err = r.cause
		}
		r.lastErr = err
	}
	return e, err
}

func (r *Reader) next() (*Entry, error) {
	if r.done {
		return nil, io.EOF
	}
	if err := r.skip(r.left + r.pad); err != nil {
		return nil, &Error{Offset: r.off, Msg: "truncated entry data"}
	}
	r.left, r.pad = 0, 0
	start := r.off
	var magic [6]byte
	if err := r.read(magic[:]); err != nil {
		if err == io.EOF {
			return nil, &Error{Offset: start, Msg: "archive ends without a " + Trailer + " entry"}
		}
		return nil, &Error{Offset: start, Msg: "truncated header"}
	}
	var e *Entry
	var nameSize int64
	var err error
	switch string(magic[:]) {
	case "070701", "070702":
		e, nameSize, err = r.newc(start, magic[5] == '2')
	case "070707":
		e, nameSize, err = r.odcHeader(start)
	default:
		return nil, &Error{Offset: start, Msg: fmt.Sprintf("bad magic %q (want 070701, 070702 or 070707)", magic[:])}
	}
	if err != nil {
		return nil, err
	}
	if nameSize < 1 || nameSize > MaxName+1 {
		return nil, &Error{Offset: start, Msg: fmt.Sprintf("name size %d out of range", nameSize)}
	}
	name := make([]byte, nameSize)
	if err := r.read(name); err != nil {
		return nil, &Error{Offset: r.off, Msg: "truncated name"}
	}
	if name[len(name)-1] != 0 {
		return nil, &Error{Offset: start, Msg: "name is not NUL-terminated"}
	}
	e.Name = string(name[:len(name)-1])
	if i := bytes.IndexByte(name[:len(name)-1], 0); i >= 0 {
		return nil, &Error{Offset: start, Msg: "name contains a NUL byte"}
	}
	if !r.odc {
		if err := r.skip(pad4(r.off)); err != nil {
			return nil, &Error{Offset: r.off, Msg: "truncated header padding"}
		}
	}
	r.left = e.Size
	if !r.odc {
		r.pad = pad4(e.Size)
	}
	if e.Name == Trailer {
		// The trailer's padding ends the archive; what follows (zeros, or
		// another archive) is the caller's.
		if err := r.skip(r.left + r.pad); err != nil {
			return nil, &Error{Offset: r.off, Msg: "truncated trailer"}
		}
		r.left, r.pad, r.done = 0, 0, true
		return nil, io.EOF
	}
	if e.Mode&TypeMask == TypeSymlink {
		if e.Size > MaxLink {
			return nil, &Error{Offset: start, Msg: fmt.Sprintf("symlink %s target of %d bytes is longer than %d", e.Name, e.Size, MaxLink)}
		}
		target := make([]byte, e.Size)
		if _, err := io.ReadFull(r, target); err != nil {
			return nil, &Error{Offset: r.off, Msg: "truncated symlink target"}
		}
		e.Linkname = string(target)
	}
	return e, nil
}

func pad4(n int64) int64 { return (4 - n%4) % 4 }

func (r *Reader) newc(start int64, crc bool) (*Entry, int64, error) {
	var h [104]byte
	if err := r.read(h[:]); err != nil {
		return nil, 0, &Error{Offset: start, Msg: "truncated newc header"}
	}
	var f [13]uint64
	for i := range f {
		v, err := strconv.ParseUint(string(h[8*i:8*i+8]), 16, 32)
		if err != nil {
			return nil, 0, &Error{Offset: start + 6 + int64(8*i), Msg: fmt.Sprintf("header field %d %q is not 8 hex digits", i+1, h[8*i:8*i+8])}
		}
		f[i] = v
	}
	e := &Entry{
		Ino: uint32(f[0]), Mode: uint32(f[1]), UID: uint32(f[2]), GID: uint32(f[3]), NLink: uint32(f[4]),
		MTime: int64(f[5]), Size: int64(f[6]), DevMajor: uint32(f[7]), DevMinor: uint32(f[8]),
		RDevMajor: uint32(f[9]), RDevMinor: uint32(f[10]), Checksum: uint32(f[12]), Format: Newc, Offset: start,
	}
	if crc {
		e.Format = NewcCRC
	}
	return e, int64(f[11]), nil
}

func (r *Reader) odcHeader(start int64) (*Entry, int64, error) {
	r.odc = true
	var h [70]byte
	if err := r.read(h[:]); err != nil {
		return nil, 0, &Error{Offset: start, Msg: "truncated odc header"}
	}
	widths := []int{6, 6, 6, 6, 6, 6, 6, 11, 6, 11}
	var f [10]uint64
	p := 0
	for i, w := range widths {
		v, err := strconv.ParseUint(string(h[p:p+w]), 8, 64)
		if err != nil || v > 1<<40 {
			return nil, 0, &Error{Offset: start + 6 + int64(p), Msg: fmt.Sprintf("header field %d %q is not %d octal digits", i+1, h[p:p+w], w)}
		}
		f[i] = v
		p += w
	}
	e := &Entry{
		DevMajor: uint32(f[0]), Ino: uint32(f[1]), Mode: uint32(f[2]), UID: uint32(f[3]), GID: uint32(f[4]),
		NLink: uint32(f[5]), RDevMinor: uint32(f[6]), MTime: int64(f[7]), Size: int64(f[9]), Format: ODC, Offset: start,
	}
	return e, int64(f[8]), nil
}

// Read reads the current entry's data.
func (r *Reader) Read(b []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > r.left {
		b = b[:r.left]
	}
	n, err := r.r.Read(b)
	r.off += int64(n)
	r.left -= int64(n)
	if err == io.EOF {
		if r.left > 0 {
			return n, io.ErrUnexpectedEOF
		}
		err = nil
	}
	return n, err
}

// IsMagic reports whether b starts with a cpio ASCII magic.
func IsMagic(b []byte) bool {
	return len(b) >= 6 && (bytes.Equal(b[:6], []byte("070701")) || bytes.Equal(b[:6], []byte("070702")) || bytes.Equal(b[:6], []byte("070707")))
}
