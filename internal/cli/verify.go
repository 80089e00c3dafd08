package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/envelope"
	"github.com/nixgate/nixgate/internal/flakelock"
	"github.com/nixgate/nixgate/internal/lazyre"
	"github.com/nixgate/nixgate/internal/nixcli"
	"github.com/nixgate/nixgate/internal/provenance"
	"github.com/nixgate/nixgate/internal/repo"
	"github.com/nixgate/nixgate/internal/report"
	"github.com/nixgate/nixgate/internal/sbom"
	"github.com/nixgate/nixgate/internal/signkey"
)

type verifyFlags struct {
	envelope string
	keys     []string
	require  int
	lock     string
	commit   string
	store    string
	gateFlags
}

func newVerifyCmd(e *env) *cobra.Command {
	f := &verifyFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "verify ARTIFACT|STORE-PATH --provenance ENVELOPE --key PUB...",
		Short: "Verify an artifact's signed provenance: signatures, subject, builder, parameters, inputs, commit",
		Long: `Verify that ENVELOPE (from nixgate sign) vouches for ARTIFACT (a file: its
SHA-256) or STORE-PATH (its NAR hash, as nix path-info reports it), with the
provenance checks of the registry (nixgate checks; each failure has its own
check and reason, exit 1):

  provenance-signature            a valid signature from a trusted key (--key)
  provenance-signature-threshold  at least --require K distinct trusted keys
  provenance-payload-type         the payload is an in-toto statement
  provenance-statement            it is nixgate's SLSA Provenance v1
  provenance-subject              the artifact is one of its subjects
  provenance-builder              the builder id is allowed and paired with
                                  a key that signed (the policy's builders)
  provenance-external-parameters  only known, allowed external parameters
  provenance-lock                 the flake inputs equal --lock FILE
  provenance-commit               the source commit is --commit REV

--key (repeatable) is a public key file or value: a Nix public key
(name:BASE64), an OpenSSH public key, or PEM. The policy (--policy FILE,
default ./nixgate.toml) configures allowed builders and parameters:

  [checks.provenance-builder.builders]
  "https://ci.example.org/nix" = ["release-2026-1"]
  [checks.provenance-external-parameters]
  flakes = ["."]
  attributes = ["packages.x86_64-linux.*"]

` + exitCodesHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runVerify(cmd, e, f, o, args[0]) },
	}
	o = addOutputFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.envelope, "provenance", "", "the signed provenance: a DSSE envelope `FILE` (nixgate sign)")
	fl.StringArrayVar(&f.keys, "key", nil, "trust the public key `PUB` (a file, or a Nix public key name:BASE64; repeatable)")
	fl.IntVar(&f.require, "require", 1, "require signatures by `K` distinct trusted keys")
	fl.StringVar(&f.lock, "lock", "", "the flake.lock `FILE` the provenance's inputs must equal")
	fl.StringVar(&f.commit, "commit", "", "the commit `REV` the provenance's source must be (a full hash, or a revision of the repository here)")
	fl.StringVar(&f.store, "store", "", "the Nix store `URI` holding STORE-PATH (default: Nix's default store)")
	f.gateFlags.add(cmd, "./nixgate.toml", check.ScopeProvenance)
	return cmd
}

var fullCommitRE = lazyre.New(`^[0-9a-fA-F]{40}$`)

// readPublicKeys reads --key values: files, or Nix/OpenSSH public keys
// given inline.
func readPublicKeys(specs []string) ([]signkey.PublicKey, error) {
	var keys []signkey.PublicKey
	for _, s := range specs {
		data, err := os.ReadFile(s)
		if errors.Is(err, fs.ErrNotExist) {
			// Not a file: a key given inline (name:BASE64, ssh-ed25519 …).
			if ks, perr := signkey.ParsePublicKeys([]byte(s)); perr == nil {
				keys = append(keys, ks...)
				continue
			}
		}
		if err != nil {
			return nil, badInput(fmt.Errorf("--key: %w", err))
		}
		ks, err := signkey.ParsePublicKeys(data)
		if err != nil {
			return nil, badInput(fmt.Errorf("--key %s: %w", s, err))
		}
		keys = append(keys, ks...)
	}
	return keys, nil
}

func runVerify(cmd *cobra.Command, e *env, f *verifyFlags, o *outputFlags, arg string) error {
	ctx := cmd.Context()
	out, err := o.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	if f.envelope == "" {
		return usagef("name the signed provenance with --provenance ENVELOPE")
	}
	if len(f.keys) == 0 {
		return usagef("name the trusted public keys with --key")
	}
	keys, err := readPublicKeys(f.keys)
	if err != nil {
		return err
	}
	var ids []string
	for _, k := range keys {
		if !slices.Contains(ids, k.ID) {
			ids = append(ids, k.ID)
		}
	}
	if f.require < 1 || f.require > len(ids) {
		return usagef("--require %d: want between 1 and the number of distinct trusted keys (%d)", f.require, len(ids))
	}
	g, err := f.resolve(".")
	if err != nil {
		return err
	}
	data, err := readBounded(f.envelope, 32<<20)
	if err != nil {
		return badInput(fmt.Errorf("--provenance: %w", err))
	}
	env, err := envelope.Parse(data)
	if err != nil {
		return badInput(fmt.Errorf("--provenance %s: %w", f.envelope, err))
	}
	ev := &provenance.Evidence{EnvelopePath: f.envelope, Envelope: env, Keys: keys, Require: f.require}

	if p := storePathOf(arg); p != "" {
		infos, err := nixcli.Outputs(ctx, nixcli.Query{Store: f.store, Installables: []string{p}})
		if err != nil {
			return nixFailed("nix path-info "+p, err)
		}
		if len(infos) != 1 || (infos[0].Valid != nil && !*infos[0].Valid) {
			return badInput(fmt.Errorf("%s is not valid in the store", p))
		}
		h, err := sbom.NarHashHex(infos[0].NarHash)
		if err != nil {
			return incompletef("%s: %w", p, err)
		}
		ev.Artifact = provenance.Artifact{Name: p, SHA256: h, NAR: true}
	} else {
		h, err := sha256File(arg)
		if err != nil {
			return badInput(err)
		}
		ev.Artifact = provenance.Artifact{Name: arg, SHA256: h}
	}
	if f.lock != "" {
		b, err := os.ReadFile(f.lock)
		if err != nil {
			return badInput(fmt.Errorf("--lock: %w", err))
		}
		if ev.Lock, err = flakelock.Parse(b); err != nil {
			return badInput(fmt.Errorf("%s:%w", f.lock, err))
		}
		ev.LockPath = f.lock
	}
	if c := f.commit; c != "" {
		if !fullCommitRE().MatchString(c) {
			out, err := repo.Git(ctx, ".", "rev-parse", "--verify", "--end-of-options", c+"^{commit}")
			if err != nil {
				return usagef("--commit %s: unknown revision (give a full commit hash, or run where the repository is): %v", c, err)
			}
			c = strings.TrimSpace(string(out))
		}
		ev.Commit = strings.ToLower(c)
	}
	res := check.Run(ctx, g.checks, g.settings, check.Target{Input: ev}, g.baseline)
	rep := &report.Report{Command: "verify", Target: arg, ToolVersion: Version(), FailOn: g.failOn, Result: res, Extra: verifyExtra(ctx, ev)}
	if out.Format == "text" || out.Format == "markdown" {
		writeProvenanceSummary(ctx, out, ev)
	}
	return writeReport(e, out, rep)
}

// verifyInfo is the "extra" section of the verify report.
type verifyInfo struct {
	Artifact  provenance.Artifact `json:"artifact"`
	Envelope  string              `json:"envelope"`
	Trusted   []string            `json:"trustedKeys"`
	Accepted  []string            `json:"acceptedKeys"`
	Require   int                 `json:"require"`
	BuilderID string              `json:"builderId,omitempty"`
	Commit    string              `json:"sourceCommit,omitempty"`
}

func verifyExtra(ctx context.Context, ev *provenance.Evidence) verifyInfo {
	vi := verifyInfo{Artifact: ev.Artifact, Envelope: ev.EnvelopePath, Require: ev.Require, Trusted: []string{}, Accepted: []string{}}
	for _, k := range ev.Keys {
		vi.Trusted = append(vi.Trusted, k.Label())
	}
	if r, err := ev.Signatures(ctx); err == nil {
		for _, k := range r.Accepted {
			vi.Accepted = append(vi.Accepted, k.Label())
		}
	}
	if st, err := ev.Statement(); err == nil {
		vi.BuilderID = st.BuilderID()
		for _, d := range st.Dependencies() {
			if d.GetName() == provenance.SourceName {
				vi.Commit = d.GetDigest()["gitCommit"]
			}
		}
	}
	return vi
}

func writeProvenanceSummary(ctx context.Context, out *sink, ev *provenance.Evidence) {
	bullet := ""
	if out.Format == "markdown" {
		bullet = "- "
	}
	vi := verifyExtra(ctx, ev)
	what := "sha256"
	if ev.Artifact.NAR {
		what = "NAR sha256"
	}
	safe := report.SafeText
	if out.Format == "markdown" {
		safe = report.MarkdownCell
	}
	fmt.Fprintf(out.W, "%sartifact: %s (%s:%s)\n", bullet, safe(ev.Artifact.Name), what, ev.Artifact.SHA256)
	fmt.Fprintf(out.W, "%sprovenance: %s, signed by %s of %d trusted key(s); %d required\n", bullet, safe(ev.EnvelopePath), orDefault(strings.Join(vi.Accepted, ", "), "none"), len(vi.Trusted), ev.Require)
	if vi.BuilderID != "" {
		fmt.Fprintf(out.W, "%sbuilder: %s; source commit: %s\n", bullet, safe(vi.BuilderID), safe(orDefault(vi.Commit, "none")))
	}
	fmt.Fprintln(out.W)
}
