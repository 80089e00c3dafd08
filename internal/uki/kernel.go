package uki

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/pierrec/lz4/v4"
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
	if k.Compression == LZ4 && k.findConfigLZ4(r, payOff, payLen-4) {
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

// configScanner finds the IKCFG markers in a stream fed in chunks, with
// no copy of the stream: only the configuration is kept.
type configScanner struct {
	tail  []byte // the last bytes of the previous chunk, for a split marker
	cfg   []byte // the gzip stream after IKCFG_ST, once found
	found bool
	done  bool
	n     int64
}

// feed scans chunk; it returns false when the scan is over (found, or a
// problem was recorded).
func (c *configScanner) feed(chunk []byte) (more bool, problem string) {
	c.n += int64(len(chunk))
	if !c.found {
		// A marker may start in the tail of the previous chunk.
		joined := append(c.tail, chunk[:min(len(chunk), len(ikcfgStart))]...)
		if i := bytes.Index(joined, ikcfgStart); i >= 0 {
			c.found = true
			c.cfg = append(c.cfg, chunk[i+len(ikcfgStart)-len(c.tail):]...)
		} else if i := bytes.Index(chunk, ikcfgStart); i >= 0 {
			c.found = true
			c.cfg = append(c.cfg, chunk[i+len(ikcfgStart):]...)
		} else {
			const keep = 7 // len(ikcfgStart) - 1
			if len(chunk) >= keep {
				c.tail = append(c.tail[:0], chunk[len(chunk)-keep:]...)
			} else {
				all := append(c.tail, chunk...)
				c.tail = append([]byte(nil), all[max(0, len(all)-keep):]...)
			}
			return true, ""
		}
	} else {
		c.cfg = append(c.cfg, chunk...)
	}
	if j := bytes.Index(c.cfg, ikcfgEnd); j >= 0 {
		c.cfg, c.done = c.cfg[:j], true
		return false, ""
	}
	if len(c.cfg) > maxKernelConfig {
		return false, "IKCFG_ST without IKCFG_ED in the next 16 MiB"
	}
	return true, ""
}

// finish decodes the configuration the scan found.
func (k *Kernel) finish(c *configScanner, problem string) {
	k.UncompressedSize = c.n
	switch {
	case problem != "":
		k.Problem = problem
		return
	case !c.found:
		return
	case !c.done:
		k.Problem = "IKCFG_ST without IKCFG_ED"
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(c.cfg))
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

// findConfig scans the (decompressed) kernel for the IKCFG markers, in a
// stream: the kernel is never held in memory whole.
func (k *Kernel) findConfig(r io.Reader) {
	lr := &limitReader{r: r, n: maxKernelImage}
	buf := make([]byte, 1<<20)
	sc := &configScanner{}
	for {
		n, err := lr.Read(buf)
		if n > 0 {
			if more, problem := sc.feed(buf[:n]); !more {
				k.finish(sc, problem)
				return
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			// The kernel's lz4 payload has no end mark: a decoder error
			// after data is its end.
			if !(sc.n > 0 && (errors.Is(err, io.ErrUnexpectedEOF) || k.Compression == LZ4)) {
				k.finish(sc, fmt.Sprintf("decompress the %s payload: %v", k.Compression, err))
				return
			}
			break
		}
	}
	k.finish(sc, "")
}

// lz4Legacy is the magic of the legacy LZ4 format the kernel's build
// uses: then blocks of le32 compressed size and data, each of at most 8 MiB
// decompressed, independent of each other.
const lz4Legacy = 0x184c2102

// findConfigLZ4 decodes a legacy LZ4 payload block by block into one
// reused buffer and scans each block where it was decoded.
func (k *Kernel) findConfigLZ4(r io.ReaderAt, off, n int64) bool {
	var hdr [4]byte
	if _, err := r.ReadAt(hdr[:], off); err != nil || binary.LittleEndian.Uint32(hdr[:]) != lz4Legacy {
		return false
	}
	out := make([]byte, 8<<20)
	var in []byte
	sc := &configScanner{}
	for p := off + 4; p+4 <= off+n; {
		if _, err := r.ReadAt(hdr[:], p); err != nil {
			break
		}
		size := int64(binary.LittleEndian.Uint32(hdr[:]))
		if size == lz4Legacy {
			p += 4 // a concatenated frame
			continue
		}
		if size == 0 || p+4+size > off+n || size > int64(lz4.CompressBlockBound(len(out))) {
			break // the end: the appended decompressed size, or padding
		}
		if int64(cap(in)) < size {
			in = make([]byte, size)
		}
		in = in[:size]
		if _, err := r.ReadAt(in, p+4); err != nil {
			k.finish(sc, fmt.Sprintf("read the lz4 payload: %v", err))
			return true
		}
		m, err := lz4.UncompressBlock(in, out)
		if err != nil {
			if sc.n == 0 {
				k.finish(sc, fmt.Sprintf("decompress the lz4 payload: %v", err))
				return true
			}
			break
		}
		if sc.n+int64(m) > maxKernelImage {
			k.finish(sc, fmt.Sprintf("the kernel %v", errTooLarge))
			return true
		}
		if more, problem := sc.feed(out[:m]); !more {
			k.finish(sc, problem)
			return true
		}
		p += 4 + size
	}
	k.finish(sc, "")
	return true
}
