package rebuild

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// workspace is a run's temporary directory: the default chroot stores,
// Nix's build directories (TMPDIR), NARs read from remote builders, the
// varied builders' zone file and disorderfs mounts. The run holds a lock
// on it (flock, released by the kernel however nixgate ends); a later
// run removes every workspace whose lock is free and that was not kept
// (--keep), unmounting what is mounted in it first. So a SIGINT or
// SIGTERM removes the workspace on the way out, and a SIGKILL leaves it
// to the next run.
type workspace struct {
	dir    string
	id     string // a short random name for this run's varied build directories
	lock   *os.File
	mounts []mount
}

type mount struct {
	dir    string
	proc   *os.Process
	exited chan error
}

const (
	workspacePrefix = "nixgate-rebuild-ws-"
	lockFile        = ".lock"
	keptFile        = ".kept"
)

func newWorkspace(parent string) (*workspace, error) {
	dir, err := os.MkdirTemp(parent, workspacePrefix)
	if err != nil {
		return nil, err
	}
	// Traversable, not listable: disorderfs reaches its backing directory
	// as the build user (--multi-user).
	err = os.Chmod(dir, 0o711)
	f, err2 := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	err = errors.Join(err, err2)
	if err == nil {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	fmt.Fprintf(f, "%d\n", os.Getpid())
	return &workspace{dir: dir, id: randomID(), lock: f}, nil
}

// close unmounts the workspace's mounts and removes it, unless keep: then
// it is marked so that later runs leave it alone.
func (w *workspace) close(keep bool) {
	w.unmountAll()
	if keep {
		_ = os.WriteFile(filepath.Join(w.dir, keptFile), nil, 0o644)
		w.lock.Close()
		return
	}
	removeAll(w.dir)
	w.lock.Close()
}

func (w *workspace) unmountAll() {
	for i := len(w.mounts) - 1; i >= 0; i-- {
		m := w.mounts[i]
		unmount(m.dir)
		select {
		case <-m.exited:
		case <-time.After(5 * time.Second):
			_ = m.proc.Kill()
			<-m.exited
		}
	}
	w.mounts = nil
}

// unmount detaches a FUSE mount: as root with umount2(MNT_DETACH), else
// with fusermount -uz.
func unmount(dir string) {
	if os.Getuid() == 0 && syscall.Unmount(dir, syscall.MNT_DETACH) == nil {
		return
	}
	_ = exec.Command("fusermount", "-uz", dir).Run()
}

// mountPoints returns the mount points of this mount namespace
// (/proc/self/mountinfo), with their octal escapes undone.
func mountPoints() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 {
			out = append(out, unescapeMount(f[4]))
		}
	}
	return out
}

func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isMounted(dir string) bool { return slices.Contains(mountPoints(), dir) }

// cleanStale removes the workspaces in parent ("" for the system's
// temporary directory) left by runs that ended without cleaning up: their
// lock is free and they were not kept. It returns the directories it
// removed.
func cleanStale(parent string, progress io.Writer) []string {
	if parent == "" {
		parent = os.TempDir()
	}
	dirs, _ := filepath.Glob(filepath.Join(parent, workspacePrefix+"*"))
	var removed []string
	for _, dir := range dirs {
		if !stale(dir) {
			continue
		}
		// Mounts first (deepest first): removing through a live FUSE
		// mount would empty the mount's backing directory, not the mount.
		var inside []string
		for _, m := range mountPoints() {
			if m == dir || strings.HasPrefix(m, dir+"/") {
				inside = append(inside, m)
			}
		}
		slices.SortFunc(inside, func(a, b string) int { return len(b) - len(a) })
		for _, m := range inside {
			unmount(m)
		}
		removeAll(dir)
		removed = append(removed, dir)
		fmt.Fprintf(progress, "nixgate: removed %s, left by an earlier run that did not finish\n", dir)
	}
	return removed
}

// stale reports whether dir is a workspace no run holds: its lock is
// free, or it has none and is older than an hour (one being created).
func stale(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, keptFile)); err == nil {
		return false
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		fi, err := os.Stat(dir)
		return err == nil && time.Since(fi.ModTime()) > time.Hour
	}
	if err != nil {
		return false
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return false // a run holds it
	}
	// A free lock in a workspace made in the last minute may be one that
	// a starting run has created and not locked yet.
	if fi, err := os.Stat(dir); err != nil || time.Since(fi.ModTime()) < time.Minute {
		return false
	}
	return true
}

// removeAll deletes a tree of chroot stores, whose directories Nix made
// read-only.
func removeAll(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	os.RemoveAll(dir)
}
