package xzdec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Size reads the index of every stream of the xz file r, of size bytes,
// from its end (stream footer, index, each block header), without
// decoding a byte, and returns the uncompressed size the indexes give.
// It refuses a block whose LZMA2 dictionary is larger than maxDict (0:
// no bound) and what is not a well-formed xz file. The size is what the
// file says: a decoder still checks it against the data.
func Size(r io.ReaderAt, size, maxDict int64) (int64, error) {
	var total int64
	err := walkIndex(r, size, func(off, uncompressed int64) error {
		if total += uncompressed; total > 1<<62 {
			return fmt.Errorf("xz: the indexes give more than 2^62 bytes")
		}
		return checkBlock(r, size, off, maxDict)
	})
	return total, err
}

// walkIndex calls block for the offset and uncompressed size of every
// block of every stream of the xz file r of size bytes, from its end.
func walkIndex(r io.ReaderAt, size int64, block func(off, uncompressed int64) error) error {
	end := size
	streams := 0
	for end > 0 {
		// Stream padding: zero bytes in multiples of four.
		for end >= 4 {
			w := make([]byte, 4)
			if readFull(r, w, end-4) != nil || binary.LittleEndian.Uint32(w) != 0 {
				break
			}
			end -= 4
		}
		if end < 24 {
			return fmt.Errorf("xz: truncated stream")
		}
		foot := make([]byte, 12)
		if err := readFull(r, foot, end-12); err != nil {
			return err
		}
		if string(foot[10:]) != "YZ" {
			return fmt.Errorf("xz: no stream footer at byte %d", end-12)
		}
		if crc32.ChecksumIEEE(foot[4:10]) != binary.LittleEndian.Uint32(foot[:4]) {
			return fmt.Errorf("xz: stream footer checksum at byte %d", end-12)
		}
		indexSize := (int64(binary.LittleEndian.Uint32(foot[4:8])) + 1) * 4
		indexStart := end - 12 - indexSize
		if indexStart < 12 || indexSize > 1<<26 {
			return fmt.Errorf("xz: bad index size %d", indexSize)
		}
		index := make([]byte, indexSize)
		if err := readFull(r, index, indexStart); err != nil {
			return err
		}
		if index[0] != 0 {
			return fmt.Errorf("xz: no index at byte %d", indexStart)
		}
		if crc32.ChecksumIEEE(index[:indexSize-4]) != binary.LittleEndian.Uint32(index[indexSize-4:]) {
			return fmt.Errorf("xz: index checksum at byte %d", indexStart)
		}
		p := index[1 : indexSize-4]
		n, ok := uvarint(&p)
		if !ok || n > uint64(len(p)) {
			return fmt.Errorf("xz: bad index record count")
		}
		var sizes, usizes []int64
		var total int64
		for range n {
			unpadded, ok1 := uvarint(&p)
			usize, ok2 := uvarint(&p)
			if !ok1 || !ok2 || unpadded == 0 || unpadded > uint64(size) || usize > 1<<62 {
				return fmt.Errorf("xz: bad index record")
			}
			sz := (int64(unpadded) + 3) &^ 3
			sizes = append(sizes, sz)
			usizes = append(usizes, int64(usize))
			if total += sz; total > size {
				return fmt.Errorf("xz: the index lists more blocks than the stream holds")
			}
		}
		blocksStart := indexStart - total
		if blocksStart < 12 {
			return fmt.Errorf("xz: the index lists more blocks than the stream holds")
		}
		head := make([]byte, 6)
		if err := readFull(r, head, blocksStart-12); err != nil || string(head) != "\xfd7zXZ\x00" {
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

// checkBlock reads the block header at off and checks its filters'
// dictionary sizes against maxDict (0: no bound).
func checkBlock(r io.ReaderAt, size, off, maxDict int64) error {
	hs := make([]byte, 1)
	if err := readFull(r, hs, off); err != nil {
		return err
	}
	hsize := (int64(hs[0]) + 1) * 4
	if hs[0] == 0 || off+hsize > size {
		return fmt.Errorf("xz: bad block header at byte %d", off)
	}
	h := make([]byte, hsize)
	if err := readFull(r, h, off); err != nil {
		return err
	}
	if crc32.ChecksumIEEE(h[:hsize-4]) != binary.LittleEndian.Uint32(h[hsize-4:]) {
		return fmt.Errorf("xz: block header checksum at byte %d", off)
	}
	bh := parseBlockHeader(h)
	if !bh.compOK || !bh.outOK {
		return fmt.Errorf("xz: bad block header at byte %d", off)
	}
	// Each filter read is judged before an unreadable one is reported.
	for _, f := range bh.filters {
		if f.id == 0x21 { // LZMA2
			if len(f.props) != 1 || f.props[0] > 40 {
				return fmt.Errorf("xz: bad LZMA2 properties at byte %d", off)
			}
			if d := dictSize(f.props[0]); maxDict > 0 && d > maxDict {
				return fmt.Errorf("xz: a %d MiB dictionary, over the limit of %d MiB", d>>20, maxDict>>20)
			}
		}
	}
	if !bh.filtersOK {
		return fmt.Errorf("xz: bad filter flags at byte %d", off)
	}
	return nil
}

// dictSize is the dictionary size an LZMA2 properties byte (at most 40)
// encodes.
func dictSize(c byte) int64 {
	if c == 40 {
		return 0xFFFFFFFF
	}
	return int64(2|c&1) << (c/2 + 11)
}

// readFull reads len(p) bytes at off.
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}
