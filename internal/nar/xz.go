package nar

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// checkXZ walks the index of every stream of an xz file (from its end:
// stream footer, index, then each block header) and refuses a file whose
// LZMA2 dictionary is larger than maxXZDict: the decoder allocates the
// dictionary a block header asks for before it decodes a byte, so a
// 100-byte file can ask for 4 GiB. It also refuses what is not a
// well-formed xz file.
//
// It returns the block headers rewritten to ask for no larger a
// dictionary than the block's uncompressed size (from the index): a
// block is decoded on its own, and no match reaches farther back than
// what was decoded, so the smaller dictionary decodes the same bytes.
// xz -6 asks for 8 MiB whatever the file's size; the decoder zeroes what
// it allocates.
func checkXZ(b blob) ([]patch, error) {
	var patches []patch
	err := walkXZ(b, func(off, uncompressed int64) error {
		p, err := checkXZBlock(b, off, uncompressed)
		if p != nil {
			patches = append(patches, *p)
		}
		return err
	})
	return patches, err
}

// patch is rewritten header bytes at an offset (an xz block header, a
// zstd window descriptor).
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

// walkXZ calls block for the offset and uncompressed size of every block
// of every stream of an xz file.
func walkXZ(b blob, block func(off, uncompressed int64) error) error {
	end := b.size
	streams := 0
	for end > 0 {
		// Stream padding: zero bytes in multiples of four.
		for end >= 4 {
			w := make([]byte, 4)
			if readAt(b, w, end-4) != nil || binary.LittleEndian.Uint32(w) != 0 {
				break
			}
			end -= 4
		}
		if end < 24 {
			return fmt.Errorf("xz: truncated stream")
		}
		foot := make([]byte, 12)
		if err := readAt(b, foot, end-12); err != nil {
			return err
		}
		if string(foot[10:]) != "YZ" {
			return fmt.Errorf("xz: no stream footer at byte %d", end-12)
		}
		indexSize := (int64(binary.LittleEndian.Uint32(foot[4:8])) + 1) * 4
		indexStart := end - 12 - indexSize
		if indexStart < 12 || indexSize > 1<<26 {
			return fmt.Errorf("xz: bad index size %d", indexSize)
		}
		index := make([]byte, indexSize)
		if err := readAt(b, index, indexStart); err != nil {
			return err
		}
		if index[0] != 0 {
			return fmt.Errorf("xz: no index at byte %d", indexStart)
		}
		p := index[1:]
		n, ok := uvarint(&p)
		if !ok || n > uint64(len(p)) {
			return fmt.Errorf("xz: bad index record count")
		}
		var sizes, usizes []int64
		var total int64
		for range n {
			unpadded, ok1 := uvarint(&p)
			usize, ok2 := uvarint(&p)
			if !ok1 || !ok2 || unpadded == 0 || unpadded > uint64(b.size) || usize > 1<<62 {
				return fmt.Errorf("xz: bad index record")
			}
			sz := (int64(unpadded) + 3) &^ 3
			sizes = append(sizes, sz)
			usizes = append(usizes, int64(usize))
			total += sz
		}
		blocksStart := indexStart - total
		if blocksStart < 12 {
			return fmt.Errorf("xz: the index lists more blocks than the stream holds")
		}
		head := make([]byte, 6)
		if err := readAt(b, head, blocksStart-12); err != nil || string(head) != "\xfd7zXZ\x00" {
			return fmt.Errorf("xz: no stream header at byte %d", blocksStart-12)
		}
		off := blocksStart
		for i, sz := range sizes {
			if err := block(off, usizes[i]); err != nil {
				return err
			}
			off += sz
		}
		end = blocksStart - 12
		if streams++; streams > 4096 {
			return fmt.Errorf("xz: more than 4096 streams")
		}
	}
	return nil
}

// checkXZBlock reads the block header at off and checks its filters'
// dictionary sizes; it returns the header rewritten for a dictionary of
// the block's uncompressed size when that is smaller.
func checkXZBlock(b blob, off, uncompressed int64) (*patch, error) {
	hs := make([]byte, 1)
	if err := readAt(b, hs, off); err != nil {
		return nil, err
	}
	size := (int64(hs[0]) + 1) * 4
	if hs[0] == 0 || off+size > b.size {
		return nil, fmt.Errorf("xz: bad block header at byte %d", off)
	}
	h := make([]byte, size)
	if err := readAt(b, h, off); err != nil {
		return nil, err
	}
	if crc32.ChecksumIEEE(h[:size-4]) != binary.LittleEndian.Uint32(h[size-4:]) {
		return nil, fmt.Errorf("xz: block header checksum at byte %d", off)
	}
	var fix *patch
	flags := h[1]
	p := h[2 : size-4]
	if flags&0x40 != 0 {
		if _, ok := uvarint(&p); !ok {
			return nil, fmt.Errorf("xz: bad block header at byte %d", off)
		}
	}
	if flags&0x80 != 0 {
		if _, ok := uvarint(&p); !ok {
			return nil, fmt.Errorf("xz: bad block header at byte %d", off)
		}
	}
	for range int(flags&3) + 1 {
		id, ok1 := uvarint(&p)
		psize, ok2 := uvarint(&p)
		if !ok1 || !ok2 || psize > uint64(len(p)) {
			return nil, fmt.Errorf("xz: bad filter flags at byte %d", off)
		}
		props := p[:psize]
		p = p[psize:]
		if id == 0x21 { // LZMA2
			if len(props) != 1 || props[0] > 40 {
				return nil, fmt.Errorf("xz: bad LZMA2 properties at byte %d", off)
			}
			c := props[0]
			if lzma2Dict(c) > maxXZDict {
				return nil, fmt.Errorf("xz: a %d MiB dictionary, over the limit of %d MiB", lzma2Dict(c)>>20, maxXZDict>>20)
			}
			small := byte(0)
			for small < c && lzma2Dict(small) < uint64(max(uncompressed, 0)) {
				small++
			}
			if small < c {
				// props aliases h: rewrite the byte, then the checksum.
				props[0] = small
				binary.LittleEndian.PutUint32(h[size-4:], crc32.ChecksumIEEE(h[:size-4]))
				fix = &patch{off: off, data: h}
			}
		}
	}
	return fix, nil
}

// lzma2Dict is the dictionary size an LZMA2 properties byte encodes.
func lzma2Dict(c byte) uint64 { return uint64(2|c&1) << (c/2 + 11) }

// uvarint reads an xz multibyte integer (at most 9 bytes) from *p.
func uvarint(p *[]byte) (uint64, bool) {
	var v uint64
	for i := 0; i < 9 && i < len(*p); i++ {
		c := (*p)[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			*p = (*p)[i+1:]
			return v, true
		}
	}
	return 0, false
}
