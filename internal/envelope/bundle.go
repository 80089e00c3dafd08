package envelope

import (
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"google.golang.org/protobuf/encoding/protojson"
)

// BundleMediaType is the media type of a Sigstore bundle v0.3.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// Bundle wraps the envelope in a Sigstore bundle v0.3 (sigstore/
// protobuf-specs) whose verification material is a public key hint: no
// certificate, no transparency log entry, for the offline ceremony signs
// with keys and logs nothing. A bundle holds one signature (Sigstore's
// verifiers accept exactly one): the one by the key hint names. The result
// is indented JSON with a final newline.
func Bundle(env *dsse.Envelope, hint string) ([]byte, error) {
	payload, err := env.DecodeB64Payload()
	if err != nil {
		return nil, err
	}
	pe := &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType}
	for i, s := range env.Signatures {
		if s.KeyID != hint {
			continue
		}
		sig, err := decodeSig(s.Sig)
		if err != nil {
			return nil, fmt.Errorf("signature %d: %w", i+1, err)
		}
		pe.Signatures = append(pe.Signatures, &protodsse.Signature{Sig: sig, Keyid: s.KeyID})
	}
	if len(pe.Signatures) != 1 {
		return nil, fmt.Errorf("the envelope has %d signatures by key %s, want 1", len(pe.Signatures), hint)
	}
	b := &protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: hint}},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: pe},
	}
	raw, err := protojson.Marshal(b)
	if err != nil {
		return nil, err
	}
	// protojson's whitespace is unstable; re-encode it.
	var v any
	if err := jsonUnmarshalNumber(raw, &v); err != nil {
		return nil, err
	}
	return marshalIndent(v)
}
