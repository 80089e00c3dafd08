package flakelock

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// Hostile lock files, built at test time. Each must parse (or fail with a
// positioned error) in linear time and bounded memory.

func node(key, inputs string) string {
	return fmt.Sprintf(`%q:{"inputs":{%s},"locked":{"type":"github","owner":"o","repo":%q,"rev":%q,"narHash":%q},"original":{"type":"github","owner":"o","repo":%q}}`,
		key, inputs, key, rev40, sriHash, key)
}

// DeepLock is a chain of n nodes: root -> n0 -> n1 -> ... each also
// following the root's first input.
func DeepLock(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"nodes":{"root":{"inputs":{"n0":"n0"}}`)
	for i := range n {
		in := ""
		if i+1 < n {
			in = fmt.Sprintf(`"next":"n%d","top":["n0"]`, i+1)
		}
		b.WriteString(",\n" + node(fmt.Sprintf("n%d", i), in))
	}
	b.WriteString(`},"root":"root","version":7}`)
	return b.Bytes()
}

// WideLock is a root with n inputs, each its own (small) node.
func WideLock(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"nodes":{"root":{"inputs":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"i%d":"i%d"`, i, i)
	}
	b.WriteString(`}}`)
	for i := range n {
		fmt.Fprintf(&b, ",\n\"i%d\":{\"locked\":{\"type\":\"path\",\"path\":\"./i%d\"},\"original\":{\"type\":\"path\",\"path\":\"./i%d\"}}", i, i, i)
	}
	b.WriteString(`},"root":"root","version":7}`)
	return b.Bytes()
}

// MeshLock has n nodes, each with inputs to every later node among the
// next k: many paths per node, as follows-free locks of big flakes have.
func MeshLock(n, k int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"nodes":{"root":{"inputs":{"m0":"m0"}}`)
	for i := range n {
		var ins []string
		for j := i + 1; j < min(n, i+1+k); j++ {
			ins = append(ins, fmt.Sprintf(`"m%d":"m%d"`, j, j))
		}
		b.WriteString(",\n" + node(fmt.Sprintf("m%d", i), strings.Join(ins, ",")))
	}
	b.WriteString(`},"root":"root","version":7}`)
	return b.Bytes()
}

// bounded runs fn and fails when it takes longer than d or allocates more
// than maxAlloc bytes in total.
func bounded(t testing.TB, name string, d time.Duration, maxAlloc uint64, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := cpuTime()
	fn()
	el := cpuTime() - start
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%s: %v CPU, %.1f MB allocated", name, el, float64(alloc)/1e6)
	if el > d {
		t.Errorf("%s took %v, want < %v", name, el, d)
	}
	if alloc > maxAlloc {
		t.Errorf("%s allocated %.1f MB, want < %.1f MB", name, float64(alloc)/1e6, float64(maxAlloc)/1e6)
	}
}

func TestHostileLocks(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte

		limit time.Duration
		alloc uint64
	}{
		{"deep 10000", DeepLock(10000), 2 * time.Second, 256 << 20},
		{"wide 10000", WideLock(10000), 2 * time.Second, 256 << 20},
		{"mesh 10000x8", MeshLock(10000, 8), 2 * time.Second, 256 << 20},
		{"wide 100000", WideLock(100000), 8 * time.Second, 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l *Lock
			var err error
			t.Logf("%d bytes", len(tc.data))
			bounded(t, tc.name, tc.limit, tc.alloc, func() {
				l, err = Parse(tc.data)
				if err == nil {
					for _, u := range l.Used() {
						_ = u.PathString()
						_ = u.AliasStrings(3)
					}
				}
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	l, err := Parse(DeepLock(10000))
	if err != nil {
		t.Fatal(err)
	}
	u := l.Used()
	if len(u) != 10000 {
		t.Fatalf("deep lock: %d nodes used, want 10000", len(u))
	}
	last := u[len(u)-1]
	if got := last.PathString(); !strings.HasPrefix(got, "n0/next/next/next/next/next/…(9988 more)…/next/") || len(got) > 200 {
		t.Errorf("deep path shown as %.300q", got)
	}
	if len(last.Path()) != 10000 {
		t.Errorf("deep path has %d elements", len(last.Path()))
	}
}

// TestLinear: ten times the input takes at most ~20 times as long (a
// quadratic parser takes 100 times).
func TestLinear(t *testing.T) {
	measure := func(data []byte) time.Duration {
		best := time.Hour
		for range 3 {
			start := cpuTime()
			l, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range l.Used() {
				_ = u.PathString()
			}
			best = min(best, cpuTime()-start)
		}
		return best
	}
	for _, gen := range []struct {
		name string
		f    func(int) []byte
	}{{"deep", DeepLock}, {"wide", WideLock}} {
		small, big := measure(gen.f(1000)), measure(gen.f(10000))
		t.Logf("%s: 1000 nodes %v, 10000 nodes %v", gen.name, small, big)
		if big > 40*small+20*time.Millisecond {
			t.Errorf("%s: 10x the nodes took %.1fx the time", gen.name, float64(big)/float64(small))
		}
	}
}

// TestNonUTF8Key is issue 12's crasher: a non-UTF-8 node key panicked in
// InputNames. Nix's parser rejects such a file; so does nixgate, with the
// position of the byte.
func TestNonUTF8Key(t *testing.T) {
	data, err := os.ReadFile("testdata/fuzz/FuzzParse/non-utf8-key")
	if err != nil {
		t.Fatal(err)
	}
	in := fuzzInput(t, data)
	_, err = Parse(in)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "invalid UTF-8") {
		t.Fatalf("err = %v, want invalid UTF-8 with a position", err)
	}
}

// fuzzInput reads a corpus file of `go test fuzz v1` with one []byte.
func fuzzInput(t *testing.T, data []byte) []byte {
	t.Helper()
	lines := strings.SplitN(string(data), "\n", 2)
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		t.Fatal("not a fuzz corpus file")
	}
	s := strings.TrimSpace(lines[1])
	s = strings.TrimSuffix(strings.TrimPrefix(s, "[]byte("), ")")
	var out string
	if _, err := fmt.Sscanf(s, "%q", &out); err != nil {
		t.Fatal(err)
	}
	return []byte(out)
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/corpus/*.lock")
	for _, name := range files {
		b, _ := os.ReadFile(name)
		if len(b) < 8000 {
			f.Add(b)
		}
	}
	f.Add([]byte(followsLock))
	f.Add(DeepLock(30))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzlimit.Default(t, func() {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			l, err := Parse(data)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error without position: %T %v", err, err)
				}
				return
			}
			for i := range l.NumInputs() {
				in := l.Input(i)
				n := l.Nodes[in.Node]
				if n == nil {
					t.Fatalf("input %v resolves to missing node %q", l.Path(i), in.Node)
				}
				_ = l.DisplayPath(i)
				if n.Locked == nil {
					continue // the root
				}
				n.Locked.Locked()
				_ = n.Locked.String()
				_ = n.Branch()
				_ = n.Source()
				_ = n.RefName()
			}
			for _, u := range l.Used() {
				_ = u.PathString()
			}
			runtime.ReadMemStats(&after)
			// Linear bounds: a generous constant per input byte.
			if el := time.Since(start); el > time.Second+time.Duration(len(data))*time.Microsecond {
				t.Fatalf("%d bytes took %v", len(data), el)
			}
			if a := after.TotalAlloc - before.TotalAlloc; a > 64<<20+uint64(len(data))*200 {
				t.Fatalf("%d bytes allocated %d bytes", len(data), a)
			}
		})
	})
}
