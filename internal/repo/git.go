package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
)

// ErrUnknownRevision is returned when a revision does not name a commit.
var ErrUnknownRevision = errors.New("unknown revision")

// ErrNotGit is returned when a directory is not in a git work tree.
var ErrNotGit = errors.New("not in a git work tree")

// hardening is the fixed configuration every git command runs with: nothing
// a repository's own configuration says can run a program, reach the
// network, or change what objects git sees. Filters declared in the
// repository's configuration are switched off by name (see filterArgs).
var hardening = []string{
	"-c", "core.fsmonitor=false",
	"-c", "core.hooksPath=/dev/null",
	"-c", "core.quotePath=false",
	"-c", "core.pager=cat",
	"-c", "core.sshCommand=false",
	"-c", "core.gitProxy=",
	"-c", "core.askPass=",
	"-c", "core.alternateRefsCommand=",
	"-c", "core.untrackedCache=false",
	"-c", "core.attributesFile=/dev/null",
	"-c", "credential.helper=",
	"-c", "protocol.allow=never",
	"-c", "diff.external=",
	"-c", "diff.ignoreSubmodules=all",
	"-c", "status.submoduleSummary=false",
	"-c", "submodule.recurse=false",
	"-c", "safe.bareRepository=explicit",
	"-c", "gc.auto=0",
	"-c", "maintenance.auto=false",
	"-c", "uploadpack.packObjectsHook=",
	"-c", "gpg.program=false",
	"--no-pager",
	"--no-replace-objects",
}

// gitEnv is the environment of every git command: the process environment
// without any GIT_* variable (GIT_DIR, GIT_CONFIG_PARAMETERS and friends
// would redirect or reconfigure git), with no system configuration, an
// empty global configuration, and no prompts.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_ATTR_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_OPTIONAL_LOCKS=0",
		"GIT_NO_REPLACE_OBJECTS=1",
		"GIT_PROTOCOL_FROM_USER=0",
		"GIT_ALLOW_PROTOCOL=none",
		"LC_ALL=C",
	)
}

// safeDirs are the user's own safe.directory entries (from the global and
// system configuration that gitEnv switches off), passed on so that git's
// ownership check keeps the user's decisions, and no more. nixgate never
// adds an entry of its own.
var safeDirs = sync.OnceValue(func() []string {
	cmd := exec.Command("git", "config", "--includes", "--get-all", "safe.directory")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "GIT_CONFIG_GLOBAL=") || strings.HasPrefix(kv, "GIT_CONFIG_SYSTEM=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "LC_ALL=C")
	cmd.Dir = os.TempDir() // outside any repository: only global and system scopes
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	var args []string
	for _, d := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if d != "" {
			args = append(args, "-c", "safe.directory="+d)
		}
	}
	return args
})

// safeDirsFor is safeDirs for a git command in dir: none when the
// repository there is the user's own (git does not consult them then).
func safeDirsFor(dir string) []string {
	if ownedWorkTree(dir) {
		return nil
	}
	return safeDirs()
}

// filterCache holds, per repository directory, the -c arguments that turn
// off the filters its configuration defines.
var filterCache sync.Map // dir -> []string

// filterArgs lists the filter drivers the repository's configuration
// defines (its own .git/config and everything it includes) and returns
// arguments that empty their clean, smudge and process commands. Reading
// the configuration runs nothing.
func filterArgs(ctx context.Context, dir string) []string {
	if v, ok := filterCache.Load(dir); ok {
		return v.([]string)
	}
	args := append(slices.Clone(hardening), safeDirsFor(dir)...)
	cmd := exec.CommandContext(ctx, "git", append(append([]string{"-C", dir}, args...), "config", "--includes", "--list", "-z")...)
	cmd.Env = gitEnv()
	out, _ := cmd.Output()
	names := map[string]bool{}
	for _, rec := range bytes.Split(out, []byte{0}) {
		key, _, _ := bytes.Cut(rec, []byte{'\n'})
		k := strings.ToLower(string(key))
		if !strings.HasPrefix(k, "filter.") {
			continue
		}
		rest := string(key)[len("filter."):]
		if i := strings.LastIndexByte(rest, '.'); i > 0 {
			names[rest[:i]] = true
		}
	}
	var fa []string
	for _, n := range slices.Sorted(mapKeys(names)) {
		fa = append(fa, "-c", "filter."+n+".clean=", "-c", "filter."+n+".smudge=",
			"-c", "filter."+n+".process=", "-c", "filter."+n+".required=false")
	}
	filterCache.Store(dir, fa)
	return fa
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Command returns a git command in dir with the fixed configuration; use
// it to stream output. Git never runs repository code or configuration:
// no hooks, filters, fsmonitor, external diff or textconv, pager, system
// or global configuration, network protocol, or replace objects.
func Command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	all := []string{"-C", dir}
	all = append(all, hardening...)
	all = append(all, safeDirsFor(dir)...)
	if !objectsOnly(args) {
		all = append(all, filterArgs(ctx, dir)...)
	}
	cmd := exec.CommandContext(ctx, "git", append(all, args...)...)
	cmd.Env = gitEnv()
	return cmd
}

// objectsOnly reports whether git args read only objects and refs, never
// converting between the work tree and the index: such a command runs no
// clean or smudge filter, so it needs no filterArgs (whose
// `git config --list` would be one more start-up before it).
func objectsOnly(args []string) bool {
	i := 0
	for i+1 < len(args) && args[i] == "-c" {
		i += 2
	}
	if i >= len(args) {
		return false
	}
	switch args[i] {
	case "rev-parse", "merge-base", "rev-list", "ls-tree", "diff-tree", "log":
		return true
	case "cat-file":
		for _, a := range args[i+1:] {
			if a == "--filters" || a == "--textconv" || strings.HasPrefix(a, "--path") {
				return false
			}
		}
		return true
	}
	return false
}

// Git runs git in dir (see Command) and returns its standard output.
func Git(ctx context.Context, dir string, args ...string) ([]byte, error) {
	return StartGit(ctx, dir, args...)()
}

// StartGit starts git in dir (see Command) and returns a function that
// waits for it and returns its output, as Git does. Starting two commands
// before waiting on either runs them side by side without a goroutine
// each (one that would wait its turn for a CPU first).
func StartGit(ctx context.Context, dir string, args ...string) func() ([]byte, error) {
	cmd := Command(ctx, dir, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Start()
	return func() ([]byte, error) {
		if err == nil {
			err = cmd.Wait()
		}
		if err != nil {
			if ctx.Err() != nil {
				return stdout.Bytes(), fmt.Errorf("git %s: %w", firstArg(args), ctx.Err())
			}
			msg := strings.TrimSpace(stderr.String())
			if msg == "" {
				msg = err.Error()
			}
			return stdout.Bytes(), &GitError{Args: args, Stderr: msg}
		}
		return stdout.Bytes(), nil
	}
}

// GitError is a git command that failed, with what it printed.
type GitError struct {
	Args   []string
	Stderr string
}

func (e *GitError) Error() string {
	msg := e.Stderr
	if strings.Contains(msg, "dubious ownership") {
		msg = "git refuses a repository owned by another user (dubious ownership); if you trust it, add it to safe.directory in your own git configuration"
	}
	return fmt.Sprintf("git %s: %s", firstArg(e.Args), oneLine(msg))
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(lines[i], "fatal: "), "error: "))
	}
	return strings.Join(slices.DeleteFunc(lines, func(l string) bool { return l == "" }), "; ")
}

// ValidRevision reports whether rev can be handed to git as a revision: it
// must not look like an option, and must not be empty or contain control
// characters.
func ValidRevision(rev string) error {
	switch {
	case rev == "":
		return fmt.Errorf("empty revision")
	case strings.HasPrefix(rev, "-"):
		return fmt.Errorf("revision %q starts with '-': %w", rev, ErrUnknownRevision)
	case strings.ContainsFunc(rev, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("revision %q has control characters: %w", rev, ErrUnknownRevision)
	}
	return nil
}

// ResolveCommit turns a revision into the full hash of the commit it
// names, or an error wrapping ErrUnknownRevision (or ErrNotGit).
func ResolveCommit(ctx context.Context, dir, rev string) (string, error) {
	if err := ValidRevision(rev); err != nil {
		return "", err
	}
	out, err := Git(ctx, dir, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err == nil && len(bytes.TrimSpace(out)) > 0 {
		return strings.TrimSpace(string(out)), nil
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	// Only on failure: is it the revision or the directory?
	if _, err := Git(ctx, dir, "rev-parse", "--is-inside-work-tree"); err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "", fmt.Errorf("%s: %w (%v)", dir, ErrNotGit, err)
	}
	return "", fmt.Errorf("%q is not a commit in %s: %w", rev, dir, ErrUnknownRevision)
}
