// Package gctune sets the garbage collector for a command whose heap is
// mostly buffers it keeps: collect less often while the live heap is
// small.
//
// nar diff decompresses members into buffers it holds to the end, and
// parses containers in goroutines beside them. With the runtime's 4 MiB
// minimum heap it collected twice in a 15 ms diff of two .deb files, each
// cycle taking a quarter of the CPUs and slowing the decoders with write
// barriers: 16.8 -> 14.9 ms wall, 23.2 -> 19.2 ms CPU with Start. While
// the live heap is under LiveLimit, GOGC is Percent (the minimum heap
// becomes 16 MiB); at the first collection that finds more live, it goes
// back to 100 for the rest of the process, so the peak memory of large
// diffs is the runtime's default. A history scan (secrets scan --since,
// --history) starts it too: a short range is done before the heap is
// large (100 commits: 61 -> 59 ms wall, 87 -> 78 ms CPU when the rules
// were compiled at start, 8 MiB of short-lived garbage; with rules
// compiled on first use, 128 -> 121 ms CPU, wall the same), though a long
// one pays for it (devenv's whole history 2.80 -> 2.96 s). A directory scan
// does not: with a gitleaks rule file over 540 MB of Go modules it was 7%
// slower (2.87 -> 3.08 s), the live heap staying small while the garbage
// spread over five times the pages. It is not for every command: where the
// garbage is small objects (kconfig's 9 ms run), collecting at 4 MiB
// reuses warm pages, and 16 MiB of fresh heap costs more in page faults
// (+0.5 ms) than the collections it saves. A GOGC or GOMEMLIMIT from the
// environment is left alone.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

const (
	// Percent is GOGC while the live heap is small.
	Percent = 400
	// LiveLimit is the live heap at which GOGC goes back to 100.
	LiveLimit = 4 << 20
)

var once sync.Once

// Start raises GOGC until a collection finds LiveLimit bytes live, once
// per process: a later call (commands run in one process, as the tests
// do) leaves the setting alone and starts no second chain of checks.
func Start() { once.Do(start) }

func start() {
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
