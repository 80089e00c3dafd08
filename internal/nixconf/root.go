package nixconf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/nixgate/nixgate/internal/repo"
)

// Root reads files of the audited system. With Dir empty (or "/") it reads
// the live system; otherwise every absolute path, including absolute
// symlink targets, is resolved under Dir as if Dir were "/" (an image's
// root filesystem, audited offline). Paths never escape Dir.
type Root struct {
	Dir string
}

// Live reports whether the root is the running system.
func (r Root) Live() bool { return r.Dir == "" || filepath.Clean(r.Dir) == "/" }

const maxSymlinks = 40

// Resolve returns the host path of p, an absolute slash path on the
// audited system, following symlinks inside the root. A missing final
// component is not an error: the path it would have is returned.
func (r Root) Resolve(p string) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("resolve %s: not an absolute path", p)
	}
	if r.Live() {
		return path.Clean(p), nil
	}
	base := filepath.Clean(r.Dir)
	cur := "/"
	rest := strings.Split(strings.TrimPrefix(path.Clean(p), "/"), "/")
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		host := filepath.Join(base, filepath.FromSlash(next))
		fi, err := os.Lstat(host)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				// The rest does not exist either; keep it lexical.
				return filepath.Join(base, filepath.FromSlash(path.Join(append([]string{next}, rest...)...))), nil
			}
			return "", fmt.Errorf("resolve %s: %w", p, err)
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		hops++
		if hops > maxSymlinks {
			return "", fmt.Errorf("resolve %s: too many levels of symbolic links", p)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", p, err)
		}
		target = filepath.ToSlash(target)
		if path.IsAbs(target) {
			cur = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return filepath.Join(base, filepath.FromSlash(cur)), nil
}

// MaxFile is the most nixgate reads of one file of an audited system (a
// dpkg status file of a large image is a few MiB).
const MaxFile = 64 << 20

// ReadFile reads p on the audited system: only a regular file (a FIFO or a
// device an image plants is refused, never opened for a blocking read),
// and at most MaxFile bytes.
func (r Root) ReadFile(p string) ([]byte, error) {
	h, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	return repo.ReadRegular(h, MaxFile)
}

// Stat stats p on the audited system, following symlinks.
func (r Root) Stat(p string) (fs.FileInfo, error) {
	h, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	return os.Stat(h)
}

// Readlink reads the symlink p (not following a final symlink).
func (r Root) Readlink(p string) (string, error) {
	if r.Live() {
		return os.Readlink(p)
	}
	h, err := r.Resolve(path.Dir(p))
	if err != nil {
		return "", err
	}
	return os.Readlink(filepath.Join(h, path.Base(p)))
}
