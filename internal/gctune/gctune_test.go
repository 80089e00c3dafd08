package gctune

import (
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

// percent reads GOGC (setting it back at once).
func percent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestStart: GOGC is Percent while little is live, and 100 after a
// collection that finds LiveLimit bytes live.
func TestStart(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	defer debug.SetGCPercent(100)
	once = sync.Once{} // a fresh process's (-count=N runs this again)
	Start()
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	if p := percent(); p != Percent {
		t.Fatalf("GOGC %d with little live, want %d", p, Percent)
	}
	keep := make([]byte, 2*LiveLimit)
	deadline := time.Now().Add(5 * time.Second)
	for percent() != 100 {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC %d with %d MiB live, want 100", percent(), len(keep)>>20)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	runtime.KeepAlive(keep)
	Start()
	if p := percent(); p != 100 {
		t.Fatalf("GOGC %d after a second Start, want 100", p)
	}
}

// TestEnvironment: a GOGC from the environment is left alone.
func TestEnvironment(t *testing.T) {
	t.Setenv("GOGC", "100")
	defer debug.SetGCPercent(100)
	start()
	if p := percent(); p != 100 {
		t.Fatalf("GOGC %d, want the environment's 100", p)
	}
}
