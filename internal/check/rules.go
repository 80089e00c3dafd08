package check

// RuleText is each DESIGN.md rule in one line, for `nixgate explain` and
// the SARIF rule help.
var RuleText = map[string]string{
	"R1":  "Never merge a change that contains build outputs (a build/ directory, result symlinks, compiled binaries).",
	"R2":  "Review every changed line of a change; changes to dependency pins, CI and signing configuration need extra review.",
	"R3":  "Never build from a dirty tree; bake the git short hash into the artifact's name.",
	"R4":  "No secret ever lands in a repository: tokens, private keys, Nix signing keys, plain Kubernetes Secret manifests.",
	"R5":  "Every input is pinned by flake.lock: no floating tags, unpinned refs or channels, registry lookups or mutable URLs.",
	"R6":  "A flake.lock change is a supply-chain change: it comes with a dependency delta report.",
	"R7":  "Builds run with the Nix sandbox enabled, and that is proven, not assumed.",
	"R8":  "Only trusted people are trusted-users; signatures are required; every substituter is controlled and its key pinned.",
	"R9":  "Results from shared builders are not trusted: k of n independent builders agree, every NAR matches its signed narinfo.",
	"R10": "A build is reproducible when the same pinned inputs give the same output hash on two clean builders.",
	"R11": "Every release artifact has provenance and an SBOM; signing is an offline ceremony: CI builds but never signs.",
	"R12": "The kernel configuration is a gate: the required hardening options are enforced and the build fails on drift.",
	"R13": "Invariants of the init program are enforced mechanically; embedded policy files parse and match their schema.",
	"R14": "The UKI embeds kernel, initrd, the required init= and its policies; its signature verifies; signing changed nothing else.",
}

// Command is the nixgate command that runs the checks of a scope.
func (s Scope) Command() string {
	switch s {
	case ScopeRepo:
		return "nixgate check"
	case ScopePR:
		return "nixgate pr"
	case ScopeHost:
		return "nixgate host"
	case ScopeKconfig:
		return "nixgate kconfig"
	case ScopeCache:
		return "nixgate cache verify"
	case ScopeTrust:
		return "nixgate trust decide"
	case ScopeProvenance:
		return "nixgate verify"
	case ScopeUKI:
		return "nixgate uki check"
	}
	return "nixgate " + string(s)
}
