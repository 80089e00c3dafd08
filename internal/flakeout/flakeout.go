// Package flakeout reads what Nix evaluates of a flake for the pipeline
// contract: the output tree `nix flake show --json` prints (which outputs
// exist, and of what type), and what a dev shell provides (the programs
// its PATH resolves inside the Nix store).
package flakeout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Outputs is the tree of a flake's outputs.
type Outputs struct {
	root map[string]any
}

// maxShow caps the flake show output read (a flake of many thousands of
// packages prints megabytes; this is far beyond).
const maxShow = 64 << 20

// ParseShow reads the output of `nix flake show --json`.
func ParseShow(data []byte) (*Outputs, error) {
	if len(data) > maxShow {
		return nil, fmt.Errorf("flake show output of %d bytes is over the limit of %d", len(data), maxShow)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("parse nix flake show --json: %w", err)
	}
	if root == nil {
		return nil, fmt.Errorf("parse nix flake show --json: not an object")
	}
	return &Outputs{root: root}, nil
}

// Lookup is what the tree says of an output attribute.
type Lookup struct {
	// Found is true when the attribute is in the tree.
	Found bool
	// Type is its type as Nix shows it ("derivation", "nixos-configuration",
	// "app"...), "" for an attribute set.
	Type string
	// Name is a derivation's name.
	Name string
	// Unknown is set when Nix does not evaluate that part of the tree
	// (legacyPackages), so the attribute can be neither found nor ruled out.
	Unknown string
}

// SplitAttr splits an attribute path on dots, keeping quoted parts whole
// (packages."x86_64-linux".default).
func SplitAttr(attr string) []string {
	var parts []string
	var cur strings.Builder
	quoted := false
	for _, r := range attr {
		switch {
		case r == '"':
			quoted = !quoted
		case r == '.' && !quoted:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	return append(parts, cur.String())
}

// Find looks an attribute path up.
func (o *Outputs) Find(attr string) Lookup {
	parts := SplitAttr(attr)
	var node any = o.root
	for i, p := range parts {
		m, ok := node.(map[string]any)
		if !ok {
			return Lookup{}
		}
		next, ok := m[p]
		if !ok {
			if len(m) == 0 && i > 0 && parts[0] == "legacyPackages" {
				return Lookup{Unknown: "nix flake show does not evaluate legacyPackages"}
			}
			return Lookup{}
		}
		node = next
	}
	l := Lookup{Found: true}
	if m, ok := node.(map[string]any); ok {
		l.Type, _ = m["type"].(string)
		l.Name, _ = m["name"].(string)
	}
	return l
}

// Attrs lists the attribute paths of the tree's leaves (typed nodes),
// sorted: for a message that shows what the flake has instead.
func (o *Outputs) Attrs() []string {
	var out []string
	var walk func(prefix string, n any, depth int)
	walk = func(prefix string, n any, depth int) {
		m, ok := n.(map[string]any)
		if !ok || depth > 8 {
			return
		}
		if _, typed := m["type"].(string); typed {
			out = append(out, prefix)
			return
		}
		for k, v := range m {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			walk(p, v, depth+1)
		}
	}
	walk("", o.root, 0)
	slices.Sort(out)
	return out
}

// Nearest returns up to n of the flake's output attributes that share the
// longest prefix with attr: what a reviewer probably meant.
func (o *Outputs) Nearest(attr string, n int) []string {
	parts := SplitAttr(attr)
	best, bestLen := []string(nil), 0
	for _, a := range o.Attrs() {
		ap := SplitAttr(a)
		k := 0
		for k < len(parts) && k < len(ap) && parts[k] == ap[k] {
			k++
		}
		switch {
		case k > bestLen:
			best, bestLen = []string{a}, k
		case k == bestLen && k > 0:
			best = append(best, a)
		}
	}
	if len(best) > n {
		best = best[:n]
	}
	return best
}

// Devshell is what a dev shell provides: where each required program
// resolves on the shell's PATH.
type Devshell struct {
	// Shell is the installable (DIR#devShells.x86_64-linux.default).
	Shell string `json:"shell"`
	// StoreDir is the Nix store directory (/nix/store).
	StoreDir string `json:"storeDir"`
	// Path is the shell's PATH.
	Path []string `json:"path"`
	// Tools maps each program to where it resolved ("" when nowhere).
	Tools map[string]string `json:"tools"`
}

// Provides reports whether the shell provides tool: it resolves inside
// the Nix store (a host program that the shell's PATH falls back to is not
// the shell's).
func (d *Devshell) Provides(tool string) (where string, ok bool) {
	where = d.Tools[tool]
	return where, where != "" && strings.HasPrefix(where, strings.TrimSuffix(d.StoreDir, "/")+"/")
}

// ParseDevshell reads the JSON the probe prints inside the shell.
func ParseDevshell(data []byte) (*Devshell, error) {
	var d Devshell
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("parse the dev shell probe: %w", err)
	}
	if d.StoreDir == "" {
		d.StoreDir = "/nix/store"
	}
	return &d, nil
}

// Input is the target of the flake checks.
type Input struct {
	// Flake is the flake as named (a directory).
	Flake string
	// Outputs and Required: nixgate flake outputs.
	Outputs  *Outputs
	Required []string
	// Shell and Tools: nixgate flake devshell.
	Shell *Devshell
	Tools []string
}
