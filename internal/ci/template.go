package ci

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// Template writes the commented [ci] table `nixgate init --ci` adds for the
// repository it finds: files are its files (slash-separated, relative to
// the root) and read reads one. What the repository shows is written as
// settings (the layout, its kernel configurations, its crates' tests, nix
// flake check for a flake); the rest is written as commented examples.
// Nothing is evaluated.
func Template(files []string, read func(string) ([]byte, error)) []byte {
	has := func(name string) bool { _, ok := slices.BinarySearch(files, name); return ok }
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	q := strconv.Quote
	list := func(items []string) string {
		qs := make([]string, len(items))
		for i, s := range items {
			qs[i] = q(s)
		}
		return "[" + strings.Join(qs, ", ") + "]"
	}

	w(`
# nixgate ci: every gate a pipeline must run, from this table. Reference:
# docs/ci.md. nixgate check always runs; nixgate pr and lock diff run when
# the change's base is known (--base, or the pull request's event). A gate
# that needs what the runner lacks is reported SKIPPED, never passed.
[ci]
# Turn skipped gates into failures (or pass --require-all).
require-all = false
`)
	// The layout: what the repository has that the gates read.
	var layout []string
	for _, f := range []string{"flake.nix", "flake.lock"} {
		if has(f) {
			layout = append(layout, f)
		}
	}
	configs := kernelConfigs(files, read)
	layout = append(layout, configs...)
	dirs := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, ".schema.json") {
			d := path.Dir(f)
			for _, g := range files {
				if path.Dir(path.Dir(g)) == d && strings.HasSuffix(g, ".toml") {
					dirs[path.Dir(g)+"/"] = true
				}
			}
			layout = append(layout, f)
		}
	}
	for d := range dirs {
		layout = append(layout, d)
	}
	slices.Sort(layout)
	layout = slices.Compact(layout)
	w(`
# The repository layout the pipeline expects (the required-paths check, in
# nixgate check too): a file, a directory with a final / (at least one file
# in it) or a glob.
`)
	if len(layout) > 0 {
		w("required-paths = %s\n", list(layout))
	} else {
		w("# required-paths = [\"flake.lock\", \"kernel/config-hardened\", \"policies/rooms/\"]\n")
	}
	w(`
# Outputs the flake must have (nix flake show --json), and tools its dev
# shell must provide (commands: sbsign for sbsigntool), checked with
# nix develop. These evaluate the flake: the runner needs Nix.
`)
	if has("flake.nix") {
		w("# required-outputs = [\"packages.x86_64-linux.default\", \"devShells.x86_64-linux.default\"]\n")
		w("# devshell-tools = [\"jq\", \"sbsign\", \"tokei\", \"cargo-deny\"]\n")
	} else {
		w("# (no flake.nix here)\n")
	}

	if len(configs) > 0 {
		w(`
# Kernel configurations, gated on hardening profiles (nixgate kconfig).
[ci.kconfig]
configs = %s
`, list(configs))
		var profiles []string
		for _, f := range files {
			if strings.HasSuffix(f, ".toml") && slices.Contains(configDirs(configs), path.Dir(f)) && isKconfigProfile(f, read) {
				profiles = append(profiles, f)
			}
		}
		if len(profiles) == 0 {
			profiles = []string{"anchor"}
		}
		w("profiles = %s\n", list(profiles))
		w("# cmdline = \"kernel/cmdline\"\n# sysctl = \"kernel/sysctl.conf\"\n")
	} else {
		w(`
# Kernel configurations, gated on hardening profiles (nixgate kconfig).
# [ci.kconfig]
# configs = ["kernel/config-hardened"]
# profiles = ["anchor"]
`)
	}

	w(`
# The runner's Nix configuration (nixgate host); probe = true proves the
# sandbox with a build.
# [ci.host]
# probe = true
`)
	// The project's own commands.
	var steps [][2]string // name, command
	if has("flake.nix") {
		steps = append(steps, [2]string{"flake check", list([]string{"nix", "flake", "check"})})
	}
	for _, c := range crates(files, read) {
		steps = append(steps, [2]string{"cargo test " + c.name, list([]string{"cargo", "test", "--manifest-path", c.manifest})})
		if has(path.Join(path.Dir(c.manifest), "deny.toml")) || has("deny.toml") {
			steps = append(steps, [2]string{"cargo deny " + c.name, list([]string{"cargo", "deny", "--manifest-path", c.manifest, "check"})})
		}
	}
	w(`
# The project's own commands, each with a timeout: an argument vector, run
# in the repository (dir is relative to it). A step whose program is not on
# PATH is skipped. Never a signing step: ci refuses to run with one.
`)
	if len(steps) == 0 {
		w("# [[ci.run]]\n# name = \"tests\"\n# command = [\"make\", \"test\"]\n# timeout = \"20m\"\n")
	}
	for _, s := range steps {
		w("[[ci.run]]\nname = %s\ncommand = %s\ntimeout = \"30m\"\n\n", q(s[0]), s[1])
	}
	w(`# Rebuild on two clean builders and compare (nixgate rebuild).
# [ci.rebuild]
# installables = [".#default"]

# A binary cache: k of n distinct signing keys (nixgate cache verify).
# [ci.cache]
# store = "https://cache.example.org"
# keys = ["cache.example.org-1:BASE64="]
# require = 1
# closure = ["/nix/store/...-anchor-image"]

# The image (nixgate uki check / verify / boot-test), after the run steps.
# [ci.uki]
# file = "result/anchor.efi"
# policy = "uki/gate.toml"
# certs = ["keys/db.crt"]
# boot-test = true
# expect = "bay0: ready"

# Provenance of the output (nixgate attest): a statement, never a
# signature; sign it offline (nixgate sign).
# [ci.provenance]
# installable = ".#default"
# output = "provenance.json"
`)
	if has(".github/workflows") || slices.ContainsFunc(files, func(f string) bool { return strings.HasPrefix(f, ".github/workflows/") }) {
		w("\n# In GitHub Actions: uses: nixgate/nixgate@<commit SHA> (docs/ci.md).\n")
	}
	return b.Bytes()
}

// kernelConfigs finds kernel configurations: files named *.config, config,
// .config, config-* or *defconfig whose first lines set CONFIG_ options.
func kernelConfigs(files []string, read func(string) ([]byte, error)) []string {
	var out []string
	for _, f := range files {
		base := path.Base(f)
		if !(strings.HasSuffix(base, ".config") || base == "config" || strings.HasPrefix(base, "config-") || strings.HasSuffix(base, "defconfig")) {
			continue
		}
		data, err := read(f)
		if err != nil {
			continue
		}
		if len(data) > 8192 {
			data = data[:8192]
		}
		if bytes.Contains(data, []byte("\nCONFIG_")) || bytes.HasPrefix(data, []byte("CONFIG_")) || bytes.Contains(data, []byte("# CONFIG_")) {
			out = append(out, f)
		}
	}
	return out
}

func configDirs(configs []string) []string {
	var d []string
	for _, c := range configs {
		d = append(d, path.Dir(c))
	}
	return d
}

// isKconfigProfile reports whether a TOML file is a kconfig profile (it
// extends a profile or holds rules).
func isKconfigProfile(f string, read func(string) ([]byte, error)) bool {
	data, err := read(f)
	if err != nil {
		return false
	}
	var v struct {
		Extends []string       `toml:"extends"`
		Rules   map[string]any `toml:"rules"`
		Rule    []any          `toml:"rule"`
	}
	if toml.Unmarshal(data, &v) != nil {
		return false
	}
	return len(v.Extends) > 0 || len(v.Rules) > 0 || len(v.Rule) > 0
}

type crateInfo struct{ name, manifest string }

// crates are the packages of the repository's Cargo manifests (outside
// vendored and build directories).
func crates(files []string, read func(string) ([]byte, error)) []crateInfo {
	var out []crateInfo
	for _, f := range files {
		if path.Base(f) != "Cargo.toml" || strings.Contains("/"+f, "/vendor/") || strings.Contains("/"+f, "/target/") || strings.Contains("/"+f, "/testdata/") {
			continue
		}
		data, err := read(f)
		if err != nil {
			continue
		}
		var m struct {
			Package *struct {
				Name string `toml:"name"`
			} `toml:"package"`
		}
		if toml.Unmarshal(data, &m) == nil && m.Package != nil && m.Package.Name != "" {
			out = append(out, crateInfo{m.Package.Name, f})
		}
	}
	return out
}
