// Package lazyre compiles a package-level regular expression on its first
// use instead of at program start.
//
// nixgate is one binary of many commands, and every process pays for the
// package initialisation of all of them: compiled at start, the regular
// expressions of the secret scanner, the NAR differ, the CI scanner and the
// flake.lock reader cost a short command (a kconfig gate, a version) about
// a millisecond before it has done anything of its own.
package lazyre

import (
	"regexp"
	"sync"
)

// New returns a function that compiles expr on its first call (panicking,
// as regexp.MustCompile does, when expr is invalid) and returns the same
// *regexp.Regexp on every call. It is safe for concurrent use.
func New(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
