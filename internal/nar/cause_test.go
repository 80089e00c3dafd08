package nar

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTextCauses: each cause, and each timestamp format, on a pair of
// changed lines.
func TestTextCauses(t *testing.T) {
	build := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	sides := [2]Side{
		{Name: "a", Start: build, End: build.Add(time.Minute), BuildDir: "/build", Cores: 2, CPUs: 2, Kernel: "6.1.0-13-amd64", TimeZone: "UTC"},
		{Name: "b", Start: build.Add(2 * time.Second), End: build.Add(time.Minute), BuildDir: "/build-abc123-1", Cores: 1, CPUs: 1, TimeZone: "+14", ClockShift: 1000000 * time.Second},
	}
	tests := []struct {
		name   string
		a, b   string
		kind   string
		detail string
	}{
		{"ISO 8601 extended", "built 2026-12-01T08:00:05Z", "built 2026-12-01T08:00:09Z", CauseTimestamp, "embedded build time (ISO 8601)"},
		{"ISO 8601 basic", "id=20261201T080005Z", "id=20261201T080009Z", CauseTimestamp, "ISO 8601 basic"},
		{"RFC 2822", "Date: Tue, 01 Dec 2026 08:00:05 +0000", "Date: Tue, 01 Dec 2026 08:00:09 +0000", CauseTimestamp, "date(1)"},
		{"date(1)", "Tue Dec  1 08:00:05 UTC 2026", "Tue Dec  1 08:00:09 UTC 2026", CauseTimestamp, "embedded build time"},
		{"__DATE__ and __TIME__", "compiled Dec  1 2026 08:00:05", "compiled Dec  2 2026 09:00:00", CauseTimestamp, "__DATE__"},
		{"epoch near the build time", "stamp 1796112005", "stamp 1796112009", CauseTimestamp, "embedded build time (epoch seconds)"},
		{"a date alone", "release 2026-11-30", "release 2026-12-01", CauseTimestamp, "day resolution"},
		{"time zone", "Thu Jan  1 00:00:00 UTC 1970", "Thu Jan  1 14:00:00 +14 1970", CauseTimezone, "the same instant"},
		{"sandbox build dir", "cwd=/build/src", "cwd=/build-abc123-1/src", CauseBuildPath, "the build directory was /build on a, /build-abc123-1 on b"},
		{"nix-build tmp dir", "at /tmp/nix-build-x.drv-0/src/a.c", "at /tmp/nix-build-x.drv-7/src/a.c", CauseBuildPath, "embedded build directory path"},
		{"Go path without -trimpath", "/home/ci/one/hello/main.go", "/home/ci/two/hello/main.go", CauseBuildPath, "Go source path"},
		{"source directory", "/srv/ci/job-41/src/lib.c", "/srv/ci/job-42/src/lib.c", CauseBuildPath, "the same path src/lib.c under another directory"},
		{"store path hash", "/nix/store/0c0wa3p2hm0rkfn1z4vvw3mbvks5ba1z-glibc-2.39/lib", "/nix/store/9z1ay6bv8gfvbj9h4akdi4vv4w3bq0l1-glibc-2.39/lib", CauseStoreHash, "glibc-2.39"},
		{"NIX_BUILD_CORES", "make -j2 all", "make -j1 all", CauseCores, "build jobs"},
		{"nproc", "2", "1", CauseCores, "cores 2 and 2 CPU(s) on a"},
		{"threads keyword", "threads: 16", "threads: 4", CauseCores, "cores"},
		{"kernel release", "6.1.0-13-amd64", "2.6.61-13-amd64", CauseKernel, "uname -r"},
		{"boot clock", "4092.74", "1004095.20", CauseTimestamp, "seconds since boot"},
		{"random", "seed=5fa8aff3b0542048cdc2532e14686947", "seed=082e198e4e9355172f9f926fcda03439", CauseRandom, "32 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDiffer(Options{Sides: sides})
			d.o.defaults()
			causes := d.textCauses([]string{tc.a}, []string{tc.b}, false)
			i := slices.IndexFunc(causes, func(c Cause) bool { return c.Kind == tc.kind })
			if i < 0 {
				t.Fatalf("causes %+v, want %s", causes, tc.kind)
			}
			if !strings.Contains(causes[i].Detail, tc.detail) {
				t.Errorf("detail %q, want %q", causes[i].Detail, tc.detail)
			}
		})
	}
	// Not causes: the same words, ordinary numbers, paths alone.
	for _, pair := range [][2]string{{"version 1.2.3", "version 1.2.4"}, {"count 7", "count 8"}, {"/usr/lib/x", "/usr/lib/y"}, {"hello", "world"}} {
		d := newDiffer(Options{})
		d.o.defaults()
		if c := d.textCauses([]string{pair[0]}, []string{pair[1]}, false); len(c) > 0 {
			t.Errorf("%q -> %q: causes %+v, want none", pair[0], pair[1], c)
		}
	}
}
