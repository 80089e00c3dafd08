package authenticode

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	// Hash implementations the signatures may name.
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/nixgate/nixgate/internal/efisig"
	"github.com/nixgate/nixgate/internal/pecoff"
)

// Store is a set of trusted (db) or forbidden (dbx) signatures.
type Store struct {
	// Certs are X.509 certificates: trust anchors in a db (any of them,
	// not only self-signed roots, as the firmware treats them), forbidden
	// signers in a dbx.
	Certs []*x509.Certificate
	// ImageHashes are Authenticode image hashes by algorithm.
	ImageHashes map[crypto.Hash][][]byte
	// TBSHashes are hashes of certificates' TBSCertificate (dbx
	// EFI_CERT_X509_SHA*), by algorithm.
	TBSHashes map[crypto.Hash][][]byte
	// Skipped counts entries of types nixgate does not use (rsa2048,
	// sha1 image hashes of old dbx updates are used; external-management
	// is not).
	Skipped int
}

// StoreFromCerts is a db that trusts these certificates.
func StoreFromCerts(certs ...*x509.Certificate) *Store { return &Store{Certs: certs} }

// StoreFromLists builds a store from EFI signature lists.
func StoreFromLists(lists []efisig.List) (*Store, error) {
	s := &Store{ImageHashes: map[crypto.Hash][][]byte{}, TBSHashes: map[crypto.Hash][][]byte{}}
	for _, l := range lists {
		for i, sig := range l.Signatures {
			switch l.Type {
			case efisig.CertX509:
				c, err := x509.ParseCertificate(sig.Data)
				if err != nil {
					return nil, fmt.Errorf("signature list at offset %d, entry %d: x509 certificate: %w", l.Offset, i+1, err)
				}
				s.Certs = append(s.Certs, c)
			case efisig.CertSHA256:
				s.ImageHashes[crypto.SHA256] = append(s.ImageHashes[crypto.SHA256], sig.Data)
			case efisig.CertSHA384:
				s.ImageHashes[crypto.SHA384] = append(s.ImageHashes[crypto.SHA384], sig.Data)
			case efisig.CertSHA512:
				s.ImageHashes[crypto.SHA512] = append(s.ImageHashes[crypto.SHA512], sig.Data)
			case efisig.CertSHA1:
				s.ImageHashes[crypto.SHA1] = append(s.ImageHashes[crypto.SHA1], sig.Data)
			case efisig.CertX509SHA256:
				s.TBSHashes[crypto.SHA256] = append(s.TBSHashes[crypto.SHA256], sig.Data[:32])
			case efisig.CertX509SHA384:
				s.TBSHashes[crypto.SHA384] = append(s.TBSHashes[crypto.SHA384], sig.Data[:48])
			case efisig.CertX509SHA512:
				s.TBSHashes[crypto.SHA512] = append(s.TBSHashes[crypto.SHA512], sig.Data[:64])
			default:
				s.Skipped++
			}
		}
	}
	return s, nil
}

func (s *Store) hasImageHash(hashes map[crypto.Hash][]byte) (crypto.Hash, bool) {
	if s == nil {
		return 0, false
	}
	for h, list := range s.ImageHashes {
		if d, ok := hashes[h]; ok && slices.ContainsFunc(list, func(b []byte) bool { return bytes.Equal(b, d) }) {
			return h, true
		}
	}
	return 0, false
}

// forbids reports whether the store lists the certificate itself or the
// hash of its TBSCertificate.
func (s *Store) forbids(c *x509.Certificate) bool {
	if s == nil {
		return false
	}
	if slices.ContainsFunc(s.Certs, func(d *x509.Certificate) bool { return d.Equal(c) }) {
		return true
	}
	for h, list := range s.TBSHashes {
		d := h.New()
		d.Write(c.RawTBSCertificate)
		sum := d.Sum(nil)
		if slices.ContainsFunc(list, func(b []byte) bool { return bytes.Equal(b, sum) }) {
			return true
		}
	}
	return false
}

// Verdict is the outcome for the whole image.
type Verdict string

// Verdicts.
const (
	// Verified: a signature is good and chains to the trusted
	// certificates (or the image hash is in the db), and nothing in the
	// dbx forbids it.
	Verified Verdict = "verified"
	// Untrusted: signatures verify, but none chains to the trusted
	// certificates.
	Untrusted Verdict = "untrusted"
	// Invalid: no signature verifies.
	Invalid Verdict = "invalid"
	// Unsigned: there is no signature.
	Unsigned Verdict = "unsigned"
	// Revoked: the dbx forbids the image hash or a signer.
	Revoked Verdict = "revoked"
)

// SignatureResult is what one WIN_CERTIFICATE entry proved.
type SignatureResult struct {
	// Index is 1-based, in table order.
	Index  int   `json:"index"`
	Offset int64 `json:"offset"`
	// Signer names the signing certificate (its subject) when found.
	Signer string `json:"signer,omitempty"`
	Issuer string `json:"issuer,omitempty"`
	// DigestAlgorithm is the image hash algorithm the signature claims.
	DigestAlgorithm string `json:"digestAlgorithm,omitempty"`
	// ClaimedDigest is the SpcIndirectDataContent digest; ImageDigest the
	// image's hash with the same algorithm.
	ClaimedDigest string `json:"claimedDigest,omitempty"`
	ImageDigest   string `json:"imageDigest,omitempty"`
	// Steps are the checks in order; a signature is good when all pass.
	Steps []Step `json:"steps"`
	// Good: every step up to and including the signature passed.
	Good bool `json:"good"`
	// Trusted: good and chains to the trusted certificates.
	Trusted bool `json:"trusted"`
	// Revoked: a certificate of its chain is in the dbx.
	Revoked bool `json:"revoked"`
	// Chain is the path from the signer to the trust anchor (subjects).
	Chain []string `json:"chain,omitempty"`
}

// Step is one check of one signature.
type Step struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Failure is the first failed step, or nil.
func (r *SignatureResult) Failure() *Step {
	for i := range r.Steps {
		if !r.Steps[i].OK {
			return &r.Steps[i]
		}
	}
	return nil
}

// Result is the verification of a whole image.
type Result struct {
	Verdict Verdict `json:"verdict"`
	// ImageHash is the Authenticode SHA-256 of the image.
	ImageHash  string            `json:"imageHash"`
	Signatures []SignatureResult `json:"signatures"`
	// TableProblems are structural defects of the certificate table.
	TableProblems []string `json:"tableProblems,omitempty"`
	// AllowedByHash: the image hash is in the db.
	AllowedByHash bool `json:"allowedByHash,omitempty"`
	// RevokedHash: the image hash is in the dbx.
	RevokedHash bool `json:"revokedHash,omitempty"`
	// Reason says why the verdict is what it is.
	Reason string `json:"reason"`
}

// Step names.
const (
	StepParse         = "parse"
	StepContentType   = "content-type"
	StepImageDigest   = "image-digest"
	StepMessageDigest = "message-digest"
	StepSigner        = "signer-certificate"
	StepSignature     = "signature"
	StepChain         = "chain"
	StepDBX           = "dbx"
)

// Verify checks every signature of f against db (the trusted certificates
// and hashes) and dbx (may be nil).
func Verify(f *pecoff.File, db, dbx *Store) (*Result, error) {
	table, err := ReadTable(f)
	if err != nil {
		return nil, err
	}
	hashes := map[crypto.Hash][]byte{}
	imageHash := func(h crypto.Hash) ([]byte, error) {
		if d, ok := hashes[h]; ok {
			return d, nil
		}
		d, err := f.Hash(h)
		if err != nil {
			return nil, err
		}
		hashes[h] = d
		return d, nil
	}
	if f.CertProblem != "" {
		res := &Result{Verdict: Unsigned, Reason: f.CertProblem, TableProblems: table.Problems, Signatures: []SignatureResult{}}
		return res, nil
	}
	sum, err := imageHash(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("image hash: %w", err)
	}
	for _, st := range []*Store{db, dbx} {
		if st == nil {
			continue
		}
		for h := range st.ImageHashes {
			if h.Available() {
				if _, err := imageHash(h); err != nil {
					return nil, fmt.Errorf("image hash: %w", err)
				}
			}
		}
	}
	res := &Result{ImageHash: hex.EncodeToString(sum), TableProblems: table.Problems, Signatures: []SignatureResult{}}
	for i, e := range table.Entries {
		res.Signatures = append(res.Signatures, verifyEntry(i+1, e, imageHash, db, dbx))
	}
	_, res.AllowedByHash = db.hasImageHash(hashes)
	_, res.RevokedHash = dbx.hasImageHash(hashes)
	res.Verdict, res.Reason = verdict(res)
	return res, nil
}

func verdict(r *Result) (Verdict, string) {
	if r.RevokedHash {
		return Revoked, "the image hash is in the dbx"
	}
	for _, s := range r.Signatures {
		if s.Revoked {
			return Revoked, fmt.Sprintf("signature %d: a certificate of its chain is in the dbx", s.Index)
		}
	}
	for _, s := range r.Signatures {
		if s.Trusted {
			return Verified, fmt.Sprintf("signature %d by %s chains to the trusted certificates", s.Index, s.Signer)
		}
	}
	if r.AllowedByHash {
		return Verified, "the image hash is in the db"
	}
	if len(r.Signatures) == 0 {
		return Unsigned, "the image has no signature"
	}
	for _, s := range r.Signatures {
		if s.Good {
			return Untrusted, fmt.Sprintf("signature %d by %s is valid but does not chain to the trusted certificates", s.Index, s.Signer)
		}
	}
	fail := r.Signatures[0].Failure()
	return Invalid, fmt.Sprintf("no signature verifies (signature 1: %s: %s)", fail.Name, fail.Detail)
}

func verifyEntry(idx int, e Entry, imageHash func(crypto.Hash) ([]byte, error), db, dbx *Store) SignatureResult {
	r := SignatureResult{Index: idx, Offset: e.Offset, Steps: []Step{}}
	step := func(name string, ok bool, format string, args ...any) bool {
		r.Steps = append(r.Steps, Step{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
		return ok
	}
	if e.Revision != winCertRevision2 || e.Type != winCertPKCS7 {
		step(StepParse, false, "WIN_CERTIFICATE revision %#x type %#x is not a PKCS#7 Authenticode signature", e.Revision, e.Type)
		return r
	}
	sd, err := ParseSignedData(e.Data)
	if err != nil {
		step(StepParse, false, "%v", err)
		return r
	}
	step(StepParse, true, "PKCS#7 SignedData, %d certificate(s), %d signer(s)", len(sd.Certs), len(sd.Signers))
	if !sd.DataType.Equal(oidSpcPEImageData) && !sd.DataType.Equal(oidIndividualCodeSigning) {
		step(StepContentType, false, "SpcIndirectDataContent type %v is not SpcPEImageData", sd.DataType)
		return r
	}
	if len(sd.Signers) != 1 {
		// Authenticode has exactly one signer per SignedData; the
		// firmware (EDK2) rejects any other count.
		step(StepContentType, false, "%d signerInfos (Authenticode allows exactly one)", len(sd.Signers))
		return r
	}
	si := sd.Signers[0]
	step(StepContentType, true, "SpcIndirectDataContent of SpcPEImageData")
	if sd.DigestHash == 0 || !sd.DigestHash.Available() {
		step(StepImageDigest, false, "unsupported digest algorithm %v", sd.DigestOID)
		return r
	}
	r.DigestAlgorithm = hashName(sd.DigestHash)
	img, err := imageHash(sd.DigestHash)
	if err != nil {
		step(StepImageDigest, false, "image hash: %v", err)
		return r
	}
	r.ClaimedDigest, r.ImageDigest = hex.EncodeToString(sd.Digest), hex.EncodeToString(img)
	if !step(StepImageDigest, bytes.Equal(sd.Digest, img), "%s %s signed, image %s", r.DigestAlgorithm, short(r.ClaimedDigest), short(r.ImageDigest)) {
		r.Steps[len(r.Steps)-1].Detail = fmt.Sprintf("the signed SpcIndirectDataContent digest %s is not the image's %s %s", short(r.ClaimedDigest), r.DigestAlgorithm, short(r.ImageDigest))
		return r
	}
	sh, ok := hashOf(si.DigestOID)
	if !ok || !sh.Available() {
		step(StepMessageDigest, false, "unsupported signer digest algorithm %v", si.DigestOID)
		return r
	}
	signed := si.SignedAttrs
	if signed == nil {
		// Without authenticated attributes the signature covers the
		// content itself.
		step(StepMessageDigest, true, "no signed attributes: the signature covers the content")
		signed = sd.ContentOctets
	} else {
		if len(si.AttrProblems) > 0 {
			step(StepMessageDigest, false, "signed attributes: %s", si.AttrProblems[0])
			return r
		}
		if si.MessageDigest == nil {
			step(StepMessageDigest, false, "the signed attributes have no messageDigest")
			return r
		}
		if !si.ContentTypeAttr.Equal(oidSpcIndirectData) {
			step(StepMessageDigest, false, "the signed contentType attribute %v is not SpcIndirectDataContent", si.ContentTypeAttr)
			return r
		}
		d := sh.New()
		d.Write(sd.ContentOctets)
		got := d.Sum(nil)
		if !step(StepMessageDigest, bytes.Equal(got, si.MessageDigest), "messageDigest binds the SpcIndirectDataContent") {
			r.Steps[len(r.Steps)-1].Detail = fmt.Sprintf("the signed messageDigest %s is not the hash of the SpcIndirectDataContent (%s): the content was replaced after signing (a transplanted signature)",
				short(hex.EncodeToString(si.MessageDigest)), short(hex.EncodeToString(got)))
			return r
		}
	}
	signer := findSigner(sd.Certs, si)
	if signer == nil {
		step(StepSigner, false, "no certificate in the signature matches the signer's issuer and serial number")
		return r
	}
	r.Signer, r.Issuer = signer.Subject.String(), signer.Issuer.String()
	step(StepSigner, true, "%s", r.Signer)
	if err := checkSignature(signer, si, sh, signed); err != nil {
		step(StepSignature, false, "%v", err)
		return r
	}
	step(StepSignature, true, "%s", sigName(signer, sh))
	r.Good = true
	chain, err := buildChain(signer, sd.Certs, db)
	if err != nil {
		step(StepChain, false, "%v", err)
	} else {
		r.Trusted = true
		for _, c := range chain {
			r.Chain = append(r.Chain, c.Subject.String())
		}
		step(StepChain, true, "chains to %s", chain[len(chain)-1].Subject.String())
	}
	if dbx != nil {
		// The firmware forbids an image when its signer, or any
		// certificate it chains through, is in the dbx.
		cands := append([]*x509.Certificate{signer}, chain...)
		cands = append(cands, sd.Certs...)
		for _, c := range cands {
			if dbx.forbids(c) {
				r.Revoked = true
				step(StepDBX, false, "%s is in the dbx", c.Subject.String())
				return r
			}
		}
		step(StepDBX, true, "no certificate of the signature is in the dbx")
	}
	return r
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

func hashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA1:
		return "sha1"
	case crypto.SHA256:
		return "sha256"
	case crypto.SHA384:
		return "sha384"
	case crypto.SHA512:
		return "sha512"
	}
	return h.String()
}

func sigName(c *x509.Certificate, h crypto.Hash) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d with %s", k.N.BitLen(), hashName(h))
	case *ecdsa.PublicKey:
		return fmt.Sprintf("ECDSA %s with %s", k.Curve.Params().Name, hashName(h))
	}
	return hashName(h)
}

func findSigner(certs []*x509.Certificate, si SignerInfo) *x509.Certificate {
	for _, c := range certs {
		if si.SerialNumber != nil && bytes.Equal(c.RawIssuer, si.Issuer) && c.SerialNumber.Cmp(si.SerialNumber) == 0 {
			return c
		}
		if si.SubjectKeyID != nil && bytes.Equal(c.SubjectKeyId, si.SubjectKeyID) {
			return c
		}
	}
	return nil
}

func checkSignature(c *x509.Certificate, si SignerInfo, h crypto.Hash, signed []byte) error {
	if h == crypto.SHA1 {
		return errors.New("SHA-1 signatures are not accepted")
	}
	d := h.New()
	d.Write(signed)
	digest := d.Sum(nil)
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		if !oidIn(si.SigOID, oidRSA, oidSHA256WithRSA, oidSHA384WithRSA, oidSHA512WithRSA) {
			return fmt.Errorf("signature algorithm %v does not match the signer's RSA key", si.SigOID)
		}
		if err := rsa.VerifyPKCS1v15(k, h, digest, si.Signature); err != nil {
			return fmt.Errorf("the RSA signature over the signed attributes does not verify with %s's key", c.Subject.String())
		}
		return nil
	case *ecdsa.PublicKey:
		if !oidIn(si.SigOID, oidECPublicKey, oidECDSASHA256, oidECDSASHA384, oidECDSASHA512) {
			return fmt.Errorf("signature algorithm %v does not match the signer's ECDSA key", si.SigOID)
		}
		if !ecdsa.VerifyASN1(k, digest, si.Signature) {
			return fmt.Errorf("the ECDSA signature over the signed attributes does not verify with %s's key", c.Subject.String())
		}
		return nil
	}
	return fmt.Errorf("unsupported public key type %T", c.PublicKey)
}

func oidIn(o asn1.ObjectIdentifier, set ...asn1.ObjectIdentifier) bool {
	return slices.ContainsFunc(set, o.Equal)
}

// buildChain finds a path from leaf through the signature's certificates
// to a certificate of db. Like the firmware, it treats every db
// certificate as a trust anchor and ignores validity periods (firmware has
// no trusted clock); each link's signature is checked.
func buildChain(leaf *x509.Certificate, pool []*x509.Certificate, db *Store) ([]*x509.Certificate, error) {
	if db == nil || len(db.Certs) == 0 {
		return nil, errors.New("no trusted certificate to chain to")
	}
	trusted := func(c *x509.Certificate) bool {
		return slices.ContainsFunc(db.Certs, func(d *x509.Certificate) bool { return d.Equal(c) })
	}
	chain := []*x509.Certificate{leaf}
	cur := leaf
	for range 8 {
		if trusted(cur) {
			return chain, nil
		}
		var next *x509.Certificate
		for _, cand := range append(slices.Clone(db.Certs), pool...) {
			if cand.Equal(cur) || !bytes.Equal(cand.RawSubject, cur.RawIssuer) {
				continue
			}
			if cur.CheckSignatureFrom(cand) == nil {
				next = cand
				if trusted(cand) {
					break
				}
			}
		}
		if next == nil {
			return nil, fmt.Errorf("%s (issued by %s) does not chain to the trusted certificates", leaf.Subject.String(), cur.Issuer.String())
		}
		if slices.ContainsFunc(chain, next.Equal) {
			return nil, fmt.Errorf("certificate loop at %s", next.Subject.String())
		}
		chain = append(chain, next)
		cur = next
	}
	return nil, fmt.Errorf("%s: chain longer than 8 certificates", leaf.Subject.String())
}
