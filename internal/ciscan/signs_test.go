package ciscan

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

func scan(t *testing.T, repository string, files map[string]string) []string {
	t.Helper()
	var names []string
	for n := range files {
		names = append(names, n)
	}
	read := func(n string) ([]byte, error) {
		s, ok := files[n]
		if !ok {
			return nil, os.ErrNotExist
		}
		return []byte(s), nil
	}
	fs, err := ScanSigns(SignsInput{Files: names, Read: read, Repository: repository})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, fmt.Sprintf("%s:%d %s %s: %s", f.Path, f.Line, f.Kind, f.Signing, f.Message))
	}
	return got
}

// The false class of issue 22: a step that mints a GitHub App token uses a
// secret named *_PRIVATE_KEY; that key authenticates a bot and signs
// nothing. Its true twin feeds a Secure Boot key to sbsign.
func TestSignsBotCredentialsAreNotSigning(t *testing.T) {
	got := scan(t, "", map[string]string{
		".github/workflows/backport.yml": `on: pull_request_target
jobs:
  backport:
    runs-on: ubuntu-latest
    steps:
      - name: Create GitHub App token
        uses: actions/create-github-app-token@v2
        id: app-token
        with:
          app-id: ${{ vars.CI_APP_ID }}
          private-key: ${{ secrets.CI_APP_PRIVATE_KEY }}
      - uses: tibdex/github-app-token@v2
        with:
          private_key: ${{ secrets.PRIVATE_KEY }}
      - uses: webfactory/ssh-agent@v0.9.0
        with:
          ssh-private-key: ${{ secrets.SSH_PRIVATE_KEY }}
      - uses: actions/checkout@v4
        with:
          ssh-key: ${{ secrets.DEPLOY_KEY }}
      - run: git push
        env:
          GH_APP_PRIVATE_KEY: ${{ secrets.GH_APP_PRIVATE_KEY }}
`,
	})
	if len(got) != 0 {
		t.Errorf("bot credentials reported as signing:\n%s", strings.Join(got, "\n"))
	}
	got = scan(t, "", map[string]string{
		".github/workflows/release.yml": `on: push
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - name: sign
        run: |
          sbsign --key <(echo "$PRIVATE_KEY") --cert db.crt result/uki.efi
        env:
          PRIVATE_KEY: ${{ secrets.PRIVATE_KEY }}
      - run: echo "$UNUSED_PRIVATE_KEY"
`,
	})
	want := []string{
		".github/workflows/release.yml:8 sign key: signs with `sbsign`, with a key the job holds: whoever can change this pipeline can sign with it",
		".github/workflows/release.yml:8 secret : uses the secret PRIVATE_KEY, a private key, in a step that signs (`sbsign`)",
		".github/workflows/release.yml:10 secret : uses the secret PRIVATE_KEY, a private key, in a step that signs (`sbsign`)",
		".github/workflows/release.yml:11 secret-unknown : uses the secret UNUSED_PRIVATE_KEY, a private key this CI does not show a use for: if it signs, CI holds a signing key",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// Keyless signing (cosign with the job's OIDC token, no key material) is
// told from key-based signing, and names the identity it will carry.
func TestSignsKeylessAndKeyBased(t *testing.T) {
	got := scan(t, "huggingface/kernels-community", map[string]string{
		".github/workflows/build.yaml": `on: workflow_dispatch
permissions:
  contents: read
jobs:
  build:
    permissions:
      contents: read
      id-token: write
    runs-on: ubuntu-latest
    steps:
      - uses: sigstore/cosign-installer@v4
      - name: Sign kernel metadata
        run: |
          cosign sign-blob "$f" --bundle "$f.sigstore" --yes
      - name: Attest
        uses: actions/attest-build-provenance@v2
  keyed:
    runs-on: ubuntu-latest
    steps:
      - run: cosign sign --key env://COSIGN_PRIVATE_KEY ghcr.io/x/y
      - run: |
          cosign sign-blob x \
            --key cosign.key
      - run: cosign sign ghcr.io/x/y
        env:
          COSIGN_PASSWORD: ${{ secrets.COSIGN_PASSWORD }}
      - run: cosign sign ghcr.io/x/y
`,
		".gitlab-ci.yml": `sign:
  id_tokens:
    SIGSTORE_ID_TOKEN:
      aud: sigstore
  script:
    - cosign sign-blob --yes out.tar
`,
	})
	id := "https://github.com/huggingface/kernels-community/.github/workflows/build.yaml@<ref> (issuer https://token.actions.githubusercontent.com)"
	want := []string{
		".github/workflows/build.yaml:14 sign keyless: signs with `cosign sign-blob` keyless: Sigstore certifies an ephemeral key for the workflow identity " + id + " and logs it in Rekor; no key can leak, but CI signs what it built before anyone reviewed it",
		".github/workflows/build.yaml:16 sign keyless: signs with `actions/attest-build-provenance` keyless: Sigstore certifies an ephemeral key for the workflow identity " + id + " and logs it in Rekor; no key can leak, but CI signs what it built before anyone reviewed it",
		".github/workflows/build.yaml:20 sign key: signs with `cosign sign` using the key `env://COSIGN_PRIVATE_KEY`: whoever can change this pipeline can sign with it",
		".github/workflows/build.yaml:22 sign key: signs with `cosign sign-blob` using the key `cosign.key`: whoever can change this pipeline can sign with it",
		".github/workflows/build.yaml:24 sign key: signs with `cosign sign` using a key from the environment: whoever can change this pipeline can sign with it",
		".github/workflows/build.yaml:26 secret : uses the secret COSIGN_PASSWORD, whose name says it is signing material",
		".github/workflows/build.yaml:27 sign : signs with `cosign sign`: the job cannot mint an OIDC token (no `id-token: write`), so it must hold a key",
		".gitlab-ci.yml:6 sign keyless: signs with `cosign sign-blob` keyless: Sigstore certifies an ephemeral key for the workflow identity https://gitlab.com/huggingface/kernels-community//.gitlab-ci.yml@<ref> (issuer https://gitlab.com) and logs it in Rekor; no key can leak, but CI signs what it built before anyone reviewed it",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestSignsCommands(t *testing.T) {
	for _, tc := range []struct {
		line string
		what string
	}{
		{"sudo /usr/bin/sbsign --key k x.efi", "sbsign"},
		{"nix --extra-experimental-features nix-command store sign -k /k ./result", "nix store sign"},
		{"nix sign-paths -k k ./result", "nix sign-paths"},
		{"nix key generate-secret --key-name x > k", "nix key generate-secret"},
		{"nix-store --generate-binary-cache-key n sk pk", "nix-store --generate-binary-cache-key"},
		{"gpg --batch --armor --detach-sign out.tar", "gpg --detach-sign"},
		{"gpg2 -bsa out.tar", "gpg -bsa"},
		{"bash -c 'gpg --clearsign x'", "gpg --clearsign"},
		{"sbctl sign -s /boot/x.efi", "sbctl sign"},
		{"signtool.exe sign /f k.pfx x.exe", "signtool.exe sign"},
		{"codesign --sign - x.app", "codesign"},
		{"minisign -Sm file", "signify -S"},
		{"openssl dgst -sha256 -sign k.pem -out s f", "openssl -sign"},
		{"cachix push mycache ./result", "cachix push"},
		{"nix copy --to s3://c ./result", "nix copy --to"},
		{"linux/scripts/sign-file sha256 k.pem k.x509 m.ko", "scripts/sign-file"},
		{"echo ok && cosign attest --predicate p x", "cosign attest"},
		{"-----BEGIN OPENSSH PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----"},
		{"extra-conf: secret-key-files = /k", "secret-key-files"},
	} {
		m, ok, _ := scanLine(tc.line)
		if !ok || m.what != tc.what {
			t.Errorf("%q: got %+v, want %q", tc.line, m, tc.what)
		}
	}
}

// The signing scanner is linear in the length of a line: a hostile
// workflow of one huge line costs time proportional to its size (issue
// 12: the regexp-based scanner took 1.5 s for 1 MB and 18 s for 10 MB).
func TestSignsLinear(t *testing.T) {
	// One line made of one unit repeated: each unit keeps a different part
	// of the scanner busy (words, gpg's pending state, expressions
	// without an end, YAML keys, PEM markers, cosign flags, continuation
	// lines).
	units := []string{"a", "gpg --verify ", "${{ secrets.", "-----BEGIN ", "cosign sign --key ", "./a.sh \\\n"}
	measure := func(unit string, size int) time.Duration {
		body := strings.Repeat(unit, size/len(unit))
		data := []byte("on: push\njobs:\n  a:\n    steps:\n      - run: " + body + "\n")
		read := func(string) ([]byte, error) { return data, nil }
		best := time.Duration(1 << 62)
		for range 3 - size>>23 { // the best of three runs at 1 MiB, of one at 16 MiB
			start := cpuTime()
			if _, err := ScanSigns(SignsInput{Files: []string{".github/workflows/x.yml"}, Read: read}); err != nil {
				t.Fatal(err)
			}
			best = min(best, cpuTime()-start)
		}
		return best
	}
	for _, unit := range units {
		small, large := measure(unit, 1<<20), measure(unit, 16<<20)
		t.Logf("%-24q 1 MiB %8v  16 MiB %8v  ratio %.1f", unit, small, large, float64(large)/float64(max(small, time.Millisecond)))
		// Linear is 16×; allow 3× for noise on a shared machine (a
		// quadratic scanner is 256×), with a floor for tiny timings.
		if large > 48*max(small, 5*time.Millisecond) {
			t.Errorf("%q: 16 MiB took %v, 1 MiB %v: worse than linear", unit, large, small)
		}
	}
}

// cpuTime is the process's CPU time (user and system): unlike wall time it
// hardly moves when other processes load the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// FuzzSigns: the CI signing-script scanner never panics and stays within
// a time and memory bound per input.
func FuzzSigns(f *testing.F) {
	f.Add("on: push\njobs:\n  a:\n    permissions: {id-token: write}\n    steps:\n      - run: cosign sign-blob x\n", "./s.sh --key $KEY_SIGN")
	f.Add(badWorkflow, "gpg --detach-sign ${{ secrets.GPG_KEY }} \\\n -----BEGIN RSA PRIVATE KEY-----")
	f.Add("sign:\n  id_tokens: {X: {aud: sigstore}}\n  script: [cosign sign x]\n", "nix copy --to s3://x")
	f.Fuzz(func(t *testing.T, workflow, script string) {
		files := map[string][]byte{
			".github/workflows/x.yml": []byte(workflow),
			".gitlab-ci.yml":          []byte(workflow),
			".ci/run":                 []byte(script + "\n./s.sh"),
			"s.sh":                    []byte(script),
		}
		read := func(n string) ([]byte, error) { return files[n], nil }
		var fs []Finding
		fuzzlimit.Default(t, func() {
			var err error
			fs, err = ScanSigns(SignsInput{Files: []string{".ci/run", ".github/workflows/x.yml", ".gitlab-ci.yml", "s.sh"}, Read: read})
			if err != nil {
				t.Fatal(err)
			}
		})
		for _, f := range fs {
			if f.Line < 1 || f.Message == "" || f.Key == "" {
				t.Errorf("malformed finding %+v", f)
			}
		}
	})
}
