package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/ceremony"
	"github.com/nixgate/nixgate/internal/envelope"
	"github.com/nixgate/nixgate/internal/provenance"
	"github.com/nixgate/nixgate/internal/signkey"
)

type signFlags struct {
	keys   []string
	batch  bool
	log    string
	bundle string
}

func newSignCmd(e *env) *cobra.Command {
	f := &signFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "sign --key KEY STATEMENT|ENVELOPE -o ENVELOPE",
		Short: "Sign a provenance statement in the offline ceremony (a DSSE envelope)",
		Long: `Sign STATEMENT (what nixgate attest wrote) into a DSSE envelope, or add a
signature to ENVELOPE (a second key holder co-signing). This is the signing
ceremony, run on the offline signing machine by an operator:

  - it refuses, with exit 2, when any CI marker is set (CI, GITHUB_ACTIONS,
    GITLAB_CI, BUILDKITE, JENKINS_URL, TF_BUILD, CIRCLECI, TRAVIS, DRONE,
    TEAMCITY_VERSION, CODEBUILD_BUILD_ID, HYDRA_*, BUILDBOT_* and the others
    docs/provenance.md lists), when a key file can be read by its group or
    others, and when stdin is not a terminal unless --batch is given;
  - it shows the statement's digest and subjects and asks the operator to
    type the first 8 hex digits of the digest (--batch skips this);
  - it appends a line to the ceremony log (who, when, which digest, which
    keys): --log FILE, default $XDG_STATE_HOME/nixgate/ceremony.log.

--key (repeatable) is a file holding a Nix secret key (nix key
generate-secret), the same file encrypted with age and a passphrase (asked
on the terminal), or ssh-agent:[SHA256:FINGERPRINT|FILE.pub|COMMENT], a key of
the agent at SSH_AUTH_SOCK (hardware tokens are reached through their agent).
Every key is named by its SHA-256 fingerprint in the envelope. --bundle FILE
also writes the envelope as a Sigstore bundle v0.3 with a public key hint, for
tools that read bundles.

` + exitCodesHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runSign(cmd, e, f, o, args[0]) },
	}
	o = addOutputFlags(cmd, "json")
	fl := cmd.Flags()
	fl.StringArrayVar(&f.keys, "key", nil, "sign with `KEY`: a Nix secret key file, an age-encrypted one, or ssh-agent:[SHA256:FP|FILE.pub|COMMENT] (repeatable)")
	fl.BoolVar(&f.batch, "batch", false, "no operator confirmation at a terminal (refused in CI all the same)")
	fl.StringVar(&f.log, "log", "", "the ceremony log `FILE` (default: $XDG_STATE_HOME/nixgate/ceremony.log)")
	fl.StringVar(&f.bundle, "bundle", "", "also write the envelope as a Sigstore bundle v0.3 `FILE` (a public key hint, no certificate, no log entry)")
	cmd.AddCommand(newSignPublicKeyCmd(e))
	return cmd
}

// refusal maps a ceremony refusal to a usage error with its hint (exit 2).
func refusal(err error) error {
	var r *ceremony.Refusal
	if errors.As(err, &r) {
		if r.Hint != "" {
			return withHint(&UsageError{Err: err}, r.Hint)
		}
		return &UsageError{Err: err}
	}
	return err
}

func runSign(cmd *cobra.Command, e *env, f *signFlags, o *outputFlags, input string) error {
	ctx := cmd.Context()
	environ := os.Environ()
	if len(f.keys) == 0 {
		return usagef("name the signing key with --key")
	}
	if err := ceremony.Guard(ceremony.Conditions{Environ: environ, Batch: f.batch, Interactive: ceremony.IsTerminal(os.Stdin)}); err != nil {
		return refusal(err)
	}
	for _, k := range f.keys {
		if signkey.IsAgent(k) {
			continue
		}
		if err := ceremony.CheckKeyFile(k); err != nil {
			if errors.Is(err, ceremony.ErrRefused) {
				return refusal(err)
			}
			return badInput(err)
		}
	}
	logPath := f.log
	if logPath == "" {
		p, err := ceremony.DefaultLogPath(environ)
		if err != nil {
			return usagef("%v", err)
		}
		logPath = p
	}
	out, err := o.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()

	data, err := readBounded(input, 32<<20)
	if err != nil {
		return badInput(err)
	}
	// An envelope is co-signed; anything else must be a statement.
	var env *dsse.Envelope
	statement := data
	if ev, err := envelope.Parse(data); err == nil && ev.PayloadType != "" {
		if ev.PayloadType != envelope.PayloadType {
			return badInput(fmt.Errorf("%s: payload type %q is not an in-toto statement", input, ev.PayloadType))
		}
		env = ev
		statement, _ = ev.DecodeB64Payload()
	}
	st, err := provenance.Parse(statement)
	if err != nil {
		return badInput(fmt.Errorf("%s: %w", input, err))
	}
	sum := sha256.Sum256(statement)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	var subjects []string
	for _, s := range st.Statement.GetSubject() {
		subjects = append(subjects, s.GetName()+" sha256:"+s.GetDigest()["sha256"])
	}

	var tty *ceremony.Terminal
	openTTY := func() (*ceremony.Terminal, error) {
		if tty != nil {
			return tty, nil
		}
		t, err := ceremony.OpenTerminal()
		if err != nil {
			return nil, err
		}
		tty = t
		return t, nil
	}
	defer func() {
		if tty != nil {
			tty.Close()
		}
	}()
	if !f.batch {
		t, err := openTTY()
		if err != nil {
			return incompletef("%w", err)
		}
		if err := ceremony.Confirm(t, t, digest, subjects); err != nil {
			return refusal(err)
		}
	}
	opts := signkey.Options{Environ: environ, Passphrase: func(prompt string) ([]byte, error) {
		t, err := openTTY()
		if err != nil {
			return nil, fmt.Errorf("an age-encrypted key needs its passphrase from the terminal: %w", err)
		}
		return t.ReadPassphrase(prompt)
	}}
	var signers []dsse.Signer
	var ids, names, backends, labels []string
	for _, k := range f.keys {
		s, err := signkey.Open(k, opts)
		if err != nil {
			return badInput(err)
		}
		defer s.Close()
		if slices.Contains(ids, s.Public.ID) {
			return usagef("--key %s: the same key (%s) is named twice", k, s.Public.ID)
		}
		signers = append(signers, s)
		ids = append(ids, s.Public.ID)
		names = append(names, s.Public.Name)
		backends = append(backends, s.Backend)
		labels = append(labels, s.Public.Label())
	}
	if env == nil {
		if env, err = envelope.Sign(ctx, statement, signers...); err != nil {
			return incompletef("%w", err)
		}
	} else if err := envelope.AddSignatures(ctx, env, signers...); err != nil {
		return usagef("%s: %v", input, err)
	}
	// Check the new signatures before anything leaves the machine.
	var pubs []signkey.PublicKey
	for _, s := range signers {
		pubs = append(pubs, s.(*signkey.Signer).Public)
	}
	if res, err := envelope.Verify(ctx, env, pubs, len(pubs)); err != nil || res.Err != nil {
		return incompletef("the new signatures do not verify: %w", errors.Join(err, resErr(res)))
	}
	b, err := envelope.Marshal(env)
	if err != nil {
		return incompletef("%w", err)
	}
	var bundle []byte
	if f.bundle != "" {
		if bundle, err = envelope.Bundle(env, ids[0]); err != nil {
			return incompletef("bundle: %w", err)
		}
	}
	target := orDefault(o.output, "stdout")
	if err := ceremony.AppendLog(logPath, ceremony.LogEntry{
		Operator: ceremony.Operator(environ), Digest: digest, Subjects: subjects,
		KeyIDs: ids, KeyNames: names, Backends: backends, Confirmed: !f.batch,
		Statement: input, Envelope: target,
	}, time.Now()); err != nil {
		return incompletef("%w", err)
	}
	if _, err := out.W.Write(b); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	if bundle != nil {
		if err := writeFileAtomic(f.bundle, bundle); err != nil {
			return incompletef("--bundle: %w", err)
		}
	}
	fmt.Fprintf(e.stderr, "nixgate: signed %s with %s; %d signature(s) in the envelope; logged to %s\n", digest, strings.Join(labels, ", "), len(env.Signatures), logPath)
	return nil
}

func resErr(r *envelope.Result) error {
	if r == nil {
		return nil
	}
	return r.Err
}

func newSignPublicKeyCmd(e *env) *cobra.Command {
	var key, form string
	cmd := &cobra.Command{
		Use:   "public-key --key KEY",
		Short: "Print the public half of a signing key (Nix, OpenSSH or PEM form) for nixgate verify and cosign",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !signkey.IsAgent(key) {
				if err := ceremony.CheckKeyFile(key); err != nil {
					if errors.Is(err, ceremony.ErrRefused) {
						return refusal(err)
					}
					return badInput(err)
				}
			}
			s, err := signkey.Open(key, signkey.Options{Environ: os.Environ(), Passphrase: func(prompt string) ([]byte, error) {
				t, err := ceremony.OpenTerminal()
				if err != nil {
					return nil, err
				}
				defer t.Close()
				return t.ReadPassphrase(prompt)
			}})
			if err != nil {
				return badInput(err)
			}
			defer s.Close()
			var text string
			switch form {
			case "nix":
				text, err = s.Public.NixFormat()
				text += "\n"
			case "ssh":
				text, err = s.Public.SSHFormat()
				text += "\n"
			case "pem":
				var b []byte
				b, err = s.Public.PEM()
				text = string(b)
			default:
				return usagef("--form %q: want nix, ssh or pem", form)
			}
			if err != nil {
				return usagef("%v", err)
			}
			fmt.Fprint(e.stdout, text)
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "the signing `KEY` (as for nixgate sign)")
	cmd.Flags().StringVar(&form, "form", "nix", "the public key's `FORM`: nix, ssh or pem (what cosign reads)")
	return cmd
}

// readBounded reads a file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d MiB: not a statement", path, limit>>20)
	}
	return data, nil
}
