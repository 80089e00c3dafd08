package nar

import (
	"encoding/binary"
	"fmt"
	"time"
)

// comparePyc compares two Python bytecode files: the header (magic, the
// PEP 552 flags, the source's mtime and size or its hash), then the
// marshalled code object as the member "code".
func (d *differ) comparePyc(a, b blob, depth int) (*Diff, []Cause, bool) {
	ha, hb := a.head(16), b.head(16)
	la, lb := pycHeaderLen(ha), pycHeaderLen(hb)
	if la == 0 || la != lb {
		return nil, nil, false
	}
	fields := func(h []byte) [][2]string {
		le := binary.LittleEndian
		f := [][2]string{{"magic", fmt.Sprintf("%x", h[:4])}}
		switch la {
		case 16:
			flags := le.Uint32(h[4:8])
			f = append(f, [2]string{"flags", fmt.Sprint(flags)})
			if flags&1 != 0 {
				f = append(f, [2]string{"source hash", fmt.Sprintf("%x", h[8:16])}, [2]string{"source mtime", ""}, [2]string{"source size", ""})
			} else {
				f = append(f, [2]string{"source hash", ""}, [2]string{"source mtime", fmtTime(time.Unix(int64(le.Uint32(h[8:12])), 0))}, [2]string{"source size", fmt.Sprint(le.Uint32(h[12:16]))})
			}
		case 12:
			f = append(f, [2]string{"source mtime", fmtTime(time.Unix(int64(le.Uint32(h[4:8])), 0))}, [2]string{"source size", fmt.Sprint(le.Uint32(h[8:12]))})
		default:
			f = append(f, [2]string{"source mtime", fmtTime(time.Unix(int64(le.Uint32(h[4:8])), 0))})
		}
		return f
	}
	diff := &Diff{Format: "pyc", SizeA: a.size, SizeB: b.size, FirstDifference: -1}
	diff.Header = headerDiff(fields(ha), fields(hb))
	var causes []Cause
	for _, f := range diff.Header {
		switch f.Name {
		case "source mtime":
			causes = append(causes, Cause{Kind: CauseTimestamp, Detail: "pyc header: the source file's modification time (use SOURCE_DATE_EPOCH or hash-based pycs, --invalidation-mode checked-hash)", A: f.A, B: f.B})
		case "flags":
			causes = append(causes, Cause{Kind: CauseArchive, Detail: "pyc header: timestamp- or hash-based invalidation", A: f.A, B: f.B})
		}
	}
	ca, cb := a.section(int64(la), a.size-int64(la)), b.section(int64(lb), b.size-int64(lb))
	md, mc, err := d.compare("code", ca, cb, depth+1)
	if err != nil {
		diff.Note = err.Error()
	}
	if md != nil {
		diff.Members = append(diff.Members, Change{Path: "code", Kind: Content, Content: md, Causes: mc})
	}
	return diff, causes, true
}

// pycHeaderLen is the header size of a .pyc by its magic number: 16 from
// Python 3.7 (magic 3390), 12 from 3.3 (3210), 8 before; 0 when the magic
// is not one.
func pycHeaderLen(h []byte) int {
	if len(h) < 16 || h[2] != '\r' || h[3] != '\n' {
		return 0
	}
	switch m := binary.LittleEndian.Uint16(h[:2]); {
	case m >= 3390 && m < 20000:
		return 16
	case m >= 3210 && m < 3390:
		return 12
	case m >= 20000:
		return 8 // Python 2: magic numbers from 20121
	default:
		return 0
	}
}
