// Package uki reads unified kernel images: a UEFI stub with the kernel,
// initrd, command line, os-release and policies in PE sections. It lists
// the sections with their hashes and text, the initrd's files and the
// kernel's embedded configuration (inspect), finds layout defects (check),
// proves what signing changed (diff), and checks lanzaboote's thin stubs
// against the files on the ESP.
package uki

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nixgate/nixgate/internal/authenticode"
	"github.com/nixgate/nixgate/internal/pecoff"
)

// SchemaVersion is the version of the JSON documents this package writes.
const SchemaVersion = 1

// Sections a UKI may have, with what they hold (systemd's UKI
// specification, plus lanzaboote's hashes).
var Sections = map[string]string{
	".linux":   "the kernel (a path on the ESP in a lanzaboote stub)",
	".initrd":  "the initrd (a path on the ESP in a lanzaboote stub)",
	".cmdline": "the kernel command line",
	".osrel":   "os-release of the image",
	".uname":   "the kernel's uname -r",
	".sbat":    "SBAT revocation metadata",
	".pcrsig":  "TPM PCR signatures",
	".pcrpkey": "the public key of the PCR signatures",
	".dtb":     "a devicetree",
	".splash":  "a boot splash image",
	".profile": "a UKI profile",
	".linuxh":  "lanzaboote: sha256 of the kernel on the ESP",
	".initrdh": "lanzaboote: sha256 of the initrd on the ESP",
	".kernelp": "lanzaboote (before 0.4): the kernel's path on the ESP",
	".kernelh": "lanzaboote (before 0.4): sha256 of the kernel on the ESP",
	".initrdp": "lanzaboote (before 0.4): the initrd's path on the ESP",
}

// textSections are shown as text by inspect.
var textSections = []string{".cmdline", ".osrel", ".uname", ".sbat", ".profile"}

// Image is an opened UKI.
type Image struct {
	Path  string
	File  *pecoff.File
	r     io.ReaderAt
	c     io.Closer
	unmap func()
}

// Open opens and parses the image at path.
func Open(path string) (*Image, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		fh.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	// A mapped image is hashed and read without copies; a file that
	// cannot be mapped is read through the descriptor.
	var r io.ReaderAt = fh
	var unmap func()
	if data, um, err := mapFile(fh, fi.Size()); err == nil {
		r, unmap = pecoff.Bytes(data), um
	}
	im, err := Parse(r, fi.Size())
	if err != nil {
		if unmap != nil {
			unmap()
		}
		fh.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	im.Path, im.c, im.unmap = path, fh, unmap
	return im, nil
}

// Parse parses an image from r.
func Parse(r io.ReaderAt, size int64) (*Image, error) {
	f, err := pecoff.Parse(r, size)
	if err != nil {
		return nil, err
	}
	return &Image{File: f, r: r}, nil
}

// Close closes the file.
func (im *Image) Close() error {
	if im.unmap != nil {
		im.unmap()
		im.unmap = nil
	}
	if im.c != nil {
		return im.c.Close()
	}
	return nil
}

// ReadAt reads from the image.
func (im *Image) ReadAt(b []byte, off int64) (int, error) { return im.r.ReadAt(b, off) }

// SectionData reads the first section named name; ok is false when there
// is none.
func (im *Image) SectionData(name string) ([]byte, bool, error) {
	s := im.File.Section(name)
	if s == nil {
		return nil, false, nil
	}
	b, err := im.File.Data(s)
	return b, true, err
}

// Cmdline is the .cmdline section's text, NULs and surrounding space
// trimmed.
func (im *Image) Cmdline() (string, bool, error) {
	b, ok, err := im.SectionData(".cmdline")
	if !ok || err != nil {
		return "", ok, err
	}
	return strings.TrimSpace(strings.TrimRight(string(b), "\x00")), true, nil
}

// IsLanzaboote reports whether the image is a lanzaboote thin stub (it
// holds hashes of the kernel and initrd, which live on the ESP).
func (im *Image) IsLanzaboote() bool {
	for _, s := range im.File.Sections {
		if isLanzaHash(s.Name) {
			return true
		}
	}
	return false
}

// SectionInfo is one section as inspect shows it.
type SectionInfo struct {
	Name           string `json:"name"`
	VirtualAddress uint32 `json:"virtualAddress"`
	VirtualSize    uint32 `json:"virtualSize"`
	Offset         uint32 `json:"offset"`
	RawSize        uint32 `json:"rawSize"`
	// Size is the data size (VirtualSize trimmed to the raw data), which
	// SHA256 covers.
	Size   uint32 `json:"size"`
	SHA256 string `json:"sha256"`
	// Text is the content of a text section.
	Text string `json:"text,omitempty"`
	// Role is what the section holds, for known sections.
	Role string `json:"role,omitempty"`
}

// Inspection is everything inspect reports.
type Inspection struct {
	SchemaVersion int    `json:"schemaVersion"`
	File          string `json:"file"`
	Size          int64  `json:"size"`
	Machine       string `json:"machine"`
	// AuthenticodeSHA256 is the image hash a signature signs (with
	// InspectOptions.Authenticode; uki verify always shows it).
	AuthenticodeSHA256 string        `json:"authenticodeSha256,omitempty"`
	Signatures         int           `json:"signatures"`
	Lanzaboote         bool          `json:"lanzaboote,omitempty"`
	Sections           []SectionInfo `json:"sections"`
	Initrd             *Initrd       `json:"initrd,omitempty"`
	Kernel             *Kernel       `json:"kernel,omitempty"`
	// KernelConfig is the embedded configuration's text.
	KernelConfig string `json:"kernelConfig,omitempty"`
	// Problems are layout defects (see Layout).
	Problems []string `json:"problems"`
}

// InspectOptions selects the costly parts of an inspection.
type InspectOptions struct {
	// Initrd lists the initrd's files.
	Initrd bool
	// Kernel decompresses the kernel to find its configuration.
	Kernel bool
	// Want selects initrd files whose contents are kept.
	Want func(path string) bool
	// Authenticode computes the image's Authenticode hash (another pass
	// over the image).
	Authenticode bool
}

func machineName(m uint16) string {
	switch m {
	case 0x8664:
		return "x86_64"
	case 0x14c:
		return "i386"
	case 0xaa64:
		return "arm64"
	case 0x1c2, 0x1c4:
		return "arm"
	case 0x5064:
		return "riscv64"
	case 0x6264:
		return "loongarch64"
	}
	return fmt.Sprintf("%#x", m)
}

// Inspect reads the image's sections, hashes and, as opts asks, its initrd
// and kernel. The large reads run in parallel.
func (im *Image) Inspect(opts InspectOptions) (*Inspection, error) {
	f := im.File
	ins := &Inspection{SchemaVersion: SchemaVersion, File: im.Path, Size: f.Size, Machine: machineName(f.Machine),
		Lanzaboote: im.IsLanzaboote(), Sections: make([]SectionInfo, len(f.Sections)), Problems: []string{}}
	// Jobs run on two workers, longest first (the initrd listing and the
	// kernel decompression), so that the hashes fill in behind them.
	type job struct {
		i  int
		fn func() error
	}
	var jobs []job
	errs := make([]error, len(f.Sections)+3)
	run := func(i int, fn func() error) { jobs = append(jobs, job{i, fn}) }
	run(0, func() error {
		if !opts.Authenticode {
			return nil
		}
		h, err := f.Hash(crypto.SHA256)
		if err != nil {
			if f.CertProblem == "" {
				ins.Problems = append(ins.Problems, fmt.Sprintf("authenticode hash: %v", err))
			}
			return nil
		}
		ins.AuthenticodeSHA256 = hex.EncodeToString(h)
		return nil
	})
	lanza := ins.Lanzaboote
	for i := range f.Sections {
		s := &f.Sections[i]
		ins.Sections[i] = SectionInfo{Name: s.Name, VirtualAddress: s.VirtualAddress, VirtualSize: s.VirtualSize,
			Offset: s.PointerToRawData, RawSize: s.SizeOfRawData, Size: s.DataSize(), Role: Sections[s.Name]}
		info := &ins.Sections[i]
		run(i+3, func() error {
			h := sha256.New()
			if b, ok := f.Slice(int64(s.PointerToRawData), int64(s.DataSize())); ok {
				h.Write(b)
			} else if _, err := io.CopyBuffer(h, f.Reader(s), make([]byte, min(1<<20, max(512, s.DataSize())))); err != nil {
				return fmt.Errorf("section %s: %w", s.Name, err)
			}
			info.SHA256 = hex.EncodeToString(h.Sum(nil))
			isPath := lanza && (s.Name == ".linux" || s.Name == ".initrd")
			if slices.Contains(textSections, s.Name) || isPath || isLanzaHash(s.Name) || (lanza && (s.Name == ".kernelp" || s.Name == ".initrdp")) {
				b, err := f.Data(s)
				if err != nil {
					return err
				}
				switch {
				case isLanzaHash(s.Name):
					info.Text = hex.EncodeToString(b)
				default:
					info.Text = printable(b)
				}
			}
			return nil
		})
	}
	if opts.Initrd && !lanza {
		if s := f.Section(".initrd"); s != nil {
			run(1, func() error {
				in, err := ReadInitrd(f.Reader(s), int64(s.DataSize()), opts.Want)
				if err != nil {
					return fmt.Errorf("initrd: %w", err)
				}
				ins.Initrd = in
				return nil
			})
		}
	}
	if s := f.Section(".linux"); s != nil && !lanza {
		run(2, func() error {
			ins.Kernel = ReadKernel(f.Reader(s), int64(s.DataSize()), opts.Kernel)
			if ins.Kernel.HasConfig {
				ins.KernelConfig = string(ins.Kernel.Config)
			}
			return nil
		})
	}
	// The initrd and kernel jobs were added last: run them first.
	slices.SortStableFunc(jobs, func(a, b job) int {
		rank := func(i int) int {
			if i == 1 || i == 2 {
				return 0
			}
			return 1
		}
		return rank(a.i) - rank(b.i)
	})
	queue := make(chan job, len(jobs))
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				errs[j.i] = j.fn()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if t, err := authenticode.ReadTable(f); err == nil {
		ins.Signatures = len(t.Entries)
	}
	for _, p := range im.Layout() {
		ins.Problems = append(ins.Problems, p.Message)
	}
	return ins, nil
}

// printable returns b as text with NULs trimmed and invalid UTF-8
// replaced.
func printable(b []byte) string {
	b = bytes.TrimRight(b, "\x00")
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
