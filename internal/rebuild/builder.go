// Package rebuild builds derivations on several clean builders with Nix,
// compares the NAR hash of every output, and explains mismatches with the
// nar package. Nix does the building; this package only asks it to, with
// explicit options (sandbox on, no substituters, no remote builders unless
// named; with InputSubstitution, the inputs of the derivations under test
// are realised first with signed substitutes allowed), and checks what it
// reports.
package rebuild

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nixgate/nixgate/internal/nar"
	"github.com/nixgate/nixgate/internal/nixcli"
)

// Builder kinds.
const (
	Chroot = "chroot" // a store in a local directory (--store DIR)
	Local  = "local"  // the user's own store, --check semantics
	Remote = "remote" // an ssh-ng:// store
)

// Builder is one place where the derivations are built.
type Builder struct {
	Name string `json:"name"`
	URI  string `json:"uri"` // the --store argument ("" for local)
	Kind string `json:"kind"`
	// Root is a chroot store's directory: a store path P lives at Root+P.
	Root string `json:"root,omitempty"`
}

// ParseBuilder reads a --builder value: "local", "ssh-ng://[USER@]HOST"
// (with Nix's store URI parameters, ?ssh-key=FILE...), or a directory for
// a chroot store (created if missing). ssh:// is refused: Nix's legacy
// SSH store cannot build in the remote store (Nix 2.8: "operation
// 'getFSAccessor' is not supported by store 'ssh://...'").
func ParseBuilder(s string) (Builder, error) {
	switch {
	case s == "":
		return Builder{}, fmt.Errorf("empty builder")
	case s == "local" || s == "auto" || s == "daemon":
		return Builder{Name: "local", Kind: Local}, nil
	case strings.HasPrefix(s, "ssh-ng://"):
		host := strings.TrimPrefix(s, "ssh-ng://")
		if h, _, _ := strings.Cut(host, "?"); h == "" || strings.ContainsAny(h, "/ ") {
			return Builder{}, fmt.Errorf("builder %q: want ssh-ng://[USER@]HOST", s)
		}
		return Builder{Name: s, URI: s, Kind: Remote}, nil
	case strings.HasPrefix(s, "ssh://"):
		return Builder{}, fmt.Errorf("builder %q: Nix's legacy ssh:// store cannot build in the remote store (Nix 2.8: operation 'getFSAccessor' is not supported); use ssh-ng://%s", s, strings.TrimPrefix(s, "ssh://"))
	case strings.Contains(s, "://"):
		return Builder{}, fmt.Errorf("builder %q: unsupported store URI (want local, ssh-ng://HOST or a directory)", s)
	}
	dir, err := filepath.Abs(s)
	if err != nil {
		return Builder{}, fmt.Errorf("builder %q: %w", s, err)
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return Builder{}, fmt.Errorf("builder %q: not a directory", s)
	}
	return Builder{Name: dir, URI: dir, Kind: Chroot, Root: dir}, nil
}

// realPath is where a store path of b can be read locally ("" for a
// remote builder).
func (b Builder) realPath(storePath string) string {
	switch b.Kind {
	case Chroot:
		return filepath.Join(b.Root, storePath)
	case Local:
		return storePath
	}
	return ""
}

// evalStore is the --eval-store of b: remote builders evaluate locally.
func (b Builder) evalStore() string {
	if b.Kind == Remote {
		return "auto"
	}
	return ""
}

// Installable kinds.
const (
	KindFlake = "flake"
	KindFile  = "file"
	KindDrv   = "drv"
)

// Installable is what to build.
type Installable struct {
	Raw   string   `json:"installable"`
	Kind  string   `json:"kind"`
	Attrs []string `json:"attrs,omitempty"` // -A for a .nix file
	// Args are the .nix file's function arguments (--arg, --argstr).
	Args []nixcli.AutoArg `json:"args,omitempty"`
}

// ParseInstallable classifies raw: a .drv path, a .nix file (with attrs),
// or a flake output reference.
func ParseInstallable(raw string, attrs []string) (Installable, error) {
	switch {
	case strings.HasSuffix(raw, ".drv"):
		if len(attrs) > 0 {
			return Installable{}, fmt.Errorf("%s: -A applies to .nix files, not to a .drv", raw)
		}
		p := raw
		if !strings.HasPrefix(p, nar.StoreDir+"/") {
			// A .drv given through a symlink or a relative path.
			resolved, err := filepath.EvalSymlinks(raw)
			if err != nil {
				return Installable{}, fmt.Errorf("%s: %w", raw, err)
			}
			p = resolved
		}
		return Installable{Raw: p, Kind: KindDrv}, nil
	case strings.Contains(raw, "#"), strings.Contains(raw, ":") && !strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "."):
		if len(attrs) > 0 {
			return Installable{}, fmt.Errorf("%s: -A applies to .nix files; name the flake output with #", raw)
		}
		return Installable{Raw: raw, Kind: KindFlake}, nil
	}
	fi, err := os.Stat(raw)
	if err != nil {
		return Installable{}, fmt.Errorf("installable %s: %w", raw, err)
	}
	abs, err := filepath.Abs(raw)
	if err != nil {
		return Installable{}, err
	}
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(abs, "flake.nix")); err == nil && len(attrs) == 0 {
			return Installable{Raw: "path:" + abs, Kind: KindFlake}, nil
		}
		if _, err := os.Stat(filepath.Join(abs, "default.nix")); err != nil {
			return Installable{}, fmt.Errorf("installable %s: a directory without flake.nix or default.nix", raw)
		}
	}
	return Installable{Raw: abs, Kind: KindFile, Attrs: attrs}, nil
}

func (i Installable) String() string {
	s := i.Raw
	if len(i.Attrs) > 0 {
		s += " -A " + strings.Join(i.Attrs, " -A ")
	}
	for _, a := range i.Args {
		flag := "--arg"
		if a.String {
			flag = "--argstr"
		}
		s += " " + flag + " " + a.Name + " " + strconv.Quote(a.Value)
	}
	return s
}

// ParseArgs reads --arg NAME EXPR and --argstr NAME VALUE pairs (given as
// "NAME=VALUE" in args and strs) for a .nix file.
func ParseArgs(args, strs []string) ([]nixcli.AutoArg, error) {
	var out []nixcli.AutoArg
	for i, list := range [][]string{args, strs} {
		for _, kv := range list {
			n, v, ok := strings.Cut(kv, "=")
			if !ok || !validArgName(n) {
				return nil, fmt.Errorf("argument %q: want NAME=VALUE with NAME a Nix identifier", kv)
			}
			out = append(out, nixcli.AutoArg{Name: n, Value: v, String: i == 1})
		}
	}
	return out, nil
}

func validArgName(n string) bool {
	if n == "" || !(n[0] == '_' || n[0] >= 'a' && n[0] <= 'z' || n[0] >= 'A' && n[0] <= 'Z') {
		return false
	}
	return !strings.ContainsFunc(n, func(r rune) bool {
		return !(r == '_' || r == '-' || r == '\'' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
}
