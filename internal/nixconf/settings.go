package nixconf

import (
	"fmt"
	"strings"
)

// Kind is a setting's value type, which decides how Nix validates it and
// whether `extra-NAME` may append to it.
type Kind int

// Kinds of settings.
const (
	KindString  Kind = iota // one string (the tokens joined by spaces)
	KindList                // a list or set of tokens; extra-NAME appends
	KindBool                // "true" or "false", nothing else
	KindSandbox             // "true", "false" or "relaxed"
	KindInt                 // an integer (some accept "auto")
)

// Spec describes one Nix setting as nixgate knows it.
type Spec struct {
	Name string
	Kind Kind
	// Default is the value Nix uses on Linux when the setting is not set
	// (for the daemon running as root), as the tokens `nix show-config`
	// prints.
	Default []string
	Aliases []string
	// Secret settings hold credentials: their values are redacted when read,
	// so that no report, JSON or error can show them.
	Secret bool
}

// Appendable reports whether `extra-NAME` appends to this setting.
func (s *Spec) Appendable() bool { return s.Kind == KindList }

// specs lists the settings nixgate reads, with Nix's aliases and Linux
// defaults (src/libstore/globals.hh of Nix 2.8, and the settings added by
// later releases that matter to security). A setting not listed here is
// kept as written and reported as unknown to nixgate, never dropped.
var specs = []Spec{
	{Name: "accept-flake-config", Kind: KindBool, Default: []string{"false"}},
	{Name: "access-tokens", Kind: KindList, Secret: true},
	{Name: "allow-dirty", Kind: KindBool, Default: []string{"true"}},
	{Name: "allow-import-from-derivation", Kind: KindBool, Default: []string{"true"}},
	{Name: "allow-new-privileges", Kind: KindBool, Default: []string{"false"}},
	{Name: "allow-symlinked-store", Kind: KindBool, Default: []string{"false"}},
	{Name: "allow-unsafe-native-code-during-evaluation", Kind: KindBool, Default: []string{"false"}},
	{Name: "allowed-impure-host-deps", Kind: KindList},
	{Name: "allowed-uris", Kind: KindList},
	{Name: "allowed-users", Kind: KindList, Default: []string{"*"}},
	{Name: "always-allow-substitutes", Kind: KindBool, Default: []string{"false"}},
	{Name: "auto-allocate-uids", Kind: KindBool, Default: []string{"false"}},
	{Name: "auto-optimise-store", Kind: KindBool, Default: []string{"false"}},
	{Name: "bash-prompt", Kind: KindString},
	{Name: "bash-prompt-prefix", Kind: KindString},
	{Name: "bash-prompt-suffix", Kind: KindString},
	{Name: "build-dir", Kind: KindString},
	{Name: "build-hook", Kind: KindList},
	{Name: "build-poll-interval", Kind: KindInt, Default: []string{"5"}},
	{Name: "build-users-group", Kind: KindString, Default: []string{"nixbld"}},
	{Name: "builders", Kind: KindString, Default: []string{"@/etc/nix/machines"}},
	{Name: "builders-use-substitutes", Kind: KindBool, Default: []string{"false"}},
	{Name: "commit-lockfile-summary", Kind: KindString},
	{Name: "compress-build-log", Kind: KindBool, Default: []string{"true"}, Aliases: []string{"build-compress-log"}},
	{Name: "connect-timeout", Kind: KindInt, Default: []string{"0"}},
	{Name: "cores", Kind: KindInt, Aliases: []string{"build-cores"}},
	{Name: "diff-hook", Kind: KindString},
	{Name: "download-attempts", Kind: KindInt, Default: []string{"5"}},
	{Name: "enforce-determinism", Kind: KindBool, Default: []string{"true"}},
	{Name: "eval-cache", Kind: KindBool, Default: []string{"true"}},
	{Name: "experimental-features", Kind: KindList},
	{Name: "extra-platforms", Kind: KindList},
	{Name: "fallback", Kind: KindBool, Default: []string{"false"}, Aliases: []string{"build-fallback"}},
	{Name: "filter-syscalls", Kind: KindBool, Default: []string{"true"}},
	{Name: "flake-registry", Kind: KindString, Default: []string{"https://github.com/NixOS/flake-registry/raw/master/flake-registry.json"}},
	{Name: "fsync-metadata", Kind: KindBool, Default: []string{"true"}},
	{Name: "gc-reserved-space", Kind: KindInt},
	{Name: "hashed-mirrors", Kind: KindList},
	{Name: "http-connections", Kind: KindInt, Default: []string{"25"}, Aliases: []string{"binary-caches-parallel-connections"}},
	{Name: "http2", Kind: KindBool, Default: []string{"true"}},
	{Name: "ignored-acls", Kind: KindList},
	{Name: "impersonate-linux-26", Kind: KindBool, Default: []string{"false"}, Aliases: []string{"build-impersonate-linux-26"}},
	{Name: "keep-build-log", Kind: KindBool, Default: []string{"true"}, Aliases: []string{"build-keep-log"}},
	{Name: "keep-derivations", Kind: KindBool, Default: []string{"true"}, Aliases: []string{"gc-keep-derivations"}},
	{Name: "keep-env-derivations", Kind: KindBool, Default: []string{"false"}, Aliases: []string{"env-keep-derivations"}},
	{Name: "keep-failed", Kind: KindBool, Default: []string{"false"}},
	{Name: "keep-going", Kind: KindBool, Default: []string{"false"}},
	{Name: "keep-outputs", Kind: KindBool, Default: []string{"false"}, Aliases: []string{"gc-keep-outputs"}},
	{Name: "log-lines", Kind: KindInt, Default: []string{"10"}},
	{Name: "max-build-log-size", Kind: KindInt, Aliases: []string{"build-max-log-size"}},
	{Name: "max-free", Kind: KindInt},
	{Name: "max-jobs", Kind: KindInt, Default: []string{"1"}, Aliases: []string{"build-max-jobs"}},
	{Name: "max-silent-time", Kind: KindInt, Default: []string{"0"}, Aliases: []string{"build-max-silent-time"}},
	{Name: "min-free", Kind: KindInt},
	{Name: "narinfo-cache-negative-ttl", Kind: KindInt},
	{Name: "narinfo-cache-positive-ttl", Kind: KindInt},
	{Name: "netrc-file", Kind: KindString, Default: []string{"/etc/nix/netrc"}},
	{Name: "nix-path", Kind: KindList},
	{Name: "plugin-files", Kind: KindList},
	{Name: "post-build-hook", Kind: KindString},
	{Name: "pre-build-hook", Kind: KindString},
	{Name: "preallocate-contents", Kind: KindBool, Default: []string{"false"}},
	{Name: "print-missing", Kind: KindBool, Default: []string{"true"}},
	{Name: "pure-eval", Kind: KindBool},
	{Name: "repeat", Kind: KindInt, Default: []string{"0"}, Aliases: []string{"build-repeat"}},
	{Name: "require-sigs", Kind: KindBool, Default: []string{"true"}},
	{Name: "restrict-eval", Kind: KindBool, Default: []string{"false"}},
	{Name: "run-diff-hook", Kind: KindBool, Default: []string{"false"}},
	{Name: "sandbox", Kind: KindSandbox, Default: []string{"true"}, Aliases: []string{"build-use-chroot", "build-use-sandbox"}},
	{Name: "sandbox-build-dir", Kind: KindString, Default: []string{"/build"}},
	{Name: "sandbox-dev-shm-size", Kind: KindString, Default: []string{"50%"}},
	{Name: "sandbox-fallback", Kind: KindBool, Default: []string{"true"}},
	{Name: "sandbox-paths", Kind: KindList, Aliases: []string{"build-chroot-dirs", "build-sandbox-paths"}},
	{Name: "secret-key-files", Kind: KindList},
	{Name: "show-trace", Kind: KindBool, Default: []string{"false"}},
	{Name: "stalled-download-timeout", Kind: KindInt},
	{Name: "store", Kind: KindString, Default: []string{"auto"}},
	{Name: "substitute", Kind: KindBool, Default: []string{"true"}, Aliases: []string{"build-use-substitutes"}},
	{Name: "substituters", Kind: KindList, Default: []string{"https://cache.nixos.org/"}, Aliases: []string{"binary-caches"}},
	{Name: "sync-before-registering", Kind: KindBool, Default: []string{"false"}},
	{Name: "system", Kind: KindString},
	{Name: "system-features", Kind: KindList},
	{Name: "tarball-ttl", Kind: KindInt},
	{Name: "timeout", Kind: KindInt, Default: []string{"0"}, Aliases: []string{"build-timeout"}},
	{Name: "trace-function-calls", Kind: KindBool, Default: []string{"false"}},
	{Name: "trusted-public-keys", Kind: KindList, Default: []string{"cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY="}, Aliases: []string{"binary-cache-public-keys"}},
	{Name: "trusted-substituters", Kind: KindList, Aliases: []string{"trusted-binary-caches"}},
	{Name: "trusted-users", Kind: KindList, Default: []string{"root"}},
	{Name: "upgrade-nix-store-path-url", Kind: KindString},
	{Name: "use-case-hack", Kind: KindBool, Default: []string{"false"}},
	{Name: "use-cgroups", Kind: KindBool, Default: []string{"false"}},
	{Name: "use-registries", Kind: KindBool, Default: []string{"true"}},
	{Name: "use-sqlite-wal", Kind: KindBool, Default: []string{"true"}},
	{Name: "user-agent-suffix", Kind: KindString},
	{Name: "warn-dirty", Kind: KindBool, Default: []string{"true"}},
}

var (
	byName  = map[string]*Spec{}
	aliasOf = map[string]string{}
)

func init() {
	for i := range specs {
		s := &specs[i]
		byName[s.Name] = s
		for _, a := range s.Aliases {
			aliasOf[a] = s.Name
		}
	}
}

// Lookup finds a setting by its name or one of its aliases.
func Lookup(name string) (*Spec, bool) {
	if n, ok := aliasOf[name]; ok {
		name = n
	}
	s, ok := byName[name]
	return s, ok
}

// Specs returns every setting nixgate knows, sorted by name.
func Specs() []Spec { return append([]Spec(nil), specs...) }

// RedactTokens hides the credentials of an access-tokens value: each
// HOST=TOKEN keeps its host, the token's first four characters (only when
// it is long enough that they give nothing away) and its length.
func RedactTokens(vals []string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		host, tok, ok := strings.Cut(v, "=")
		if !ok {
			host, tok = "", v
		}
		red := fmt.Sprintf("…(%d chars, redacted)", len(tok))
		if len(tok) >= 16 {
			red = tok[:4] + red
		}
		if ok {
			red = host + "=" + red
		}
		out[i] = red
	}
	return out
}
