package checks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/envelope"
	"github.com/nixgate/nixgate/internal/flakelock"
	"github.com/nixgate/nixgate/internal/policy"
	"github.com/nixgate/nixgate/internal/provenance"
	"github.com/nixgate/nixgate/internal/signkey"
)

const (
	tmBuilder = "https://ci.example.org/nix-builder"
	tmCommit  = "3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
	tmOutput  = "/nix/store/708rg1xgqn5baz7v4j71ykp708ap4nz3-app-2.0"
)

var tmNar = strings.Repeat("32", 32)

// tmKey makes a Nix key named name and opens it as a signer.
func tmKey(t *testing.T, name string) *signkey.Signer {
	t.Helper()
	sec, _, err := signkey.GenerateNix(name)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), name+".sec")
	if err := os.WriteFile(f, []byte(sec+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := signkey.Open(f, signkey.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tmLock(t *testing.T) *flakelock.Lock {
	t.Helper()
	b, err := os.ReadFile("../../examples/anchor/flake.lock")
	if err != nil {
		t.Fatal(err)
	}
	l, err := flakelock.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func tmInputs(t *testing.T) provenance.Inputs {
	return provenance.Inputs{
		Subjects:   []provenance.Subject{{Name: tmOutput, SHA256: tmNar, NAR: true}},
		Parameters: map[string]string{provenance.ParamFlake: ".", provenance.ParamAttribute: "packages.x86_64-linux.app"},
		Source:     &provenance.Source{URI: "git+https://example.org/anchor", Commit: tmCommit},
		Lock:       tmLock(t),
		NixVersion: "2.8.0",
		System:     "x86_64-linux",
		BuilderID:  tmBuilder,
	}
}

func tmStatement(t *testing.T, in provenance.Inputs) []byte {
	t.Helper()
	b, err := provenance.Statement(in)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tmSign(t *testing.T, payloadType string, payload []byte, signers ...*signkey.Signer) *dsse.Envelope {
	t.Helper()
	var ss []dsse.Signer
	for _, s := range signers {
		ss = append(ss, s)
	}
	es, err := dsse.NewEnvelopeSigner(ss...)
	if err != nil {
		t.Fatal(err)
	}
	env, err := es.SignPayload(context.Background(), payloadType, payload)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestProvenanceTamperMatrix signs a statement, changes one thing at a
// time, and checks that exactly the check for that thing fails, with its
// own reason.
func TestProvenanceTamperMatrix(t *testing.T) {
	release1, release2, stranger := tmKey(t, "release-1"), tmKey(t, "release-2"), tmKey(t, "stranger")
	trusted := []signkey.PublicKey{release1.Public, release2.Public}
	pol, err := policy.Parse("nixgate.toml", []byte(`
[checks.provenance-builder.builders]
"`+tmBuilder+`" = ["release-1", "release-2"]
"https://ci.example.org/other" = ["release-2"]
[checks.provenance-external-parameters]
flakes = ["."]
attributes = ["packages.x86_64-linux.*"]
`), All())
	if err != nil {
		t.Fatal(err)
	}
	good := tmStatement(t, tmInputs(t))
	artifact := provenance.Artifact{Name: tmOutput, SHA256: tmNar, NAR: true}
	type tc struct {
		name    string
		env     *dsse.Envelope
		require int
		lock    *flakelock.Lock
		commit  string
		check   string // the one check that must fail ("" for none)
		reason  string
	}
	mod := func(f func(*provenance.Inputs)) []byte {
		in := tmInputs(t)
		f(&in)
		return tmStatement(t, in)
	}
	otherLock := tmLock(t)
	otherLock.Nodes["nixpkgs"].Locked.Rev = strings.Repeat("1", 40)
	changedAfter := tmSign(t, envelope.PayloadType, good, release1)
	changedAfter.Payload = base64.StdEncoding.EncodeToString(mod(func(in *provenance.Inputs) { in.NixVersion = "2.99.0" }))
	cases := []tc{
		{name: "clean", env: tmSign(t, envelope.PayloadType, good, release1)},
		{name: "clean, 2 of 2", env: tmSign(t, envelope.PayloadType, good, release1, release2), require: 2},
		{name: "one subject digest", check: "provenance-subject", reason: "no subject has the NAR hash of " + tmOutput,
			env: tmSign(t, envelope.PayloadType, mod(func(in *provenance.Inputs) { in.Subjects[0].SHA256 = strings.Repeat("33", 32) }), release1)},
		{name: "the payload type", check: "provenance-payload-type", reason: `payload type is "application/json"`,
			env: tmSign(t, "application/json", good, release1)},
		{name: "an extra externalParameter", check: "provenance-external-parameters", reason: `external parameter "overrideInput" is not one nixgate attest writes`,
			env: tmSign(t, envelope.PayloadType, mod(func(in *provenance.Inputs) { in.Parameters["overrideInput"] = "nixpkgs=github:evil/nixpkgs" }), release1)},
		{name: "a parameter outside the allowed set", check: "provenance-external-parameters", reason: `external parameter attribute = "devShells.x86_64-linux.default" is not allowed`,
			env: tmSign(t, envelope.PayloadType, mod(func(in *provenance.Inputs) {
				in.Parameters[provenance.ParamAttribute] = "devShells.x86_64-linux.default"
			}), release1)},
		{name: "a swapped builder id", check: "provenance-builder", reason: `builder "https://evil.example/builder" is not an allowed builder`,
			env: tmSign(t, envelope.PayloadType, mod(func(in *provenance.Inputs) { in.BuilderID = "https://evil.example/builder" }), release1)},
		{name: "a builder signed by a key not paired with it", check: "provenance-builder", reason: `builder "https://ci.example.org/other" is vouched for by release-2, but the statement was signed by release-1`,
			env: tmSign(t, envelope.PayloadType, mod(func(in *provenance.Inputs) { in.BuilderID = "https://ci.example.org/other" }), release1)},
		{name: "an untrusted key", check: "provenance-signature", reason: "signed only by keys that are not trusted: " + stranger.Public.ID,
			env: tmSign(t, envelope.PayloadType, good, stranger)},
		{name: "1 signature where 2 are required", check: "provenance-signature-threshold", reason: "1 distinct trusted key(s) signed (release-1 (" + release1.Public.ID + ")) where 2 are required",
			env: tmSign(t, envelope.PayloadType, good, release1), require: 2},
		{name: "the same key twice where 2 are required", check: "provenance-signature-threshold", reason: "where 2 are required",
			env: func() *dsse.Envelope {
				e := tmSign(t, envelope.PayloadType, good, release1)
				e.Signatures = append(e.Signatures, e.Signatures[0])
				return e
			}(), require: 2},
		{name: "the payload changed after signing", check: "provenance-signature", reason: "the signature of trusted key release-1 (" + release1.Public.ID + ") does not verify",
			env: changedAfter},
		{name: "no signature", check: "provenance-signature", reason: "the envelope has no signature",
			env: &dsse.Envelope{PayloadType: envelope.PayloadType, Payload: base64.StdEncoding.EncodeToString(good)}},
		{name: "another flake.lock", check: "provenance-lock", reason: "input nixpkgs differs", lock: otherLock,
			env: tmSign(t, envelope.PayloadType, good, release1)},
		{name: "another commit", check: "provenance-commit", reason: "the source commit is " + tmCommit + ", not " + strings.Repeat("a", 40), commit: strings.Repeat("a", 40),
			env: tmSign(t, envelope.PayloadType, good, release1)},
		{name: "not a statement", check: "provenance-statement", reason: "the payload is not a provenance statement",
			env: tmSign(t, envelope.PayloadType, []byte(`{"hello": "world"}`), release1)},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := &provenance.Evidence{EnvelopePath: "app.intoto.jsonl", Envelope: c.env, Keys: trusted, Require: max(1, c.require),
				Artifact: artifact, Lock: tmLock(t), LockPath: "flake.lock", Commit: tmCommit}
			if c.lock != nil {
				ev.Lock = c.lock
			}
			if c.commit != "" {
				ev.Commit = c.commit
			}
			res := check.Run(context.Background(), InScope(check.ScopeProvenance), pol.Settings, check.Target{Input: ev}, nil)
			if len(res.Errors) > 0 {
				t.Fatalf("errors: %+v", res.Errors)
			}
			var failed []string
			for _, f := range res.Findings {
				failed = append(failed, f.CheckID)
				if f.CheckID == c.check && !strings.Contains(f.Message, c.reason) {
					t.Errorf("%s says %q, want it to contain %q", f.CheckID, f.Message, c.reason)
				}
			}
			failed = slices.Compact(failed)
			var want []string
			if c.check != "" {
				want = []string{c.check}
			}
			if !slices.Equal(failed, want) {
				b, _ := json.MarshalIndent(res.Findings, "", "  ")
				t.Errorf("failed checks %v, want %v:\n%s", failed, want, b)
			}
			seen[c.check] = true
		})
	}
	// Every provenance check has a case that fails it alone.
	for _, c := range InScope(check.ScopeProvenance) {
		if !seen[c.ID] {
			t.Errorf("no tamper case fails %s", c.ID)
		}
	}
}
