package uki

import (
	"bytes"
	"crypto"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/nixgate/nixgate/internal/authenticode"
	"github.com/nixgate/nixgate/internal/pecoff"
)

// Change is one difference between two images.
type Change struct {
	// Kind is "checksum", "cert-directory", "padding", "cert-table" (the
	// allowed ones) or "content" (anything else).
	Kind    string `json:"kind"`
	Allowed bool   `json:"allowed"`
	Start   int64  `json:"start"`
	End     int64  `json:"end"`
	// Where names the structure the bytes belong to: "headers",
	// "section .cmdline", "after the sections".
	Where  string `json:"where"`
	Detail string `json:"detail,omitempty"`
}

// DiffResult is what signing changed.
type DiffResult struct {
	SchemaVersion int    `json:"schemaVersion"`
	Old           string `json:"old"`
	New           string `json:"new"`
	// OldDigest is the Authenticode SHA-256 the old image has once laid
	// out for signing; NewDigest the new image's; Signed the digests its
	// signatures carry.
	OldDigest string   `json:"oldDigest"`
	NewDigest string   `json:"newDigest"`
	Signed    []string `json:"signedDigests"`
	Changes   []Change `json:"changes"`
	// Truncated is set when more differing ranges were found than listed.
	Truncated bool `json:"truncated,omitempty"`
}

// DigestsEqual reports whether both images hash the same and every
// signature of the new image signs that hash.
func (d *DiffResult) DigestsEqual() bool {
	if d.OldDigest == "" || d.OldDigest != d.NewDigest {
		return false
	}
	for _, s := range d.Signed {
		if s != d.NewDigest {
			return false
		}
	}
	return true
}

const maxChanges = 64

// where names the structure at file offset off.
func where(f *pecoff.File, off int64) string {
	if off < int64(f.SizeOfHeaders) {
		return "headers"
	}
	for _, s := range f.Sections {
		if s.SizeOfRawData > 0 && off >= int64(s.PointerToRawData) && off < int64(s.PointerToRawData)+int64(s.SizeOfRawData) {
			return "section " + s.Name
		}
	}
	return "outside the sections"
}

// contentEnd is where an image's content ends: the start of its
// certificate table, or its size.
func contentEnd(f *pecoff.File) int64 {
	if f.Cert.Size > 0 && int64(f.Cert.Offset) <= f.Size {
		return int64(f.Cert.Offset)
	}
	return f.Size
}

// Diff compares an image before signing (old) with the image after
// (new): only the checksum, the certificate directory entry, the zero
// padding to 8 bytes before the table and the certificate table itself
// may differ, and the Authenticode digest must stay the same.
func Diff(old, new *Image) (*DiffResult, error) {
	d := &DiffResult{SchemaVersion: SchemaVersion, Old: old.Path, New: new.Path, Changes: []Change{}, Signed: []string{}}
	of, nf := old.File, new.File
	oldData, err := readAll(old)
	if err != nil {
		return nil, err
	}
	newData, err := readAll(new)
	if err != nil {
		return nil, err
	}
	oldEnd, newEnd := contentEnd(of), contentEnd(nf)
	// Compare the content regions, field by field.
	add := func(c Change) {
		if len(d.Changes) >= maxChanges {
			d.Truncated = true
			return
		}
		d.Changes = append(d.Changes, c)
	}
	allowed := func(off int64) (string, bool) {
		switch {
		case off >= nf.ChecksumOffset && off < nf.ChecksumOffset+4 && of.ChecksumOffset == nf.ChecksumOffset:
			return "checksum", true
		case nf.CertDirOffset != 0 && off >= nf.CertDirOffset && off < nf.CertDirOffset+8 && of.CertDirOffset == nf.CertDirOffset:
			return "cert-directory", true
		}
		return "content", false
	}
	common := min(oldEnd, newEnd)
	for i := int64(0); i < common; {
		if oldData[i] == newData[i] {
			// Skip equal runs quickly.
			j := i + int64(commonPrefix(oldData[i:common], newData[i:common]))
			if j == i {
				j++
			}
			i = j
			continue
		}
		kind, ok := allowed(i)
		j := i + 1
		for j < common && oldData[j] != newData[j] {
			if k, _ := allowed(j); k != kind {
				break
			}
			j++
		}
		c := Change{Kind: kind, Allowed: ok, Start: i, End: j, Where: where(nf, i)}
		switch kind {
		case "checksum", "cert-directory":
			// Report the whole field once.
			c.Start, c.End = nf.ChecksumOffset, nf.ChecksumOffset+4
			if kind == "cert-directory" {
				c.Start, c.End = nf.CertDirOffset, nf.CertDirOffset+8
			}
			if n := len(d.Changes); n > 0 && d.Changes[n-1].Kind == kind {
				i = j
				continue
			}
		}
		switch kind {
		case "checksum":
			c.Detail = fmt.Sprintf("PE checksum %#08x -> %#08x", of.Checksum, nf.Checksum)
		case "cert-directory":
			c.Detail = fmt.Sprintf("certificate table entry [%#x, +%d] -> [%#x, +%d]", of.Cert.Offset, of.Cert.Size, nf.Cert.Offset, nf.Cert.Size)
		default:
			c.Detail = fmt.Sprintf("%d byte(s) differ", j-i)
		}
		add(c)
		i = j
	}
	switch {
	case newEnd > oldEnd:
		pad := newData[oldEnd:newEnd]
		if oldEnd%8 != 0 && newEnd-oldEnd < 8 && newEnd%8 == 0 && bytes.Count(pad, []byte{0}) == len(pad) {
			add(Change{Kind: "padding", Allowed: true, Start: oldEnd, End: newEnd, Where: "before the certificate table",
				Detail: fmt.Sprintf("%d zero byte(s) align the certificate table to 8 bytes", len(pad))})
		} else {
			add(Change{Kind: "content", Start: oldEnd, End: newEnd, Where: where(nf, oldEnd),
				Detail: fmt.Sprintf("%d byte(s) added after the old image's content", newEnd-oldEnd)})
		}
	case newEnd < oldEnd:
		add(Change{Kind: "content", Start: newEnd, End: oldEnd, Where: where(of, newEnd),
			Detail: fmt.Sprintf("%d byte(s) of the old image's content are gone", oldEnd-newEnd)})
	}
	if nf.Cert.Size > 0 {
		add(Change{Kind: "cert-table", Allowed: true, Start: int64(nf.Cert.Offset), End: int64(nf.Cert.Offset) + int64(nf.Cert.Size),
			Where: "certificate table", Detail: fmt.Sprintf("%d byte(s) of signatures", nf.Cert.Size)})
		if end := int64(nf.Cert.Offset) + int64(nf.Cert.Size); end < nf.Size {
			add(Change{Kind: "content", Start: end, End: nf.Size, Where: "after the certificate table",
				Detail: fmt.Sprintf("%d byte(s) after the certificate table", nf.Size-end)})
		}
	}
	// Digests: the old image laid out for signing, the new one as it is.
	if of.Cert.Size == 0 {
		if h, err := authenticode.SigningDigest(oldData, crypto.SHA256); err == nil {
			d.OldDigest = hex.EncodeToString(h)
		}
	} else if h, err := of.Hash(crypto.SHA256); err == nil {
		d.OldDigest = hex.EncodeToString(h)
	}
	if nf.Cert.Size == 0 {
		if h, err := authenticode.SigningDigest(newData, crypto.SHA256); err == nil {
			d.NewDigest = hex.EncodeToString(h)
		}
	} else if h, err := nf.Hash(crypto.SHA256); err == nil {
		d.NewDigest = hex.EncodeToString(h)
	}
	if t, err := authenticode.ReadTable(nf); err == nil {
		for _, e := range t.Entries {
			if sd, err := authenticode.ParseSignedData(e.Data); err == nil {
				d.Signed = append(d.Signed, hex.EncodeToString(sd.Digest))
			} else {
				d.Signed = append(d.Signed, "unparseable: "+err.Error())
			}
		}
	}
	return d, nil
}

func commonPrefix(a, b []byte) int {
	n := 0
	for len(a) >= 4096 && bytes.Equal(a[:4096], b[:4096]) {
		a, b, n = a[4096:], b[4096:], n+4096
	}
	for i := range a {
		if a[i] != b[i] {
			return n + i
		}
	}
	return n + len(a)
}

func readAll(im *Image) ([]byte, error) {
	b := make([]byte, im.File.Size)
	if _, err := im.r.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", im.Path, err)
	}
	return b, nil
}
