// Package efisig reads UEFI signature lists (EFI_SIGNATURE_LIST, the
// content of the db, dbx, KEK and PK variables, as .esl files or wrapped in
// an authenticated variable update, .auth) and writes them.
package efisig

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// GUID is an EFI GUID in its on-disk (mixed-endian) byte order.
type GUID [16]byte

// String renders the GUID in the usual 8-4-4-4-12 form.
func (g GUID) String() string {
	le := binary.LittleEndian
	return fmt.Sprintf("%08x-%04x-%04x-%s-%s", le.Uint32(g[0:]), le.Uint16(g[4:]), le.Uint16(g[6:]),
		hex.EncodeToString(g[8:10]), hex.EncodeToString(g[10:]))
}

// ParseGUID reads the 8-4-4-4-12 form.
func ParseGUID(s string) (GUID, error) {
	var g GUID
	p := strings.Split(s, "-")
	if len(p) != 5 || len(p[0]) != 8 || len(p[1]) != 4 || len(p[2]) != 4 || len(p[3]) != 4 || len(p[4]) != 12 {
		return g, fmt.Errorf("GUID %q: want 8-4-4-4-12 hex digits", s)
	}
	b, err := hex.DecodeString(strings.Join(p, ""))
	if err != nil {
		return g, fmt.Errorf("GUID %q: %w", s, err)
	}
	binary.LittleEndian.PutUint32(g[0:], binary.BigEndian.Uint32(b[0:]))
	binary.LittleEndian.PutUint16(g[4:], binary.BigEndian.Uint16(b[4:]))
	binary.LittleEndian.PutUint16(g[6:], binary.BigEndian.Uint16(b[6:]))
	copy(g[8:], b[8:])
	return g, nil
}

func mustGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// Signature types (UEFI specification, 32.4.1).
var (
	CertSHA256       = mustGUID("c1c41626-504c-4092-aca9-41f936934328")
	CertRSA2048      = mustGUID("3c5766e8-269c-4e34-aa14-ed776e85b3b6")
	CertSHA1         = mustGUID("826ca512-cf10-4ac9-b187-be01496631bd")
	CertSHA224       = mustGUID("0b6e5233-a65c-44c9-9407-d9ab83bfc8bd")
	CertSHA384       = mustGUID("ff3e5307-9fd0-48c9-85f1-8ad56c701e01")
	CertSHA512       = mustGUID("093e0fae-a6c4-4f50-9f1b-d41e2b89c19a")
	CertX509         = mustGUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")
	CertX509SHA256   = mustGUID("3bd2a492-96c0-4079-b420-fcf98ef103ed")
	CertX509SHA384   = mustGUID("7076876e-80c2-4ee6-aad2-28b349a6865b")
	CertX509SHA512   = mustGUID("446dbf63-2502-4cda-bcfa-2465d2b0fe9d")
	CertExternalMgmt = mustGUID("452e8ced-dfff-4b8c-ae01-5118862e682c")
	// certPKCS7 is EFI_CERT_TYPE_PKCS7_GUID, in authenticated variables.
	certPKCS7 = mustGUID("4aafd29d-68df-49ee-8aa9-347d375665a7")
)

var typeNames = map[GUID]string{
	CertSHA256: "sha256", CertRSA2048: "rsa2048", CertSHA1: "sha1", CertSHA224: "sha224",
	CertSHA384: "sha384", CertSHA512: "sha512", CertX509: "x509", CertX509SHA256: "x509-sha256",
	CertX509SHA384: "x509-sha384", CertX509SHA512: "x509-sha512", CertExternalMgmt: "external-management",
}

// TypeName is a short name of a signature type ("x509", "sha256"), or the
// GUID when it is not a known one.
func TypeName(g GUID) string {
	if n, ok := typeNames[g]; ok {
		return n
	}
	return g.String()
}

// fixedSize is the SignatureData size of each fixed-size type.
var fixedSize = map[GUID]int{
	CertSHA256: 32, CertRSA2048: 256, CertSHA1: 20, CertSHA224: 28, CertSHA384: 48, CertSHA512: 64,
	CertX509SHA256: 32 + 16, CertX509SHA384: 48 + 16, CertX509SHA512: 64 + 16, CertExternalMgmt: 1,
}

// Signature is one EFI_SIGNATURE_DATA entry.
type Signature struct {
	Owner GUID
	// Data is the signature: a DER certificate for x509, a hash for
	// sha256, and for x509-sha256 the hash of a TBSCertificate followed by
	// a 16-byte EFI_TIME of revocation.
	Data []byte
}

// List is one EFI_SIGNATURE_LIST.
type List struct {
	Type       GUID
	Header     []byte
	Signatures []Signature
	// Offset is where the list starts in the input.
	Offset int
}

// Error is a malformed signature list.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("signature list at offset %d: %s", e.Offset, e.Msg)
}

// Parse reads a sequence of signature lists (a .esl file, or the content
// of a db/dbx variable). An authenticated variable (.auth, as sign-efi-sig-
// list writes it) is accepted too: its EFI_VARIABLE_AUTHENTICATION_2 header
// is skipped (not verified: the firmware verifies it when it is enrolled).
func Parse(data []byte) ([]List, error) {
	if body, ok := stripAuth(data); ok {
		data = body
	}
	var lists []List
	le := binary.LittleEndian
	for off := 0; off < len(data); {
		if len(data)-off < 28 {
			return nil, &Error{off, fmt.Sprintf("%d trailing bytes are too short for a list header (28)", len(data)-off)}
		}
		var l List
		l.Offset = off
		copy(l.Type[:], data[off:])
		listSize := int64(le.Uint32(data[off+16:]))
		hdrSize := int64(le.Uint32(data[off+20:]))
		sigSize := int64(le.Uint32(data[off+24:]))
		switch {
		case listSize < 28 || listSize > int64(len(data)-off):
			return nil, &Error{off, fmt.Sprintf("SignatureListSize %d does not fit the %d bytes left", listSize, len(data)-off)}
		case hdrSize > listSize-28:
			return nil, &Error{off, fmt.Sprintf("SignatureHeaderSize %d does not fit the list", hdrSize)}
		case sigSize < 16:
			return nil, &Error{off, fmt.Sprintf("SignatureSize %d is smaller than the owner GUID", sigSize)}
		case (listSize-28-hdrSize)%sigSize != 0:
			return nil, &Error{off, fmt.Sprintf("the list's %d bytes of signatures are not a multiple of SignatureSize %d", listSize-28-hdrSize, sigSize)}
		}
		if want, ok := fixedSize[l.Type]; ok && int64(want) != sigSize-16 {
			return nil, &Error{off, fmt.Sprintf("%s entries are %d bytes, not %d", TypeName(l.Type), want, sigSize-16)}
		}
		p := off + 28
		l.Header = bytes.Clone(data[p : p+int(hdrSize)])
		p += int(hdrSize)
		for end := off + int(listSize); p < end; p += int(sigSize) {
			s := Signature{Data: bytes.Clone(data[p+16 : p+int(sigSize)])}
			copy(s.Owner[:], data[p:])
			l.Signatures = append(l.Signatures, s)
		}
		lists = append(lists, l)
		off += int(listSize)
	}
	return lists, nil
}

// stripAuth returns the signature lists inside an authenticated variable
// (EFI_TIME, then a WIN_CERTIFICATE_UEFI_GUID of type PKCS7).
func stripAuth(data []byte) ([]byte, bool) {
	if len(data) < 16+24 {
		return nil, false
	}
	le := binary.LittleEndian
	n := int(le.Uint32(data[16:]))
	if le.Uint16(data[20:]) != 0x0200 || le.Uint16(data[22:]) != 0x0ef1 || !bytes.Equal(data[24:40], certPKCS7[:]) {
		return nil, false
	}
	if n < 24 || 16+n > len(data) {
		return nil, false
	}
	return data[16+n:], true
}

// Marshal writes lists in the on-disk format (a .esl file).
func Marshal(lists []List) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	for _, l := range lists {
		sigSize := 16
		if len(l.Signatures) > 0 {
			sigSize += len(l.Signatures[0].Data)
		}
		var hdr [28]byte
		copy(hdr[:], l.Type[:])
		le.PutUint32(hdr[16:], uint32(28+len(l.Header)+sigSize*len(l.Signatures)))
		le.PutUint32(hdr[20:], uint32(len(l.Header)))
		le.PutUint32(hdr[24:], uint32(sigSize))
		b.Write(hdr[:])
		b.Write(l.Header)
		for _, s := range l.Signatures {
			b.Write(s.Owner[:])
			b.Write(s.Data)
		}
	}
	return b.Bytes()
}
