package uki

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// lanzaboote's section pairs: the path of a file on the ESP and its
// SHA-256. Current lanzaboote writes .linux/.linuxh and .initrd/.initrdh;
// older releases wrote .kernelp/.kernelh and .initrdp/.initrdh.
var lanzaPairs = []struct{ what, path, hash string }{
	{"kernel", ".linux", ".linuxh"},
	{"initrd", ".initrd", ".initrdh"},
	{"kernel", ".kernelp", ".kernelh"},
	{"initrd", ".initrdp", ".initrdh"},
}

// ESPFile is one file a lanzaboote stub refers to.
type ESPFile struct {
	What        string `json:"what"`
	PathSection string `json:"pathSection"`
	HashSection string `json:"hashSection"`
	// Path is the file's path on the ESP as the stub names it.
	Path string `json:"path"`
	Want string `json:"want"`
	Got  string `json:"got,omitempty"`
	OK   bool   `json:"ok"`
	// Problem says why the file could not be checked.
	Problem string `json:"problem,omitempty"`
}

// VerifyESP checks the kernel and initrd a lanzaboote thin stub refers to
// against the hashes the (signed) stub holds. Files are read through a
// root confined to esp, so a path cannot leave it.
func (im *Image) VerifyESP(esp string) ([]ESPFile, error) {
	root, err := os.OpenRoot(esp)
	if err != nil {
		return nil, fmt.Errorf("open ESP: %w", err)
	}
	defer root.Close()
	var out []ESPFile
	for _, p := range lanzaPairs {
		ps, hs := im.File.Section(p.path), im.File.Section(p.hash)
		if hs == nil || ps == nil {
			continue
		}
		if p.path == ".initrdp" && im.File.Section(".initrd") != nil {
			continue
		}
		f := ESPFile{What: p.what, PathSection: p.path, HashSection: p.hash}
		pb, err := im.File.Data(ps)
		if err != nil {
			return nil, err
		}
		hb, err := im.File.Data(hs)
		if err != nil {
			return nil, err
		}
		f.Path = strings.TrimRight(string(pb), "\x00")
		if len(hb) < sha256.Size {
			f.Problem = fmt.Sprintf("%s holds %d bytes, not a SHA-256", p.hash, len(hb))
			out = append(out, f)
			continue
		}
		f.Want = hex.EncodeToString(hb[:sha256.Size])
		rel := strings.TrimLeft(strings.ReplaceAll(f.Path, `\`, "/"), "/")
		fh, err := root.Open(rel)
		if err != nil {
			f.Problem = fmt.Sprintf("read %s on the ESP: %v", f.Path, err)
			out = append(out, f)
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			f.Problem = fmt.Sprintf("read %s on the ESP: %v", f.Path, err)
			out = append(out, f)
			continue
		}
		sum := h.Sum(nil)
		f.Got = hex.EncodeToString(sum)
		f.OK = bytes.Equal(sum, hb[:sha256.Size])
		out = append(out, f)
	}
	return out, nil
}

// isLanzaHash reports whether name is a lanzaboote hash section.
func isLanzaHash(name string) bool {
	return name == ".linuxh" || name == ".initrdh" || name == ".kernelh"
}
