package pecoff

import "io"

// Bytes is an image held in memory (read, or mapped). Parse keeps it, and
// hashing then reads it without copying.
type Bytes []byte

// ReadAt implements io.ReaderAt.
func (b Bytes) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Slice returns the bytes [off, off+n) when the image is in memory.
func (f *File) Slice(off, n int64) ([]byte, bool) {
	if f.data == nil || off < 0 || n < 0 || off+n > int64(len(f.data)) {
		return nil, false
	}
	return f.data[off : off+n], true
}
