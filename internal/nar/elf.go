package nar

import (
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// openELF parses an ELF file's headers (the standard library's reader,
// which bounds its allocations by the file's size); a panic on a hostile
// file is an error.
func openELF(b blob) (f *elf.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("elf: %v", r)
		}
	}()
	return elf.NewFile(b.ra)
}

// elfSection is a section with a name made unique ("#2" for a repeated
// one: relocatable objects have several .text sections with -ffunction-sections
// off, several .rela sections...).
type elfSection struct {
	name string
	s    *elf.Section
}

func elfSections(f *elf.File) []elfSection {
	count := map[string]int{}
	var out []elfSection
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NULL {
			continue
		}
		n := s.Name
		if n == "" {
			n = fmt.Sprintf("(section %d)", len(out)+1)
		}
		count[n]++
		if c := count[n]; c > 1 {
			n = fmt.Sprintf("%s#%d", n, c)
		}
		out = append(out, elfSection{name: n, s: s})
	}
	return out
}

// sectionBlob is a section's contents: in place, or decompressed (a
// SHF_COMPRESSED debug section).
func (d *differ) sectionBlob(b blob, s *elf.Section, side int) (blob, error) {
	if s.Type == elf.SHT_NOBITS {
		return memBlob(nil), nil
	}
	if s.Flags&elf.SHF_COMPRESSED != 0 {
		r := s.Open()
		return d.spool(r, side)
	}
	if s.Offset > uint64(b.size) || s.FileSize > uint64(b.size)-s.Offset {
		return blob{}, fmt.Errorf("section %s lies outside the file", s.Name)
	}
	return b.section(int64(s.Offset), int64(s.FileSize)), nil
}

// buildID reads the descriptor of a .note.gnu.build-id section.
func buildID(data []byte, order binary.ByteOrder) string {
	if len(data) < 16 {
		return ""
	}
	namesz, descsz := order.Uint32(data[0:4]), order.Uint32(data[4:8])
	start := 12 + (int(namesz)+3)&^3
	if namesz > 64 || descsz > 64 || start+int(descsz) > len(data) {
		return ""
	}
	return fmt.Sprintf("%x", data[start:start+int(descsz)])
}

// dwarfUnit is what the DWARF compile units say of where they were built.
type dwarfUnit struct {
	name, compDir, producer string
	files                   []string // the line table's file names
}

// maxDWARF bounds the debug sections parsed for compile units.
const maxDWARF = 64 << 20

// dwarfUnits lists the compile units of f (at most 10,000), or nil when
// it has no DWARF or too much of it.
func dwarfUnits(f *elf.File) (units []dwarfUnit) {
	defer func() {
		if recover() != nil {
			units = nil
		}
	}()
	var total uint64
	has := false
	for _, s := range f.Sections {
		if strings.HasPrefix(s.Name, ".debug_") || strings.HasPrefix(s.Name, ".zdebug_") {
			total += s.Size
			has = has || s.Name == ".debug_info" || s.Name == ".zdebug_info"
		}
	}
	if !has || total > maxDWARF {
		return nil
	}
	dw, err := f.DWARF()
	if err != nil {
		return nil
	}
	r := dw.Reader()
	for len(units) < 10000 {
		e, err := r.Next()
		if err != nil || e == nil {
			break
		}
		if e.Tag == dwarf.TagCompileUnit || e.Tag == dwarf.TagPartialUnit {
			str := func(a dwarf.Attr) string { s, _ := e.Val(a).(string); return s }
			u := dwarfUnit{name: str(dwarf.AttrName), compDir: str(dwarf.AttrCompDir), producer: str(dwarf.AttrProducer)}
			if lr, err := dw.LineReader(e); err == nil && lr != nil {
				for _, f := range lr.Files() {
					if f != nil && len(u.files) < 10000 {
						u.files = append(u.files, f.Name)
					}
				}
			}
			units = append(units, u)
		}
		if e.Children {
			r.SkipChildren()
		}
	}
	return units
}

// compareELF compares two ELF files: their headers, their section tables
// (each differing section is a member: `libfoo.a:foo.o:.debug_str`), the
// build IDs, and the compile units' comp_dir and name.
func (d *differ) compareELF(a, b blob, depth int) (*Diff, []Cause, bool) {
	fa, errA := openELF(a)
	fb, errB := openELF(b)
	if errA != nil || errB != nil {
		return nil, nil, false
	}
	defer fa.Close()
	defer fb.Close()
	diff := &Diff{Format: "elf", SizeA: a.size, SizeB: b.size, FirstDifference: -1}
	hdr := func(f *elf.File) [][2]string {
		return [][2]string{{"class", f.Class.String()}, {"machine", f.Machine.String()}, {"type", f.Type.String()},
			{"entry", fmt.Sprintf("%#x", f.Entry)}, {"sections", fmt.Sprint(len(f.Sections))}, {"segments", fmt.Sprint(len(f.Progs))}}
	}
	diff.Header = headerDiff(hdr(fa), hdr(fb))
	var causes []Cause
	sa, sb := elfSections(fa), elfSections(fb)
	byName := map[string]elfSection{}
	for _, s := range sb {
		byName[s.name] = s
	}
	inA := map[string]bool{}
	var changedSections int
	for i, s := range sa {
		if i >= d.o.MaxMembers {
			diff.Note = fmt.Sprintf("more than %d sections: the rest is not compared", d.o.MaxMembers)
			break
		}
		inA[s.name] = true
		o, ok := byName[s.name]
		if !ok {
			diff.Members = append(diff.Members, Change{Path: s.name, Kind: Removed})
			continue
		}
		fields := func(x *elf.Section) [][2]string {
			// The address too: a section that moved is named even when its
			// bytes are the same (its readelf dump differs).
			return [][2]string{{"type", x.Type.String()}, {"flags", x.Flags.String()}, {"size", fmt.Sprint(x.Size)}, {"addr", fmt.Sprintf("%#x", x.Addr)}}
		}
		hf := headerDiff(fields(s.s), fields(o.s))
		ba, errA := d.sectionBlob(a, s.s, 0)
		bb, errB := d.sectionBlob(b, o.s, 1)
		var md *Diff
		var mc []Cause
		if err := firstErr(errA, errB); err != nil {
			md = &Diff{Format: "binary", SizeA: -1, SizeB: -1, FirstDifference: -1, Note: err.Error()}
		} else {
			var err error
			md, mc, err = d.compare(s.name, ba, bb, depth+1)
			if err != nil {
				md = orEmpty(md, "binary")
				md.Note = joinNote(md.Note, err.Error())
			}
		}
		if md != nil && s.name == ".note.gnu.build-id" {
			da, _ := ba.load()
			db, _ := bb.load()
			md.Header = append(md.Header, Field{Name: "build-id", A: buildID(da, fa.ByteOrder), B: buildID(db, fb.ByteOrder)})
			md.Note = "the build ID is a hash of the other contents: it differs because they do"
			mc = nil
		}
		if ch := memberChange("elf", s.name, hf, md, mc); ch != nil {
			diff.Members = append(diff.Members, *ch)
			changedSections++
		}
	}
	for _, s := range sb {
		if !inA[s.name] {
			diff.Members = append(diff.Members, Change{Path: s.name, Kind: Added})
		}
	}
	// Where the compile units say they were built.
	ua, ub := dwarfUnits(fa), dwarfUnits(fb)
	if len(ua) > 0 && len(ub) > 0 {
		dirsA, dirsB := unitField(ua, func(u dwarfUnit) string { return u.compDir }), unitField(ub, func(u dwarfUnit) string { return u.compDir })
		if !slices.Equal(dirsA, dirsB) {
			oa, ob := onlyIn(dirsA, dirsB), onlyIn(dirsB, dirsA)
			diff.Header = append(diff.Header, Field{Name: "DW_AT_comp_dir", A: first(oa, dirsA), B: first(ob, dirsB)})
			causes = append(causes, Cause{Kind: CauseBuildPath, Detail: "DWARF comp_dir: the compiler's working directory (use -fdebug-prefix-map or build in a fixed directory)", A: first(oa, dirsA), B: first(ob, dirsB)})
		}
		namesA, namesB := unitField(ua, func(u dwarfUnit) string { return u.name }), unitField(ub, func(u dwarfUnit) string { return u.name })
		if !slices.Equal(namesA, namesB) {
			oa, ob := onlyIn(namesA, namesB), onlyIn(namesB, namesA)
			diff.Header = append(diff.Header, Field{Name: "DW_AT_name", A: first(oa, namesA), B: first(ob, namesB)})
			if len(causes) == 0 {
				causes = append(causes, Cause{Kind: CauseBuildPath, Detail: "DWARF compile unit names (source paths)", A: first(oa, namesA), B: first(ob, namesB)})
			}
		}
		pa, pb := unitField(ua, func(u dwarfUnit) string { return u.producer }), unitField(ub, func(u dwarfUnit) string { return u.producer })
		if !slices.Equal(pa, pb) {
			diff.Header = append(diff.Header, Field{Name: "DW_AT_producer", A: first(onlyIn(pa, pb), pa), B: first(onlyIn(pb, pa), pb)})
		}
		// What the compile units and line tables say, decoded: their
		// bytes may be equal (the strings live in .debug_str and
		// .debug_line_str) while what they say differs.
		named := func(section string) bool {
			return slices.ContainsFunc(diff.Members, func(c Change) bool { return c.Path == section })
		}
		decoded := func(section string, fa, fb []string, what string) {
			if slices.Equal(fa, fb) || named(section) {
				return
			}
			oa, ob := onlyIn(fa, fb), onlyIn(fb, fa)
			diff.Members = append(diff.Members, Change{Path: section, Kind: "decoded",
				Content: &Diff{Format: "dwarf", SizeA: -1, SizeB: -1, FirstDifference: -1, Header: []Field{{Name: what, A: first(oa, fa), B: first(ob, fb)}},
					Note: "the same bytes; what they decode to differs (the strings they point to changed)"}})
		}
		decoded(".debug_info", slices.Concat(dirsA, namesA), slices.Concat(dirsB, namesB), "compile units (DW_AT_comp_dir, DW_AT_name)")
		var filesA, filesB []string
		for _, u := range ua {
			filesA = append(filesA, u.files...)
		}
		for _, u := range ub {
			filesB = append(filesB, u.files...)
		}
		decoded(".debug_line", filesA, filesB, "line table file names")
		if !slices.Equal(filesA, filesB) {
			// The code the line table describes: its bytes are the same,
			// but the source files its lines come from differ, and so
			// does its disassembly annotated with them (objdump -dl, what
			// diffoscope shows of it).
			oa, ob := onlyIn(filesA, filesB), onlyIn(filesB, filesA)
			for _, s := range sa {
				if s.s.Type != elf.SHT_PROGBITS || s.s.Flags&elf.SHF_EXECINSTR == 0 || s.s.Size == 0 || byName[s.name].s == nil || named(s.name) {
					continue
				}
				diff.Members = append(diff.Members, Change{Path: s.name, Kind: "decoded",
					Content: &Diff{Format: "code", SizeA: -1, SizeB: -1, FirstDifference: -1, Header: []Field{{Name: "source files of its lines", A: first(oa, filesA), B: first(ob, filesB)}},
						Note: "the same bytes; the line table gives this code other source files (.debug_line), so its disassembly with source lines differs"}})
			}
		}
	}
	if changedSections == 0 && len(diff.Header) == 0 {
		// The sections agree: the difference is in the headers, the
		// program headers or the padding between sections.
		bd, bc, err := d.compareBytes(a, b)
		if err != nil {
			return nil, nil, false
		}
		bd.Format = "elf"
		bd.Note = "the sections are the same; the file's headers or padding differ"
		return bd, bc, true
	}
	return diff, causes, true
}

// unitField collects one field of the compile units, in order, without
// repeats.
func unitField(us []dwarfUnit, f func(dwarfUnit) string) []string {
	var out []string
	for _, u := range us {
		if v := f(u); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
