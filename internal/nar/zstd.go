package nar

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/nixgate/nixgate/internal/zstdframe"
)

// checkZstd walks the frames of a zstd file (RFC 8878) without decoding
// them and returns the patches that lower the window of every frame
// declaring a content size smaller than its window, to the smallest
// window that holds the content and one block of 128 KiB. The decoder
// allocates a frame's whole window when the frame starts: a 48-byte file
// that declares a 32 MiB window and 12 KiB of content cost 32 MiB per
// side. No back-reference reaches further than the content decoded before
// it, so a window the size of the content decodes every valid frame the
// same. A file whose
// structure the walk cannot follow is an error (the decoder would stop
// there too).
func checkZstd(b blob) ([]patch, error) {
	r := &frameReader{b: b}
	var patches []patch
	for r.off < b.size {
		start := r.off
		m, err := r.read(4)
		if err != nil {
			return nil, err
		}
		magic := binary.LittleEndian.Uint32(m)
		switch {
		case magic == zstdframe.Magic:
			r.off = start
			p, err := r.frame()
			if err != nil {
				return nil, fmt.Errorf("zstd: frame at byte %d: %w", start, err)
			}
			if p != nil {
				patches = append(patches, *p)
			}
		case magic&0xFFFFFFF0 == 0x184D2A50: // a skippable frame
			n, err := r.read(4)
			if err != nil {
				return nil, err
			}
			if err := r.skip(int64(binary.LittleEndian.Uint32(n))); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("zstd: no frame at byte %d", start)
		}
	}
	return patches, nil
}

// frame reads the frame that starts at the reader's offset and returns the
// patch of its window descriptor, if it needs one.
func (r *frameReader) frame() (*patch, error) {
	start := r.off
	hb, err := r.peek(18) // the longest header
	if err != nil {
		return nil, err
	}
	h, err := zstdframe.Parse(hb)
	if err != nil {
		return nil, err
	}
	r.off += int64(h.Len)
	for {
		bh, err := r.read(3)
		if err != nil {
			return nil, err
		}
		v := uint32(bh[0]) | uint32(bh[1])<<8 | uint32(bh[2])<<16
		size := int64(v >> 3)
		switch (v >> 1) & 3 {
		case 0, 2: // raw, compressed
			err = r.skip(size)
		case 1: // RLE: one byte repeated
			err = r.skip(1)
		default:
			err = fmt.Errorf("reserved block type")
		}
		if err != nil {
			return nil, err
		}
		if v&1 != 0 {
			break
		}
	}
	if h.Checksum {
		if err := r.skip(4); err != nil {
			return nil, err
		}
	}
	if h.WindowOffset < 0 || !h.HasContentSize {
		return nil, nil
	}
	if desc, size, ok := zstdframe.Descriptor(h.ContentSize); ok && size < h.Window {
		return &patch{off: start + int64(h.WindowOffset), data: []byte{desc}}, nil
	}
	return nil, nil
}

// frameReader reads a blob front to back through a buffer, so that a
// file of many small blocks costs a read per buffer, not per block.
type frameReader struct {
	b      blob
	off    int64
	buf    []byte
	bufOff int64
}

func (r *frameReader) read(n int) ([]byte, error) {
	if r.off+int64(n) > r.b.size {
		return nil, io.ErrUnexpectedEOF
	}
	if r.off < r.bufOff || r.off+int64(n) > r.bufOff+int64(len(r.buf)) {
		size := min(64<<10, r.b.size-r.off)
		if r.buf == nil {
			r.buf = make([]byte, 0, 64<<10)
		}
		r.buf = r.buf[:size]
		if err := readAt(r.b, r.buf, r.off); err != nil {
			return nil, err
		}
		r.bufOff = r.off
	}
	p := r.buf[r.off-r.bufOff : r.off-r.bufOff+int64(n)]
	r.off += int64(n)
	return p, nil
}

// peek returns up to n bytes at the offset, fewer at the end, without
// moving past them.
func (r *frameReader) peek(n int) ([]byte, error) {
	n = int(min(int64(n), r.b.size-r.off))
	p, err := r.read(n)
	r.off -= int64(len(p))
	return p, err
}

func (r *frameReader) skip(n int64) error {
	if n < 0 || r.off+n > r.b.size {
		return io.ErrUnexpectedEOF
	}
	r.off += n
	return nil
}

// patch is rewritten header bytes at an offset (a zstd window
// descriptor).
type patch struct {
	off  int64
	data []byte
}

// patched reads b with the patches applied.
type patched struct {
	b       blob
	patches []patch
}

func (p patched) ReadAt(q []byte, off int64) (int, error) {
	n, err := p.b.ra.ReadAt(q, off)
	for _, x := range p.patches {
		lo, hi := max(off, x.off), min(off+int64(n), x.off+int64(len(x.data)))
		if lo < hi {
			copy(q[lo-off:hi-off], x.data[lo-x.off:hi-x.off])
		}
	}
	return n, err
}

func (p patched) reader() io.Reader { return io.NewSectionReader(p, 0, p.b.size) }
