// Package pecoff reads the headers of PE/COFF images (EFI applications such
// as a unified kernel image): the section table, the data directories and
// the attribute certificate table, with the file offset of every field that
// Authenticode leaves out of the image hash. It computes the Authenticode
// image hash the way the UEFI firmware (EDK2) does, and the PE checksum.
//
// It is hand-written rather than built on debug/pe because Authenticode and
// `nixgate uki diff` need the file offsets of the checksum, the certificate
// directory entry and the section headers, and because every inconsistency
// (a section past the end of the file, overlapping sections, data after the
// certificate table) must be reported rather than tolerated.
package pecoff

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Limits on what a header may claim, so that a hostile file cannot make the
// reader allocate without bound.
const (
	maxSections = 512
	// MaxImage bounds the size of an image nixgate reads.
	MaxImage = 4 << 30
)

// Magic numbers of the optional header.
const (
	Magic32 = 0x10b
	Magic64 = 0x20b
)

// Data directory indices.
const (
	DirSecurity = 4
)

// Section is one entry of the section table.
type Section struct {
	// Name is the 8-byte name with trailing NULs removed (a long name
	// "/NNN" is left as it is).
	Name             string
	VirtualSize      uint32
	VirtualAddress   uint32
	SizeOfRawData    uint32
	PointerToRawData uint32
	Characteristics  uint32
	// HeaderOffset is the file offset of the 40-byte section header.
	HeaderOffset int64
}

// DataSize is the size of the section's meaningful data: VirtualSize
// trimmed to the raw data (file alignment pads SizeOfRawData).
func (s *Section) DataSize() uint32 {
	if s.VirtualSize != 0 && s.VirtualSize < s.SizeOfRawData {
		return s.VirtualSize
	}
	return s.SizeOfRawData
}

// CertTable is the attribute certificate table's location. Unlike every
// other data directory entry, its address is a file offset.
type CertTable struct {
	Offset uint32
	Size   uint32
}

// File is a parsed PE/COFF image.
type File struct {
	// Size is the file's length.
	Size int64
	// PEOffset is e_lfanew, the offset of the "PE\0\0" signature.
	PEOffset         int64
	Machine          uint16
	Magic            uint16
	TimeDateStamp    uint32
	Characteristics  uint16
	EntryPoint       uint32
	SectionAlignment uint32
	FileAlignment    uint32
	SizeOfImage      uint32
	SizeOfHeaders    uint32
	Subsystem        uint16
	// Checksum is the optional header's CheckSum, at ChecksumOffset.
	Checksum       uint32
	ChecksumOffset int64
	// NumberOfRvaAndSizes is the number of data directory entries.
	NumberOfRvaAndSizes uint32
	// CertDirOffset is the file offset of data directory entry 4 (the
	// certificate table); 0 when the image has fewer than 5 entries.
	CertDirOffset int64
	Cert          CertTable
	// CertProblem says why the certificate table cannot be read (it lies
	// past the end of the file); empty when it can.
	CertProblem string
	// SectionTableOffset is the file offset of the first section header.
	SectionTableOffset int64
	Sections           []Section

	r    io.ReaderAt
	data Bytes // the image, when it is in memory
}

// Error is a structural problem with an image.
type Error struct {
	Offset int64
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("offset %#x: %s", e.Offset, e.Msg) }

func errAt(off int64, format string, args ...any) error {
	return &Error{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads the headers of the image r of size bytes.
func Parse(r io.ReaderAt, size int64) (*File, error) {
	if size > MaxImage {
		return nil, fmt.Errorf("image of %d bytes is larger than %d", size, int64(MaxImage))
	}
	f := &File{Size: size, r: r}
	if b, ok := r.(Bytes); ok && int64(len(b)) == size {
		f.data = b
	}
	var dos [64]byte
	if err := readFull(r, dos[:], 0, size); err != nil {
		return nil, errAt(0, "no DOS header: %v", err)
	}
	if dos[0] != 'M' || dos[1] != 'Z' {
		return nil, errAt(0, "not a PE image: no MZ signature")
	}
	f.PEOffset = int64(binary.LittleEndian.Uint32(dos[0x3c:]))
	var coff [24]byte
	if err := readFull(r, coff[:], f.PEOffset, size); err != nil {
		return nil, errAt(f.PEOffset, "no PE header: %v", err)
	}
	if !bytes.Equal(coff[:4], []byte("PE\x00\x00")) {
		return nil, errAt(f.PEOffset, "not a PE image: no PE signature")
	}
	le := binary.LittleEndian
	f.Machine = le.Uint16(coff[4:])
	nsec := int(le.Uint16(coff[6:]))
	f.TimeDateStamp = le.Uint32(coff[8:])
	optSize := int64(le.Uint16(coff[20:]))
	f.Characteristics = le.Uint16(coff[22:])
	if nsec > maxSections {
		return nil, errAt(f.PEOffset+6, "%d sections (at most %d)", nsec, maxSections)
	}
	optOff := f.PEOffset + 24
	if optSize < 2 {
		return nil, errAt(optOff, "no optional header")
	}
	opt := make([]byte, optSize)
	if err := readFull(r, opt, optOff, size); err != nil {
		return nil, errAt(optOff, "optional header: %v", err)
	}
	f.Magic = le.Uint16(opt)
	var ddOff int64
	switch f.Magic {
	case Magic32:
		ddOff = 96
	case Magic64:
		ddOff = 112
	default:
		return nil, errAt(optOff, "unknown optional header magic %#x", f.Magic)
	}
	if optSize < ddOff {
		return nil, errAt(optOff, "optional header of %d bytes is too short", optSize)
	}
	f.EntryPoint = le.Uint32(opt[16:])
	f.SectionAlignment = le.Uint32(opt[32:])
	f.FileAlignment = le.Uint32(opt[36:])
	f.SizeOfImage = le.Uint32(opt[56:])
	f.SizeOfHeaders = le.Uint32(opt[60:])
	f.Checksum = le.Uint32(opt[64:])
	f.ChecksumOffset = optOff + 64
	f.Subsystem = le.Uint16(opt[68:])
	f.NumberOfRvaAndSizes = le.Uint32(opt[ddOff-4:])
	if n := int64(f.NumberOfRvaAndSizes); ddOff+8*n > optSize {
		return nil, errAt(optOff+ddOff-4, "%d data directory entries do not fit in the optional header", n)
	}
	if f.NumberOfRvaAndSizes > DirSecurity {
		o := ddOff + 8*DirSecurity
		f.CertDirOffset = optOff + o
		f.Cert = CertTable{Offset: le.Uint32(opt[o:]), Size: le.Uint32(opt[o+4:])}
	}
	f.SectionTableOffset = optOff + optSize
	if int64(f.SizeOfHeaders) > size {
		return nil, errAt(f.ChecksumOffset-4, "SizeOfHeaders %#x is past the end of the file (%#x)", f.SizeOfHeaders, size)
	}
	if end := f.SectionTableOffset + 40*int64(nsec); end > int64(f.SizeOfHeaders) {
		return nil, errAt(f.SectionTableOffset, "the section table ends at %#x, after SizeOfHeaders %#x", end, f.SizeOfHeaders)
	}
	tab := make([]byte, 40*nsec)
	if err := readFull(r, tab, f.SectionTableOffset, size); err != nil {
		return nil, errAt(f.SectionTableOffset, "section table: %v", err)
	}
	for i := range nsec {
		h := tab[40*i : 40*i+40]
		s := Section{
			Name:             strings.TrimRight(string(h[:8]), "\x00"),
			VirtualSize:      le.Uint32(h[8:]),
			VirtualAddress:   le.Uint32(h[12:]),
			SizeOfRawData:    le.Uint32(h[16:]),
			PointerToRawData: le.Uint32(h[20:]),
			Characteristics:  le.Uint32(h[36:]),
			HeaderOffset:     f.SectionTableOffset + 40*int64(i),
		}
		if end := int64(s.PointerToRawData) + int64(s.SizeOfRawData); s.SizeOfRawData > 0 && end > size {
			return nil, errAt(s.HeaderOffset, "section %q data [%#x, %#x) is past the end of the file (%#x)", s.Name, s.PointerToRawData, end, size)
		}
		f.Sections = append(f.Sections, s)
	}
	if f.Cert.Size > 0 {
		if end := int64(f.Cert.Offset) + int64(f.Cert.Size); end > size {
			// objcopy does this to a signed image: it drops the table's
			// data and keeps the directory entry. The image is still read;
			// the table is reported missing.
			f.CertProblem = fmt.Sprintf("the certificate directory entry names [%#x, %#x), past the end of the file (%#x): the table is missing", f.Cert.Offset, end, size)
		}
	}
	return f, nil
}

func readFull(r io.ReaderAt, b []byte, off, size int64) error {
	if off < 0 || off+int64(len(b)) > size {
		return io.ErrUnexpectedEOF
	}
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Section returns the first section named name.
func (f *File) Section(name string) *Section {
	for i := range f.Sections {
		if f.Sections[i].Name == name {
			return &f.Sections[i]
		}
	}
	return nil
}

// Data reads a section's data, VirtualSize-trimmed.
func (f *File) Data(s *Section) ([]byte, error) {
	b := make([]byte, s.DataSize())
	if err := readFull(f.r, b, int64(s.PointerToRawData), f.Size); err != nil {
		return nil, fmt.Errorf("section %s: %w", s.Name, err)
	}
	return b, nil
}

// Reader returns a reader of a section's data, VirtualSize-trimmed.
func (f *File) Reader(s *Section) *io.SectionReader {
	return io.NewSectionReader(f.r, int64(s.PointerToRawData), int64(s.DataSize()))
}

// ReadAt reads from the image.
func (f *File) ReadAt(b []byte, off int64) (int, error) { return f.r.ReadAt(b, off) }

// Range is a half-open byte range of the file.
type Range struct{ Start, End int64 }

// Len is the range's length.
func (r Range) Len() int64 { return r.End - r.Start }

// HashRanges are the byte ranges of the file that the Authenticode image
// hash covers, in order, as EDK2's DxeImageVerificationLib computes them:
// the headers without the checksum and the certificate directory entry, the
// sections' raw data sorted by file offset, then whatever follows the
// sections up to the certificate table (which must be last).
func (f *File) HashRanges() ([]Range, error) {
	var rs []Range
	if f.CertDirOffset == 0 {
		rs = append(rs, Range{0, f.ChecksumOffset}, Range{f.ChecksumOffset + 4, int64(f.SizeOfHeaders)})
	} else {
		rs = append(rs, Range{0, f.ChecksumOffset}, Range{f.ChecksumOffset + 4, f.CertDirOffset}, Range{f.CertDirOffset + 8, int64(f.SizeOfHeaders)})
	}
	if f.CertProblem != "" {
		return nil, errors.New(f.CertProblem)
	}
	sum := int64(f.SizeOfHeaders)
	secs := slices.Clone(f.Sections)
	slices.SortStableFunc(secs, func(a, b Section) int { return int(int64(a.PointerToRawData) - int64(b.PointerToRawData)) })
	for _, s := range secs {
		if s.SizeOfRawData == 0 {
			continue
		}
		rs = append(rs, Range{int64(s.PointerToRawData), int64(s.PointerToRawData) + int64(s.SizeOfRawData)})
		sum += int64(s.SizeOfRawData)
	}
	if f.Size > sum {
		cert := int64(0)
		if f.CertDirOffset != 0 {
			cert = int64(f.Cert.Size)
		}
		if f.Size < cert+sum {
			return nil, errors.New("the certificate table overlaps the hashed data")
		}
		if f.Size > cert+sum {
			rs = append(rs, Range{sum, f.Size - cert})
		}
	}
	return rs, nil
}

// Hash computes the Authenticode image hash with h.
func (f *File) Hash(h crypto.Hash) ([]byte, error) {
	if !h.Available() {
		return nil, fmt.Errorf("hash %v is not available", h)
	}
	rs, err := f.HashRanges()
	if err != nil {
		return nil, err
	}
	d := h.New()
	var buf []byte
	for _, r := range rs {
		if r.Start < 0 || r.End > f.Size || r.Start > r.End {
			return nil, fmt.Errorf("hash range [%#x, %#x) is outside the file", r.Start, r.End)
		}
		if b, ok := f.Slice(r.Start, r.Len()); ok {
			d.Write(b)
			continue
		}
		if buf == nil {
			buf = make([]byte, 1<<20)
		}
		if _, err := io.CopyBuffer(d, io.NewSectionReader(f.r, r.Start, r.Len()), buf); err != nil {
			return nil, err
		}
	}
	return d.Sum(nil), nil
}

// Checksum computes the PE checksum of data (the whole image), skipping
// the CheckSum field at off.
func Checksum(data []byte, off int64) uint32 {
	var sum uint64
	n := len(data) &^ 1
	for i := 0; i < n; i += 2 {
		if int64(i) == off || int64(i) == off+2 {
			continue
		}
		sum += uint64(binary.LittleEndian.Uint16(data[i:]))
		sum = (sum & 0xffff) + (sum >> 16)
	}
	if len(data)&1 == 1 {
		sum += uint64(data[len(data)-1])
		sum = (sum & 0xffff) + (sum >> 16)
	}
	sum = (sum & 0xffff) + (sum >> 16)
	return uint32(sum) + uint32(len(data))
}
