// Package zstdframe reads the header of a zstd frame (RFC 8878, section
// 3.1.1) without decoding it, and gives the window descriptor that holds a
// given content. The decoder (klauspost/compress/zstd) allocates a frame's
// whole declared window when the frame starts, so a few hostile bytes can
// ask for 128 MiB; nar diff and cache verify read the header first and
// lower a window the content does not need.
package zstdframe

import (
	"encoding/binary"
	"errors"
	"io"
)

// Magic is the little-endian magic number of a zstd frame.
const Magic = 0xFD2FB528

// Header is what a frame header declares.
type Header struct {
	// SingleSegment frames have no window descriptor: the content size
	// is the window.
	SingleSegment bool
	// Checksum says a 4-byte content checksum follows the last block.
	Checksum bool
	// WindowOffset is the byte offset of the window descriptor from the
	// frame's start (the magic number); -1 in a single-segment frame.
	WindowOffset int
	// Window is the declared window size in bytes (0 in a single-segment
	// frame).
	Window uint64
	// ContentSize is the declared content size, when HasContentSize.
	ContentSize    uint64
	HasContentSize bool
	// Len is the header's length from the frame's start, magic included.
	Len int
}

// ErrNotFrame is returned for bytes that do not start with Magic.
var ErrNotFrame = errors.New("not a zstd frame")

// Parse reads the header of the frame b starts with (b holds at least the
// header: 18 bytes always do). A short b is io.ErrUnexpectedEOF.
func Parse(b []byte) (Header, error) {
	if len(b) < 5 {
		return Header{}, io.ErrUnexpectedEOF
	}
	if binary.LittleEndian.Uint32(b) != Magic {
		return Header{}, ErrNotFrame
	}
	fhd := b[4]
	if fhd&0x08 != 0 {
		return Header{}, errors.New("reserved bit set in the frame header")
	}
	h := Header{SingleSegment: fhd&0x20 != 0, Checksum: fhd&0x04 != 0, WindowOffset: -1}
	off := 5
	if !h.SingleSegment {
		if len(b) < off+1 {
			return Header{}, io.ErrUnexpectedEOF
		}
		base := uint64(1) << (10 + b[off]>>3)
		h.WindowOffset, h.Window = off, base+base/8*uint64(b[off]&7)
		off++
	}
	off += [4]int{0, 1, 2, 4}[fhd&3] // dictionary id
	n := [4]int{0, 2, 4, 8}[fhd>>6]
	if n == 0 && h.SingleSegment {
		n = 1
	}
	if len(b) < off+n {
		return Header{}, io.ErrUnexpectedEOF
	}
	if n > 0 {
		for i := n - 1; i >= 0; i-- {
			h.ContentSize = h.ContentSize<<8 | uint64(b[off+i])
		}
		if n == 2 {
			h.ContentSize += 256
		}
		h.HasContentSize = true
	}
	h.Len = off + n
	return h, nil
}

// Descriptor is the window descriptor of the smallest power-of-two window
// that holds n bytes and one block of 128 KiB (the largest a block
// decodes to, so that blocks decode as they would in a larger window), and
// that window's size; ok is false when n is over 2^41 bytes, the largest
// power of two a descriptor names.
func Descriptor(n uint64) (desc byte, size uint64, ok bool) {
	log := uint(17)
	for uint64(1)<<log < n {
		if log == 41 {
			return 0, 0, false
		}
		log++
	}
	return byte(log-10) << 3, uint64(1) << log, true
}
