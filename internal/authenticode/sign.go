package authenticode

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/nixgate/nixgate/internal/pecoff"
)

// Pad returns image padded with zeros to a multiple of 8 bytes: the
// attribute certificate table starts 8-byte aligned, and the padding is
// part of what the signature hashes.
func Pad(image []byte) []byte {
	if n := len(image) % 8; n != 0 {
		return append(image, make([]byte, 8-n)...)
	}
	return image
}

// SigningDigest is the Authenticode hash an unsigned image has once it is
// laid out for signing (padded to 8 bytes): the digest its signature will
// carry.
func SigningDigest(image []byte, h crypto.Hash) ([]byte, error) {
	padded := Pad(bytes.Clone(image))
	f, err := pecoff.Parse(bytes.NewReader(padded), int64(len(padded)))
	if err != nil {
		return nil, err
	}
	if f.Cert.Size != 0 {
		return nil, errors.New("the image is already signed")
	}
	return f.Hash(h)
}

// Sign signs image with key and cert (chain: intermediate certificates to
// embed) and returns the signed image: the input padded to 8 bytes, with a
// new entry appended to its certificate table (created when there is
// none), the certificate directory entry and the checksum updated. Nothing
// else changes. The signature is deterministic for RSA keys (no signing
// time), so signing the same image twice gives the same bytes.
func Sign(image []byte, key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate) ([]byte, error) {
	digest, err := AttachDigest(image)
	if err != nil {
		return nil, err
	}
	der, err := SignDigest(digest, key, cert, chain)
	if err != nil {
		return nil, err
	}
	return Attach(image, der)
}

// AttachDigest is the SHA-256 Authenticode digest a signature attached to
// image with Attach must carry.
func AttachDigest(image []byte) ([]byte, error) {
	out, _, err := layout(image)
	if err != nil {
		return nil, err
	}
	g, err := pecoff.Parse(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		return nil, err
	}
	return g.Hash(crypto.SHA256)
}

// layout returns the image as a signature is appended to it: padded to 8
// bytes without a table, with the certificate directory entry cleared (it
// and the checksum are excluded from the hash), and the existing table.
func layout(image []byte) (out, oldTable []byte, err error) {
	f, err := pecoff.Parse(bytes.NewReader(image), int64(len(image)))
	if err != nil {
		return nil, nil, err
	}
	if f.CertDirOffset == 0 {
		return nil, nil, errors.New("the image has no certificate table directory entry (fewer than 5 data directories)")
	}
	if f.Cert.Size != 0 {
		end := int64(f.Cert.Offset) + int64(f.Cert.Size)
		if end != f.Size {
			return nil, nil, fmt.Errorf("the certificate table ends at %#x, not at the end of the file (%#x)", end, f.Size)
		}
		if f.Cert.Offset%8 != 0 {
			return nil, nil, fmt.Errorf("the certificate table at %#x is not 8-byte aligned", f.Cert.Offset)
		}
		out = bytes.Clone(image[:f.Cert.Offset])
		oldTable = image[f.Cert.Offset:end]
	} else {
		out = Pad(bytes.Clone(image))
	}
	clear(out[f.CertDirOffset : f.CertDirOffset+8])
	return out, oldTable, nil
}

// Attach appends the DER PKCS#7 signature der to image's certificate table
// (creating the table after 8-byte padding when there is none) and
// updates the certificate directory entry and the checksum, as sbattach
// does. It does not check the signature.
func Attach(image, der []byte) ([]byte, error) {
	out, oldTable, err := layout(image)
	if err != nil {
		return nil, err
	}
	f, err := pecoff.Parse(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		return nil, err
	}
	entry := make([]byte, 8, 8+len(der)+8)
	binary.LittleEndian.PutUint32(entry, uint32(8+len(der)))
	binary.LittleEndian.PutUint16(entry[4:], winCertRevision2)
	binary.LittleEndian.PutUint16(entry[6:], winCertPKCS7)
	entry = Pad(append(entry, der...))
	table := append(bytes.Clone(oldTable), entry...)
	tableOff := len(out)
	out = append(out, table...)
	binary.LittleEndian.PutUint32(out[f.CertDirOffset:], uint32(tableOff))
	binary.LittleEndian.PutUint32(out[f.CertDirOffset+4:], uint32(len(table)))
	binary.LittleEndian.PutUint32(out[f.ChecksumOffset:], pecoff.Checksum(out, f.ChecksumOffset))
	return out, nil
}

// SignDigest makes the DER ContentInfo of an Authenticode SignedData over
// an image's SHA-256 digest.
func SignDigest(digest []byte, key crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate) ([]byte, error) {
	if !publicKeyMatches(key, cert) {
		return nil, errors.New("the key does not belong to the certificate")
	}
	content := spcIndirectDataContent(digest)
	// messageDigest covers the content's octets without the SEQUENCE tag
	// and length (PKCS#7 v1.5, as Authenticode uses it).
	var inner cryptobyte.String
	s := cryptobyte.String(content)
	if !s.ReadASN1(&inner, cbasn1.SEQUENCE) {
		return nil, errors.New("internal: bad SpcIndirectDataContent")
	}
	md := crypto.SHA256.New()
	md.Write(inner)
	attrs := signedAttributes(md.Sum(nil))
	ad := crypto.SHA256.New()
	ad.Write(attrs)
	var sig []byte
	var sigAlg asn1.ObjectIdentifier
	var err error
	switch key.Public().(type) {
	case *rsa.PublicKey:
		sigAlg = oidRSA
		sig, err = key.Sign(rand.Reader, ad.Sum(nil), crypto.SHA256)
	case *ecdsa.PublicKey:
		sigAlg = oidECDSASHA256
		sig, err = key.Sign(rand.Reader, ad.Sum(nil), crypto.SHA256)
	default:
		return nil, fmt.Errorf("unsupported key type %T", key.Public())
	}
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { addAlgID(b, oidSHA256) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(oidSpcIndirectData)
					b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { b.AddBytes(content) })
				})
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					b.AddBytes(cert.Raw)
					for _, c := range chain {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(cert.RawIssuer)
							b.AddASN1BigInt(cert.SerialNumber)
						})
						addAlgID(b, oidSHA256)
						tagged := bytes.Clone(attrs)
						tagged[0] = 0xa0
						b.AddBytes(tagged)
						addAlgID(b, sigAlg)
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return b.Bytes()
}

func publicKeyMatches(key crypto.Signer, cert *x509.Certificate) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := key.Public().(equaler)
	return ok && pub.Equal(cert.PublicKey)
}

func addAlgID(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if !oid.Equal(oidECDSASHA256) {
			b.AddASN1NULL()
		}
	})
}

// spcIndirectDataContent is the SpcIndirectDataContent for a PE image
// digest, laid out as sbsign and signtool write it.
func spcIndirectDataContent(digest []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SpcAttributeTypeAndOptionalValue
			b.AddASN1ObjectIdentifier(oidSpcPEImageData)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SpcPeImageData
				b.AddASN1BitString(nil)
				b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { // SpcLink
					b.AddASN1(cbasn1.Tag(2).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) { // file
						b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { // unicode
							for _, r := range "<<<Obsolete>>>" {
								b.AddUint16(uint16(r))
							}
						})
					})
				})
			})
		})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // DigestInfo
			addAlgID(b, oidSHA256)
			b.AddASN1OctetString(digest)
		})
	})
	return b.BytesOrPanic()
}

// signedAttributes is the DER SET of the contentType and messageDigest
// attributes, with SpcSpOpusInfo empty as sbsign writes it. DER sorts a
// SET OF by encoding; the three encodings are built and sorted.
func signedAttributes(messageDigest []byte) []byte {
	attr := func(oid asn1.ObjectIdentifier, value func(b *cryptobyte.Builder)) []byte {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, value)
		})
		return b.BytesOrPanic()
	}
	as := [][]byte{
		attr(oidContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidSpcIndirectData) }),
		attr(oidMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(messageDigest) }),
		attr(oidSpcSpOpusInfo, func(b *cryptobyte.Builder) { b.AddASN1(cbasn1.SEQUENCE, func(*cryptobyte.Builder) {}) }),
	}
	sortDER(as)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range as {
			b.AddBytes(a)
		}
	})
	return b.BytesOrPanic()
}

func sortDER(as [][]byte) {
	for i := 1; i < len(as); i++ {
		for j := i; j > 0 && bytes.Compare(as[j-1], as[j]) > 0; j-- {
			as[j-1], as[j] = as[j], as[j-1]
		}
	}
}

// ParseKey reads a PEM private key: PKCS#8, PKCS#1 RSA or SEC 1 EC.
func ParseKey(pemBytes []byte) (crypto.Signer, error) {
	rest := pemBytes
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return nil, errors.New("no PEM private key found")
		}
		switch blk.Type {
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted: decrypt it to a file only the operator can read (openssl pkey -in KEY -out KEY.dec) on the signing machine")
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("PKCS#8 key: %w", err)
			}
			s, ok := k.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("unsupported key type %T", k)
			}
			return s, nil
		case "RSA PRIVATE KEY":
			return x509.ParsePKCS1PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			return x509.ParseECPrivateKey(blk.Bytes)
		}
	}
}
