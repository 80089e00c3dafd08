package envelope

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
	"github.com/nixgate/nixgate/internal/signkey"
)

func key(t *testing.T, name string) *signkey.Signer {
	t.Helper()
	sec, _, err := signkey.GenerateNix(name)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, []byte(sec), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := signkey.Open(f, signkey.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignCoSignVerify(t *testing.T) {
	ctx := context.Background()
	a, b, c := key(t, "a"), key(t, "b"), key(t, "c")
	env, err := Sign(ctx, []byte(`{"x":1}`), a)
	if err != nil {
		t.Fatal(err)
	}
	trusted := []signkey.PublicKey{a.Public, b.Public}
	res, err := Verify(ctx, env, trusted, 2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Err == nil || len(res.Accepted) != 1 {
		t.Errorf("1 of 2: %+v", res)
	}
	if err := AddSignatures(ctx, env, a); err == nil {
		t.Error("the same key co-signed twice")
	}
	if err := AddSignatures(ctx, env, b); err != nil {
		t.Fatal(err)
	}
	// Round trip through JSON.
	data, err := Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	env2, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = Verify(ctx, env2, trusted, 2); err != nil || res.Err != nil || len(res.Accepted) != 2 {
		t.Errorf("2 of 2: %+v %v", res, err)
	}
	if err := AddSignatures(ctx, env2, c); err != nil {
		t.Fatal(err)
	}
	res, _ = Verify(ctx, env2, trusted, 1)
	if len(res.Untrusted) != 1 || res.Untrusted[0] != c.Public.ID || res.Err != nil {
		t.Errorf("an extra untrusted signature: %+v", res)
	}
	// A duplicated key in the trusted list counts once.
	if _, err := Verify(ctx, env2, []signkey.PublicKey{a.Public, a.Public}, 2); err == nil {
		t.Error("a key given twice counted as two")
	}
	env2.PayloadType = "text/plain"
	res, _ = Verify(ctx, env2, trusted, 1)
	if len(res.Invalid) != 2 || res.Err == nil {
		t.Errorf("changed payload type: %+v", res)
	}
}

func TestParseRejects(t *testing.T) {
	for name, s := range map[string]string{
		"empty":         ``,
		"no payload":    `{"payloadType":"x","signatures":[]}`,
		"bad payload":   `{"payloadType":"x","payload":"!!","signatures":[]}`,
		"bad signature": `{"payloadType":"x","payload":"e30=","signatures":[{"keyid":"","sig":"!!"}]}`,
		"unknown field": `{"payloadType":"x","payload":"e30=","signatures":[],"extra":1}`,
		"trailing data": `{"payloadType":"x","payload":"e30=","signatures":[]} {}`,
	} {
		if _, err := Parse([]byte(s)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// FuzzParse: no panic on any envelope, bounded time.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"SHA256:x","sig":"AAAA"}]}`))
	f.Add([]byte(`{"payloadType":"","payload":"e30-","signatures":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			env, err := Parse(data)
			if err == nil && env.Payload == "" {
				t.Fatal("parsed an envelope without a payload")
			}
		})
	})
}

func TestBundle(t *testing.T) {
	ctx := context.Background()
	a, b := key(t, "a"), key(t, "b")
	env, err := Sign(ctx, []byte(`{"x":1}`), a, b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Bundle(env, b.Public.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"`, `"hint": "` + b.Public.ID + `"`, `"payloadType": "application/vnd.in-toto+json"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("bundle lacks %s:\n%s", want, got)
		}
	}
	if strings.Count(string(got), `"keyid"`) != 1 {
		t.Errorf("want one signature in the bundle:\n%s", got)
	}
	if _, err := Bundle(env, "SHA256:other"); err == nil {
		t.Error("a bundle for a key that did not sign")
	}
}
