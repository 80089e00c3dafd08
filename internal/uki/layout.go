package uki

import (
	"fmt"
	"slices"

	"github.com/nixgate/nixgate/internal/authenticode"
)

// LayoutProblem is a structural defect of the image.
type LayoutProblem struct {
	// Kind is a stable key: "overlap", "vma-overlap", "cert-overlap",
	// "after-cert-table", "duplicate-section", "header-overlap",
	// "cert-table".
	Kind    string
	Section string
	Message string
}

// Layout finds what makes the image ambiguous or its signature fragile:
// sections whose file data or memory ranges overlap, a section that
// overlaps the headers or the certificate table, data after the
// certificate table, a section name that appears twice (the stub reads
// the first, a tool may read another), a malformed certificate table.
func (im *Image) Layout() []LayoutProblem {
	f := im.File
	var out []LayoutProblem
	add := func(kind, sec, format string, args ...any) {
		out = append(out, LayoutProblem{Kind: kind, Section: sec, Message: fmt.Sprintf(format, args...)})
	}
	seen := map[string]int{}
	for i, s := range f.Sections {
		if j, ok := seen[s.Name]; ok {
			add("duplicate-section", s.Name, "section %s appears twice (sections %d and %d): the stub uses the first, another reader may use the second", s.Name, j+1, i+1)
		} else {
			seen[s.Name] = i
		}
	}
	type span struct {
		name       string
		start, end int64
	}
	var file, mem []span
	for _, s := range f.Sections {
		if s.SizeOfRawData > 0 {
			file = append(file, span{s.Name, int64(s.PointerToRawData), int64(s.PointerToRawData) + int64(s.SizeOfRawData)})
			if int64(s.PointerToRawData) < int64(f.SizeOfHeaders) {
				add("header-overlap", s.Name, "section %s data at %#x overlaps the headers (which end at %#x)", s.Name, s.PointerToRawData, f.SizeOfHeaders)
			}
		}
		size := s.VirtualSize
		if size == 0 {
			size = s.SizeOfRawData
		}
		if size > 0 {
			mem = append(mem, span{s.Name, int64(s.VirtualAddress), int64(s.VirtualAddress) + int64(size)})
		}
	}
	overlaps := func(spans []span, kind, what string) {
		slices.SortStableFunc(spans, func(a, b span) int { return int(a.start - b.start) })
		for i := 1; i < len(spans); i++ {
			for j := 0; j < i; j++ {
				if spans[j].end > spans[i].start {
					add(kind, spans[i].name, "section %s %s [%#x, %#x) overlaps section %s [%#x, %#x)", spans[i].name, what,
						spans[i].start, spans[i].end, spans[j].name, spans[j].start, spans[j].end)
				}
			}
		}
	}
	overlaps(file, "overlap", "file data")
	overlaps(mem, "vma-overlap", "memory")
	if f.CertProblem != "" {
		add("cert-table", "", "%s", f.CertProblem)
	} else if f.Cert.Size > 0 {
		cs, ce := int64(f.Cert.Offset), int64(f.Cert.Offset)+int64(f.Cert.Size)
		for _, s := range file {
			if s.start < ce && cs < s.end {
				add("cert-overlap", s.name, "section %s data [%#x, %#x) overlaps the certificate table [%#x, %#x)", s.name, s.start, s.end, cs, ce)
			}
		}
		if ce < f.Size {
			add("after-cert-table", "", "%d bytes after the certificate table (which ends at %#x): the table must be last", f.Size-ce, ce)
		}
		if t, err := authenticode.ReadTable(f); err != nil {
			add("cert-table", "", "certificate table: %v", err)
		} else {
			for _, p := range t.Problems {
				add("cert-table", "", "%s", p)
			}
		}
	}
	return out
}
