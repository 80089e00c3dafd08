package ciscan

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

const badWorkflow = `name: ci
on:
  pull_request_target:
    types: [opened]
permissions: write-all
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - uses: cachix/install-nix-action@08dcb3a5e62fa31e2da3d490afc4176ef55ecd72
        with:
          extra_nix_config: |
            sandbox = false
      - name: greet
        run: |
          echo "title: ${{ github.event.pull_request.title }}"
          echo "sha: ${{ github.sha }}"
          curl -fsSL https://example.org/install.sh | sudo bash
          nix build --option sandbox false .#image
      - uses: docker://alpine:3.20
  reuse:
    permissions: write-all
    uses: org/repo/.github/workflows/x.yml@main
`

func kinds(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%d %s", f.Line, f.Kind))
	}
	return out
}

func TestHarden(t *testing.T) {
	fs, err := Harden(".github/workflows/ci.yml", []byte(badWorkflow))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"5 permissions",
		"10 unpinned-action",
		"12 untrusted-checkout",
		"16 sandbox-off",
		"19 injection",
		"21 curl-pipe-shell",
		"22 sandbox-off",
		"23 unpinned-action",
		"25 permissions",
		"26 unpinned-action",
	}
	if diff := cmp.Diff(want, kinds(fs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
		for _, f := range fs {
			t.Logf("%d %s %s: %s", f.Line, f.Kind, f.Step, f.Message)
		}
	}
}

func TestHardenClean(t *testing.T) {
	src := `on: [push, pull_request]
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - uses: ./.github/actions/local
      - run: |
          nix build --option sandbox true .#default
          echo "${{ github.sha }} ${{ github.event.pull_request.number }}"
          echo "$TITLE"
        env:
          TITLE: ${{ github.event.pull_request.title }}
`
	fs, err := Harden(".github/workflows/ci.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 0 {
		t.Errorf("findings in a clean workflow: %v", kinds(fs))
	}
	if _, err := Harden("x.yml", []byte("a: [")); err == nil {
		t.Error("bad YAML accepted")
	}
}

func TestSigns(t *testing.T) {
	files := map[string]string{
		".github/workflows/release.yml": `on: push
permissions: {contents: read}
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - name: build
        run: nix build .#uki
      - name: sign the UKI
        run: |
          sbsign --key db.key --cert db.crt result/uki.efi
          ./scripts/publish.sh
        env:
          DB_KEY: ${{ secrets.SECURE_BOOT_DB_KEY }}
      - run: echo ok # gpg --detach-sign in a comment
`,
		"scripts/publish.sh": "#!/bin/sh\nset -e\nnix store sign --key-file \"$NIX_SIGNING_KEY_FILE\" ./result\nnix copy --to s3://cache ./result\ncosign sign-blob x\n",
		"scripts/unused.sh":  "#!/bin/sh\nsbsign x\n",
		".gitlab-ci.yml":     "build:\n  script:\n    - nix build\n    - gpg --armor --detach-sign out.tar\n    - echo $GPG_TTY\n",
		".ci/run":            "#!/usr/bin/env bash\nset -euo pipefail\ncd \"$(dirname \"$0\")/..\"\nmake test\n",
		"Jenkinsfile":        "pipeline {\n  // sh 'osslsigncode sign x'\n  stages { stage('b') { steps { sh 'nix build' } } }\n}\n",
	}
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
	fs, err := Signs(names, read, func(string) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	sortFindings(fs)
	var got []string
	for _, f := range fs {
		got = append(got, fmt.Sprintf("%s:%d %s [%s]", f.Path, f.Line, f.Kind, f.Step))
	}
	want := []string{
		`.github/workflows/release.yml:11 sign [step "sign the UKI" (job release)]`,
		`.github/workflows/release.yml:14 secret [step "sign the UKI" (job release)]`,
		`.gitlab-ci.yml:4 sign [job build]`,
		`scripts/publish.sh:3 sign [called from .github/workflows/release.yml (step "sign the UKI" (job release))]`,
		`scripts/publish.sh:3 secret [called from .github/workflows/release.yml (step "sign the UKI" (job release))]`,
		`scripts/publish.sh:4 deploy [called from .github/workflows/release.yml (step "sign the UKI" (job release))]`,
		`scripts/publish.sh:5 sign [called from .github/workflows/release.yml (step "sign the UKI" (job release))]`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSignRulesNegative(t *testing.T) {
	for _, l := range []string{
		"gpg --verify SHA256SUMS.sig", "gpg --import KEYS", "nix build .#sign-tool", "echo signing is done offline",
		"cosign verify-blob x", "nix copy --from https://cache.nixos.org ./result", "make test", "git commit -s -m x",
	} {
		if m, ok, _ := scanLine(l); ok {
			t.Errorf("%q matched %+v", l, m)
		}
	}
}

func FuzzHarden(f *testing.F) {
	f.Add(badWorkflow)
	f.Add("on: push\njobs: {a: {steps: [{run: x}]}}\n")
	f.Fuzz(func(t *testing.T, src string) {
		fuzzlimit.Default(t, func() {
			Harden(".github/workflows/x.yml", []byte(src))
			buildContext(".github/workflows/x.yml", []byte(src), strings.Count(src, "\n")+1)
			buildContext(".gitlab-ci.yml", []byte(src), strings.Count(src, "\n")+1)
			buildContext(".buildkite/pipeline.yml", []byte(src), strings.Count(src, "\n")+1)
		})
	})
}

// A pull_request_target job that checks out the head only for merged pull
// requests (the backport workflows of NixOS/nix and nixvim) checks out
// reviewed code; without the guard, or with a guard that can be bypassed,
// it is the classic takeover.
func TestHardenMergedGuard(t *testing.T) {
	wf := func(cond string) string {
		return "on:\n  pull_request_target:\n    types: [closed, labeled]\npermissions: {contents: read}\njobs:\n  backport:\n" +
			"    if: " + cond + "\n    runs-on: ubuntu-latest\n    steps:\n" +
			"      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n"
	}
	for cond, want := range map[string]string{
		"github.repository_owner == 'NixOS' && github.event.pull_request.merged == true && (github.event.action != 'labeled' || startsWith(github.event.label.name, 'backport'))": "merged-checkout",
		">\n      vars.CI_APP_ID\n      && github.event.pull_request.merged == true\n      && (\n        github.event.action != 'labeled'\n      )":                               "merged-checkout",
		"${{ github.event.pull_request.merged }}":                          "merged-checkout",
		"github.event.pull_request.merged == true || github.actor == 'x'":  "untrusted-checkout",
		"!github.event.pull_request.merged":                                "untrusted-checkout",
		"github.event.pull_request.merged == false":                        "untrusted-checkout",
		"github.event.action == 'labeled'":                                 "untrusted-checkout",
		"contains(github.event.pull_request.title, 'pull_request.merged')": "untrusted-checkout",
	} {
		fs, err := Harden(".github/workflows/b.yml", []byte(wf(cond)))
		if err != nil {
			t.Fatalf("%s: %v", cond, err)
		}
		if len(fs) != 1 || fs[0].Kind != want {
			t.Errorf("if: %s: got %v, want one %s", cond, kinds(fs), want)
		}
	}
}
