// Package gctune sets the garbage collector for a command-line process:
// collect less often while the live heap is small.
//
// A short nixgate command (a nar diff of two .deb files, a kconfig
// check) allocates a few megabytes and keeps little of it. With the
// runtime's 4 MiB minimum heap it collects two or three times in its
// first 15 ms, each cycle taking a quarter of the CPUs for its marking:
// about 2.5 ms of a 15 ms run. While the live heap is under LiveLimit,
// GOGC is Percent (the minimum heap becomes 16 MiB); at the first
// collection that finds more live, it goes back to 100 for the rest of
// the process, so the peak memory of long jobs is the runtime's default.
// A GOGC or GOMEMLIMIT from the environment is left alone.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

const (
	// Percent is GOGC while the live heap is small.
	Percent = 400
	// LiveLimit is the live heap at which GOGC goes back to 100.
	LiveLimit = 4 << 20
)

// Start raises GOGC until a collection finds LiveLimit bytes live.
func Start() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(Percent)
	arm()
}

// sentinel holds a pointer so that it is not batched with other small
// objects (a tiny allocation's cleanup may never run).
type sentinel struct{ _ *int }

// arm attaches a cleanup to a new unreachable object: it runs after the
// next collection, which is when the live heap is known.
func arm() {
	runtime.AddCleanup(new(sentinel), func(struct{}) { check() }, struct{}{})
}

var live = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}

func check() {
	metrics.Read(live)
	if live[0].Value.Kind() == metrics.KindUint64 && live[0].Value.Uint64() >= LiveLimit {
		debug.SetGCPercent(100)
		return
	}
	arm()
}
