package rebuild

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The helper process: the test binary run again with NIXGATE_REBUILD_HELPER
// set runs one rebuild of vary.nix's slow derivation, as nixgate would.
func TestMain(m *testing.M) {
	if dir := os.Getenv("NIXGATE_REBUILD_HELPER"); dir != "" {
		in, err := ParseInstallable(filepath.Join(dir, "vary.nix"), []string{"slow"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		_, err = Run(context.Background(), Options{Installables: []Installable{in}, TempDir: os.Getenv("NIXGATE_REBUILD_TMP"),
			Progress: os.Stderr, Heartbeat: 500 * time.Millisecond})
		fmt.Fprintln(os.Stderr, "helper done:", err)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// slowBuilder is in the command line of vary.nix's slow builder (30 s).
const slowBuilder = "busybox sleep 30;"

// processesUnder lists the processes whose command line mentions s.
func processesUnder(s string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err == nil && strings.Contains(string(b), s) {
			out = append(out, filepath.Base(d)+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

// waitFor reads r's lines until one matches want.
func waitFor(t *testing.T, r *bufio.Reader, want string, log *strings.Builder) {
	t.Helper()
	re := regexp.MustCompile(want)
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		l, err := r.ReadString('\n')
		log.WriteString(l)
		if re.MatchString(l) {
			return
		}
		if err != nil {
			t.Fatalf("no %q in the helper's output:\n%s", want, log.String())
		}
	}
	t.Fatalf("timed out waiting for %q:\n%s", want, log.String())
}

// TestKillAndCancel: a 30 s build says what it builds every heartbeat;
// killing nixgate with SIGKILL kills its nix children (none is left
// running) and leaves the workspace, which the next run removes, disorderfs
// mount included; a cancelled run (SIGINT, SIGTERM) stops its children and
// removes its workspace before it returns.
func TestKillAndCancel(t *testing.T) {
	needNix(t)
	dir := casesDir(t)
	// One after the other: each looks for the slow builder's processes.
	t.Run("SIGKILL", func(t *testing.T) {
		tmp := tempDir(t)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "NIXGATE_REBUILD_HELPER="+dir, "NIXGATE_REBUILD_TMP="+tmp)
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var log strings.Builder
		r := bufio.NewReader(stderr)
		// Both builders are in the build: b's heartbeat names it.
		waitFor(t, r, `\[b\] building \w+-slow-30\.drv \(`, &log)
		ws, _ := filepath.Glob(filepath.Join(tmp, workspacePrefix+"*"))
		if len(ws) != 1 {
			t.Fatalf("workspaces %v", ws)
		}
		if len(processesUnder(ws[0])) == 0 || len(processesUnder(slowBuilder)) == 0 {
			t.Fatalf("no process runs in %s, or no builder", ws[0])
		}
		if !isMountedUnder(ws[0]) {
			t.Errorf("no disorderfs mount in %s", ws[0])
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		go io.Copy(io.Discard, r)
		deadline := time.Now().Add(10 * time.Second)
		for len(processesUnder(ws[0]))+len(processesUnder(slowBuilder)) > 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if left := append(processesUnder(ws[0]), processesUnder(slowBuilder)...); len(left) > 0 {
			t.Fatalf("processes left after nixgate's SIGKILL:\n%s", strings.Join(left, "\n"))
		}
		if _, err := os.Stat(ws[0]); err != nil {
			t.Fatalf("the workspace is gone after a SIGKILL: %v", err)
		}
		// A workspace made in the last minute may be one a starting run has
		// not locked yet: cleanStale leaves it; this one is older.
		var progress strings.Builder
		if removed := cleanStale(tmp, &progress); len(removed) != 0 {
			t.Errorf("cleanStale removed a fresh workspace: %v", removed)
		}
		old := time.Now().Add(-2 * time.Minute)
		os.Chtimes(ws[0], old, old)
		removed := cleanStale(tmp, &progress)
		if len(removed) != 1 || removed[0] != ws[0] {
			t.Errorf("cleanStale removed %v, want %s", removed, ws[0])
		}
		if _, err := os.Stat(ws[0]); err == nil || isMountedUnder(ws[0]) {
			t.Errorf("%s left behind (mounted: %v)", ws[0], isMountedUnder(ws[0]))
		}
	})
	t.Run("cancel", func(t *testing.T) {
		tmp := tempDir(t)
		c, cancel := context.WithCancel(ctx(t))
		pr, pw := io.Pipe()
		in := vary(t, dir, "slow")
		done := make(chan error, 1)
		go func() {
			_, err := Run(c, Options{Installables: []Installable{in}, TempDir: tmp, Progress: pw, Heartbeat: 500 * time.Millisecond})
			pw.Close()
			done <- err
		}()
		var log strings.Builder
		r := bufio.NewReader(pr)
		waitFor(t, r, `\[b\] building \w+-slow-30\.drv \(`, &log)
		go io.Copy(io.Discard, r)
		ws, _ := filepath.Glob(filepath.Join(tmp, workspacePrefix+"*"))
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("Run returned no error after its context was cancelled")
			}
		case <-time.After(8 * time.Second):
			t.Fatal("Run did not return within 8s of its cancellation")
		}
		t.Logf("returned %s after the cancellation", time.Since(start).Round(time.Millisecond))
		for _, w := range ws {
			if _, err := os.Stat(w); err == nil {
				t.Errorf("workspace %s left after a cancellation", w)
			}
			if left := append(processesUnder(w), processesUnder(slowBuilder)...); len(left) > 0 {
				t.Errorf("processes left after a cancellation:\n%s", strings.Join(left, "\n"))
			}
		}
	})
}

func isMountedUnder(dir string) bool {
	for _, m := range mountPoints() {
		if strings.HasPrefix(m, dir+"/") {
			return true
		}
	}
	return false
}
