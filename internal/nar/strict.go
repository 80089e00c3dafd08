package nar

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The one NAR parser of nixgate: every reader of a NAR stream (nar diff,
// nar hash of a .nar file, cache verify) goes through it. It accepts
// exactly the canonical serialisation Nix's writer produces and rejects,
// with the byte offset and the reason, what Nix's restore rejects and
// more:
//
//   - the magic, then the tokens in the writer's order: "(" "type" T; for
//     a regular file an optional "executable" "" then "contents" SIZE
//     BYTES; for a symlink "target" T; for a directory any number of
//     "entry" "(" "name" N "node" NODE ")"; then ")";
//   - every string's padding is zero bytes (Nix: "non-zero padding");
//   - entry names are not "", ".", "..", hold no "/" or NUL, and are
//     strictly increasing bytewise (so no duplicates). Nix 2.8 means to
//     check the order but resets the previous name for every entry, so it
//     accepts unsorted and duplicate names; go-nix's reader accepts ".",
//     ".." and duplicates. That is why this parser is nixgate's own;
//   - nothing follows the root node;
//   - bounds (Limits): depth, name, path and symlink target lengths, and,
//     when the NAR's size is known, a file claiming more bytes than are
//     left is rejected at once, before any of them is read.
//
// It never recurses (a 10,000-deep NAR costs a slice, not a stack) and
// never allocates a string longer than the bound of its token.

// Limits bound what a NAR may hold. Zero fields take the defaults.
type Limits struct {
	// MaxDepth is the deepest directory nesting (default 1024).
	MaxDepth int
	// MaxName is the longest entry name in bytes (default 255, NAME_MAX).
	MaxName int
	// MaxPath is the longest path inside the NAR in bytes (default 4095,
	// PATH_MAX less its NUL).
	MaxPath int
	// MaxTarget is the longest symlink target in bytes (default 4095).
	MaxTarget int
	// Size is the NAR's size when known (a .nar file's size, a narinfo's
	// NarSize): a file claiming more bytes than are left is rejected at
	// once. Zero means unknown.
	Size int64
}

func (l *Limits) defaults() {
	if l.MaxDepth <= 0 {
		l.MaxDepth = 1024
	}
	if l.MaxName <= 0 {
		l.MaxName = 255
	}
	if l.MaxPath <= 0 {
		l.MaxPath = 4095
	}
	if l.MaxTarget <= 0 {
		l.MaxTarget = 4095
	}
}

// FormatError is a NAR that is not canonical: where (the offset of the
// token at fault, from the start of the NAR) and why.
type FormatError struct {
	Offset int64
	// Path is the entry being read ("/" for the root), when known.
	Path   string
	Reason string
}

func (e *FormatError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("malformed nar at byte %d (%s): %s", e.Offset, e.Path, e.Reason)
	}
	return fmt.Sprintf("malformed nar at byte %d: %s", e.Offset, e.Reason)
}

// parser states.
const (
	stMagic    = iota
	stNode     // a node starts: "(" "type" ...
	stFile     // a regular file's contents are being read
	stAfterDir // a node ended; the enclosing entry's ")" or the end follows
	stDirBody  // inside a directory: "entry" or ")"
	stDone
)

type dirFrame2 struct {
	path string
	prev string
	any  bool
}

// Reader reads a NAR stream strictly. Next returns the entries in NAR
// order, io.EOF after the root node when nothing follows it; after Next
// returns a regular file, Read reads its contents. Any violation is a
// *FormatError; an error of the underlying reader is returned wrapped.
type Reader struct {
	br    *bufio.Reader
	lim   Limits
	off   int64 // bytes consumed
	state int
	stack []dirFrame2
	path  string // the node about to be read (stNode), or the open file
	left  int64  // contents left of the open file
	size  int64  // size of the open file
	err   error

	scratch [tokenMax]byte
}

// NewReader returns a strict reader of the NAR stream r.
func NewReader(r io.Reader, lim Limits) *Reader {
	lim.defaults()
	return &Reader{br: bufio.NewReaderSize(r, 64<<10), lim: lim, path: "/"}
}

// Offset is the number of bytes of the NAR read so far.
func (r *Reader) Offset() int64 { return r.off }

func (r *Reader) fail(off int64, path, format string, args ...any) error {
	r.err = &FormatError{Offset: off, Path: path, Reason: fmt.Sprintf(format, args...)}
	r.state = stDone
	return r.err
}

// ioErr turns an end of the stream into a FormatError (truncated) and
// keeps any other error of the underlying reader.
func (r *Reader) ioErr(err error, off int64, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.fail(off, r.curPath(), "truncated: the stream ends at byte %d inside %s", r.off, what)
	}
	r.err = fmt.Errorf("read nar at byte %d: %w", r.off, err)
	r.state = stDone
	return r.err
}

func (r *Reader) curPath() string {
	if r.state == stMagic {
		return ""
	}
	return r.path
}

func (r *Reader) readFull(b []byte) error {
	n, err := io.ReadFull(r.br, b)
	r.off += int64(n)
	return err
}

func (r *Reader) u64(what string) (uint64, error) {
	start := r.off
	var b [8]byte
	if err := r.readFull(b[:]); err != nil {
		return 0, r.ioErr(err, start, what)
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func pad8(n uint64) int { return int(-n & 7) }

// padding reads and checks the zero padding after n bytes of a string or
// of a file's contents.
func (r *Reader) padding(n uint64, what string) error {
	p := pad8(n)
	if p == 0 {
		return nil
	}
	start := r.off
	var b [8]byte
	if err := r.readFull(b[:p]); err != nil {
		return r.ioErr(err, start, what)
	}
	for i := 0; i < p; i++ {
		if b[i] != 0 {
			return r.fail(start+int64(i), r.curPath(), "non-zero padding after %s", what)
		}
	}
	return nil
}

// str reads a string of at most max bytes.
func (r *Reader) str(max int, what string) (string, int64, error) {
	start := r.off
	n, err := r.u64(what)
	if err != nil {
		return "", start, err
	}
	if n > uint64(max) {
		return "", start, r.fail(start, r.curPath(), "%s of %d bytes, longer than %d", what, n, max)
	}
	b := make([]byte, n)
	if err := r.readFull(b); err != nil {
		return "", start, r.ioErr(err, start, what)
	}
	if err := r.padding(n, what); err != nil {
		return "", start, err
	}
	return string(b), start, nil
}

// tokenMax bounds a keyword token: the longest is "executable".
const tokenMax = 16

// token reads a keyword-sized string (at most tokenMax bytes) into the
// reader's scratch buffer, without allocating; the result is valid until
// the next read.
func (r *Reader) token(what string) ([]byte, int64, error) {
	start := r.off
	n, err := r.u64(what)
	if err != nil {
		return nil, start, err
	}
	if n > tokenMax {
		return nil, start, r.fail(start, r.curPath(), "expected %s, found a string of %d bytes", what, n)
	}
	b := r.scratch[:n]
	if err := r.readFull(b); err != nil {
		return nil, start, r.ioErr(err, start, what)
	}
	if err := r.padding(n, what); err != nil {
		return nil, start, err
	}
	return b, start, nil
}

// expect reads a keyword token and checks it is want.
func (r *Reader) expect(want string) error {
	b, start, err := r.token("a token")
	if err != nil {
		return err
	}
	if string(b) != want {
		return r.fail(start, r.curPath(), "expected %q, found %q", want, b)
	}
	return nil
}

// Next advances to the next entry. It returns io.EOF at the end of a
// well-formed NAR.
func (r *Reader) Next() (*Entry, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		switch r.state {
		case stDone:
			return nil, io.EOF
		case stMagic:
			start := r.off
			s, _, err := r.str(len("nix-archive-1"), "magic")
			if err != nil {
				var fe *FormatError
				if errors.As(err, &fe) {
					fe.Reason = "not a NAR (no nix-archive-1 magic): " + fe.Reason
				}
				return nil, err
			}
			if s != "nix-archive-1" {
				return nil, r.fail(start, "", "not a NAR: magic %q, want \"nix-archive-1\"", s)
			}
			r.state = stNode
		case stFile:
			if err := r.skipContents(); err != nil {
				return nil, err
			}
		case stNode:
			return r.node()
		case stAfterDir:
			if len(r.stack) == 0 {
				return nil, r.end()
			}
			if err := r.expect(")"); err != nil {
				return nil, err
			}
			r.state = stDirBody
		case stDirBody:
			if err := r.dirItem(); err != nil {
				return nil, err
			}
		}
	}
}

// end checks that nothing follows the root node.
func (r *Reader) end() error {
	start := r.off
	if _, err := r.br.ReadByte(); err == nil {
		extra := int64(1)
		for {
			n, err := r.br.Discard(64 << 10)
			extra += int64(n)
			if err != nil || (r.lim.Size > 0 && start+extra > r.lim.Size) {
				break
			}
		}
		more := fmt.Sprintf("%d bytes", extra)
		if r.lim.Size > 0 && start+extra > r.lim.Size {
			more = fmt.Sprintf("at least %d bytes", extra)
		}
		return r.fail(start, "", "trailing data after the root node (%s)", more)
	} else if !errors.Is(err, io.EOF) {
		return r.ioErr(err, start, "the end")
	}
	r.state = stDone
	return io.EOF
}

// dirItem reads the next item of a directory: an entry's header up to its
// node, or the directory's ")".
func (r *Reader) dirItem() error {
	top := &r.stack[len(r.stack)-1]
	r.path = top.path
	s, start, err := r.token(`"entry" or ")"`)
	if err != nil {
		return err
	}
	switch string(s) {
	case ")":
		r.stack = r.stack[:len(r.stack)-1]
		r.state = stAfterDir
		return nil
	case "entry":
	default:
		return r.fail(start, top.path, "expected \"entry\" or \")\" in a directory, found %q", s)
	}
	if err := r.expect("("); err != nil {
		return err
	}
	if err := r.expect("name"); err != nil {
		return err
	}
	name, nstart, err := r.str(r.lim.MaxName, "entry name")
	if err != nil {
		return err
	}
	switch {
	case name == "":
		return r.fail(nstart, top.path, "empty entry name")
	case name == "." || name == "..":
		return r.fail(nstart, top.path, "entry name %q", name)
	case strings.IndexByte(name, '/') >= 0:
		return r.fail(nstart, top.path, "entry name %q contains \"/\"", name)
	case strings.IndexByte(name, 0) >= 0:
		return r.fail(nstart, top.path, "entry name %q contains NUL", name)
	}
	if top.any {
		switch c := strings.Compare(name, top.prev); {
		case c == 0:
			return r.fail(nstart, top.path, "duplicate entry name %q", name)
		case c < 0:
			return r.fail(nstart, top.path, "entries not sorted: %q after %q", name, top.prev)
		}
	}
	top.prev, top.any = name, true
	p := top.path + "/" + name
	if top.path == "/" {
		p = "/" + name
	}
	if len(p) > r.lim.MaxPath {
		return r.fail(nstart, top.path, "path of %d bytes, longer than %d", len(p), r.lim.MaxPath)
	}
	if err := r.expect("node"); err != nil {
		return err
	}
	r.path = p
	r.state = stNode
	return nil
}

// node reads a node's header and returns its entry.
func (r *Reader) node() (*Entry, error) {
	if err := r.expect("("); err != nil {
		return nil, err
	}
	if err := r.expect("type"); err != nil {
		return nil, err
	}
	tb, tstart, err := r.token("a node type")
	if err != nil {
		return nil, err
	}
	e := &Entry{Path: r.path}
	t := string(tb)
	switch t {
	case "regular":
		e.Type = Regular
		s, start, err := r.token(`"executable" or "contents"`)
		if err != nil {
			return nil, err
		}
		if string(s) == "executable" {
			e.Executable = true
			v, vstart, err := r.token("the executable marker")
			if err != nil {
				return nil, err
			}
			if len(v) != 0 {
				return nil, r.fail(vstart, r.path, "executable marker has the value %q, want \"\"", v)
			}
			s, start, err = r.token(`"contents"`)
			if err != nil {
				return nil, err
			}
		}
		if string(s) != "contents" {
			return nil, r.fail(start, r.path, "expected \"contents\", found %q", s)
		}
		sstart := r.off
		n, err := r.u64("file size")
		if err != nil {
			return nil, err
		}
		if r.lim.Size > 0 {
			// The contents, their padding and the closing tokens must fit.
			room := r.lim.Size - r.off
			if n > uint64(max(room, 0)) {
				return nil, r.fail(sstart, r.path, "file claims %d bytes, but only %d of the NAR's %d are left", n, room, r.lim.Size)
			}
		} else if n > 1<<62 {
			return nil, r.fail(sstart, r.path, "file claims %d bytes", n)
		}
		e.Size = int64(n)
		r.size, r.left = e.Size, e.Size
		r.state = stFile
		return e, nil
	case "symlink":
		e.Type = Symlink
		if err := r.expect("target"); err != nil {
			return nil, err
		}
		target, start, err := r.str(r.lim.MaxTarget, "symlink target")
		if err != nil {
			return nil, err
		}
		if target == "" {
			return nil, r.fail(start, r.path, "empty symlink target")
		}
		if strings.IndexByte(target, 0) >= 0 {
			return nil, r.fail(start, r.path, "symlink target contains NUL")
		}
		e.Target = target
		if err := r.expect(")"); err != nil {
			return nil, err
		}
		r.state = stAfterDir
		return e, nil
	case "directory":
		e.Type = Directory
		if len(r.stack) >= r.lim.MaxDepth {
			return nil, r.fail(tstart, r.path, "directories nested deeper than %d", r.lim.MaxDepth)
		}
		r.stack = append(r.stack, dirFrame2{path: r.path})
		r.state = stDirBody
		return e, nil
	}
	return nil, r.fail(tstart, r.path, "unknown node type %q", t)
}

// Read reads the contents of the regular file Next returned last.
func (r *Reader) Read(p []byte) (int, error) {
	if r.state != stFile {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.br.Read(p)
	r.off += int64(n)
	r.left -= int64(n)
	if err != nil && r.left > 0 {
		return n, r.ioErr(err, r.off, fmt.Sprintf("the contents of a %d-byte file (%d bytes short)", r.size, r.left))
	}
	return n, nil
}

// WriteTo copies the rest of the open file's contents to w without an
// intermediate buffer when w is fast (a hash): it implements io.WriterTo
// so that io.Copy(w, reader) is one pass over the buffered bytes.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for r.state == stFile && r.left > 0 {
		b, err := r.br.Peek(int(min(r.left, int64(r.br.Size()))))
		if len(b) > 0 {
			n, werr := w.Write(b)
			r.br.Discard(n)
			r.off += int64(n)
			r.left -= int64(n)
			total += int64(n)
			if werr != nil {
				return total, werr
			}
		}
		if err != nil && r.left > 0 {
			if errors.Is(err, bufio.ErrBufferFull) {
				continue
			}
			return total, r.ioErr(err, r.off, fmt.Sprintf("the contents of a %d-byte file (%d bytes short)", r.size, r.left))
		}
	}
	if r.err != nil {
		return total, r.err
	}
	return total, nil
}

// skipContents discards what is left of the open file, checks its
// padding and the node's ")".
func (r *Reader) skipContents() error {
	for r.left > 0 {
		n, err := r.br.Discard(int(min(r.left, 1<<30)))
		r.off += int64(n)
		r.left -= int64(n)
		if err != nil && r.left > 0 {
			return r.ioErr(err, r.off, fmt.Sprintf("the contents of a %d-byte file (%d bytes short)", r.size, r.left))
		}
	}
	if err := r.padding(uint64(r.size), "the file's contents"); err != nil {
		return err
	}
	if err := r.expect(")"); err != nil {
		return err
	}
	r.state = stAfterDir
	return nil
}

// Validate reads a whole NAR stream strictly, calling visit (when not
// nil) for every entry; visit may read a regular file's contents from
// the reader. It returns the NAR's size.
func Validate(rd io.Reader, lim Limits, visit func(*Entry, *Reader) error) (int64, error) {
	r := NewReader(rd, lim)
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.off, nil
		}
		if err != nil {
			return r.off, err
		}
		if visit != nil {
			if err := visit(e, r); err != nil {
				return r.off, err
			}
		}
	}
}

// IsNAR reports whether b starts like a NAR.
func IsNAR(b []byte) bool { return bytes.HasPrefix(b, narMagic) }
