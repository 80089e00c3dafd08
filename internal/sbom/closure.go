// Package sbom describes a Nix closure as a software bill of materials:
// CycloneDX 1.6 JSON (CycloneDX/cyclonedx-go) and SPDX 2.3 JSON
// (spdx/tools-golang). Every component is a store path with its name and
// version parsed as Nix parses them, the SHA-256 of its NAR (the hash
// `nix path-info` reports), a pkg:nix purl and its dependency edges. The
// output is deterministic: the serial number is a UUIDv5 of the content and
// the timestamp is given by the caller.
package sbom

import (
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/nix-community/go-nix/pkg/nixhash"

	"github.com/nixgate/nixgate/internal/nixcli"
)

// StoreDir is the store directory every path is under.
const StoreDir = "/nix/store"

// Component is one store path of a closure.
type Component struct {
	// Path is the store path.
	Path string
	// Name and Version are parsed from the path's name (ParseName).
	Name, Version string
	// NarHash is the SHA-256 of the path's NAR serialisation, in hex; ""
	// when the path is not valid in the store (a build-time input that
	// was never built or was collected).
	NarHash string
	// NarHashSRI is NarHash as Nix prints it (sha256-BASE64).
	NarHashSRI string
	NarSize    int64
	// Deriver is the .drv the path was built from, when Nix knows it.
	Deriver string
	// Output is the derivation output's name ("out", "dev"), for a
	// build-time component.
	Output string
	// DependsOn are the store paths this one depends on, sorted: its
	// references (runtime) or its derivation's inputs (build time).
	DependsOn []string
}

// Closure is a set of components and the roots it was computed from.
type Closure struct {
	// Roots are the store paths asked about, sorted.
	Roots []string
	// Components are sorted by path.
	Components []Component
	// BuildTime is set for the build-time closure (the derivation graph).
	BuildTime bool
}

// Component returns the component of a path, or nil.
func (c *Closure) Component(path string) *Component {
	i, ok := slices.BinarySearchFunc(c.Components, path, func(c Component, p string) int { return strings.Compare(c.Path, p) })
	if !ok {
		return nil
	}
	return &c.Components[i]
}

// NarHashHex converts a NAR hash as Nix prints it (sha256-BASE64 SRI,
// sha256:BASE32 or sha256:HEX) to lowercase hex.
func NarHashHex(s string) (string, error) {
	// Nix prints SRI; decode it directly (ParseAny tries every encoding).
	if b64, ok := strings.CutPrefix(s, "sha256-"); ok && len(b64) == 44 {
		var d [33]byte
		if n, err := base64.StdEncoding.Decode(d[:], []byte(b64)); err == nil && n == 32 {
			return hex.EncodeToString(d[:32]), nil
		}
	}
	if !strings.HasPrefix(s, "sha256-") && !strings.HasPrefix(s, "sha256:") {
		return "", fmt.Errorf("NAR hash %q: want sha256-BASE64 or sha256:HASH", s)
	}
	algo := nixhash.SHA256
	h, err := nixhash.ParseAny(s, &algo)
	if err != nil {
		return "", fmt.Errorf("NAR hash %q: %w", s, err)
	}
	if h.Algo() != nixhash.SHA256 || len(h.Digest()) != 32 {
		return "", fmt.Errorf("NAR hash %q: not a SHA-256", s)
	}
	return hex.EncodeToString(h.Digest()), nil
}

// StorePathName returns the name part of a store path
// ("/nix/store/<32 chars>-NAME"), or an error when p is not one.
func StorePathName(p string) (string, error) {
	base, ok := strings.CutPrefix(p, StoreDir+"/")
	if !ok || strings.Contains(base, "/") || len(base) < 34 || base[32] != '-' {
		return "", fmt.Errorf("%q is not a store path", p)
	}
	return base[33:], nil
}

// HashPart returns the 32-character hash part of a store path.
func HashPart(p string) string {
	base := strings.TrimPrefix(p, StoreDir+"/")
	if len(base) < 32 {
		return base
	}
	return base[:32]
}

// ParseName splits a store path name into name and version the way Nix's
// DrvName does (builtins.parseDrvName): the version starts after the first
// dash that is followed by a character that is not a letter. "hello-2.12.1"
// is hello 2.12.1, "perl5.38.2-URI-5.21" is perl5.38.2-URI 5.21, "busybox"
// has no version.
func ParseName(s string) (name, version string) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '-' {
			c := s[i+1]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}

// newComponent fills the parts of a component that come from its path and
// its path-info record (when valid).
func newComponent(path string, info *nixcli.PathInfo) (Component, error) {
	n, err := StorePathName(path)
	if err != nil {
		return Component{}, err
	}
	c := Component{Path: path}
	c.Name, c.Version = ParseName(n)
	if info != nil && (info.Valid == nil || *info.Valid) {
		if c.NarHash, err = NarHashHex(info.NarHash); err != nil {
			return Component{}, fmt.Errorf("%s: %w", path, err)
		}
		c.NarHashSRI = info.NarHash
		c.NarSize = info.NarSize
		c.Deriver = info.Deriver
	}
	return c, nil
}

// FromPathInfo builds the runtime closure of roots from Nix's path-info
// records (`nix path-info --json --recursive`). Every path must be valid;
// edges are the references, without self-references.
func FromPathInfo(roots []string, infos []nixcli.PathInfo) (*Closure, error) {
	cl := &Closure{Roots: sortedUnique(roots)}
	for i := range infos {
		in := &infos[i]
		if in.Valid != nil && !*in.Valid {
			return nil, &NotValidError{Path: in.Path}
		}
		c, err := newComponent(in.Path, in)
		if err != nil {
			return nil, err
		}
		for _, r := range in.References {
			if r != in.Path {
				c.DependsOn = append(c.DependsOn, r)
			}
		}
		c.DependsOn = sortedUnique(c.DependsOn)
		cl.Components = append(cl.Components, c)
	}
	return cl.finish()
}

// NotValidError is a path that is not valid (not built) in the store.
type NotValidError struct{ Path string }

func (e *NotValidError) Error() string {
	return fmt.Sprintf("%s is not valid in the store (not built yet?)", e.Path)
}

// FromDerivations builds the build-time closure of roots (output paths)
// from the derivation graph (`nix show-derivation -r`): every output of
// every derivation, depending on the outputs of its input derivations it
// uses and on its input sources, and every input source. infos holds
// Nix's record of the paths that are valid (their NAR hashes); a path
// missing from it has no hash.
func FromDerivations(roots []string, graph map[string]nixcli.DrvNode, infos map[string]nixcli.PathInfo) (*Closure, error) {
	cl := &Closure{Roots: sortedUnique(roots), BuildTime: true}
	seen := map[string]bool{}
	add := func(path string, deriver, output string, deps []string) error {
		if seen[path] {
			return nil
		}
		seen[path] = true
		var info *nixcli.PathInfo
		if in, ok := infos[path]; ok {
			info = &in
		}
		c, err := newComponent(path, info)
		if err != nil {
			return err
		}
		if deriver != "" {
			c.Deriver, c.Output = deriver, output
		}
		for _, d := range deps {
			if d != path {
				c.DependsOn = append(c.DependsOn, d)
			}
		}
		c.DependsOn = sortedUnique(c.DependsOn)
		cl.Components = append(cl.Components, c)
		return nil
	}
	drvs := make([]string, 0, len(graph))
	for d := range graph {
		drvs = append(drvs, d)
	}
	slices.Sort(drvs)
	for _, d := range drvs {
		n := graph[d]
		var deps []string
		for in, outs := range n.InputDrvs {
			dn, ok := graph[in]
			if !ok {
				return nil, fmt.Errorf("derivation %s: input %s is missing from the graph", d, in)
			}
			for _, o := range outs {
				p := dn.Outputs[o].Path
				if p == "" {
					return nil, fmt.Errorf("derivation %s: input %s has no output %q", d, in, o)
				}
				deps = append(deps, p)
			}
		}
		deps = append(deps, n.InputSrcs...)
		outs := make([]string, 0, len(n.Outputs))
		for o := range n.Outputs {
			outs = append(outs, o)
		}
		slices.Sort(outs)
		for _, o := range outs {
			if err := add(n.Outputs[o].Path, d, o, deps); err != nil {
				return nil, err
			}
		}
	}
	for _, d := range drvs {
		for _, src := range graph[d].InputSrcs {
			var refs []string
			if in, ok := infos[src]; ok {
				refs = in.References
			}
			if err := add(src, "", "", refs); err != nil {
				return nil, err
			}
		}
	}
	return cl.finish()
}

// finish sorts the components and checks that every edge and root is a
// component.
func (cl *Closure) finish() (*Closure, error) {
	slices.SortFunc(cl.Components, func(a, b Component) int { return cmp.Compare(a.Path, b.Path) })
	for i := 1; i < len(cl.Components); i++ {
		if cl.Components[i].Path == cl.Components[i-1].Path {
			return nil, fmt.Errorf("%s is listed twice", cl.Components[i].Path)
		}
	}
	paths := make(map[string]bool, len(cl.Components))
	for _, c := range cl.Components {
		paths[c.Path] = true
	}
	for _, c := range cl.Components {
		for _, d := range c.DependsOn {
			if !paths[d] {
				return nil, fmt.Errorf("%s depends on %s, which is not in the closure", c.Path, d)
			}
		}
	}
	for _, r := range cl.Roots {
		if !paths[r] {
			return nil, fmt.Errorf("root %s is not in the closure", r)
		}
	}
	return cl, nil
}

func sortedUnique(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// PURL returns the component's package URL: pkg:nix/NAME@VERSION with the
// store path's hash part as the qualifier store-hash, which makes it
// unique (two builds of the same name and version differ there). See
// docs/provenance.md.
func (c *Component) PURL() string {
	return string(c.appendPURL(nil))
}

// appendPURL appends the component's PURL.
func (c *Component) appendPURL(b []byte) []byte {
	b = append(b, "pkg:nix/"...)
	b = purlEscape(b, c.Name)
	if c.Version != "" {
		b = append(b, '@')
		b = purlEscape(b, c.Version)
	}
	b = append(b, "?store-hash="...)
	return append(b, HashPart(c.Path)...)
}

// purlEscape appends s with everything but the characters the purl spec
// leaves as they are in a name or version percent-encoded.
func purlEscape(b []byte, s string) []byte {
	const upperHex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&0xf])
		}
	}
	return b
}
