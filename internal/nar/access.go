package nar

import "io"

// randomAccess is implemented by trees whose open regular file can be
// read at any offset without copying it: a file on disk, or a section of
// a NAR file. The content comparison reads such files in place.
type randomAccess interface {
	contentAt() (io.ReaderAt, bool)
}

func (t *dirTree) contentAt() (io.ReaderAt, bool) {
	if t.cur == nil {
		return nil, false
	}
	return t.cur, true
}

// contentAt is valid right after Next returned a regular file, before
// any of it was read: the strict reader's offset is then where the
// contents start.
func (t *narTree) contentAt() (io.ReaderAt, bool) {
	if t.f == nil || t.r.state != stFile || t.r.left != t.r.size {
		return nil, false
	}
	return io.NewSectionReader(t.f, t.r.Offset(), t.r.size), true
}
