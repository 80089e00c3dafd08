// Package fuzzlimit bounds what one fuzz input may cost: every fuzz target
// runs its body through Check, so a parser that turns a small input into a
// long loop or a large allocation fails the fuzzer like a panic does.
package fuzzlimit

import (
	"runtime"
	"testing"
	"time"
)

// Default bounds for one input of a few KiB, the size fuzzers produce.
const (
	DefaultTime  = 2 * time.Second
	DefaultAlloc = 256 << 20
)

// Check runs fn and fails t when it takes longer than d or allocates more
// than alloc bytes in total.
func Check(t testing.TB, d time.Duration, alloc uint64, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	fn()
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	if el > d {
		t.Fatalf("one input took %s, over the bound of %s", el.Round(time.Millisecond), d)
	}
	if a := after.TotalAlloc - before.TotalAlloc; a > alloc {
		t.Fatalf("one input allocated %d MiB, over the bound of %d MiB", a>>20, alloc>>20)
	}
}

// Default is Check with the default bounds.
func Default(t testing.TB, fn func()) { t.Helper(); Check(t, DefaultTime, DefaultAlloc, fn) }
