package nar

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The ar format (static libraries, .deb packages) is a 8-byte magic and
// 60-byte member headers, each followed by the member's bytes; reading it
// is a few lines, and a library would add nothing but a dependency (the
// Go ones are unmaintained and read members as streams, where nixgate
// reads them in place as sections of the archive).

// arMember is one member of an ar archive.
type arMember struct {
	name                  string
	mtime, uid, gid, mode string
	data                  blob
}

// readAr lists the members of an ar archive (GNU and BSD long names; the
// GNU symbol tables "/" and "/SYM64/" are members named so). Duplicate
// names (a static library may hold two foo.o) get a "#2" suffix.
func readAr(b blob, maxMembers int) ([]arMember, error) {
	const hdr = 60
	off := int64(8)
	var names []byte // the GNU long-name table, "//"
	var out []arMember
	count := map[string]int{}
	for off < b.size {
		if off+hdr > b.size {
			return out, fmt.Errorf("ar: truncated header at byte %d", off)
		}
		h := make([]byte, hdr)
		if err := readAt(b, h, off); err != nil {
			return out, err
		}
		if string(h[58:60]) != "`\n" {
			return out, fmt.Errorf("ar: bad header magic at byte %d", off)
		}
		field := func(i, j int) string { return strings.TrimRight(string(h[i:j]), " ") }
		size, err := strconv.ParseInt(field(48, 58), 10, 64)
		if err != nil || size < 0 || off+hdr+size > b.size {
			return out, fmt.Errorf("ar: bad member size %q at byte %d", field(48, 58), off)
		}
		name := field(0, 16)
		data := b.section(off+hdr, size)
		switch {
		case name == "//":
			if size > 16<<20 {
				return out, fmt.Errorf("ar: a %d-byte name table", size)
			}
			if names, err = data.load(); err != nil {
				return out, err
			}
			off += hdr + size + size%2
			continue
		case name == "/" || name == "/SYM64/":
		case strings.HasPrefix(name, "#1/"):
			// BSD: the name is the first N bytes of the data.
			n, err := strconv.ParseInt(name[3:], 10, 64)
			if err != nil || n < 0 || n > size || n > 4096 {
				return out, fmt.Errorf("ar: bad BSD name %q at byte %d", name, off)
			}
			nb := make([]byte, n)
			if err := readAt(data, nb, 0); err != nil {
				return out, err
			}
			name = strings.TrimRight(string(nb), "\x00")
			data = data.section(n, size-n)
		case strings.HasPrefix(name, "/"):
			// GNU: an offset into the name table.
			i, err := strconv.Atoi(name[1:])
			if err != nil || i < 0 || i >= len(names) {
				return out, fmt.Errorf("ar: bad long name %q at byte %d", name, off)
			}
			rest := names[i:]
			if j := bytes.IndexByte(rest, '\n'); j >= 0 {
				rest = rest[:j]
			}
			name = strings.TrimSuffix(string(rest), "/")
		default:
			name = strings.TrimSuffix(name, "/")
		}
		count[name]++
		if c := count[name]; c > 1 {
			name = fmt.Sprintf("%s#%d", name, c)
		}
		out = append(out, arMember{name: name, mtime: field(16, 28), uid: field(28, 34), gid: field(34, 40), mode: field(40, 48), data: data})
		if len(out) > maxMembers {
			return out, fmt.Errorf("ar: more than %d members", maxMembers)
		}
		off += hdr + size + size%2 // members are 2-byte aligned
	}
	return out, nil
}

func arTime(s string) string {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return s
	}
	return fmtTime(time.Unix(n, 0))
}

// compareAr compares two ar archives member by member, in place.
func (d *differ) compareAr(a, b blob, depth int) (*Diff, []Cause, bool) {
	ma, errA := readAr(a, d.o.MaxMembers)
	mb, errB := readAr(b, d.o.MaxMembers)
	if errA != nil && len(ma) == 0 || errB != nil && len(mb) == 0 {
		return nil, nil, false
	}
	diff := &Diff{Format: "ar", SizeA: a.size, SizeB: b.size, FirstDifference: -1}
	if err := firstErr(errA, errB); err != nil {
		diff.Note = err.Error()
	}
	fields := func(m arMember) [][2]string {
		return [][2]string{{"mtime", arTime(m.mtime)}, {"uid", m.uid}, {"gid", m.gid}, {"mode", m.mode}, {"size", fmt.Sprint(m.data.size)}}
	}
	byName := map[string]arMember{}
	var orderA, orderB []string
	for _, m := range mb {
		byName[m.name] = m
		orderB = append(orderB, m.name)
	}
	inA := map[string]bool{}
	for _, m := range ma {
		inA[m.name] = true
		orderA = append(orderA, m.name)
		o, ok := byName[m.name]
		if !ok {
			diff.Members = append(diff.Members, Change{Path: m.name, Kind: Removed})
			continue
		}
		hf := headerDiff(fields(m), fields(o))
		md, mc, err := d.compare(m.name, m.data, o.data, depth+1)
		if err != nil {
			md = orEmpty(md, "ar")
			md.Note = joinNote(md.Note, fmt.Sprintf("read member: %v", err))
		}
		if m.name == "/" || m.name == "/SYM64/" {
			// The symbol table follows the members: a consequence.
			mc = nil
		}
		if ch := memberChange("ar", m.name, hf, md, append(d.metadataCauses("ar", m.name, hf), mc...)); ch != nil {
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
		causes = append(causes, Cause{Kind: CauseOrder, Detail: "the same ar members in a different order"})
	}
	if len(diff.Members) == 0 && len(causes) == 0 && diff.Note == "" {
		diff.Note = "same members; the archive bytes differ (padding)"
		causes = append(causes, Cause{Kind: CauseArchive, Detail: "different layout of the same ar members"})
	}
	return diff, causes, true
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
