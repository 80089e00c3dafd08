package uki

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Bounds on a kernel.
const (
	// maxKernelImage bounds the decompressed vmlinux searched for the
	// configuration.
	maxKernelImage = 1 << 30
	// maxKernelConfig bounds the embedded configuration.
	maxKernelConfig = 16 << 20
)

// Kernel is what the .linux section says about itself.
type Kernel struct {
	// Format is "bzImage" for an x86 boot image, otherwise "unknown".
	Format string `json:"format"`
	// Protocol is the boot protocol version ("2.15").
	Protocol string `json:"protocol,omitempty"`
	// Version is the kernel's version string from the setup header.
	Version string `json:"version,omitempty"`
	// Compression is the payload's compression.
	Compression string `json:"compression,omitempty"`
	// PayloadSize is the compressed payload's size.
	PayloadSize int64 `json:"payloadSize,omitempty"`
	// UncompressedSize is the decompressed vmlinux's size, when the
	// payload was decompressed.
	UncompressedSize int64 `json:"uncompressedSize,omitempty"`
	// HasConfig tells whether the kernel embeds its configuration
	// (CONFIG_IKCONFIG); Config is that configuration's text.
	HasConfig bool   `json:"hasConfig"`
	Config    []byte `json:"-"`
	// Problem says why the configuration could not be looked for.
	Problem string `json:"problem,omitempty"`
}

var (
	ikcfgStart = []byte("IKCFG_ST")
	ikcfgEnd   = []byte("IKCFG_ED")
)

// ReadKernel reads an x86 bzImage's setup header and, when withConfig is
// set, decompresses its payload to look for the embedded configuration
// (IKCFG_ST, a gzip stream, IKCFG_ED), as scripts/extract-ikconfig does.
func ReadKernel(r io.ReaderAt, size int64, withConfig bool) *Kernel {
	k := &Kernel{Format: "unknown"}
	var hdr [0x268]byte
	if size >= int64(len(hdr)) {
		if _, err := r.ReadAt(hdr[:], 0); err != nil {
			k.Problem = fmt.Sprintf("read setup header: %v", err)
			return k
		}
	}
	le := binary.LittleEndian
	if !bytes.Equal(hdr[0x202:0x206], []byte("HdrS")) {
		// An ELF vmlinux or a raw image: search it as it is.
		if withConfig {
			k.findConfig(io.NewSectionReader(r, 0, size))
		}
		return k
	}
	k.Format = "bzImage"
	proto := le.Uint16(hdr[0x206:])
	k.Protocol = fmt.Sprintf("%d.%02d", proto>>8, proto&0xff)
	setupSects := int64(hdr[0x1f1])
	if setupSects == 0 {
		setupSects = 4
	}
	setupEnd := (setupSects + 1) * 512
	if off := int64(le.Uint16(hdr[0x20e:])); off != 0 && off+0x200 < min(size, setupEnd) {
		buf := make([]byte, 256)
		n, _ := r.ReadAt(buf, off+0x200)
		if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
			k.Version = string(buf[:i])
		}
	}
	if proto < 0x208 {
		k.Problem = "boot protocol before 2.08 has no payload fields"
		return k
	}
	payOff := setupEnd + int64(le.Uint32(hdr[0x248:]))
	payLen := int64(le.Uint32(hdr[0x24c:]))
	if payLen < 4 || payOff+payLen > size {
		k.Problem = fmt.Sprintf("payload [%d, %d) is outside the image", payOff, payOff+payLen)
		return k
	}
	k.PayloadSize = payLen
	head := make([]byte, 8)
	r.ReadAt(head, payOff)
	k.Compression = sniff(head)
	if k.Compression == "" {
		k.Problem = "the payload's compression is not one nixgate reads (lzo?)"
		return k
	}
	if !withConfig {
		return k
	}
	// The build appends the decompressed size (le32) to every payload.
	br := bufio.NewReaderSize(io.NewSectionReader(r, payOff, payLen-4), 256<<10)
	dec, closeDec, err := decompressor(k.Compression, br)
	if err != nil {
		k.Problem = fmt.Sprintf("%s payload: %v", k.Compression, err)
		return k
	}
	defer closeDec()
	k.findConfig(dec)
	return k
}

// findConfig scans the (decompressed) kernel for the IKCFG markers, in a
// stream: the kernel is never held in memory whole.
func (k *Kernel) findConfig(r io.Reader) {
	lr := &limitReader{r: r, n: maxKernelImage}
	buf := make([]byte, 1<<20)
	var window []byte // the tail of what was read, to find markers across reads
	var cfg []byte    // the gzip stream after IKCFG_ST, once found
	found, done := false, false
	for !done {
		n, err := lr.Read(buf)
		k.UncompressedSize += int64(n)
		chunk := buf[:n]
		switch {
		case found:
			cfg = append(cfg, chunk...)
		default:
			window = append(window, chunk...)
			if i := bytes.Index(window, ikcfgStart); i >= 0 {
				found = true
				cfg = append(cfg, window[i+len(ikcfgStart):]...)
				window = nil
			} else if len(window) > len(ikcfgStart) {
				window = append(window[:0], window[len(window)-len(ikcfgStart)+1:]...)
			}
		}
		if found {
			if j := bytes.Index(cfg, ikcfgEnd); j >= 0 {
				cfg = cfg[:j]
				done = true
				break
			}
			if len(cfg) > maxKernelConfig {
				k.Problem = "IKCFG_ST without IKCFG_ED in the next 16 MiB"
				return
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			// The kernel's lz4 payload has no end mark: a decoder error
			// after data is its end.
			if !(k.UncompressedSize > 0 && (errors.Is(err, io.ErrUnexpectedEOF) || k.Compression == LZ4)) {
				k.Problem = fmt.Sprintf("decompress the %s payload: %v", k.Compression, err)
				return
			}
			break
		}
	}
	if !found {
		return
	}
	if !done {
		k.Problem = "IKCFG_ST without IKCFG_ED"
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(cfg))
	if err != nil {
		k.Problem = fmt.Sprintf("embedded configuration: %v", err)
		return
	}
	text, err := io.ReadAll(&limitReader{r: zr, n: maxKernelConfig})
	if err != nil {
		k.Problem = fmt.Sprintf("embedded configuration: %v", err)
		return
	}
	k.HasConfig, k.Config = true, text
}
