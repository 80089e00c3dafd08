// Package authenticode verifies and makes Authenticode signatures of PE/COFF
// images the way Secure Boot firmware judges them, and then some: for every
// signature in the attribute certificate table (not only the first) it
// checks that the SpcIndirectDataContent digest equals the image hash, that
// the signed messageDigest attribute equals the hash of that content (the
// binding foxboron/go-uefi's Verify leaves out, so that a signature can be
// transplanted onto another image), the signature itself, the chain to the
// trusted certificates (a certificate or a db), and the dbx.
//
// The PKCS#7 parsing is nixgate's own (encoding/asn1 for reading, cryptobyte
// for writing): the peers in Go either skip the messageDigest binding or
// parse only the first signature.
package authenticode

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"

	"github.com/nixgate/nixgate/internal/pecoff"
)

// Object identifiers.
var (
	oidSignedData            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSpcIndirectData       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidSpcPEImageData        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 15}
	oidSpcStatementType      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 11}
	oidSpcSpOpusInfo         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 12}
	oidIndividualCodeSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 21}
	oidContentType           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSHA1                  = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256                = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384                = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512                = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidRSA                   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256WithRSA         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECDSASHA256           = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSASHA384           = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSASHA512           = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidECPublicKey           = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
)

func hashOf(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, true
	case oid.Equal(oidSHA384):
		return crypto.SHA384, true
	case oid.Equal(oidSHA512):
		return crypto.SHA512, true
	case oid.Equal(oidSHA1):
		return crypto.SHA1, true
	}
	return 0, false
}

// WIN_CERTIFICATE constants.
const (
	winCertRevision2 = 0x0200
	winCertPKCS7     = 0x0002
	// maxCertTable bounds the certificate table nixgate reads.
	maxCertTable = 16 << 20
)

// Entry is one WIN_CERTIFICATE of the attribute certificate table.
type Entry struct {
	// Offset is the entry's file offset.
	Offset   int64
	Length   uint32
	Revision uint16
	Type     uint16
	// Data is bCertificate: for a PKCS_SIGNED_DATA entry, the DER
	// ContentInfo of a PKCS#7 SignedData.
	Data []byte
}

// Table is the parsed attribute certificate table.
type Table struct {
	Entries []Entry
	// Problems are structural defects: a misaligned table, an entry that
	// is not 8-byte padded, trailing bytes.
	Problems []string
}

// ReadTable reads the attribute certificate table of f.
func ReadTable(f *pecoff.File) (*Table, error) {
	t := &Table{}
	if f.Cert.Size == 0 {
		return t, nil
	}
	if f.CertProblem != "" {
		t.Problems = append(t.Problems, f.CertProblem)
		return t, nil
	}
	if f.Cert.Size > maxCertTable {
		return nil, fmt.Errorf("certificate table of %d bytes is larger than %d", f.Cert.Size, maxCertTable)
	}
	data := make([]byte, f.Cert.Size)
	if _, err := f.ReadAt(data, int64(f.Cert.Offset)); err != nil {
		return nil, fmt.Errorf("read certificate table: %w", err)
	}
	if f.Cert.Offset%8 != 0 {
		t.Problems = append(t.Problems, fmt.Sprintf("the certificate table at %#x is not 8-byte aligned", f.Cert.Offset))
	}
	for off := 0; off < len(data); {
		if len(data)-off < 8 {
			t.Problems = append(t.Problems, fmt.Sprintf("%d trailing bytes at %#x are not a certificate entry", len(data)-off, int(f.Cert.Offset)+off))
			break
		}
		e := Entry{
			Offset:   int64(f.Cert.Offset) + int64(off),
			Length:   binary.LittleEndian.Uint32(data[off:]),
			Revision: binary.LittleEndian.Uint16(data[off+4:]),
			Type:     binary.LittleEndian.Uint16(data[off+6:]),
		}
		if e.Length < 8 || int64(e.Length) > int64(len(data)-off) {
			t.Problems = append(t.Problems, fmt.Sprintf("certificate entry at %#x has length %d, which does not fit the %d bytes left", e.Offset, e.Length, len(data)-off))
			break
		}
		e.Data = data[off+8 : off+int(e.Length)]
		t.Entries = append(t.Entries, e)
		next := off + int(e.Length+7)&^7
		if next > len(data) {
			t.Problems = append(t.Problems, fmt.Sprintf("certificate entry at %#x is not padded to 8 bytes", e.Offset))
			break
		}
		off = next
	}
	return t, nil
}

// SignedData is the part of a PKCS#7 SignedData that Authenticode uses.
type SignedData struct {
	// ContentType is the encapsulated content's type: SpcIndirectDataContent.
	ContentType asn1.ObjectIdentifier
	// Content is the DER of the SpcIndirectDataContent; ContentOctets its
	// contents octets (without tag and length), which is what the
	// messageDigest attribute covers in PKCS#7.
	Content, ContentOctets []byte
	// DataType is SpcIndirectDataContent.data.type (SpcPEImageData).
	DataType asn1.ObjectIdentifier
	// DigestHash and Digest are SpcIndirectDataContent.messageDigest: the
	// image hash the signer claims.
	DigestHash crypto.Hash
	DigestOID  asn1.ObjectIdentifier
	Digest     []byte
	Certs      []*x509.Certificate
	Signers    []SignerInfo
}

// SignerInfo is one signer of a SignedData.
type SignerInfo struct {
	Issuer       []byte // raw DER Name
	SerialNumber *big.Int
	SubjectKeyID []byte
	DigestOID    asn1.ObjectIdentifier
	// SignedAttrs is the DER of the authenticated attributes, re-tagged
	// as a SET (what the signature covers); nil when there are none.
	SignedAttrs []byte
	// MessageDigest and ContentTypeAttr are the signed attributes of
	// those names; nil when absent.
	MessageDigest   []byte
	ContentTypeAttr asn1.ObjectIdentifier
	SigOID          asn1.ObjectIdentifier
	Signature       []byte
	// AttrProblems are malformed or repeated signed attributes.
	AttrProblems []string
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	ContentInfo      contentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type signerInfo struct {
	Version         int
	SID             asn1.RawValue
	DigestAlgorithm pkix.AlgorithmIdentifier
	AuthAttrs       asn1.RawValue `asn1:"optional,tag:0"`
	SigAlgorithm    pkix.AlgorithmIdentifier
	Signature       []byte
	UnauthAttrs     asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

type spcIndirectData struct {
	Data struct {
		Type  asn1.ObjectIdentifier
		Value asn1.RawValue `asn1:"optional"`
	}
	MessageDigest struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}
}

// ParseSignedData reads a DER ContentInfo holding an Authenticode
// SignedData.
func ParseSignedData(der []byte) (*SignedData, error) {
	var ci contentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, fmt.Errorf("ContentInfo: %w", err)
	}
	if len(bytes.TrimRight(rest, "\x00")) != 0 {
		return nil, fmt.Errorf("%d bytes after the ContentInfo", len(rest))
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("content type %v is not signedData", ci.ContentType)
	}
	var sd signedData
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("SignedData: %w", err)
	} else if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the SignedData", len(rest))
	}
	out := &SignedData{ContentType: sd.ContentInfo.ContentType}
	if !out.ContentType.Equal(oidSpcIndirectData) {
		return nil, fmt.Errorf("encapsulated content type %v is not SpcIndirectDataContent", out.ContentType)
	}
	// The content is [0] EXPLICIT: its value is the SpcIndirectDataContent.
	var inner asn1.RawValue
	if rest, err := asn1.Unmarshal(sd.ContentInfo.Content.Bytes, &inner); err != nil {
		return nil, fmt.Errorf("SpcIndirectDataContent: %w", err)
	} else if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the SpcIndirectDataContent", len(rest))
	}
	out.Content, out.ContentOctets = inner.FullBytes, inner.Bytes
	var spc spcIndirectData
	if rest, err := asn1.Unmarshal(inner.FullBytes, &spc); err != nil {
		return nil, fmt.Errorf("SpcIndirectDataContent: %w", err)
	} else if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the SpcIndirectDataContent", len(rest))
	}
	out.DataType = spc.Data.Type
	out.DigestOID = spc.MessageDigest.Algorithm.Algorithm
	out.DigestHash, _ = hashOf(out.DigestOID)
	out.Digest = spc.MessageDigest.Digest
	if len(sd.Certificates.Bytes) > 0 {
		certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificates: %w", err)
		}
		out.Certs = certs
	}
	if len(sd.SignerInfos) == 0 {
		return nil, errors.New("no signerInfo")
	}
	for i, si := range sd.SignerInfos {
		s, err := parseSigner(si)
		if err != nil {
			return nil, fmt.Errorf("signerInfo %d: %w", i+1, err)
		}
		out.Signers = append(out.Signers, s)
	}
	return out, nil
}

func parseSigner(si signerInfo) (SignerInfo, error) {
	s := SignerInfo{DigestOID: si.DigestAlgorithm.Algorithm, SigOID: si.SigAlgorithm.Algorithm, Signature: si.Signature}
	switch {
	case si.SID.Class == asn1.ClassUniversal && si.SID.Tag == asn1.TagSequence:
		var ias issuerAndSerial
		if _, err := asn1.Unmarshal(si.SID.FullBytes, &ias); err != nil {
			return s, fmt.Errorf("issuerAndSerialNumber: %w", err)
		}
		s.Issuer, s.SerialNumber = ias.Issuer.FullBytes, ias.Serial
	case si.SID.Class == asn1.ClassContextSpecific && si.SID.Tag == 0:
		s.SubjectKeyID = si.SID.Bytes
	default:
		return s, errors.New("unknown signer identifier")
	}
	if len(si.AuthAttrs.FullBytes) == 0 {
		return s, nil
	}
	// The signature covers the attributes DER-encoded as a SET OF, not
	// with the [0] IMPLICIT tag they carry in the SignerInfo.
	s.SignedAttrs = bytes.Clone(si.AuthAttrs.FullBytes)
	s.SignedAttrs[0] = 0x31
	seen := map[string]bool{}
	for rest := si.AuthAttrs.Bytes; len(rest) > 0; {
		var a attribute
		var err error
		if rest, err = asn1.Unmarshal(rest, &a); err != nil {
			return s, fmt.Errorf("signed attributes: %w", err)
		}
		key := a.Type.String()
		switch {
		case a.Type.Equal(oidMessageDigest), a.Type.Equal(oidContentType):
			if seen[key] {
				s.AttrProblems = append(s.AttrProblems, fmt.Sprintf("attribute %v appears more than once", a.Type))
				continue
			}
		}
		seen[key] = true
		var v asn1.RawValue
		vrest, err := asn1.Unmarshal(a.Values.Bytes, &v)
		if err != nil {
			s.AttrProblems = append(s.AttrProblems, fmt.Sprintf("attribute %v has no value", a.Type))
			continue
		}
		if len(vrest) != 0 {
			s.AttrProblems = append(s.AttrProblems, fmt.Sprintf("attribute %v has more than one value", a.Type))
		}
		switch {
		case a.Type.Equal(oidMessageDigest):
			if v.Class != asn1.ClassUniversal || v.Tag != asn1.TagOctetString {
				s.AttrProblems = append(s.AttrProblems, "messageDigest is not an OCTET STRING")
				continue
			}
			s.MessageDigest = v.Bytes
		case a.Type.Equal(oidContentType):
			var oid asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(v.FullBytes, &oid); err != nil {
				s.AttrProblems = append(s.AttrProblems, "contentType is not an OBJECT IDENTIFIER")
				continue
			}
			s.ContentTypeAttr = oid
		}
	}
	return s, nil
}
