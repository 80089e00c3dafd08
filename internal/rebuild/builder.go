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
	"strings"

	"github.com/nixgate/nixgate/internal/nar"
)

// Builder kinds.
const (
	Chroot = "chroot" // a store in a local directory (--store DIR)
	Local  = "local"  // the user's own store, --check semantics
	Remote = "remote" // ssh-ng:// or ssh:// store
)

// Builder is one place where the derivations are built.
type Builder struct {
	Name string `json:"name"`
	URI  string `json:"uri"` // the --store argument ("" for local)
	Kind string `json:"kind"`
	// Root is a chroot store's directory: a store path P lives at Root+P.
	Root string `json:"root,omitempty"`
}

// ParseBuilder reads a --builder value: "local", "ssh-ng://host",
// "ssh://host", or a directory for a chroot store (created if missing).
func ParseBuilder(s string) (Builder, error) {
	switch {
	case s == "":
		return Builder{}, fmt.Errorf("empty builder")
	case s == "local" || s == "auto" || s == "daemon":
		return Builder{Name: "local", Kind: Local}, nil
	case strings.HasPrefix(s, "ssh-ng://"), strings.HasPrefix(s, "ssh://"):
		return Builder{Name: s, URI: s, Kind: Remote}, nil
	case strings.Contains(s, "://"):
		return Builder{}, fmt.Errorf("builder %q: unsupported store URI (want local, ssh-ng://HOST, ssh://HOST or a directory)", s)
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
	if len(i.Attrs) == 0 {
		return i.Raw
	}
	return i.Raw + " -A " + strings.Join(i.Attrs, " -A ")
}
