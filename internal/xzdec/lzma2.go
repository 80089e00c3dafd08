package xzdec

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// errCorrupt is what a stream whose LZMA2 data does not decode gets.
var errCorrupt = errors.New("corrupt LZMA2 data")

var errDistance = fmt.Errorf("%w: a match reaches before the data", errCorrupt)

// prob is an adaptive bit probability, out of 1<<11.
type prob uint16

const probInit = 1 << 10

// rangeDec decodes bits from one LZMA chunk's compressed bytes, held
// whole in in[:n]. Reading past them reads what the array holds there
// (the index wraps, so never out of it) and counts on, so that the end
// of the chunk can tell a stream that needed more bytes than it had.
type rangeDec struct {
	rng, code uint32
	in        *[inSize]byte
	n         int
	i         int
}

// inSize holds an LZMA chunk's compressed bytes (at most 64 KiB); a
// power of two, so that a masked index needs no bounds check.
const inSize = 1 << 16

func (rc *rangeDec) init(n int) error {
	in := rc.in
	if n < 5 || in[0] != 0 {
		return errCorrupt
	}
	rc.n, rc.i = n, 5
	rc.rng = 0xFFFFFFFF
	rc.code = uint32(in[1])<<24 | uint32(in[2])<<16 | uint32(in[3])<<8 | uint32(in[4])
	return nil
}

func (rc *rangeDec) next() uint32 {
	b := rc.in[rc.i&(inSize-1)]
	rc.i++
	return uint32(b)
}

// bit decodes one bit with probability *p and adapts *p. The range is
// normalized before a bit rather than after it, so the chunk's end
// normalizes once more (finish). It is over the inlining budget: the hot
// loops (literals, bit trees) write it out with the coder in locals.
func (rc *rangeDec) bit(p *prob) uint32 {
	if rc.rng < 1<<24 {
		rc.normalize()
	}
	bound := (rc.rng >> 11) * uint32(*p)
	if rc.code < bound {
		rc.rng = bound
		*p += (1<<11 - *p) >> 5
		return 0
	}
	rc.rng -= bound
	rc.code -= bound
	*p -= *p >> 5
	return 1
}

func (rc *rangeDec) normalize() {
	rc.rng <<= 8
	rc.code = rc.code<<8 | rc.next()
}

// finish says whether the chunk's compressed bytes ended where its
// range coder did.
func (rc *rangeDec) finish() bool {
	if rc.rng < 1<<24 {
		rc.normalize()
	}
	return rc.i == rc.n && rc.code == 0
}

// tree decodes a bits-wide symbol from a bit tree (probs[1:1<<bits]).
// It and reverse hold the range coder in locals, the bit decoding
// written out: rangeDec.bit is over the inlining budget, and a call per
// bit was a third of the decoding time.
func (rc *rangeDec) tree(probs []prob, bits uint) uint32 {
	rng, code, i, in := rc.rng, rc.code, rc.i, rc.in
	m := uint32(1)
	for range bits {
		if rng < 1<<24 {
			rng <<= 8
			code = code<<8 | uint32(in[i&(inSize-1)])
			i++
		}
		p := &probs[m]
		bound := (rng >> 11) * uint32(*p)
		if code < bound {
			rng = bound
			*p += (1<<11 - *p) >> 5
			m <<= 1
		} else {
			rng -= bound
			code -= bound
			*p -= *p >> 5
			m = m<<1 | 1
		}
	}
	rc.rng, rc.code, rc.i = rng, code, i
	return m - 1<<bits
}

// reverse decodes a bits-wide symbol from a bit tree read lowest bit
// first, whose node m is probs[base+m].
func (rc *rangeDec) reverse(probs []prob, base int, bits uint) uint32 {
	rng, code, i, in := rc.rng, rc.code, rc.i, rc.in
	m, s := uint32(1), uint32(0)
	for k := range bits {
		if rng < 1<<24 {
			rng <<= 8
			code = code<<8 | uint32(in[i&(inSize-1)])
			i++
		}
		p := &probs[base+int(m)]
		bound := (rng >> 11) * uint32(*p)
		if code < bound {
			rng = bound
			*p += (1<<11 - *p) >> 5
			m <<= 1
		} else {
			rng -= bound
			code -= bound
			*p -= *p >> 5
			m = m<<1 | 1
			s |= 1 << k
		}
	}
	rc.rng, rc.code, rc.i = rng, code, i
	return s
}

// direct decodes n bits of probability one half.
func (rc *rangeDec) direct(n uint) uint32 {
	var r uint32
	for range n {
		if rc.rng < 1<<24 {
			rc.normalize()
		}
		rc.rng >>= 1
		rc.code -= rc.rng
		t := 0 - (rc.code >> 31)
		rc.code += rc.rng & t
		r = r<<1 + (t + 1)
	}
	return r
}

// lenDec decodes a match length (0-based: 0 is a length of two).
type lenDec struct {
	choice, choice2 prob
	low, mid        [16][8]prob
	high            [256]prob
}

func (l *lenDec) reset() {
	l.choice, l.choice2 = probInit, probInit
	for i := range l.low {
		fill(l.low[i][:])
		fill(l.mid[i][:])
	}
	fill(l.high[:])
}

func (l *lenDec) decode(rc *rangeDec, posState uint32) uint32 {
	if rc.bit(&l.choice) == 0 {
		return rc.tree(l.low[posState][:], 3)
	}
	if rc.bit(&l.choice2) == 0 {
		return 8 + rc.tree(l.mid[posState][:], 3)
	}
	return 16 + rc.tree(l.high[:], 8)
}

func fill(p []prob) {
	for i := range p {
		p[i] = probInit
	}
}

// window is the dictionary: the decoded bytes a match can copy from,
// and the output not yet read (buf[rd:pos]). It grows with the output up
// to the dictionary's size, so a small file declaring a large
// dictionary costs only its own size, then wraps.
type window struct {
	buf  []byte
	size int  // the dictionary size, rounded up to 16
	pos  int  // next byte written
	rd   int  // next byte read
	full bool // buf is size long and has wrapped: all of it is history
}

// reaches says whether a match at pos may copy from dist+1 bytes back.
func (w *window) reaches(pos int, dist uint32) bool {
	if w.full {
		return int64(dist) < int64(len(w.buf))
	}
	return int64(dist) < int64(pos)
}

// reset empties the history (an LZMA2 dictionary reset); the output must
// have been read.
func (w *window) reset() { w.pos, w.rd, w.full = 0, 0, false }

// room makes space for the next want bytes of output and returns the
// end of the writable span (at most want past pos). The output must have
// been read.
func (w *window) room(want int) int {
	if w.pos == len(w.buf) {
		if len(w.buf) < w.size {
			n := min(w.size, max(2*len(w.buf), 64<<10, (w.pos+want+15)&^15))
			nb := make([]byte, n)
			copy(nb, w.buf[:w.pos])
			w.buf = nb
		} else {
			w.pos, w.rd, w.full = 0, 0, true
		}
	}
	return min(len(w.buf), w.pos+want)
}

// lzma2 decodes one block's LZMA2 data into a window.
type lzma2 struct {
	w  window
	rc rangeDec

	lc, lp, pb uint
	state      uint32
	rep        [4]uint32

	isMatch    [12 << 4]prob
	isRep      [12]prob
	isRepG0    [12]prob
	isRepG1    [12]prob
	isRepG2    [12]prob
	isRep0Long [12 << 4]prob
	posSlot    [4][64]prob
	posSpecial [114]prob
	align      [16]prob
	matchLen   lenDec
	repLen     lenDec
	literal    []prob

	// The chunk being decoded: kind 0 none (a control byte is next),
	// 1 uncompressed, 2 LZMA; left is its unpacked bytes to come; pending
	// is the rest of a match the window's end cut.
	kind      int
	left      int
	pending   int
	needReset bool // the next chunk must reset the dictionary
	needProps bool // the next LZMA chunk must set properties
	done      bool // the end-of-data control byte was read

	count int64 // compressed bytes read
}

// start prepares for a block whose dictionary is dict bytes.
func (z *lzma2) start(dict int) {
	size := (max(dict, 4096) + 15) &^ 15
	if z.w.size != size {
		if len(z.w.buf) > size {
			z.w.buf = z.w.buf[:size]
		}
		z.w.size = size
	}
	z.w.reset()
	z.kind, z.left, z.pending = 0, 0, 0
	z.needReset, z.needProps, z.done = true, true, false
	z.count = 0
}

func (z *lzma2) setProps(b byte) error {
	if b >= 9*5*5 {
		return errCorrupt
	}
	lc, lp, pb := uint(b%9), uint(b/9%5), uint(b/45)
	if lc+lp > 4 {
		return errCorrupt
	}
	z.lc, z.lp, z.pb = lc, lp, pb
	return nil
}

// resetState sets every probability to one half and forgets the
// distances (an LZMA2 state reset).
func (z *lzma2) resetState() {
	z.state, z.rep = 0, [4]uint32{}
	fill(z.isMatch[:])
	fill(z.isRep[:])
	fill(z.isRepG0[:])
	fill(z.isRepG1[:])
	fill(z.isRepG2[:])
	fill(z.isRep0Long[:])
	for i := range z.posSlot {
		fill(z.posSlot[i][:])
	}
	fill(z.posSpecial[:])
	fill(z.align[:])
	z.matchLen.reset()
	z.repLen.reset()
	n := 0x300 << (z.lc + z.lp)
	if cap(z.literal) < n {
		z.literal = make([]prob, n)
	}
	z.literal = z.literal[:n]
	fill(z.literal)
}

// step decodes some output into the window, whose output must have been
// read; it returns with done set after the end-of-data control byte.
func (z *lzma2) step(in *bufio.Reader) error {
	if z.kind == 0 {
		if err := z.header(in); err != nil || z.done {
			return err
		}
	}
	end := z.w.room(z.left)
	if z.kind == 1 {
		n, err := io.ReadFull(in, z.w.buf[z.w.pos:end])
		z.count += int64(n)
		if err != nil {
			return unexpected(err)
		}
		z.w.pos += n
		z.left -= n
	} else if err := z.decode(end); err != nil {
		return err
	}
	if z.left == 0 {
		if z.kind == 2 && (!z.rc.finish() || z.pending != 0) {
			return errCorrupt
		}
		z.kind = 0
	}
	return nil
}

// header reads a chunk's control byte, sizes and properties, and for an
// LZMA chunk its compressed bytes.
func (z *lzma2) header(in *bufio.Reader) error {
	var h [6]byte
	if _, err := io.ReadFull(in, h[:1]); err != nil {
		return unexpected(err)
	}
	z.count++
	c := h[0]
	switch {
	case c == 0:
		z.done = true
		return nil
	case c == 1 || c >= 0xE0:
		z.w.reset()
		z.needReset, z.needProps = false, true
	case z.needReset:
		return fmt.Errorf("%w: the first chunk does not reset the dictionary", errCorrupt)
	}
	if c < 0x80 {
		if c > 2 {
			return fmt.Errorf("%w: control byte %#x", errCorrupt, c)
		}
		if _, err := io.ReadFull(in, h[:2]); err != nil {
			return unexpected(err)
		}
		z.count += 2
		z.kind, z.left = 1, int(h[0])<<8|int(h[1])+1
		return nil
	}
	n := 4
	if c >= 0xC0 {
		n = 5
	}
	if _, err := io.ReadFull(in, h[:n]); err != nil {
		return unexpected(err)
	}
	z.count += int64(n)
	z.left = int(c&0x1F)<<16 | int(h[0])<<8 | int(h[1]) + 1
	packed := int(h[2])<<8 | int(h[3]) + 1
	switch {
	case c >= 0xC0:
		if err := z.setProps(h[4]); err != nil {
			return err
		}
		z.needProps = false
		z.resetState()
	case z.needProps:
		return fmt.Errorf("%w: an LZMA chunk without properties", errCorrupt)
	case c >= 0xA0:
		z.resetState()
	}
	if z.rc.in == nil {
		z.rc.in = new([inSize]byte)
	}
	if _, err := io.ReadFull(in, z.rc.in[:packed]); err != nil {
		return unexpected(err)
	}
	z.count += int64(packed)
	z.kind = 2
	return z.rc.init(packed)
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// decode decodes LZMA operations into the window up to end.
func (z *lzma2) decode(end int) error {
	w := &z.w
	rc := &z.rc
	buf := w.buf
	start := w.pos
	pos := start
	defer func() {
		z.left -= pos - start
		w.pos = pos
	}()
	if z.pending > 0 {
		pos = z.copyMatch(pos, end, z.pending)
	}
	pbMask := uint32(1)<<z.pb - 1
	lpMask := uint32(1)<<z.lp - 1
	lc := z.lc
	// The position bits are pos's: the window's length is a multiple of
	// 16, so they are those of the count of bytes since the dictionary
	// reset.
	for pos < end {
		posState := uint32(pos) & pbMask
		state := z.state
		if rc.bit(&z.isMatch[state<<4|posState]) == 0 {
			var prev uint32
			if pos > 0 {
				prev = uint32(buf[pos-1])
			} else if w.full {
				prev = uint32(buf[len(buf)-1])
			}
			probs := (*[0x300]prob)(z.literal[0x300*((uint32(pos)&lpMask)<<lc+prev>>(8-lc)):])
			// The literal's eight bits take most of the decoding time:
			// the range coder is held in locals here, bit decoding
			// written out (rangeDec.bit is over the inlining budget).
			rng, code, i, in := rc.rng, rc.code, rc.i, rc.in
			sym := uint32(1)
			if state < 7 {
				for sym < 0x100 {
					if rng < 1<<24 {
						rng <<= 8
						code = code<<8 | uint32(in[i&(inSize-1)])
						i++
					}
					p := &probs[sym&0xFF]
					bound := (rng >> 11) * uint32(*p)
					if code < bound {
						rng = bound
						*p += (1<<11 - *p) >> 5
						sym <<= 1
					} else {
						rng -= bound
						code -= bound
						*p -= *p >> 5
						sym = sym<<1 | 1
					}
				}
			} else {
				mb := uint32(z.byteAt(pos, z.rep[0]))
				offs := uint32(0x100)
				for sym < 0x100 {
					mb <<= 1
					bit := mb & offs
					if rng < 1<<24 {
						rng <<= 8
						code = code<<8 | uint32(in[i&(inSize-1)])
						i++
					}
					p := &probs[offs+bit+sym]
					bound := (rng >> 11) * uint32(*p)
					if code < bound {
						rng = bound
						*p += (1<<11 - *p) >> 5
						sym <<= 1
						offs &^= bit
					} else {
						rng -= bound
						code -= bound
						*p -= *p >> 5
						sym = sym<<1 | 1
						offs &= bit
					}
				}
			}
			rc.rng, rc.code, rc.i = rng, code, i
			buf[pos] = byte(sym)
			pos++
			switch {
			case state < 4:
				z.state = 0
			case state < 10:
				z.state = state - 3
			default:
				z.state = state - 6
			}
			continue
		}
		var n uint32
		if rc.bit(&z.isRep[state]) == 0 {
			n = z.matchLen.decode(rc, posState)
			if state < 7 {
				z.state = 7
			} else {
				z.state = 10
			}
			d, err := z.distance(n)
			if err != nil {
				return err
			}
			z.rep = [4]uint32{d, z.rep[0], z.rep[1], z.rep[2]}
		} else {
			if rc.bit(&z.isRepG0[state]) == 0 {
				if rc.bit(&z.isRep0Long[state<<4|posState]) == 0 {
					if !w.reaches(pos, z.rep[0]) {
						return errDistance
					}
					if state < 7 {
						z.state = 9
					} else {
						z.state = 11
					}
					buf[pos] = z.byteAt(pos, z.rep[0])
					pos++
					continue
				}
			} else {
				var d uint32
				if rc.bit(&z.isRepG1[state]) == 0 {
					d = z.rep[1]
				} else {
					if rc.bit(&z.isRepG2[state]) == 0 {
						d = z.rep[2]
					} else {
						d = z.rep[3]
						z.rep[3] = z.rep[2]
					}
					z.rep[2] = z.rep[1]
				}
				z.rep[1] = z.rep[0]
				z.rep[0] = d
			}
			n = z.repLen.decode(rc, posState)
			if state < 7 {
				z.state = 8
			} else {
				z.state = 11
			}
		}
		length := int(n) + 2
		if length > z.left-(pos-start) {
			return fmt.Errorf("%w: a match past the chunk's end", errCorrupt)
		}
		if !w.reaches(pos, z.rep[0]) {
			return errDistance
		}
		pos = z.copyMatch(pos, end, length)
	}
	return nil
}

// distance decodes a match distance (0-based) for a match of length
// n (0-based).
func (z *lzma2) distance(n uint32) (uint32, error) {
	rc := &z.rc
	slot := rc.tree(z.posSlot[min(n, 3)][:], 6)
	if slot < 4 {
		return slot, nil
	}
	bits := uint(slot>>1) - 1
	d := (2 | slot&1) << bits
	if slot < 14 {
		return d + rc.reverse(z.posSpecial[:], int(d)-int(slot)-1, bits), nil
	}
	d += rc.direct(bits-4) << 4
	d += rc.reverse(z.align[:], 0, 4)
	if d == 0xFFFFFFFF {
		return 0, fmt.Errorf("%w: an end marker inside LZMA2 data", errCorrupt)
	}
	return d, nil
}

// byteAt is the byte dist+1 back from pos.
func (z *lzma2) byteAt(pos int, dist uint32) byte {
	i := pos - int(dist) - 1
	if i < 0 {
		i += len(z.w.buf)
	}
	return z.w.buf[i]
}

// copyMatch writes n bytes from rep[0]+1 back at pos, up to end; what
// end cuts is left pending. It returns the new position.
func (z *lzma2) copyMatch(pos, end, n int) int {
	buf := z.w.buf
	k := min(n, end-pos)
	z.pending = n - k
	src := pos - int(z.rep[0]) - 1
	if src < 0 {
		// The source starts before the window wraps: copy up to the
		// wrap (an overlap copies what was there, as the match would).
		src += len(buf)
		run := min(k, len(buf)-src)
		copy(buf[pos:pos+run], buf[src:src+run])
		pos += run
		k -= run
		src = 0
	}
	// buf[src:pos] repeats with the match's distance, so each copy may
	// take all of it: the run doubles.
	for k > 0 {
		run := min(k, pos-src)
		copy(buf[pos:pos+run], buf[src:src+run])
		pos += run
		k -= run
	}
	return pos
}
