// Package nixcli is the only package that runs Nix. It wraps nix,
// nix-build and nix-store with typed calls whose options are always
// explicit: nixgate never relies on the host's nix.conf for anything that
// matters to a result (the sandbox, substituters, remote builders).
package nixcli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"

	"github.com/nixgate/nixgate/internal/lazyre"
)

// experimental is passed to every `nix` (new CLI) call.
var experimental = []string{"--extra-experimental-features", "nix-command flakes"}

// Error is a failed Nix command: what ran, its exit code and the end of
// its log.
type Error struct {
	Cmd      string // e.g. "nix build"
	ExitCode int    // -1 when the command did not start or was killed
	Log      string // the last lines of its stderr
	Err      error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Cmd, e.Err)
	if l := lastError(e.Log); l != "" {
		msg += ": " + l
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// lastError picks the most useful part of a Nix log: the last "error:"
// line with its indented continuation lines (a fixed-output mismatch's
// "specified:" and "got:" hashes), without the builder's log lines that
// Nix quotes ("> ..."), which the caller keeps apart; else the last
// non-empty line.
func lastError(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "error:") {
			continue
		}
		parts := []string{strings.TrimPrefix(l, "error: ")}
		for _, c := range lines[i+1:] {
			t := strings.TrimSpace(c)
			if t == "" || c == t || strings.HasPrefix(t, "error:") {
				break // not a continuation line
			}
			if strings.HasPrefix(t, ">") || strings.HasPrefix(t, "For full logs") || strings.HasSuffix(t, "log lines:") {
				continue
			}
			parts = append(parts, strings.Join(strings.Fields(t), " "))
			if len(parts) == 6 {
				break
			}
		}
		return strings.TrimSuffix(strings.Join(parts, " "), ";")
	}
	if len(lines) > 0 {
		return strings.TrimSpace(lines[len(lines)-1])
	}
	return ""
}

// HashMismatch is a fixed-output derivation whose output has another hash
// than the one it specifies.
type HashMismatch struct {
	Drv       string `json:"drv"`
	Specified string `json:"specified"`
	Got       string `json:"got"`
}

var hashMismatchRe = lazyre.New(`hash mismatch in fixed-output derivation '([^']+)':\s*specified:\s*(\S+)\s*got:\s*(\S+)`)

// HashMismatches returns the fixed-output mismatches in a Nix log.
func HashMismatches(log string) []HashMismatch {
	var out []HashMismatch
	for _, m := range hashMismatchRe().FindAllStringSubmatch(ansiRe().ReplaceAllString(log, ""), -1) {
		out = append(out, HashMismatch{Drv: m[1], Specified: m[2], Got: m[3]})
	}
	return out
}

// Available reports whether the nix binaries are on PATH.
func Available() bool {
	_, err := exec.LookPath("nix")
	return err == nil
}

// Settings are the Nix options of one call, passed as --option NAME VALUE
// in sorted order.
type Settings map[string]string

func (s Settings) args() []string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var a []string
	for _, k := range keys {
		a = append(a, "--option", k, s[k])
	}
	return a
}

// CleanBuild returns the settings of a build on a clean builder: the
// sandbox on, no substituters, no remote builders, no post-build hook.
func CleanBuild() Settings {
	return Settings{
		"sandbox":         "true",
		"substituters":    "",
		"builders":        "",
		"post-build-hook": "",
	}
}

// SubstituteInputs returns the settings of the first phase of a build
// whose inputs may be substituted: the sandbox on, no remote builders, no
// post-build hook, substitution on with signatures required (whatever
// nix.conf says), from substituters (the configured ones when empty), with
// keys trusted in addition to the configured trusted-public-keys, and a
// build when a substitute fails to download (fallback).
func SubstituteInputs(substituters, keys []string) Settings {
	s := Settings{
		"sandbox":         "true",
		"builders":        "",
		"post-build-hook": "",
		"substitute":      "true",
		"require-sigs":    "true",
		"fallback":        "true",
	}
	if len(substituters) > 0 {
		s["substituters"] = strings.Join(substituters, " ")
	}
	if len(keys) > 0 {
		s["extra-trusted-public-keys"] = strings.Join(keys, " ")
	}
	return s
}

// run runs name with args. Its stdout is returned; its stderr goes to log
// (when not nil) and its tail is kept for the error.
func run(ctx context.Context, log io.Writer, stdout io.Writer, name string, args ...string) ([]byte, error) {
	return runFiltered(ctx, log, stdout, nil, name, args...)
}

// runFiltered is run with stderr passed through filter (when not nil)
// before it reaches log and the error's tail: filter returns the writer
// the command's stderr is written to, given the one it must render to.
func runFiltered(ctx context.Context, log io.Writer, stdout io.Writer, filter func(io.Writer) io.Writer, name string, args ...string) ([]byte, error) {
	return runExec(ctx, Exec{}, log, stdout, filter, name, args...)
}

// runExec is runFiltered under e (see command: every Nix process runs in
// its own process group and dies with nixgate).
func runExec(ctx context.Context, e Exec, log io.Writer, stdout io.Writer, filter func(io.Writer) io.Writer, name string, args ...string) ([]byte, error) {
	cmd := command(ctx, e, name, args...)
	var out bytes.Buffer
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		cmd.Stdout = &out
	}
	tail := &tailBuffer{max: 16 << 10}
	var stderr io.Writer = tail
	if log != nil {
		stderr = io.MultiWriter(tail, log)
	}
	if filter != nil {
		stderr = filter(stderr)
	}
	cmd.Stderr = stderr
	err := cmd.Run()
	if f, ok := stderr.(interface{ Flush() }); ok {
		f.Flush()
	}
	if err != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		label := name
		if name == "nix" && len(args) > 0 {
			for _, a := range args {
				if !strings.HasPrefix(a, "-") && a != "nix-command flakes" {
					label += " " + a
					break
				}
			}
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return out.Bytes(), &Error{Cmd: label, ExitCode: code, Log: tail.String(), Err: err}
	}
	return out.Bytes(), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// Version returns the version of nix ("2.8.0").
func Version(ctx context.Context) (string, error) {
	out, err := run(ctx, nil, nil, "nix", "--version")
	if err != nil {
		return "", err
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return "", fmt.Errorf("nix --version: empty output")
	}
	return f[len(f)-1], nil
}

// storeArgs returns --store and --eval-store arguments.
func storeArgs(store, evalStore string) []string {
	var a []string
	if store != "" {
		a = append(a, "--store", store)
	}
	if evalStore != "" {
		a = append(a, "--eval-store", evalStore)
	}
	return a
}

// BuildOptions are the options of `nix build`.
type BuildOptions struct {
	Store        string // --store URI ("" = the default store)
	EvalStore    string // --eval-store URI ("" = the build store)
	File         string // -f FILE: installables are attribute paths in FILE
	Installables []string
	Rebuild      bool     // --rebuild: build again and compare with the existing output
	KeepFailed   bool     // --keep-failed: on a --rebuild mismatch keep the new output as PATH.check
	KeepGoing    bool     // --keep-going
	Settings     Settings // --option NAME VALUE
	Log          io.Writer
}

// BuildResult is one entry of `nix build --json`.
type BuildResult struct {
	DrvPath string            `json:"drvPath"`
	Outputs map[string]string `json:"outputs"`
}

// Build runs `nix build --json --no-link` and returns what it built.
func Build(ctx context.Context, o BuildOptions) ([]BuildResult, error) {
	args := append([]string{}, experimental...)
	args = append(args, "build", "--json", "--no-link", "--print-build-logs")
	args = append(args, storeArgs(o.Store, o.EvalStore)...)
	if o.Rebuild {
		args = append(args, "--rebuild")
	}
	if o.KeepFailed {
		args = append(args, "--keep-failed")
	}
	if o.KeepGoing {
		args = append(args, "--keep-going")
	}
	args = append(args, o.Settings.args()...)
	if o.File != "" {
		args = append(args, "--file", o.File)
	}
	args = append(args, "--")
	args = append(args, o.Installables...)
	out, err := run(ctx, o.Log, nil, "nix", args...)
	if err != nil {
		return nil, err
	}
	var res []BuildResult
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("nix build: parse --json output: %w", err)
	}
	return res, nil
}

// CopyDerivations copies derivations (.drv paths) and their closure, the
// input derivations and sources, from the default store to the store at
// uri, without substituting anything and without checking signatures (the
// paths are the user's own).
func CopyDerivations(ctx context.Context, uri string, drvs []string, log io.Writer) error {
	args := append([]string{}, experimental...)
	args = append(args, "copy", "--derivation", "--no-check-sigs", "--to", uri)
	args = append(args, Settings{"substituters": ""}.args()...)
	args = append(args, "--")
	args = append(args, drvs...)
	_, err := run(ctx, log, nil, "nix", args...)
	return err
}

// PathInfo is an entry of `nix path-info --json`.
type PathInfo struct {
	Path             string   `json:"path"`
	NarHash          string   `json:"narHash"`
	NarSize          int64    `json:"narSize"`
	References       []string `json:"references"`
	Deriver          string   `json:"deriver"`
	RegistrationTime int64    `json:"registrationTime"`
	Valid            *bool    `json:"valid"` // false for an invalid path
	// Ultimate is set for a path built in this store (not copied or
	// substituted); Signatures are the path's signatures (a substituted
	// path keeps its binary cache's).
	Ultimate   bool     `json:"ultimate"`
	Signatures []string `json:"signatures"`
}

// QueryPathInfo returns Nix's own record of paths in the store at uri.
func QueryPathInfo(ctx context.Context, uri string, paths []string) ([]PathInfo, error) {
	return pathInfo(ctx, uri, paths, nil)
}

// pathInfo runs `nix path-info --json` on paths in the store at uri.
func pathInfo(ctx context.Context, uri string, paths []string, settings Settings) ([]PathInfo, error) {
	args := append([]string{}, experimental...)
	args = append(args, "path-info", "--json")
	args = append(args, storeArgs(uri, "")...)
	args = append(args, settings.args()...)
	args = append(args, "--")
	args = append(args, paths...)
	out, err := run(ctx, nil, nil, "nix", args...)
	if err != nil {
		return nil, err
	}
	return parsePathInfo(out)
}

// parsePathInfo reads `nix path-info --json` (Nix 2.8: a list of
// objects).
func parsePathInfo(out []byte) ([]PathInfo, error) {
	var res []PathInfo
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("nix path-info: parse --json output: %w", err)
	}
	return res, nil
}

// QueryHash returns `nix-store --query --hash PATH` ("sha256:<base32>").
func QueryHash(ctx context.Context, uri, path string) (string, error) {
	args := storeArgs(uri, "")
	args = append(args, "--query", "--hash", path)
	out, err := run(ctx, nil, nil, "nix-store", args...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// DumpPath writes the NAR serialisation of path in the store at uri to w
// (`nix store dump-path`); it is how a remote store's output is read.
func DumpPath(ctx context.Context, uri, path string, w io.Writer) error {
	args := append([]string{}, experimental...)
	args = append(args, "store", "dump-path")
	args = append(args, storeArgs(uri, "")...)
	args = append(args, "--", path)
	_, err := run(ctx, nil, w, "nix", args...)
	return err
}

// HashPath returns `nix hash path PATH` in SRI form (the peer of nixgate's
// own NAR hashing, for benchmarks and cross-checks).
func HashPath(ctx context.Context, path string) (string, error) {
	args := append([]string{}, experimental...)
	args = append(args, "hash", "path", "--", path)
	out, err := run(ctx, nil, nil, "nix", args...)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Instantiate runs nix-instantiate on a .nix file and returns the
// derivation paths of attrs (all of the file's derivations when attrs is
// empty), written to the store at uri.
func Instantiate(ctx context.Context, uri, file string, attrs []string, log io.Writer) ([]string, error) {
	args := storeArgs(uri, "")
	args = append(args, Settings{"substituters": ""}.args()...)
	for _, a := range attrs {
		args = append(args, "-A", a)
	}
	args = append(args, "--", file)
	out, err := run(ctx, log, nil, "nix-instantiate", args...)
	if err != nil {
		return nil, err
	}
	var drvs []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// nix-instantiate prints "PATH!OUTPUT" for a non-default output.
		if l = strings.TrimSpace(l); l != "" {
			drvs = append(drvs, strings.SplitN(l, "!", 2)[0])
		}
	}
	return drvs, nil
}

// Derivation is an entry of `nix show-derivation`: what nixgate needs of
// it.
type Derivation struct {
	Outputs map[string]struct {
		Path string `json:"path"`
	} `json:"outputs"`
	InputSrcs []string            `json:"inputSrcs"`
	InputDrvs map[string][]string `json:"inputDrvs"`
	Env       map[string]string   `json:"env"`
}

// FixedOutput reports whether d is a fixed-output derivation (its output
// hash is given in advance).
func (d Derivation) FixedOutput() bool { return d.Env["outputHash"] != "" }

// ShowDerivationOptions are the options of `nix show-derivation`.
type ShowDerivationOptions struct {
	Store        string // --store URI ("" = the default store)
	File         string // -f FILE: installables are attribute paths in FILE
	Installables []string
	// Args are the arguments of the function FILE evaluates to (--arg,
	// --argstr).
	Args []AutoArg
	Log  io.Writer
}

// AutoArg is an argument of a .nix file's function: --arg NAME EXPR, or
// --argstr NAME STRING when String is set.
type AutoArg struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	String bool   `json:"string,omitempty"`
}

func autoArgs(as []AutoArg) []string {
	var a []string
	for _, x := range as {
		flag := "--arg"
		if x.String {
			flag = "--argstr"
		}
		a = append(a, flag, x.Name, x.Value)
	}
	return a
}

// ShowDerivation evaluates installables (writing their derivations to the
// store) and returns the derivations by path, without substituting
// anything.
func ShowDerivation(ctx context.Context, o ShowDerivationOptions) (map[string]Derivation, error) {
	args := append([]string{}, experimental...)
	args = append(args, "show-derivation")
	args = append(args, storeArgs(o.Store, "")...)
	args = append(args, Settings{"substituters": ""}.args()...)
	if o.File != "" {
		args = append(args, "--file", o.File)
	}
	args = append(args, autoArgs(o.Args)...)
	args = append(args, "--")
	args = append(args, o.Installables...)
	out, err := run(ctx, o.Log, nil, "nix", args...)
	if err != nil {
		return nil, err
	}
	var res map[string]Derivation
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("nix show-derivation: parse --json output: %w", err)
	}
	return res, nil
}

// QueryValid returns Nix's record of the paths that are valid in the store
// at uri, by path; invalid paths are left out. No substituter is asked.
func QueryValid(ctx context.Context, uri string, paths []string) (map[string]PathInfo, error) {
	res := map[string]PathInfo{}
	if len(paths) == 0 {
		return res, nil
	}
	infos, err := pathInfo(ctx, uri, paths, Settings{"substituters": ""})
	if err != nil {
		return nil, err
	}
	for _, in := range infos {
		if in.Valid == nil || *in.Valid {
			res[in.Path] = in
		}
	}
	return res, nil
}

// ConfiguredSubstituters returns the substituters of the user's Nix
// configuration (`nix show-config --json`).
func ConfiguredSubstituters(ctx context.Context) ([]string, error) {
	args := append([]string{}, experimental...)
	args = append(args, "show-config", "--json")
	out, err := run(ctx, nil, nil, "nix", args...)
	if err != nil {
		return nil, err
	}
	return parseShowConfigSubstituters(out)
}

// parseShowConfigSubstituters reads the substituters of `nix show-config
// --json`.
func parseShowConfigSubstituters(out []byte) ([]string, error) {
	var conf struct {
		Substituters struct {
			Value []string `json:"value"`
		} `json:"substituters"`
	}
	if err := json.Unmarshal(out, &conf); err != nil {
		return nil, fmt.Errorf("nix show-config: parse --json output: %w", err)
	}
	return conf.Substituters.Value, nil
}

// RealiseOptions are the options of `nix-store --realise`.
type RealiseOptions struct {
	Store    string   // --store URI ("" = the default store)
	Paths    []string // DRV!OUTPUT, DRV (every output) or store paths
	Settings Settings // --option NAME VALUE
	Log      io.Writer
	// Exec is how nix-store is started (a time namespace, CPUs, extra
	// environment).
	Exec Exec
	// Activity, when not nil, records the builds in progress and their
	// logs' last lines.
	Activity *Activity
	// Check builds the paths again and compares them with the valid
	// outputs (--check); KeepFailed keeps a differing output as
	// PATH.check (--keep-failed).
	Check, KeepFailed bool
}

// Substitution is a path copied from a substituter, or refused.
type Substitution struct {
	Path string `json:"path"`
	From string `json:"from"`
}

// RealiseResult is what Nix reported doing while realising paths.
type RealiseResult struct {
	Built       []string       // derivations built, in order
	Substituted []Substitution // substitutions started, in order
	Refused     []Substitution // substitutes not signed by a trusted key
}

// Realise runs `nix-store --realise` on paths and reads Nix's structured
// log (--log-format internal-json) to tell which derivations it built and
// which paths it substituted, and from where. The log reaches o.Log, and
// the error, as plain text.
func Realise(ctx context.Context, o RealiseOptions) (*RealiseResult, error) {
	args := storeArgs(o.Store, "")
	args = append(args, "--realise", "--log-format", "internal-json")
	if o.Check {
		args = append(args, "--check")
	}
	if o.KeepFailed {
		args = append(args, "--keep-failed")
	}
	args = append(args, o.Settings.args()...)
	args = append(args, "--")
	args = append(args, o.Paths...)
	res := &RealiseResult{}
	filter := func(w io.Writer) io.Writer { return &jsonLog{w: w, res: res, act: o.Activity} }
	_, err := runExec(ctx, o.Exec, o.Log, nil, filter, "nix-store", args...)
	return res, err
}

// Activity and result types of Nix's internal-json log.
const (
	actBuild        = 105
	actSubstitute   = 108
	resBuildLogLine = 101
	lvlInfo         = 3
)

var (
	ansiRe    = lazyre.New("\x1b\\[[0-9;]*[A-Za-z]")
	refusedRe = lazyre.New(`substitute for '([^']+)' from '([^']+)'.*not signed by any of the keys`)
)

// jsonLog parses Nix's internal-json log line by line, records builds and
// substitutions in res, and renders the log as Nix's plain text to w.
type jsonLog struct {
	w   io.Writer
	res *RealiseResult
	act *Activity
	buf []byte
}

func (l *jsonLog) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.line(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

// Flush handles a last line without a newline.
func (l *jsonLog) Flush() {
	if len(l.buf) > 0 {
		l.line(l.buf)
		l.buf = nil
	}
}

func (l *jsonLog) line(b []byte) {
	j, ok := bytes.CutPrefix(b, []byte("@nix "))
	if !ok {
		fmt.Fprintf(l.w, "%s\n", b)
		return
	}
	var ev struct {
		Action string  `json:"action"`
		Type   int     `json:"type"`
		Level  int     `json:"level"`
		ID     float64 `json:"id"`
		Text   string  `json:"text"`
		Msg    string  `json:"msg"`
		Fields []any   `json:"fields"`
	}
	if err := json.Unmarshal(j, &ev); err != nil {
		fmt.Fprintf(l.w, "%s\n", b)
		return
	}
	field := func(i int) string {
		if i < len(ev.Fields) {
			if s, ok := ev.Fields[i].(string); ok {
				return s
			}
		}
		return ""
	}
	var text string
	switch ev.Action {
	case "msg":
		text = ansiRe().ReplaceAllString(ev.Msg, "")
		if m := refusedRe().FindStringSubmatch(text); m != nil {
			l.res.Refused = append(l.res.Refused, Substitution{Path: m[1], From: m[2]})
		}
		if ev.Level > lvlInfo || strings.Contains(text, "you did not specify '--add-root'") {
			// Nix's advice to nix-store --realise callers: nixgate keeps
			// no GC roots; the inputs are built on at once.
			text = ""
		}
	case "start":
		switch ev.Type {
		case actBuild:
			if d := field(0); d != "" {
				l.res.Built = append(l.res.Built, d)
				l.act.start(ev.ID, d)
			}
		case actSubstitute:
			if p := field(0); p != "" {
				l.res.Substituted = append(l.res.Substituted, Substitution{Path: p, From: field(1)})
			}
		}
		if ev.Level <= lvlInfo {
			text = ev.Text
		}
	case "result":
		if ev.Type == resBuildLogLine {
			text = field(0)
			l.act.line(ev.ID, text)
		}
	case "stop":
		l.act.stop(ev.ID)
	}
	if text != "" {
		fmt.Fprintf(l.w, "%s\n", text)
	}
}
