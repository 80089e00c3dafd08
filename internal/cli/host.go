package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/hostaudit"
	"github.com/nixgate/nixgate/internal/nixcli"
	"github.com/nixgate/nixgate/internal/nixconf"
	"github.com/nixgate/nixgate/internal/report"
)

type hostFlags struct {
	root    string
	probe   bool
	store   string
	options []string
	gateFlags
}

func newHostCmd(e *env) *cobra.Command {
	f := &hostFlags{}
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "host",
		Short: "Audit this host's effective Nix configuration; --probe proves the sandbox",
		Long: `Audit the Nix configuration that governs builds on this host: the nix-daemon's
(its /proc environment and command line) when one runs, otherwise the
configuration of the user running nixgate. nix.conf is read the way Nix reads
it, from NIX_CONF_DIR, the user files (NIX_USER_CONF_FILES or the XDG
directories) and NIX_CONFIG, and every finding points at the file and line
that set the value.

--root DIR audits a configuration tree offline (an image's root filesystem):
every path, absolute symlinks included, is read under DIR.

--probe builds a derivation whose builder is this (statically linked) nixgate
binary, with a fresh nonce, never substituted, built locally, and records from
inside the build whether it shares the host's pid namespace, filesystem and
loopback network, whether it can create setuid files, and whether it can
list /nix/store and read a store path nixgate planted outside its closure
(store isolation: isolated or exposed). The verdict is enforced, partial
or absent, with the evidence.

The report also gives the daemon's multi-tenant posture: allowed-users,
trusted-users and whether the builds of several accounts share one store;
with [host] shared = true in the policy, a shared host that builds locally
is a finding (host-shared-store: give each tenant a remote builder). --store selects the store
(for example a chroot store /tmp/dir) and --option NAME=VALUE passes Nix
options to the probe build.

` + exitCodesHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runHost(cmd, e, f, o) },
	}
	o = addOutputFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.root, "root", "", "audit the configuration tree under `DIR` offline (default: this host)")
	fl.BoolVar(&f.probe, "probe", false, "prove the sandbox with a probe build")
	fl.StringVar(&f.store, "store", "", "with --probe: the store `URI` to build in (default: Nix's default store)")
	fl.StringArrayVar(&f.options, "option", nil, "with --probe: pass the Nix option `NAME=VALUE` to the probe build (repeatable)")
	f.gateFlags.add(cmd, "./nixgate.toml", check.ScopeHost)
	cmd.AddCommand(newHostShowCmd(e))
	return cmd
}

// hostExtra is the "extra" section of the host report.
type hostExtra struct {
	ConfigOf string                 `json:"configOf"`
	Nix      hostaudit.NixVersion   `json:"nix"`
	Daemon   *hostaudit.Daemon      `json:"daemon,omitempty"`
	Files    []*nixconf.File        `json:"files"`
	Probe    *hostaudit.ProbeResult `json:"probe,omitempty"`
	// Tenancy is the daemon's multi-tenant posture; Shared is the
	// policy's [host] shared.
	Tenancy hostaudit.Tenancy `json:"tenancy"`
	Shared  bool              `json:"shared"`
}

func environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

func runHost(cmd *cobra.Command, e *env, f *hostFlags, o *outputFlags) error {
	ctx := cmd.Context()
	if f.probe && f.root != "" {
		return usagef("--probe builds on this host; it cannot be combined with --root")
	}
	if !f.probe && (f.store != "" || len(f.options) > 0) {
		return usagef("--store and --option apply to --probe")
	}
	hopts := nixcli.HostOptions{Store: f.store}
	for _, kv := range f.options {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("--option %q: want NAME=VALUE", kv)
		}
		hopts.Options = append(hopts.Options, [2]string{k, v})
	}
	out, err := o.open(e)
	if err != nil {
		return err
	}
	defer out.Abort()
	w, format := out.W, out.Format
	g, err := f.resolve(".")
	if err != nil {
		return err
	}
	h, err := hostaudit.Collect(ctx, hostaudit.Options{Root: f.root, Env: environ(), NixVersion: nixcli.HostNixVersion})
	if err != nil {
		return usagef("%v", err)
	}
	h.Shared = g.policy.Host.Shared
	if f.probe {
		bin, err := os.Executable()
		if err != nil {
			return fmt.Errorf("probe: %v: %w", err, ErrIncomplete)
		}
		fmt.Fprintf(e.stderr, "nixgate: building the sandbox probe (store: %s)\n", orDefault(f.store, "default"))
		res, err := hostaudit.RunProbe(ctx, f.store, bin, hostaudit.ProbeEnv{
			Add:    func(ctx2 context.Context, file string) (string, error) { return nixcli.ProbeAdd(ctx2, hopts, file) },
			Build:  func(ctx2 context.Context, expr string) (string, error) { return nixcli.ProbeBuild(ctx2, hopts, expr) },
			Cat:    func(ctx2 context.Context, path string) ([]byte, error) { return nixcli.ProbeCat(ctx2, hopts, path) },
			Delete: func(ctx2 context.Context, path string) error { return nixcli.ProbeDelete(ctx2, hopts, path) },
		})
		if err != nil {
			return fmt.Errorf("sandbox probe: %v: %w", err, ErrIncomplete)
		}
		h.Probe = res
	}
	res := check.Run(ctx, g.checks, g.settings, check.Target{Input: h}, g.baseline)
	target := "this host"
	if f.root != "" {
		target = f.root
	}
	extra := hostExtra{ConfigOf: h.ConfigOf, Nix: h.Nix, Daemon: h.Daemon, Files: h.Config.Files, Probe: h.Probe, Tenancy: h.Tenancy(), Shared: h.Shared}
	rep := &report.Report{Command: "host", Target: target, ToolVersion: Version(), FailOn: g.failOn, Result: res, Extra: extra}
	if format == "text" || format == "markdown" {
		writeHostSummary(w, format, h)
	}
	return writeReport(e, out, rep)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// writeHostSummary prints what was audited before the findings.
func writeHostSummary(w io.Writer, format string, h *hostaudit.Host) {
	bullet := ""
	if format == "markdown" {
		bullet = "- "
	}
	nix := "unknown"
	if h.Nix.Version != "" {
		nix = h.Nix.Implementation + " " + h.Nix.Version
	}
	fmt.Fprintf(w, "%sconfiguration: %s\n", bullet, h.ConfigOf)
	fmt.Fprintf(w, "%snix: %s (%s)", bullet, nix, h.Nix.Source)
	if h.Nix.Package != "" {
		fmt.Fprintf(w, ", package %s", h.Nix.Package)
	}
	fmt.Fprintln(w)
	var read []string
	for _, f := range h.Config.Files {
		if f.Exists {
			read = append(read, f.Path)
		}
	}
	fmt.Fprintf(w, "%ssources read: %s\n", bullet, orDefault(strings.Join(read, ", "), "none (Nix's defaults)"))
	shared := "not declared shared"
	if h.Shared {
		shared = "shared by tenants ([host] shared = true)"
	}
	fmt.Fprintf(w, "%smulti-tenant posture (%s): %s\n", bullet, shared, h.Tenancy().Summary())
	if p := h.Probe; p != nil {
		fmt.Fprintf(w, "%ssandbox probe (%s): %s\n", bullet, orDefault(p.Store, "default store"), strings.ToUpper(p.Verdict))
		if p.StoreIsolation != "" {
			fmt.Fprintf(w, "%sstore isolation (seed 004: hide non-required paths in /nix/store): %s\n", bullet, strings.ToUpper(p.StoreIsolation))
		}
		for _, ev := range p.Evidence {
			fmt.Fprintf(w, "  %s%s\n", bullet, ev)
		}
	}
	fmt.Fprintln(w)
}

func newHostShowCmd(e *env) *cobra.Command {
	var root string
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the effective Nix configuration with the origin of every value",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := o.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			w, format, closeOut := out.W, out.Format, out.Commit
			h, err := hostaudit.Collect(cmd.Context(), hostaudit.Options{Root: root, Env: environ()})
			if err != nil {
				return usagef("%v", err)
			}
			if err := writeShow(w, format, h); err != nil {
				return err
			}
			return closeOut()
		},
	}
	o = addOutputFlags(cmd, "text", "json")
	cmd.Flags().StringVar(&root, "root", "", "read the configuration tree under `DIR` (default: this host)")
	return cmd
}

type showValue struct {
	Name    string   `json:"name"`
	Value   []string `json:"value"`
	Default bool     `json:"default"`
	Origins []string `json:"origins,omitempty"`
}

func writeShow(w io.Writer, format string, h *hostaudit.Host) error {
	c := h.Config
	var vals []showValue
	for _, v := range c.Values() {
		sv := showValue{Name: v.Name, Value: v.Tokens, Default: !v.Set}
		if sv.Value == nil {
			sv.Value = []string{}
		}
		for _, o := range v.Origins {
			sv.Origins = append(sv.Origins, o.String())
		}
		vals = append(vals, sv)
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i].Name < vals[j].Name })
	if format == "json" {
		out := struct {
			SchemaVersion int               `json:"schemaVersion"`
			ConfigOf      string            `json:"configOf"`
			ConfDir       string            `json:"confDir"`
			Files         []*nixconf.File   `json:"files"`
			Settings      []showValue       `json:"settings"`
			Problems      []nixconf.Problem `json:"problems"`
		}{1, h.ConfigOf, c.ConfDir, c.Files, vals, c.Problems}
		if out.Problems == nil {
			out.Problems = []nixconf.Problem{}
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	fmt.Fprintf(w, "# effective configuration of %s\n", h.ConfigOf)
	for _, f := range c.Files {
		state := "not found"
		if f.Exists {
			state = "read, mode " + f.Perm
		}
		fmt.Fprintf(w, "# %-8s %s (%s)\n", f.Kind, f.Path, state)
	}
	for _, v := range vals {
		line := strings.TrimRight(v.Name+" = "+strings.Join(v.Value, " "), " ")
		origin := "default"
		if !v.Default {
			origin = strings.Join(v.Origins, ", ")
		}
		fmt.Fprintf(w, "%-60s # %s\n", line, origin)
	}
	for _, p := range c.Problems {
		sev := "warning"
		if p.Fatal {
			sev = "error"
		}
		fmt.Fprintf(w, "# %s: %s: %s\n", sev, p.Origin, p.Message)
	}
	return nil
}

func newProbeSandboxCmd(e *env) *cobra.Command {
	var a hostaudit.InsideArgs
	cmd := &cobra.Command{
		Use:    "probe-sandbox",
		Short:  "Run as the builder of nixgate's sandbox probe derivation (internal)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Out = os.Getenv("out")
			return hostaudit.RunInside(a)
		},
	}
	cmd.Flags().StringVar(&a.Nonce, "nonce", "", "the probe's nonce")
	cmd.Flags().StringVar(&a.HostFile, "host-file", "", "the host file created for the probe")
	cmd.Flags().IntVar(&a.Port, "port", 0, "the loopback port nixgate listens on")
	cmd.Flags().StringVar(&a.Planted, "planted", "", "the store path planted outside the probe's closure")
	return cmd
}
