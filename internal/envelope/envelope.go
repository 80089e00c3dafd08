// Package envelope signs and verifies DSSE envelopes
// (secure-systems-lab/go-securesystemslib's dsse) around in-toto
// statements: one signature per key, k of n distinct trusted keys to
// accept.
package envelope

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/nixgate/nixgate/internal/signkey"
)

// PayloadType is the payload type of an in-toto statement.
const PayloadType = "application/vnd.in-toto+json"

// maxEnvelope bounds what Parse reads.
const maxEnvelope = 32 << 20

// Sign wraps payload in a new envelope signed by every signer.
func Sign(ctx context.Context, payload []byte, signers ...dsse.Signer) (*dsse.Envelope, error) {
	es, err := dsse.NewEnvelopeSigner(signers...)
	if err != nil {
		return nil, err
	}
	env, err := es.SignPayload(ctx, PayloadType, payload)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return env, nil
}

// AddSignatures adds a signature by each signer to an existing envelope
// (a second operator co-signing), refusing a key that already signed it.
func AddSignatures(ctx context.Context, env *dsse.Envelope, signers ...dsse.Signer) error {
	body, err := env.DecodeB64Payload()
	if err != nil {
		return err
	}
	add, err := Sign(ctx, body, signers...)
	if err != nil {
		return err
	}
	if add.PayloadType != env.PayloadType {
		return fmt.Errorf("the envelope's payload type is %q, not %q", env.PayloadType, PayloadType)
	}
	for _, s := range add.Signatures {
		if slices.ContainsFunc(env.Signatures, func(o dsse.Signature) bool { return o.KeyID == s.KeyID }) {
			return fmt.Errorf("key %s already signed this envelope", s.KeyID)
		}
		env.Signatures = append(env.Signatures, s)
	}
	return nil
}

// Marshal encodes an envelope as indented JSON with a final newline.
func Marshal(env *dsse.Envelope) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Parse reads an envelope strictly: unknown fields, a missing payload or a
// payload that is not base64 are errors.
func Parse(data []byte) (*dsse.Envelope, error) {
	if len(data) > maxEnvelope {
		return nil, fmt.Errorf("%d bytes: more than %d", len(data), maxEnvelope)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var env dsse.Envelope
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("not a DSSE envelope: %w", err)
	}
	if dec.More() {
		return nil, errors.New("not a DSSE envelope: data after the JSON object")
	}
	if env.Payload == "" {
		return nil, errors.New("not a DSSE envelope: no payload")
	}
	if _, err := env.DecodeB64Payload(); err != nil {
		return nil, fmt.Errorf("DSSE envelope: %w", err)
	}
	for i, s := range env.Signatures {
		if _, err := decodeSig(s.Sig); err != nil {
			return nil, fmt.Errorf("DSSE envelope: signature %d: %w", i+1, err)
		}
	}
	return &env, nil
}

func decodeSig(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if b, err = base64.URLEncoding.DecodeString(s); err != nil {
			return nil, errors.New("not base64")
		}
	}
	return b, nil
}

// Result is what verification found, signature by signature.
type Result struct {
	// Accepted are the distinct trusted keys whose signature verifies,
	// in the envelope's order.
	Accepted []signkey.PublicKey
	// Untrusted are the key IDs of signatures no trusted key made.
	Untrusted []string
	// Invalid are trusted keys whose signature does not verify (the
	// payload or payload type changed after signing, or a bad signature).
	Invalid []signkey.PublicKey
	// Duplicates counts signatures by a key that already counted.
	Duplicates int
	// Threshold is the number of distinct keys required.
	Threshold int
	// Err is go-securesystemslib's verdict: nil when at least Threshold
	// distinct trusted keys signed.
	Err error
}

// Verify checks the envelope's signatures against the trusted keys: the
// verdict is go-securesystemslib's k-of-n EnvelopeVerifier over the
// distinct keys; the result also says, for each signature, why it did not
// count.
func Verify(ctx context.Context, env *dsse.Envelope, keys []signkey.PublicKey, threshold int) (*Result, error) {
	var distinct []signkey.PublicKey
	for _, k := range keys {
		if !slices.ContainsFunc(distinct, func(d signkey.PublicKey) bool { return d.ID == k.ID }) {
			distinct = append(distinct, k)
		}
	}
	if threshold < 1 {
		return nil, fmt.Errorf("%d signatures required: want at least 1", threshold)
	}
	if threshold > len(distinct) {
		return nil, fmt.Errorf("%d signatures required but only %d distinct trusted key(s) given", threshold, len(distinct))
	}
	res := &Result{Threshold: threshold}
	body, err := env.DecodeB64Payload()
	if err != nil {
		return nil, err
	}
	pae := dsse.PAE(env.PayloadType, body)
	counted := map[string]bool{}
	for _, s := range env.Signatures {
		sig, err := decodeSig(s.Sig)
		if err != nil {
			return nil, err
		}
		var matched []signkey.PublicKey
		for _, k := range distinct {
			if s.KeyID == "" || s.KeyID == k.ID {
				matched = append(matched, k)
			}
		}
		ok := false
		for _, k := range matched {
			if k.Verify(ctx, pae, sig) == nil {
				ok = true
				if counted[k.ID] {
					res.Duplicates++
				} else {
					counted[k.ID] = true
					res.Accepted = append(res.Accepted, k)
				}
				break
			}
		}
		switch {
		case ok:
		case len(matched) == 0 || s.KeyID == "":
			id := s.KeyID
			if id == "" {
				id = "(no key id)"
			}
			res.Untrusted = append(res.Untrusted, id)
		default:
			for _, k := range matched {
				if !slices.ContainsFunc(res.Invalid, func(d signkey.PublicKey) bool { return d.ID == k.ID }) {
					res.Invalid = append(res.Invalid, k)
				}
			}
		}
	}
	verifiers := make([]dsse.Verifier, len(distinct))
	for i, k := range distinct {
		verifiers[i] = k
	}
	ev, err := dsse.NewMultiEnvelopeVerifier(threshold, verifiers...)
	if err != nil {
		return nil, err
	}
	_, res.Err = ev.Verify(ctx, env)
	// The two counts agree; if they ever do not, trust neither.
	if (res.Err == nil) != (len(res.Accepted) >= threshold) {
		res.Err = fmt.Errorf("verifiers disagree: go-securesystemslib says %v, %d distinct key(s) counted", res.Err, len(res.Accepted))
		res.Accepted = nil
	}
	return res, nil
}

// KeyLabels lists keys for a message.
func KeyLabels(keys []signkey.PublicKey) string {
	var s []string
	for _, k := range keys {
		s = append(s, k.Label())
	}
	return strings.Join(s, ", ")
}

func jsonUnmarshalNumber(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

func marshalIndent(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
