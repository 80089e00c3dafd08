package pecoff

import "encoding/binary"

// Minimal builds a small PE32+ image (for tests and fuzz seeds) with the given sections' data, laid
// out like an EFI application: headers in 0x200 bytes, file and section
// alignment 0x200.
func Minimal(sections map[string][]byte, order []string) []byte {
	le := binary.LittleEndian
	hdrs := (0x58 + 240 + 40*len(order) + 0x1ff) &^ 0x1ff
	out := make([]byte, hdrs)
	copy(out, "MZ")
	le.PutUint32(out[0x3c:], 0x40)
	copy(out[0x40:], "PE\x00\x00")
	le.PutUint16(out[0x44:], 0x8664)
	le.PutUint16(out[0x46:], uint16(len(order)))
	le.PutUint16(out[0x54:], 240) // SizeOfOptionalHeader
	le.PutUint16(out[0x56:], 0x206)
	opt := out[0x58:]
	le.PutUint16(opt, Magic64)
	le.PutUint32(opt[32:], 0x200)        // SectionAlignment
	le.PutUint32(opt[36:], 0x200)        // FileAlignment
	le.PutUint32(opt[60:], uint32(hdrs)) // SizeOfHeaders
	le.PutUint16(opt[68:], 10)           // EFI application
	le.PutUint32(opt[108:], 16)          // NumberOfRvaAndSizes
	va := uint32(0x1000)
	for i, name := range order {
		data := sections[name]
		raw := (uint32(len(data)) + 0x1ff) &^ 0x1ff
		h := out[0x58+240+40*i:]
		copy(h, name)
		le.PutUint32(h[8:], uint32(len(data)))
		le.PutUint32(h[12:], va)
		le.PutUint32(h[16:], raw)
		le.PutUint32(h[20:], uint32(len(out)))
		le.PutUint32(h[36:], 0x40000040)
		out = append(out, data...)
		out = append(out, make([]byte, int(raw)-len(data))...)
		va += (raw + 0xfff) &^ 0xfff
	}
	le.PutUint32(opt[56:], va) // SizeOfImage
	le.PutUint32(opt[64:], Checksum(out, 0x58+64))
	return out
}
