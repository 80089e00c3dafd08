package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/binarycache"
	"github.com/nixgate/nixgate/internal/cacheverify"
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/narinfo"
	"github.com/nixgate/nixgate/internal/nixconf"
	"github.com/nixgate/nixgate/internal/policy"
	"github.com/nixgate/nixgate/internal/progress"
	"github.com/nixgate/nixgate/internal/report"
)

func newCacheCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Verify Nix binary caches",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCacheVerifyCmd(e))
	return cmd
}

type cacheFlags struct {
	paths    string
	closure  []string
	all      bool
	keys     []string
	require  int
	nar      string
	upstream []string
	scan     bool
	jobs     int
	gateFlags
}

func newCacheVerifyCmd(e *env) *cobra.Command {
	f := &cacheFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "verify STORE-URI [--paths FILE | --closure STORE-PATH... | --all]",
		Short: "Verify a binary cache: k-of-n distinct signing keys, NAR hashes and sizes, strict NARs, closure",
		Long: `Verify the paths of a Nix binary cache (file:///dir, http(s)://host/path,
s3://bucket?region=&endpoint=&scheme=&profile=).

Which paths: --all (every narinfo; file:// and s3:// can list, HTTP cannot),
--paths FILE (one store path, HASH-NAME or hash a line; "-" reads stdin), or
--closure STORE-PATH (repeatable: the paths and everything their References
reach).

Trust: a path is trusted when --require K distinct trusted key names signed
its fingerprint validly. Keys come from --trusted-key NAME:BASE64
(repeatable), else the policy's [cache] keys, else the host's
trusted-public-keys (nix.conf). A duplicated Sig line never counts twice; a
Sig line that names a trusted key and does not verify is FORGED. The cache's
nix-cache-info RequiredSignatures / RequireAllSignatures tighten this.
Signatures are checked before any NAR byte is fetched.

--nar none checks narinfos only; hash also downloads each NAR once and checks
FileHash/FileSize of the file, the Compression label against the bytes, and
NarHash/NarSize of the decoded NAR (decoding stops at NarSize+1); full (the
default) also walks the NAR strictly. --scan-references reports store paths
in a NAR that References does not declare. Every reference must have a
narinfo in the cache or an --upstream store.

One verdict per path: OK, UNTRUSTED, FORGED, NAR_HASH_MISMATCH,
NAR_SIZE_MISMATCH, FILE_HASH_MISMATCH, FILE_SIZE_MISMATCH,
COMPRESSION_MISMATCH, UNSUPPORTED_COMPRESSION, NAR_MALFORMED,
MISSING_REFERENCE, HIDDEN_REFERENCE, URL_ESCAPE, NARINFO_MALFORMED,
STOREPATH_MISMATCH. Exit 0 all OK, 1 any other verdict, 3 the cache could
not be read.

` + exitCodesHelp,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runCacheVerify(cmd, e, f, o, args[0]) },
	}
	o = addOutputFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.paths, "paths", "", "verify the paths listed in `FILE` (one a line; - for stdin)")
	fl.StringArrayVar(&f.closure, "closure", nil, "verify the closure of `STORE-PATH` (repeatable)")
	fl.BoolVar(&f.all, "all", false, "verify every narinfo in the cache (file:// and s3://)")
	fl.StringArrayVar(&f.keys, "trusted-key", nil, "trust the public key `NAME:BASE64` (repeatable; default: [cache] keys, else nix.conf's trusted-public-keys)")
	fl.IntVar(&f.require, "require", 0, "`N` distinct trusted keys must sign each path (default: the policy's [cache] require, else 1)")
	fl.StringVar(&f.nar, "nar", cacheverify.NarFull, "how much of each NAR to check: `MODE` none, hash or full")
	fl.StringArrayVar(&f.upstream, "upstream", nil, "a store `URI` that may hold references the cache lacks (repeatable)")
	fl.BoolVar(&f.scan, "scan-references", false, "report store paths in a NAR that its References do not declare")
	fl.IntVar(&f.jobs, "jobs", 0, "check `N` paths at once (default: CPUs for file://, 16 for a network store)")
	f.gateFlags.add(cmd, "./nixgate.toml", check.ScopeCache)
	return cmd
}

func runCacheVerify(cmd *cobra.Command, e *env, f *cacheFlags, o *outputFlags, uri string) error {
	ctx := cmd.Context()
	n := 0
	for _, set := range []bool{f.paths != "", len(f.closure) > 0, f.all} {
		if set {
			n++
		}
	}
	if n != 1 {
		return usagef("give exactly one of --paths FILE, --closure STORE-PATH or --all")
	}
	if !slices.Contains([]string{cacheverify.NarNone, cacheverify.NarHash, cacheverify.NarFull}, f.nar) {
		return usagef("--nar %q: want none, hash or full", f.nar)
	}
	if cmd.Flags().Changed("require") && f.require < 0 {
		return usagef("--require %d: want 0 or more", f.require)
	}
	out, err := o.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	g, err := f.resolve(".")
	if err != nil {
		return err
	}
	env := environ()
	store, err := binarycache.Open(uri, binarycache.Options{Env: env})
	if err != nil {
		return usagef("%v", err)
	}
	var upstream []binarycache.Store
	for _, u := range f.upstream {
		s, err := binarycache.Open(u, binarycache.Options{Env: env})
		if err != nil {
			return usagef("--upstream: %v", err)
		}
		upstream = append(upstream, s)
	}
	keyList, require, keysFrom, err := cacheTrust(f, g.policy, uri, cmd.Flags().Changed("require"), env)
	if err != nil {
		return err
	}
	keys, err := narinfo.ParseKeys(keyList)
	if err != nil {
		return usagef("trusted keys (%s): %v", keysFrom, err)
	}
	if require > keys.Len() {
		return usagef("--require %d but only %d trusted key(s) (%s): no path could be trusted", require, keys.Len(), keysFrom)
	}
	var paths []string
	if f.paths != "" {
		if paths, err = readPathList(f.paths); err != nil {
			return badInput(err)
		}
	}
	info, err := binarycache.ReadCacheInfo(ctx, store)
	if err != nil {
		return incompletef("cache verify %s: %w", store.URI(), err)
	}
	for _, p := range append(slices.Clone(paths), f.closure...) {
		if _, err := cacheverify.ParseRequest(p, info.StoreDir); err != nil {
			return usagef("path %q: %v", p, err)
		}
	}
	policyDecider := &cacheverify.SignaturePolicy{Keys: keys, Require: require, StoreDir: info.StoreDir, CacheAll: info.RequireAllSignatures}
	if len(info.RequiredSignatures) > 0 {
		if policyDecider.CacheKeys, err = narinfo.ParseKeys(info.RequiredSignatures); err != nil {
			return incompletef("cache verify %s: nix-cache-info: %w", store.URI(), err)
		}
	}
	enabled := enabledFamilies(g)
	bar := progress.New(e.stderr, "cache verify", 0)
	res, err := cacheverify.Run(ctx, cacheverify.Config{
		Store: store, Upstream: upstream, All: f.all, Paths: paths, Closure: f.closure,
		Nar: f.nar, ScanReferences: f.scan, Jobs: f.jobs, Keys: keys, Decider: policyDecider,
		Enabled: enabled, Info: info, Progress: bar,
	})
	bar.Done()
	if err != nil {
		return incompletef("cache verify %s: %w", store.URI(), err)
	}
	cres := check.Run(ctx, g.checks, g.settings, check.Target{Input: &cacheverify.Input{Result: res}}, g.baseline)
	rep := &report.Report{Command: "cache verify", Target: store.URI(), ToolVersion: Version(), FailOn: g.failOn, Result: cres, Extra: res}
	if out.Format == "text" || out.Format == "markdown" {
		writeCacheSummary(out.W, out.Format, res, keys, require, keysFrom)
	}
	return writeReport(e, out, rep)
}

// cacheTrust resolves the trusted keys and the requirement: the flags,
// else the policy's per-store section, else its [cache] table, else the
// host's nix.conf and 1.
func cacheTrust(f *cacheFlags, p *policy.Policy, uri string, requireSet bool, env map[string]string) (keys []string, require int, from string, err error) {
	require, from = 1, "nix.conf trusted-public-keys"
	sec, hasSec := p.Cache.Stores[uri]
	switch {
	case len(f.keys) > 0:
		keys, from = f.keys, "--trusted-key"
	case hasSec && sec.Keys != nil:
		keys, from = sec.Keys, fmt.Sprintf("policy [cache.stores.%q] keys", uri)
	case p.Cache.Keys != nil:
		keys, from = p.Cache.Keys, "policy [cache] keys"
	default:
		cfg := nixconf.Load(nixconf.Options{Env: env})
		keys = cfg.Get("trusted-public-keys").Tokens
	}
	switch {
	case requireSet:
		require = f.require
	case hasSec && sec.Require != nil:
		require = *sec.Require
	case p.Cache.Require != nil:
		require = *p.Cache.Require
	}
	if require < 0 {
		return nil, 0, "", usagef("policy: [cache] require = %d: want 0 or more", require)
	}
	return keys, require, from, nil
}

// enabledFamilies maps the gate's enabled cache checks to verdict
// families.
func enabledFamilies(g *gate) func(string) bool {
	on := map[string]bool{}
	fam := map[string]string{
		"cache-narinfo": cacheverify.FamilyNarinfo, "cache-signature": cacheverify.FamilySignature,
		"cache-url-safety": cacheverify.FamilyURL, "cache-nar-integrity": cacheverify.FamilyNAR,
		"cache-nar-format": cacheverify.FamilyNARFormat, "cache-closure": cacheverify.FamilyClosure,
		"cache-hidden-reference": cacheverify.FamilyHidden,
	}
	for _, c := range g.checks {
		s, ok := g.settings[c.ID]
		if (!ok && !c.Disabled) || (ok && s.Enabled) {
			on[fam[c.ID]] = true
		}
	}
	return func(f string) bool { return on[f] }
}

// readPathList reads --paths: one path a line, blank lines and # comments
// skipped.
func readPathList(file string) ([]string, error) {
	var r io.Reader = os.Stdin
	if file != "-" {
		fh, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r = fh
	}
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return out, nil
}

// maxListed bounds the per-path lines of the summary.
const maxListed = 50

// writeCacheSummary prints what was verified before the findings: the
// trust requirement, the counts per verdict and, for a small run, every
// path's verdict.
func writeCacheSummary(w io.Writer, format string, r *cacheverify.Result, keys *narinfo.Keys, require int, from string) {
	bullet := ""
	if format == "markdown" {
		bullet = "- "
	}
	fmt.Fprintf(w, "%scache: %s (store %s)\n", bullet, report.SafeText(r.Store), report.SafeText(r.StoreDir))
	fmt.Fprintf(w, "%strust: %d of %d distinct trusted key(s) required (%s: %s)\n", bullet, require, keys.Len(), from, strings.Join(keys.Names(), ", "))
	if len(r.CacheRequired) > 0 {
		need := "one of"
		if r.RequireAll {
			need = "all of"
		}
		fmt.Fprintf(w, "%snix-cache-info requires %s %d key(s)\n", bullet, need, len(r.CacheRequired))
	}
	var parts []string
	for _, c := range cacheverify.Codes {
		if n := r.Counts[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, n))
		}
	}
	fmt.Fprintf(w, "%spaths: %d checked (nar: %s): %s\n", bullet, len(r.Paths), r.Nar, orDefault(strings.Join(parts, ", "), "none"))
	if len(r.Paths) <= maxListed {
		for _, p := range r.Paths {
			fmt.Fprintf(w, "  %s%-24s %s\n", bullet, p.Verdict, report.SafeText(p.StorePath))
		}
	}
	fmt.Fprintln(w)
}
