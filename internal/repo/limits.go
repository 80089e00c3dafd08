package repo

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// Kind classifies a file for its read limit.
type Kind string

// Kinds of files with their own size limit.
const (
	KindPolicy Kind = "policy" // nixgate.toml, baselines, JSON schemas, policies checked against them
	KindLock   Kind = "lock"   // flake.lock, Cargo.lock
	KindSource Kind = "source" // .nix, .rs, workflow YAML: files a lexer reads whole
	KindText   Kind = "text"   // everything else (the secret scan streams it)
)

// Kinds lists the kinds, in the order docs show them.
func Kinds() []Kind { return []Kind{KindPolicy, KindLock, KindSource, KindText} }

// Limits caps how many bytes nixgate reads of one file, per kind. A file
// over its limit is not read: the read fails with a *TooLargeError, and
// the unchecked-file check reports it, so nothing is skipped silently.
type Limits map[Kind]int64

// DefaultLimits are the limits when a policy sets none: generous for real
// repositories (nixpkgs' largest .nix file is under 1 MiB, a large
// flake.lock under 1 MiB), small enough that a hostile file costs little.
func DefaultLimits() Limits {
	return Limits{
		KindPolicy: 4 << 20,
		KindLock:   16 << 20,
		KindSource: 8 << 20,
		KindText:   32 << 20,
	}
}

// For returns the limit for name.
func (l Limits) For(name string) int64 {
	k := KindOf(name)
	if n, ok := l[k]; ok && n > 0 {
		return n
	}
	return DefaultLimits()[k]
}

// KindOf classifies a slash-separated path.
func KindOf(name string) Kind {
	base := strings.ToLower(path.Base(name))
	switch {
	case base == "nixgate.toml" || strings.HasSuffix(base, ".schema.json") || strings.HasPrefix(base, "nixgate-baseline") ||
		base == ".gitleaks.toml":
		return KindPolicy
	case base == "flake.lock" || base == "cargo.lock":
		return KindLock
	case strings.HasSuffix(base, ".nix") || strings.HasSuffix(base, ".rs") ||
		(strings.HasPrefix(name, ".github/workflows/") || strings.HasPrefix(name, ".github/actions/")) &&
			(strings.HasSuffix(base, ".yml") || strings.HasSuffix(base, ".yaml")) ||
		base == ".gitlab-ci.yml":
		return KindSource
	}
	return KindText
}

// TooLargeError is a read refused because the file is over its limit.
type TooLargeError struct {
	Path  string
	Size  int64
	Limit int64
	Kind  Kind
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is %s, over the %s limit for %s files", e.Path, Size(e.Size), Size(e.Limit), e.Kind)
}

// NotRegularError is a read refused because the path is not a regular
// file (a FIFO, a device, a socket, a directory, a submodule).
type NotRegularError struct {
	Path string
	What string
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, e.What)
}

// IsRefused reports whether err is a read nixgate refused by design (too
// large, not a regular file, a symlink out of the root): the
// unchecked-file check reports those, so a check that meets one skips the
// file instead of failing.
func IsRefused(err error) bool {
	var tl *TooLargeError
	var nr *NotRegularError
	return errors.As(err, &tl) || errors.As(err, &nr) || errors.Is(err, ErrEscapes)
}

// ErrEscapes is returned for a path that leads out of the root.
var ErrEscapes = errors.New("path escapes the repository")

// Size formats a byte count (KiB, MiB, GiB).
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// ParseSize reads a size such as "16MiB", "512KiB", "1GiB" or "1048576".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(t, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != t {
		return 0, fmt.Errorf("not a size: want a positive number of bytes with an optional KiB, MiB or GiB suffix")
	}
	return n * mult, nil
}
