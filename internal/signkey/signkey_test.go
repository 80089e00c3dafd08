package signkey

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

const payloadType = "application/vnd.in-toto+json"

var payload = []byte(`{"_type":"https://in-toto.io/Statement/v1"}`)

// signAndVerify signs payload with s into a DSSE envelope and verifies it
// with go-securesystemslib against each public form of the key.
func signAndVerify(t *testing.T, s *Signer, pubs ...PublicKey) {
	t.Helper()
	ctx := context.Background()
	es, err := dsse.NewEnvelopeSigner(s)
	if err != nil {
		t.Fatal(err)
	}
	env, err := es.SignPayload(ctx, payloadType, payload)
	if err != nil {
		t.Fatal(err)
	}
	if env.Signatures[0].KeyID != s.Public.ID {
		t.Errorf("key id %q, want %q", env.Signatures[0].KeyID, s.Public.ID)
	}
	for _, pub := range append([]PublicKey{s.Public}, pubs...) {
		ev, err := dsse.NewEnvelopeVerifier(pub)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ev.Verify(ctx, env); err != nil {
			t.Errorf("verify with %s: %v", pub.Label(), err)
		}
		// A changed payload does not verify.
		bad := *env
		bad.PayloadType = "application/json"
		if _, err := ev.Verify(ctx, &bad); err == nil {
			t.Errorf("verify with %s accepted a changed payload type", pub.Label())
		}
	}
}

func writeKey(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNixKey signs with a key made by the real `nix key generate-secret`
// and verifies with the public key `nix key convert-secret-to-public`
// prints.
func TestNixKey(t *testing.T) {
	dir := t.TempDir()
	sec, err := exec.Command("nix", "--extra-experimental-features", "nix-command", "key", "generate-secret", "--key-name", "release-2026-1").Output()
	if err != nil {
		t.Fatalf("nix key generate-secret: %v", err)
	}
	cmd := exec.Command("nix", "--extra-experimental-features", "nix-command", "key", "convert-secret-to-public")
	cmd.Stdin = bytes.NewReader(sec)
	pubLine, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix key convert-secret-to-public: %v", err)
	}
	s, err := Open(writeKey(t, dir, "release.sec", sec), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend != BackendNix || s.Public.Name != "release-2026-1" {
		t.Errorf("backend %s, name %s", s.Backend, s.Public.Name)
	}
	pubs, err := ParsePublicKeys(pubLine)
	if err != nil {
		t.Fatal(err)
	}
	if pubs[0].ID != s.Public.ID {
		t.Errorf("nix's public key has id %s, the signer %s", pubs[0].ID, s.Public.ID)
	}
	nixForm, _ := s.Public.NixFormat()
	if nixForm != strings.TrimSpace(string(pubLine)) {
		t.Errorf("NixFormat %q, nix says %q", nixForm, pubLine)
	}
	// The PEM and OpenSSH forms are the same key.
	pemBytes, _ := s.Public.PEM()
	pemKeys, err := ParsePublicKeys(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	sshLine, _ := s.Public.SSHFormat()
	sshKeys, err := ParsePublicKeys([]byte(sshLine))
	if err != nil {
		t.Fatal(err)
	}
	signAndVerify(t, s, pubs[0], pemKeys[0], sshKeys[0])
}

func TestAgeKey(t *testing.T) {
	defer func(w int) { scryptWorkFactor = w }(scryptWorkFactor)
	scryptWorkFactor = 12
	dir := t.TempDir()
	sec, _, err := GenerateNix("release-age")
	if err != nil {
		t.Fatal(err)
	}
	var enc bytes.Buffer
	if err := EncryptAge(&enc, []byte(sec+"\n"), []byte("correct horse")); err != nil {
		t.Fatal(err)
	}
	file := writeKey(t, dir, "release.age", enc.Bytes())
	var asked []string
	ask := func(pass string) func(string) ([]byte, error) {
		return func(prompt string) ([]byte, error) { asked = append(asked, prompt); return []byte(pass), nil }
	}
	s, err := Open(file, Options{Passphrase: ask("correct horse")})
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend != BackendAge || len(asked) != 1 || !strings.Contains(asked[0], "release.age") {
		t.Errorf("backend %s, prompts %q", s.Backend, asked)
	}
	signAndVerify(t, s)
	if _, err := Open(file, Options{Passphrase: ask("wrong")}); err == nil {
		t.Error("a wrong passphrase opened the key")
	}
	if _, err := Open(file, Options{}); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("no terminal: %v", err)
	}
}

// startAgent runs the real ssh-agent on a socket in dir and adds the keys
// ssh-keygen makes for each type.
func startAgent(t *testing.T) (sock string, pubFiles map[string]string) {
	t.Helper()
	for _, tool := range []string{"ssh-agent", "ssh-add", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (make deps installs openssh-client)", tool)
		}
	}
	dir, err := os.MkdirTemp("", "nixgate-agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock = filepath.Join(dir, "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	pubFiles = map[string]string{}
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		key := filepath.Join(dir, "id_"+typ)
		args := []string{"-q", "-t", typ, "-N", "", "-C", "token-" + typ, "-f", key}
		if typ == "rsa" {
			args = append(args, "-b", "2048")
		}
		if out, err := exec.Command("ssh-keygen", args...).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v\n%s", err, out)
		}
		add := exec.Command("ssh-add", key)
		add.Env = []string{"SSH_AUTH_SOCK=" + sock}
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("ssh-add: %v\n%s", err, out)
		}
		pubFiles[typ] = key + ".pub"
	}
	return sock, pubFiles
}

func TestAgentKeys(t *testing.T) {
	sock, pubs := startAgent(t)
	o := Options{Environ: []string{"SSH_AUTH_SOCK=" + sock}}
	for _, typ := range []string{"ed25519", "ecdsa", "rsa"} {
		t.Run(typ, func(t *testing.T) {
			data, err := os.ReadFile(pubs[typ])
			if err != nil {
				t.Fatal(err)
			}
			pk, err := ParsePublicKeys(data)
			if err != nil {
				t.Fatal(err)
			}
			// By public key file, by fingerprint and by comment.
			for _, sel := range []string{pubs[typ], pk[0].ID, "token-" + typ} {
				s, err := Open(AgentPrefix+sel, o)
				if err != nil {
					t.Fatalf("%s: %v", sel, err)
				}
				if s.Backend != BackendAgent || s.Public.ID != pk[0].ID {
					t.Errorf("%s: backend %s, id %s, want %s", sel, s.Backend, s.Public.ID, pk[0].ID)
				}
				signAndVerify(t, s, pk[0])
				s.Close()
			}
		})
	}
	if _, err := Open(AgentPrefix, o); err == nil || !strings.Contains(err.Error(), "holds 3 keys") {
		t.Errorf("ambiguous agent key: %v", err)
	}
	if _, err := Open(AgentPrefix+"SHA256:nope", o); err == nil || !strings.Contains(err.Error(), "no key matching") {
		t.Errorf("unknown agent key: %v", err)
	}
	if _, err := Open(AgentPrefix, Options{}); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Errorf("no agent: %v", err)
	}
}

func TestBadKeys(t *testing.T) {
	dir := t.TempDir()
	sec, pub, _ := GenerateNix("k")
	name, b64, _ := strings.Cut(sec, ":")
	mismatched := name + ":" + b64[:len(b64)-8] + "AAAAAAA="
	for label, data := range map[string]string{
		"public key as secret": pub,
		"not a key":            "hello",
		"bad base64":           "k:!!!",
		"two lines":            sec + "\n" + sec,
		"mismatched halves":    mismatched,
	} {
		if _, err := Open(writeKey(t, dir, "k", []byte(data)), Options{}); err == nil {
			t.Errorf("%s: opened", label)
		}
	}
	for label, data := range map[string]string{
		"secret as public": sec,
		"empty":            "",
		"short":            "k:AAAA",
		"pem private":      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"fido":             "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIEX/dQ0v4127bEo8eeG1EV0ApO2lWbSnN6RWusn/NjqIAAAABHNzaDo= fido",
	} {
		if _, err := ParsePublicKeys([]byte(data)); err == nil {
			t.Errorf("%s: parsed", label)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing"), Options{}); err == nil || errors.Is(err, os.ErrExist) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParsePublicKeys: no panic on any key file, and a bound on time.
func FuzzParsePublicKeys(f *testing.F) {
	_, pub, _ := GenerateNix("seed")
	f.Add([]byte(pub))
	f.Add([]byte("# comment\n\n" + pub + "\n"))
	f.Add([]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFn0jJ0c9bYtJkX6r9Q4gxZBqBn5m0m8+3Jr3Vy4z8mY c"))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAr6T8/9f72gQ79ILoJ/2LIfGaKjpb3WxKuF2cwvx1DCQ=\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte("a:b:c"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			keys, err := ParsePublicKeys(data)
			if err == nil && len(keys) == 0 {
				t.Fatal("no key and no error")
			}
		})
	})
}
