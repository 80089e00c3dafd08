//go:build unix

package repo

import (
	"io/fs"
	"os"
	"syscall"
)

// ownedByUser says whether the file is owned by the effective user, the
// test git's ownership check makes first. (git also lets root act for
// SUDO_UID; that case reads safe.directory as before.)
func ownedByUser(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
