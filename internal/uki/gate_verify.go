package uki

import (
	"context"
	"fmt"

	"github.com/nixgate/nixgate/internal/authenticode"
	"github.com/nixgate/nixgate/internal/check"
)

// CheckSignature is uki-signature: the firmware's verdict. The image must
// carry a signature that verifies and chains to the trusted certificates
// (or have its hash in the db), and nothing in the dbx may forbid it.
func CheckSignature(ctx context.Context, p *check.Pass) error {
	t := p.Input.(*Target)
	v := t.Verify
	if v == nil {
		return nil
	}
	if v.Verdict == authenticode.Verified {
		return nil
	}
	p.Reportf(check.Location{}, "verdict:"+string(v.Verdict), "Secure Boot would refuse this image: %s (%s)", v.Verdict, v.Reason)
	return nil
}

// CheckSignatureBad is uki-signature-bad: every signature in the table
// that does not verify, even when another one does.
func CheckSignatureBad(ctx context.Context, p *check.Pass) error {
	t := p.Input.(*Target)
	v := t.Verify
	if v == nil {
		return nil
	}
	for _, s := range v.Signatures {
		if s.Good {
			continue
		}
		fail := s.Failure()
		if fail == nil {
			continue
		}
		p.Reportf(check.Location{}, fmt.Sprintf("sig:%d:%s", s.Index, fail.Name),
			"signature %d (at %#x) does not verify: %s: %s", s.Index, s.Offset, fail.Name, fail.Detail)
	}
	return nil
}

// CheckLanzaboote is uki-lanzaboote: a lanzaboote thin stub signs only the
// hashes of the kernel and initrd on the ESP; they must match.
func CheckLanzaboote(ctx context.Context, p *check.Pass) error {
	t := p.Input.(*Target)
	if t.Verify == nil || !t.Image.IsLanzaboote() {
		return nil
	}
	if t.ESPDir == "" {
		p.Reportf(check.Location{}, "no-esp", "this lanzaboote stub boots a kernel and initrd from the ESP that its signature covers only by hash: pass --esp DIR to check them")
		return nil
	}
	for _, f := range t.ESP {
		switch {
		case f.Problem != "":
			p.Reportf(check.Location{Path: f.PathSection}, "esp:"+f.What+":problem", "the %s %s cannot be checked: %s", f.What, f.Path, f.Problem)
		case !f.OK:
			p.Reportf(check.Location{Path: f.HashSection}, "esp:"+f.What+":mismatch",
				"the %s %s on the ESP has sha256 %s, but the signed %s says %s: the stub refuses it under Secure Boot, and boots it without",
				f.What, f.Path, short(f.Got), f.HashSection, short(f.Want))
		}
	}
	if len(t.ESP) == 0 {
		p.Reportf(check.Location{}, "esp:none", "the stub names no kernel or initrd path next to its hashes")
	}
	return nil
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// CheckDiff is uki-diff: signing may change only the checksum, the
// certificate directory entry, the padding before the table and the table,
// and must keep the Authenticode digest.
func CheckDiff(ctx context.Context, p *check.Pass) error {
	t := p.Input.(*Target)
	d := t.Diff
	if d == nil {
		return nil
	}
	for _, c := range d.Changes {
		if c.Allowed {
			continue
		}
		p.Reportf(check.Location{Path: sectionPath(c.Where)}, fmt.Sprintf("change:%s:%d", c.Where, c.Start),
			"bytes [%#x, %#x) differ (%s): %s", c.Start, c.End, c.Where, c.Detail)
	}
	if d.Truncated {
		p.Reportf(check.Location{}, "truncated", "more than %d differing ranges; the rest are not listed", maxChanges)
	}
	switch {
	case d.OldDigest == "" || d.NewDigest == "":
		p.Reportf(check.Location{}, "digest:unknown", "the Authenticode digest of one image cannot be computed")
	case d.OldDigest != d.NewDigest:
		p.Reportf(check.Location{}, "digest:changed", "the Authenticode digest changed from %s to %s: signing changed the signed content", short(d.OldDigest), short(d.NewDigest))
	}
	for i, s := range d.Signed {
		if s != d.NewDigest {
			p.Reportf(check.Location{}, fmt.Sprintf("digest:signature:%d", i+1), "signature %d signs %s, not the image's digest %s", i+1, short(s), short(d.NewDigest))
		}
	}
	if len(d.Signed) == 0 {
		p.Reportf(check.Location{}, "unsigned", "the new image carries no signature")
	}
	return nil
}

func sectionPath(where string) string {
	if len(where) > 8 && where[:8] == "section " {
		return where[8:]
	}
	return ""
}
