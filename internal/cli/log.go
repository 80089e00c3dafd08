package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/claim"
	"github.com/nixgate/nixgate/internal/claimlog"
	"github.com/nixgate/nixgate/internal/nixcli"
	"github.com/nixgate/nixgate/internal/rebuild"
	"github.com/nixgate/nixgate/internal/report"
	c2sp "github.com/nixgate/nixgate/internal/tlog"
	"github.com/nixgate/nixgate/internal/trust"
	"github.com/nixgate/nixgate/internal/witness"
)

func newLogCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "log",
		Short: "The build-claim transparency log: serve, submit, verify, witness",
		Long: `An append-only Merkle log of builders' signed claims: which builder built
which NAR for which store path. Claims carry genuine Nix signatures over the
narinfo fingerprint; checkpoints are C2SP signed notes, the read path is
C2SP tlog-tiles, witnesses cosign with tlog-witness, proofs are C2SP
tlog-proof files. See docs/log.md.

` + exitCodesHelp,
	}
	cmd.AddCommand(newLogKeygenCmd(e), newLogServeCmd(e), newLogBuilderCmd(e), newLogSubmitCmd(e),
		newLogVerifyCmd(e), newLogProofCmd(e), newLogFsckCmd(e), newLogWitnessCmd(e))
	return cmd
}

func newLogKeygenCmd(e *env) *cobra.Command {
	var out string
	var isWitness bool
	cmd := &cobra.Command{
		Use:   "keygen ORIGIN -o FILE",
		Short: "Write a log's (or, with --witness, a witness's) private key and print its verifier key",
		Long: `Writes the note signer key of a log whose origin is ORIGIN (such as
log.example.org/nix) to FILE, mode 0600, in golang.org/x/mod/sumdb/note's
PRIVATE+KEY+… format, and prints the verifier key (vkey) for policies and
witnesses. With --witness, ORIGIN is the witness's name and the key makes
cosignature/v1 signatures. FILE must not exist. Builders use ordinary Nix
keys (nix key generate-secret).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("name the key file with -o FILE")
			}
			gen := c2sp.GenerateLogKey
			if isWitness {
				gen = c2sp.GenerateCosignerKey
			}
			skey, vkey, err := gen(args[0])
			if err != nil {
				return usagef("%v", err)
			}
			if err := writeKeyFile(out, skey+"\n"); err != nil {
				return badInput(fmt.Errorf("write key: %w", err))
			}
			fmt.Fprintln(e.stdout, vkey)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the private key to `FILE` (mode 0600; must not exist)")
	cmd.Flags().BoolVar(&isWitness, "witness", false, "make a witness's cosignature/v1 key")
	return cmd
}

// writeKeyFile writes a private key atomically, mode 0600 from the start,
// and never over an existing file (or symlink): the key goes to a temporary
// file beside the target, which is then hard-linked to it.
func writeKeyFile(path, data string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}

// readSecret reads a key file, warning when others can read it.
func readSecret(e *env, path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", badInput(fmt.Errorf("key file: %w", err))
	}
	if fi.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(e.stderr, "nixgate: warning: %s is readable by others (mode %o); chmod 600 it\n", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", badInput(fmt.Errorf("key file: %w", err))
	}
	return strings.TrimSpace(string(b)), nil
}

func newLogServeCmd(e *env) *cobra.Command {
	var (
		db, key, addr, buildersFile, upstream string
		witnesses                             []string
		quorum                                int
		rate                                  float64
	)
	cmd := &cobra.Command{
		Use:   "serve --db URL --key FILE",
		Short: "Run a build-claim log",
		Long: `Runs the log: POST /add-claim (a claim, authenticated by its builder's Nix
signature against the enrolled keys), the C2SP read path (/checkpoint,
/tile/…), /claims?path=P with inclusion proofs, /proof/consistency,
/tlog-proof?index=I, a narinfo endpoint under /nix-cache/ and the dashboard
at /ui/.

--db is sqlite:///PATH (the embedded default) or postgres://… for scale; the
schema and the code path are the same. Every new checkpoint is sent to the
--witness witnesses (VKEY,URL, repeatable) and published once --witness-quorum
of them (default: all) cosigned it. --upstream names the binary cache that
holds the NARs (file:///DIR or http(s)://…) for the narinfo endpoint.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if db == "" || key == "" {
				return usagef("--db and --key are required")
			}
			skey, err := readSecret(e, key)
			if err != nil {
				return err
			}
			signer, err := c2sp.NewLogSigner(skey)
			if err != nil {
				return usagef("--key %s: %v", key, err)
			}
			cfg := claimlog.Config{Signer: signer, Rate: rate, Upstream: upstream, WitnessQuorum: quorum,
				Logger: slog.New(slog.NewTextHandler(e.stderr, nil))}
			for _, w := range witnesses {
				vkey, u, ok := strings.Cut(w, ",")
				if !ok {
					return usagef("--witness %q: want VKEY,URL", w)
				}
				v, err := c2sp.NewCosignatureVerifier(vkey)
				if err != nil {
					return usagef("--witness: %v", err)
				}
				cfg.Witnesses = append(cfg.Witnesses, &witness.Client{URL: u, Verifier: v, HTTP: &http.Client{Timeout: 10 * time.Second}})
			}
			ctx := cmd.Context()
			store, err := claimlog.OpenStore(ctx, db)
			if err != nil {
				return incompletef("%w", err)
			}
			defer store.Close()
			if buildersFile != "" {
				if err := enrolFile(ctx, store, buildersFile); err != nil {
					return err
				}
			}
			cfg.Store = store
			srv, err := claimlog.NewServer(ctx, cfg)
			if err != nil {
				return incompletef("start the log: %w", err)
			}
			defer srv.Close()
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return incompletef("listen: %w", err)
			}
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
			_, size := srv.Sequencer().Latest()
			fmt.Fprintf(e.stderr, "nixgate: log %s (size %d, %s) listening on http://%s\n", signer.Name(), size, store.Kind, l.Addr())
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(l) }()
			select {
			case err := <-errc:
				return incompletef("serve: %w", err)
			case <-ctx.Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			hs.Shutdown(sctx)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&db, "db", "", "database `URL`: sqlite:///PATH or postgres://USER@HOST/DB")
	f.StringVar(&key, "key", "", "the log's private key `FILE` (nixgate log keygen)")
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
	f.StringVar(&buildersFile, "builders", "", "enrol the Nix public keys of `FILE` (one NAME:BASE64 a line) at start")
	f.StringArrayVar(&witnesses, "witness", nil, "ask the witness `VKEY,URL` to cosign (repeatable)")
	f.IntVar(&quorum, "witness-quorum", 0, "publish a checkpoint once `N` witnesses cosigned it (default: all)")
	f.Float64Var(&rate, "rate", 100, "claims per second a builder may submit, burst twice that (`N`; 0: no limit)")
	f.StringVar(&upstream, "upstream", "", "binary cache `URL` holding the NARs, for the narinfo endpoint")
	return cmd
}

// enrolFile enrols every key of a builders file.
func enrolFile(ctx context.Context, store *claimlog.Store, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return badInput(fmt.Errorf("--builders: %w", err))
	}
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, err := claim.ParsePublicKey(l)
		if err != nil {
			return usagef("%s:%d: %v", path, i+1, err)
		}
		if err := store.AddBuilder(ctx, k.Name, k.String()); err != nil {
			return usagef("%s:%d: %v", path, i+1, err)
		}
	}
	return nil
}

func newLogBuilderCmd(e *env) *cobra.Command {
	var db string
	cmd := &cobra.Command{Use: "builder", Short: "Enrol and list the builders whose claims the log accepts"}
	add := &cobra.Command{
		Use:   "add KEY... --db URL",
		Short: "Enrol builders' Nix public keys (NAME:BASE64, or @FILE for a file of them)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if db == "" {
				return usagef("--db is required")
			}
			store, err := claimlog.OpenStore(cmd.Context(), db)
			if err != nil {
				return incompletef("%w", err)
			}
			defer store.Close()
			for _, a := range args {
				if p, ok := strings.CutPrefix(a, "@"); ok {
					if err := enrolFile(cmd.Context(), store, p); err != nil {
						return err
					}
					continue
				}
				k, err := claim.ParsePublicKey(a)
				if err != nil {
					return usagef("%v", err)
				}
				if err := store.AddBuilder(cmd.Context(), k.Name, k.String()); err != nil {
					return usagef("%v", err)
				}
				fmt.Fprintf(e.stderr, "nixgate: enrolled %s\n", k.Name)
			}
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list --db URL",
		Short: "Print the enrolled keys",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if db == "" {
				return usagef("--db is required")
			}
			store, err := claimlog.OpenStore(cmd.Context(), db)
			if err != nil {
				return incompletef("%w", err)
			}
			defer store.Close()
			keys, err := store.Builders(cmd.Context())
			if err != nil {
				return incompletef("%w", err)
			}
			for _, n := range sortedKeys(keys) {
				fmt.Fprintln(e.stdout, keys[n])
			}
			return nil
		},
	}
	cmd.PersistentFlags().StringVar(&db, "db", "", "database `URL`")
	cmd.AddCommand(add, list)
	return cmd
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func readNixKey(e *env, path string) (claim.SecretKey, error) {
	s, err := readSecret(e, path)
	if err != nil {
		return claim.SecretKey{}, err
	}
	k, err := claim.ParseSecretKey(s)
	if err != nil {
		return claim.SecretKey{}, usagef("--key %s: %v", path, err)
	}
	return k, nil
}

func newLogSubmitCmd(e *env) *cobra.Command {
	var logURL, key, store string
	cmd := &cobra.Command{
		Use:   "submit --log URL --key FILE STORE-PATH...",
		Short: "Claim store paths: their NAR hash, size and references, signed with a Nix key",
		Long: `Reads each STORE-PATH's NAR hash, size, references and deriver from the Nix
store (--store URI, default: Nix's default store), signs the narinfo
fingerprint with the Nix secret key FILE (nix key generate-secret) and
submits the claim. Prints the index of each claim once the log has made it
durable.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if logURL == "" || key == "" {
				return usagef("--log and --key are required")
			}
			k, err := readNixKey(e, key)
			if err != nil {
				return err
			}
			cl, err := claimlog.NewClient(logURL)
			if err != nil {
				return usagef("--log: %v", err)
			}
			infos, err := nixcli.QueryPathInfo(cmd.Context(), store, args)
			if err != nil {
				return incompletef("read the store: %w", err)
			}
			failed := false
			for _, in := range infos {
				if in.Valid != nil && !*in.Valid {
					fmt.Fprintf(e.stderr, "nixgate: %s is not valid in the store\n", report.SafeText(in.Path))
					failed = true
					continue
				}
				c, err := claim.New(claim.Facts{StorePath: in.Path, NarHash: in.NarHash, NarSize: uint64(in.NarSize), References: in.References, Deriver: in.Deriver}, k)
				if err != nil {
					return incompletef("claim %s: %w", in.Path, err)
				}
				ack, err := cl.Submit(cmd.Context(), c)
				if err != nil {
					return incompletef("%w", err)
				}
				dup := ""
				if ack.Duplicate {
					dup = " (already claimed)"
				}
				fmt.Fprintf(e.stdout, "%s %s index %d%s\n", in.Path, c.NarHash, ack.Index, dup)
			}
			if failed {
				return incompletef("some paths are not in the store")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&logURL, "log", "", "the log's `URL`")
	f.StringVar(&key, "key", "", "the builder's Nix secret key `FILE`")
	f.StringVar(&store, "store", "", "read the paths from the store at `URI`")
	return cmd
}

// trustFlags are the flags of log verify and trust decide.
type trustFlags struct {
	policy, logURL, proofs, failOn string
}

func (t *trustFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&t.policy, "policy", "", "trust policy `FILE` (C2SP tlog-policy with builder lines)")
	f.StringVar(&t.logURL, "log", "", "ask the log at `URL`")
	f.StringVar(&t.proofs, "proofs", "", "decide offline from the .tlog-proof files of `DIR`")
	f.StringVar(&t.failOn, "fail-on", "high", "fail on findings at or above `SEVERITY`")
}

// runTrust gathers the evidence, runs the checks of scope trust named by
// ids (all when nil) and writes the report.
func runTrust(cmd *cobra.Command, e *env, o *outputFlags, t *trustFlags, command string, paths []string, ids []string) error {
	out, err := o.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	if t.policy == "" {
		return usagef("--policy is required")
	}
	if (t.logURL == "") == (t.proofs == "") {
		return usagef("name --log URL or --proofs DIR")
	}
	failOn, err := check.ParseSeverity(t.failOn)
	if err != nil {
		return usagef("--fail-on: %v", err)
	}
	b, err := os.ReadFile(t.policy)
	if err != nil {
		return badInput(fmt.Errorf("--policy: %w", err))
	}
	pol, err := c2sp.ParsePolicy(b)
	if err != nil {
		return usagef("policy %s: %v", t.policy, err)
	}
	for _, p := range paths {
		if claim.HashPart(p) == "" || !strings.HasPrefix(p, "/nix/store/") {
			return usagef("%q is not a /nix/store path", p)
		}
	}
	if t.logURL != "" && len(paths) == 0 && command == "trust decide" {
		return usagef("name the store paths to decide")
	}
	state, err := trust.StateDir()
	if err != nil {
		return incompletef("%w", err)
	}
	ev, err := trust.Decide(cmd.Context(), trust.Options{Policy: pol, LogURL: t.logURL, ProofsDir: t.proofs, Paths: paths, StateDir: state})
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return badInput(err)
		}
		return incompletef("%s: %w", command, err)
	}
	var cs []*check.Check
	for _, c := range checks.InScope(check.ScopeTrust) {
		if ids == nil || slices.Contains(ids, c.ID) {
			cs = append(cs, c)
		}
	}
	res := check.Run(cmd.Context(), cs, nil, check.Target{Input: ev}, nil)
	if out.Format == "text" || out.Format == "markdown" {
		writeTrustSummary(out.W, out.Format, pol, ev)
	}
	return writeReport(e, out, &report.Report{Command: command, Target: ev.Source, ToolVersion: Version(), FailOn: failOn, Result: res, Extra: ev})
}

// writeTrustSummary prints what was verified and decided, before the
// findings. Everything that came from the log goes through SafeText.
func writeTrustSummary(w io.Writer, format string, pol *c2sp.Policy, ev *trust.Evaluation) {
	bullet, code := "", func(s string) string { return report.SafeText(s) }
	if format == "markdown" {
		bullet, code = "- ", func(s string) string { return report.MarkdownCode(s) }
	}
	for _, c := range ev.Checkpoints {
		status := "valid"
		if !c.Valid {
			status = "INVALID: " + report.SafeText(c.Error)
		}
		fmt.Fprintf(w, "%scheckpoint %s size %d root %s, cosigned by %s (quorum %s): %s\n", bullet, code(c.Origin), c.Size, c.Root,
			report.SafeText(strings.Join(c.Cosigners, ", ")+orIf(len(c.Cosigners) == 0, "none")), report.SafeText(c.Quorum), status)
	}
	for _, c := range ev.Consistency {
		detail := ""
		if c.Detail != "" {
			detail = ": " + report.SafeText(c.Detail)
		}
		fmt.Fprintf(w, "%sconsistency of %s: %s (%d -> %d)%s\n", bullet, code(c.Origin), strings.ToUpper(c.Status), c.OldSize, c.NewSize, detail)
	}
	for _, d := range ev.Paths {
		verdict := "NOT TRUSTED"
		if d.Trusted {
			verdict = "TRUSTED"
		}
		fmt.Fprintf(w, "%s%s: %s under %s\n", bullet, code(d.StorePath), verdict, report.SafeText(d.Rule))
		for _, g := range d.Groups {
			fmt.Fprintf(w, "  %s%s %s %s\n", bullet, report.SafeText(strings.Join(g.Builders, ", ")), trust.Claim(g.Builders), code(g.NarHash))
		}
		for _, q := range d.Equivocating {
			fmt.Fprintf(w, "  %s%s equivocates (%d claims)\n", bullet, report.SafeText(q.Builder), len(q.Claims))
		}
		if len(d.Abstaining) > 0 {
			fmt.Fprintf(w, "  %sabstaining: %s\n", bullet, report.SafeText(strings.Join(d.Abstaining, ", ")))
		}
		fmt.Fprintf(w, "  %s→ %s\n", bullet, report.SafeText(d.Why))
	}
	fmt.Fprintln(w)
}

func orIf(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}

func newLogVerifyCmd(e *env) *cobra.Command {
	t := &trustFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "verify --policy FILE (--log URL | --proofs DIR) [STORE-PATH...]",
		Short: "Verify a log's checkpoint, witness quorum and consistency, and the inclusion of claims",
		Long: `Verifies the log's checkpoint against the policy (the log's key and the
witness quorum), its consistency with the last checkpoint this client saw
(kept in $XDG_STATE_HOME/nixgate/log; a fork or a rollback fails with exit
1), and, for each STORE-PATH, the signature and inclusion of every claim.
--proofs DIR verifies C2SP tlog-proof files offline instead.

Checks: log-checkpoint, log-consistency, log-proof.

` + exitCodesHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTrust(cmd, e, o, t, "log verify", args, []string{checks.LogCheckpoint.ID, checks.LogConsistency.ID, checks.LogProof.ID})
		},
	}
	t.add(cmd)
	o = addOutputFlags(cmd)
	return cmd
}

func newLogProofCmd(e *env) *cobra.Command {
	var logURL, dir string
	cmd := &cobra.Command{
		Use:   "proof --log URL --dir DIR STORE-PATH...",
		Short: "Save the C2SP tlog-proof of every claim for store paths, for offline decisions",
		Long: `Writes DIR/<hash part>-<index>.tlog-proof for every claim of each STORE-PATH:
the claim (as the proof's extra data), its index, its inclusion proof and the
log's checkpoint with its cosignatures. "nixgate trust decide --proofs DIR"
decides from them without the log.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if logURL == "" || dir == "" {
				return usagef("--log and --dir are required")
			}
			cl, err := claimlog.NewClient(logURL)
			if err != nil {
				return usagef("--log: %v", err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return badInput(err)
			}
			for _, p := range args {
				resp, err := cl.Claims(cmd.Context(), p)
				if err != nil {
					return incompletef("%w", err)
				}
				for _, c := range resp.Claims {
					b, err := cl.TLogProof(cmd.Context(), c.Index)
					if err != nil {
						return incompletef("%w", err)
					}
					name := filepath.Join(dir, fmt.Sprintf("%s-%d.tlog-proof", claim.HashPart(p), c.Index))
					if err := writeFileAtomic(name, b); err != nil {
						return incompletef("%w", err)
					}
					fmt.Fprintln(e.stdout, name)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&logURL, "log", "", "the log's `URL`")
	cmd.Flags().StringVar(&dir, "dir", "", "write the proofs to `DIR`")
	return cmd
}

func newLogFsckCmd(e *env) *cobra.Command {
	var db, vkey, format string
	cmd := &cobra.Command{
		Use:   "fsck --db URL --vkey VKEY",
		Short: "Recompute the log's root from its claims and tiles and compare it with the last checkpoint",
		Long: `Reads the whole log: gap-free indexes, every claim parsed and its signature
checked against the enrolled keys, the entry bundles equal to the claims,
the root recomputed from the claims and from the tiles, both equal to the
latest checkpoint, whose signature is checked with VKEY. Exit 1 on any
problem.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if db == "" || vkey == "" {
				return usagef("--db and --vkey are required")
			}
			v, err := c2sp.NewLogVerifier(vkey)
			if err != nil {
				return usagef("--vkey: %v", err)
			}
			store, err := claimlog.OpenStore(cmd.Context(), db)
			if err != nil {
				return incompletef("%w", err)
			}
			defer store.Close()
			r, err := claimlog.Fsck(cmd.Context(), store, v)
			if err != nil {
				return incompletef("fsck: %w", err)
			}
			if format == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				enc.Encode(r)
			} else {
				fmt.Fprintf(e.stdout, "log %s: size %d, root %s, %d claims\n", r.Origin, r.Size, r.Root, r.Claims)
				for _, p := range r.Problems {
					fmt.Fprintf(e.stdout, "  PROBLEM: %s\n", p)
				}
				if r.OK() {
					fmt.Fprintln(e.stdout, "OK: the claims and the tiles give the latest checkpoint's root")
				}
			}
			if !r.OK() {
				return ErrFindings
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", "", "database `URL`")
	cmd.Flags().StringVar(&vkey, "vkey", "", "the log's verifier key `VKEY`")
	cmd.Flags().StringVarP(&format, "format", "f", "text", "`FORMAT`: text or json")
	return cmd
}

func newLogWitnessCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "witness", Short: "A minimal C2SP tlog-witness"}
	var key, db, addr string
	var logs []string
	serve := &cobra.Command{
		Use:   "serve --key FILE --log VKEY --db FILE",
		Short: "Cosign the checkpoints of the given logs (POST /add-checkpoint)",
		Long: `Serves c2sp.org/tlog-witness: POST /add-checkpoint verifies a log's
checkpoint and its consistency with the latest one this witness cosigned
(kept in the SQLite file --db), and returns a cosignature/v1; GET
/<sha256 of the origin>/checkpoint serves the latest cosigned checkpoint.
The key comes from "nixgate log keygen --witness NAME -o FILE".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" || db == "" || len(logs) == 0 {
				return usagef("--key, --db and at least one --log are required")
			}
			skey, err := readSecret(e, key)
			if err != nil {
				return err
			}
			cs, err := c2sp.NewCosigner(skey)
			if err != nil {
				return usagef("--key %s: %v", key, err)
			}
			w, err := witness.New(cmd.Context(), cs, logs, db, slog.New(slog.NewTextHandler(e.stderr, nil)))
			if err != nil {
				return usagef("%v", err)
			}
			defer w.Close()
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return incompletef("listen: %w", err)
			}
			fmt.Fprintf(e.stderr, "nixgate: witness %s (%s) listening on http://%s\n", cs.Name(), cs.Vkey(), l.Addr())
			hs := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second}
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(l) }()
			select {
			case err := <-errc:
				return incompletef("serve: %w", err)
			case <-cmd.Context().Done():
			}
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			hs.Shutdown(sctx)
			return nil
		},
	}
	f := serve.Flags()
	f.StringVar(&key, "key", "", "the witness's private key `FILE`")
	f.StringVar(&db, "db", "", "the witness's state `FILE` (SQLite)")
	f.StringVar(&addr, "addr", "127.0.0.1:8081", "listen on `HOST:PORT`")
	f.StringArrayVar(&logs, "log", nil, "cosign the log with verifier key `VKEY` (repeatable)")
	cmd.AddCommand(serve)
	return cmd
}

// submitRebuild turns each builder's result of a rebuild into a claim:
// with one key, a claim for each output all builders agree on; with one
// key per builder, builder i's hashes signed with key i.
func submitRebuild(ctx context.Context, e *env, logURL string, keyFiles []string, rep *rebuild.Report) error {
	cl, err := claimlog.NewClient(logURL)
	if err != nil {
		return usagef("--submit: %v", err)
	}
	var keys []claim.SecretKey
	for _, f := range keyFiles {
		k, err := readNixKey(e, f)
		if err != nil {
			return err
		}
		keys = append(keys, k)
	}
	if len(keys) != 1 && len(keys) != len(rep.Builders) {
		return usagef("--submit: give one --key, or one per builder (%d)", len(rep.Builders))
	}
	uri := map[string]string{}
	for _, b := range rep.Builders {
		uri[b.Name] = b.URI
	}
	for _, o := range rep.Outputs {
		if len(keys) == 1 && !o.Reproducible {
			fmt.Fprintf(e.stderr, "nixgate: not submitting %s: the builders disagree and one key cannot claim both\n", report.SafeText(o.Path))
			continue
		}
		for i, h := range o.Hashes {
			if len(keys) == 1 && i > 0 {
				break
			}
			infos, err := nixcli.QueryPathInfo(ctx, uri[h.Builder], []string{o.Path})
			if err != nil || len(infos) != 1 {
				return incompletef("references of %s on %s: %w", o.Path, h.Builder, err)
			}
			k := keys[0]
			if len(keys) > 1 {
				k = keys[i]
			}
			c, err := claim.New(claim.Facts{StorePath: o.Path, NarHash: h.NarHash, NarSize: uint64(h.NarSize), References: infos[0].References, Deriver: o.Drv}, k)
			if err != nil {
				return incompletef("claim %s: %w", o.Path, err)
			}
			ack, err := cl.Submit(ctx, c)
			if err != nil {
				return incompletef("%w", err)
			}
			fmt.Fprintf(e.stderr, "nixgate: claimed %s (%s, %s) as %s: index %d\n", o.Path, c.NarHash, h.Builder, k.Name, ack.Index)
		}
	}
	return nil
}

// removeStores deletes chroot stores kept for --submit (Nix makes their
// directories read-only).
func removeStores(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	os.RemoveAll(dir)
}
