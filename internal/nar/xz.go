package nar

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

// checkXZ walks the index of every stream of an xz file (from its end:
// stream footer, index, then each block header) and refuses a file whose
// LZMA2 dictionary is larger than maxXZDict, or that is not a
// well-formed xz file, before a byte is decoded. It returns the
// uncompressed size the index gives, to size the buffer the decoded
// member is read into.
func checkXZ(b blob) (int64, error) {
	var total int64
	err := walkXZ(b, func(off, uncompressed int64) error {
		total += uncompressed
		return checkXZBlock(b, off)
	})
	return total, err
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
// dictionary sizes.
func checkXZBlock(b blob, off int64) error {
	hs := make([]byte, 1)
	if err := readAt(b, hs, off); err != nil {
		return err
	}
	size := (int64(hs[0]) + 1) * 4
	if hs[0] == 0 || off+size > b.size {
		return fmt.Errorf("xz: bad block header at byte %d", off)
	}
	h := make([]byte, size)
	if err := readAt(b, h, off); err != nil {
		return err
	}
	if crc32.ChecksumIEEE(h[:size-4]) != binary.LittleEndian.Uint32(h[size-4:]) {
		return fmt.Errorf("xz: block header checksum at byte %d", off)
	}
	flags := h[1]
	p := h[2 : size-4]
	if flags&0x40 != 0 {
		if _, ok := uvarint(&p); !ok {
			return fmt.Errorf("xz: bad block header at byte %d", off)
		}
	}
	if flags&0x80 != 0 {
		if _, ok := uvarint(&p); !ok {
			return fmt.Errorf("xz: bad block header at byte %d", off)
		}
	}
	for range int(flags&3) + 1 {
		id, ok1 := uvarint(&p)
		psize, ok2 := uvarint(&p)
		if !ok1 || !ok2 || psize > uint64(len(p)) {
			return fmt.Errorf("xz: bad filter flags at byte %d", off)
		}
		props := p[:psize]
		p = p[psize:]
		if id == 0x21 { // LZMA2
			if len(props) != 1 || props[0] > 40 {
				return fmt.Errorf("xz: bad LZMA2 properties at byte %d", off)
			}
			if lzma2Dict(props[0]) > maxXZDict {
				return fmt.Errorf("xz: a %d MiB dictionary, over the limit of %d MiB", lzma2Dict(props[0])>>20, maxXZDict>>20)
			}
		}
	}
	return nil
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
