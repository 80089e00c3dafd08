package nar

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/nixgate/nixgate/internal/cpio"
)

// cpioMember is one entry of a cpio archive, its data read in place.
type cpioMember struct {
	e    *cpio.Entry
	data blob
}

// readCpio lists a cpio archive's entries (internal/cpio, the one cpio
// reader of nixgate) and what follows its trailer (an initramfs
// concatenates archives, the last often compressed).
func readCpio(b blob, maxMembers int) ([]cpioMember, blob, error) {
	r := cpio.NewReader(bufio.NewReaderSize(b.open(), 64<<10))
	var out []cpioMember
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, blob{}, err
		}
		// The data starts where the header (and its padding) ends.
		out = append(out, cpioMember{e: e, data: b.section(r.Offset(), e.Size)})
		if len(out) > maxMembers {
			return out, blob{}, fmt.Errorf("cpio: more than %d members", maxMembers)
		}
	}
	off := r.Offset()
	// Zero padding to a block boundary is part of the archive.
	for off < b.size {
		p := make([]byte, min(512, b.size-off))
		if readAt(b, p, off) != nil {
			break
		}
		i := 0
		for i < len(p) && p[i] == 0 {
			i++
		}
		off += int64(i)
		if i < len(p) {
			break
		}
	}
	return out, b.section(off, b.size-off), nil
}

// compareCpio compares two cpio archives (newc, odc) member by member,
// in place: headers (mode, owner, mtime, inode, links) and contents; what
// follows the trailer is compared as one more member.
func (d *differ) compareCpio(a, b blob, depth int) (*Diff, []Cause, bool) {
	ma, restA, errA := readCpio(a, d.o.MaxMembers)
	mb, restB, errB := readCpio(b, d.o.MaxMembers)
	if errA != nil && len(ma) == 0 || errB != nil && len(mb) == 0 {
		return nil, nil, false
	}
	diff := &Diff{Format: "cpio", SizeA: a.size, SizeB: b.size, FirstDifference: -1}
	if err := firstErr(errA, errB); err != nil {
		diff.Note = err.Error()
	}
	fields := func(e *cpio.Entry) [][2]string {
		return [][2]string{{"mode", fmt.Sprintf("%o", e.Mode)}, {"uid", fmt.Sprint(e.UID)}, {"gid", fmt.Sprint(e.GID)},
			{"mtime", arTime(fmt.Sprint(e.MTime))}, {"ino", fmt.Sprint(e.Ino)}, {"nlink", fmt.Sprint(e.NLink)},
			{"dev", fmt.Sprintf("%d:%d", e.DevMajor, e.DevMinor)}, {"rdev", fmt.Sprintf("%d:%d", e.RDevMajor, e.RDevMinor)},
			{"size", fmt.Sprint(e.Size)}}
	}
	byName := map[string]cpioMember{}
	var orderA, orderB []string
	for _, m := range mb {
		if _, dup := byName[m.e.Name]; !dup {
			orderB = append(orderB, m.e.Name)
		}
		byName[m.e.Name] = m
	}
	inA := map[string]bool{}
	for _, m := range ma {
		if inA[m.e.Name] {
			continue
		}
		inA[m.e.Name] = true
		orderA = append(orderA, m.e.Name)
		o, ok := byName[m.e.Name]
		if !ok {
			diff.Members = append(diff.Members, Change{Path: m.e.Name, Kind: Removed})
			continue
		}
		hf := headerDiff(fields(m.e), fields(o.e))
		md, mc, err := d.compare(baseOf(m.e.Name), m.data, o.data, depth+1)
		if err != nil {
			md = orEmpty(md, "cpio")
			md.Note = joinNote(md.Note, fmt.Sprintf("read member: %v", err))
		}
		if ch := memberChange("cpio", m.e.Name, hf, md, append(d.metadataCauses("cpio", m.e.Name, hf), mc...)); ch != nil {
			diff.Members = append(diff.Members, *ch)
		}
	}
	for _, n := range orderB {
		if !inA[n] {
			diff.Members = append(diff.Members, Change{Path: n, Kind: Added})
		}
	}
	var causes []Cause
	if !equalStrings(orderA, orderB) && equalStrings(sortedCopy(orderA), sortedCopy(orderB)) {
		causes = append(causes, Cause{Kind: CauseOrder, Detail: "the same cpio members in a different order"})
	}
	if restA.size > 0 || restB.size > 0 {
		md, mc, err := d.compare("(after the trailer)", restA, restB, depth+1)
		if err == nil && md != nil {
			diff.Members = append(diff.Members, Change{Path: "(after the trailer)", Kind: Content, Content: md, Causes: mc})
		}
	}
	if len(diff.Members) == 0 && len(causes) == 0 && diff.Note == "" {
		diff.Note = "same members; the archive bytes differ (padding)"
		causes = append(causes, Cause{Kind: CauseArchive, Detail: "different layout of the same cpio members"})
	}
	return diff, causes, true
}

func baseOf(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[i+1:]
		}
	}
	return name
}
