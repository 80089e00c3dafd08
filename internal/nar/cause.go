package nar

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nixgate/nixgate/internal/lazyre"
)

var (
	months = `(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)`
	days   = `(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)`
	zone   = `(?:[A-Z]{2,5}|[+-]\d\d(?::?\d\d)?)`
	// timeRes are the date formats, most specific first, with the name
	// each is reported under.
	timeRes = []struct {
		name string
		re   func() *regexp.Regexp
	}{
		// ISO 8601 extended / RFC 3339 and `date '+%F %T'`.
		{"ISO 8601", lazyre.New(`\b(?:19|20)\d\d-[01]\d-[0-3]\d[T ][0-2]\d:[0-5]\d(?::[0-6]\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d(?::?\d\d)?| ?UTC)?`)},
		// ISO 8601 basic: 20261201T080000Z.
		{"ISO 8601 basic", lazyre.New(`\b(?:19|20)\d\d[01]\d[0-3]\dT[0-2]\d[0-5]\d(?:[0-6]\d)?(?:Z|[+-]\d{4})?`)},
		// RFC 2822 and date(1) / ctime(3): "Tue, 01 Dec 2026 08:00:00 +0000",
		// "Tue Dec  1 08:00:00 UTC 2026".
		{"date(1)", lazyre.New(days + `,? +(?:\d{1,2} +)?` + months + `(?: +\d{1,2})?(?: +\d{4})? +[0-2]\d:[0-5]\d:[0-6]\d(?: +` + zone + `)?(?: +\d{4})?`)},
		// C __DATE__ "Dec  1 2026", and "1 Dec 2026".
		{"__DATE__", lazyre.New(months + ` +\d{1,2} +(?:19|20)\d\d|\b\d{1,2} ` + months + ` (?:19|20)\d\d`)},
		// A date alone (a day-resolution stamp).
		{"date", lazyre.New(`\b(?:19|20)\d\d-[01]\d-[0-3]\d\b`)},
		// __TIME__ and other times of day.
		{"__TIME__", lazyre.New(`\b[0-2]\d:[0-5]\d:[0-6]\d\b`)},
		// Unix epochs in seconds (2001..2033) or milliseconds.
		{"epoch seconds", lazyre.New(`\b1\d{9}(?:\d{3})?\b`)},
	}
	zoneRe      = lazyre.New(`(?:(?:^|\s)(` + zone + `)(?:\s|$)|[\d.](Z|[+-]\d\d(?::?\d\d)?)$)`)
	buildPathRe = lazyre.New(`(?:^|[^\w./-])((?:/build(?:-[\w.-]+)?\b|/tmp/nix-build-[^/\s"'<>:;,()]+)(?:/[^\s"'<>:;,()]*)?)`)
	storePathRe = lazyre.New(`/nix/store/([0-9a-df-np-sv-z]{32})-([0-9A-Za-z+\-._?=]+)`)
	absPathRe   = lazyre.New(`(?:^|[^\w./-])((?:/[\w.+@-]+){2,})`)
	kernelRe    = lazyre.New(`^[2-9]\.\d+\.\d+(?:[-+][\w.+~-]*)?$`)
	jobsRe      = lazyre.New(`(?:-j|--jobs=|-l|NIX_BUILD_CORES=|--cores=|-parallel=)(\d+)\b`)
	coreWords   = []string{"cores", "core", "cpus", "cpu", "jobs", "nproc", "threads", "parallel", "nix_build_cores", "ncpu", "workers", "processors"}
)

var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05 UTC", "2006-01-02T15:04:05Z0700", "2006-01-02 15:04", "2006-01-02T15:04Z07:00",
	"20060102T150405Z", "20060102T150405", "20060102T150405-0700", "20060102T1504Z", "20060102T1504",
	// Numeric zones before abbreviations: Go reads "+14" as an unknown
	// abbreviation at offset 0.
	"Mon Jan _2 15:04:05 -07 2006", "Mon Jan _2 15:04:05 -0700 2006", "Mon Jan _2 15:04:05 -07:00 2006",
	time.UnixDate, time.RubyDate, time.RFC1123Z, time.RFC1123, time.ANSIC,
	"Mon, _2 Jan 2006 15:04:05 -0700", "Mon, _2 Jan 2006 15:04:05 MST", "Jan _2 2006", "_2 Jan 2006", "2006-01-02",
}

// parseTime interprets a matched timestamp; ok is false when it is not a
// point in time (a time of day alone) or out of the plausible range.
func parseTime(s string) (time.Time, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		var t time.Time
		if len(s) == 13 {
			t = time.UnixMilli(n)
		} else {
			t = time.Unix(n, 0)
		}
		return t.UTC(), true
	}
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, ",", ", ")), " ")
	s = strings.ReplaceAll(s, ", ,", ",")
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	if t, err := time.Parse("2006-01-02 15:04:05.999999999", s); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// timeMatch is a timestamp found in text.
type timeMatch struct {
	text   string
	format string
	zone   string // "" when the text names none
}

// findTimes returns the timestamps in lines, most specific formats first,
// each span matched once.
func findTimes(lines []string) []timeMatch {
	var out []timeMatch
	for _, l := range lines {
		taken := make([]bool, len(l))
		for _, tr := range timeRes {
			for _, m := range tr.re().FindAllStringIndex(l, -1) {
				if slices.Contains(taken[m[0]:m[1]], true) {
					continue
				}
				for i := m[0]; i < m[1]; i++ {
					taken[i] = true
				}
				t := strings.TrimSpace(l[m[0]:m[1]])
				tm := timeMatch{text: t, format: tr.name}
				if z := zoneRe().FindStringSubmatch(t); z != nil && tr.name != "__DATE__" && tr.name != "__TIME__" {
					tm.zone = z[1] + z[2]
					if tm.zone == "Z" || tm.zone == "GMT" {
						tm.zone = "UTC"
					}
				}
				out = append(out, tm)
				if len(out) >= 4096 {
					return out
				}
			}
		}
	}
	return out
}

func texts(ts []timeMatch) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.text
	}
	return out
}

func zones(ts []timeMatch) []string {
	var out []string
	for _, t := range ts {
		if t.zone != "" && !slices.Contains(out, t.zone) {
			out = append(out, t.zone)
		}
	}
	slices.Sort(out)
	return out
}

// textCauses looks for the usual causes in the lines removed from A and
// added in B (or in the strings only found on one side of a binary). At
// most one cause of each kind is named.
func (d *differ) textCauses(removed, added []string, reordered bool) []Cause {
	if reordered {
		return nil
	}
	var causes []Cause
	seen := map[string]bool{}
	add := func(c Cause) {
		if !seen[c.Kind] {
			seen[c.Kind] = true
			causes = append(causes, c)
		}
	}
	d.timeCauses(removed, added, add)
	d.buildPathCauses(removed, added, add)
	// Store paths with another hash.
	ha, hb := storeHashes(removed), storeHashes(added)
	for _, n := range slices.Sorted(mapKeys(ha)) {
		hashesB, ok := hb[n]
		if !ok || slices.Equal(ha[n], hashesB) {
			continue
		}
		add(Cause{Kind: CauseStoreHash, Detail: fmt.Sprintf("store path of %q with a different hash", n),
			A: "/nix/store/" + ha[n][0] + "-" + n, B: "/nix/store/" + hashesB[0] + "-" + n})
		break
	}
	d.tokenCauses(removed, added, seen, add)
	return causes
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// timeCauses names timestamps and time zones.
func (d *differ) timeCauses(removed, added []string, add func(Cause)) {
	ta, tb := findTimes(removed), findTimes(added)
	if len(ta) == 0 || len(tb) == 0 {
		return
	}
	oa, ob := onlyIn(texts(ta), texts(tb)), onlyIn(texts(tb), texts(ta))
	if len(oa)+len(ob) == 0 {
		return
	}
	pick := func(only []string, all []timeMatch) timeMatch {
		for _, t := range all {
			if len(only) == 0 || t.text == only[0] {
				return t
			}
		}
		return all[0]
	}
	a, b := pick(oa, ta), pick(ob, tb)
	var formats []string
	for _, t := range ta {
		if slices.Contains(oa, t.text) && !slices.Contains(formats, t.format) {
			formats = append(formats, t.format)
		}
	}
	if len(formats) == 0 {
		formats = []string{a.format}
	}
	format := strings.Join(formats, ", ")
	za, zb := zones(ta), zones(tb)
	sameInstant := false
	if len(za) > 0 && len(zb) > 0 && !slices.Equal(za, zb) {
		c := Cause{Kind: CauseTimezone, Detail: fmt.Sprintf("time zone: %s on one side, %s on the other", strings.Join(za, ", "), strings.Join(zb, ", ")), A: a.text, B: b.text}
		if sa, sb := d.o.Sides[0].Name, d.o.Sides[1].Name; sa != "" && sb != "" {
			c.Detail = fmt.Sprintf("time zone: %s on %s, %s on %s", strings.Join(za, ", "), sa, strings.Join(zb, ", "), sb)
		}
		if t1, ok1 := parseTime(a.text); ok1 {
			if t2, ok2 := parseTime(b.text); ok2 && t1.Equal(t2) {
				sameInstant = true
				c.Detail += " (the same instant)"
			}
		}
		add(c)
	}
	if sameInstant {
		return
	}
	c := Cause{Kind: CauseTimestamp, Detail: "embedded timestamp (" + format + ")", A: a.text, B: b.text}
	if d.nearBuild(a.text, 0) || d.nearBuild(b.text, 1) {
		c.Detail = "embedded build time (" + format + ")"
	} else if format == "date" {
		c.Detail = "embedded date (day resolution)"
	}
	add(c)
}

// nearBuild reports whether the timestamp s falls in side's build window
// (with a minute of slack, and the time zone's hours for a time without
// a zone).
func (d *differ) nearBuild(s string, side int) bool {
	t, ok := parseTime(s)
	return ok && d.o.Sides[side].contains(t, time.Minute)
}

// buildPathCauses names build directories, the builders' varied ones, and
// source directories that differ (a Go binary built without -trimpath, a
// DWARF comp_dir, __FILE__).
func (d *differ) buildPathCauses(removed, added []string, add func(Cause)) {
	pa, pb := matches(buildPathRe(), removed, 1), matches(buildPathRe(), added, 1)
	for i, side := range d.o.Sides {
		if side.BuildDir == "" || strings.HasPrefix(side.BuildDir, "/build") {
			continue
		}
		lines := removed
		if i == 1 {
			lines = added
		}
		for _, l := range lines {
			if strings.Contains(l, side.BuildDir) {
				if i == 0 {
					pa = append(pa, side.BuildDir)
				} else {
					pb = append(pb, side.BuildDir)
				}
			}
		}
	}
	if oa, ob := onlyIn(pa, pb), onlyIn(pb, pa); len(oa)+len(ob) > 0 {
		c := Cause{Kind: CauseBuildPath, Detail: "embedded build directory path", A: first(oa, pa), B: first(ob, pb)}
		if da, db := d.o.Sides[0].BuildDir, d.o.Sides[1].BuildDir; da != "" && db != "" && da != db {
			c.Detail = fmt.Sprintf("embedded build directory path (the build directory was %s on %s, %s on %s)", da, d.o.Sides[0].Name, db, d.o.Sides[1].Name)
		}
		add(c)
		return
	}
	// Source or build directories outside the sandbox's: the same file
	// under two different directories.
	xa, xb := absPaths(removed), absPaths(added)
	oa, ob := onlyIn(xa, xb), onlyIn(xb, xa)
	for _, a := range oa {
		for _, b := range ob {
			if prefA, prefB, suffix, ok := splitCommonSuffix(a, b); ok {
				detail := fmt.Sprintf("the same path %s under another directory (%s vs %s)", suffix, prefA, prefB)
				if strings.HasSuffix(suffix, ".go") {
					detail = "Go source path under another directory (built without -trimpath)"
				}
				add(Cause{Kind: CauseBuildPath, Detail: detail, A: a, B: b})
				return
			}
		}
	}
	if slices.ContainsFunc(removed, isTrimpathFlag) != slices.ContainsFunc(added, isTrimpathFlag) {
		add(Cause{Kind: CauseBuildPath, Detail: "built with -trimpath on one side only: the other embeds its source directories", A: first(goPaths(oa), nil), B: first(goPaths(ob), nil)})
		return
	}
	goA, goB := goPaths(oa), goPaths(ob)
	if len(goA) > 0 && len(goPaths(xb)) == 0 || len(goB) > 0 && len(goPaths(xa)) == 0 {
		add(Cause{Kind: CauseBuildPath, Detail: "absolute Go source paths on one side only (built without -trimpath on that side)", A: first(goA, nil), B: first(goB, nil)})
	}
}

func isTrimpathFlag(s string) bool { return strings.Contains(s, "-trimpath=true") }

func goPaths(ps []string) []string {
	var out []string
	for _, p := range ps {
		if strings.HasSuffix(p, ".go") {
			out = append(out, p)
		}
	}
	return out
}

// absPaths returns the absolute paths (two components or more) in lines,
// store paths left out.
func absPaths(lines []string) []string {
	var out []string
	for _, p := range matches(absPathRe(), lines, 1) {
		if !strings.HasPrefix(p, StoreDir+"/") && len(out) < 4096 {
			out = append(out, p)
		}
	}
	return out
}

// splitCommonSuffix splits two absolute paths into different directories
// and a common tail of at least one component.
func splitCommonSuffix(a, b string) (string, string, string, bool) {
	ca, cb := strings.Split(a, "/"), strings.Split(b, "/")
	n := 0
	for n < len(ca)-1 && n < len(cb)-1 && ca[len(ca)-1-n] == cb[len(cb)-1-n] {
		n++
	}
	if n == 0 {
		return "", "", "", false
	}
	pa, pb := strings.Join(ca[:len(ca)-n], "/"), strings.Join(cb[:len(cb)-n], "/")
	if pa == "" || pb == "" || pa == pb {
		return "", "", "", false
	}
	return pa, pb, strings.Join(ca[len(ca)-n:], "/"), true
}

// tokens splits a line into words: separators are spaces and the usual
// punctuation, but not the dots and dashes of numbers and releases.
func tokens(l string) []string {
	return strings.FieldsFunc(l, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || strings.ContainsRune(`=:,;()[]{}"'<>|`, r)
	})
}

// tokenCauses compares the changed lines word by word, pairing the n-th
// removed line with the n-th added one: the builder's parallelism, the
// kernel release, a shifted boot-time clock, random strings.
func (d *differ) tokenCauses(removed, added []string, seen map[string]bool, add func(Cause)) {
	sa, sb := d.o.Sides[0], d.o.Sides[1]
	for i := 0; i < len(removed) && i < len(added) && i < 2000; i++ {
		la, lb := removed[i], added[i]
		// -jN, --jobs=N, NIX_BUILD_CORES=N.
		if ja, jb := jobsRe().FindStringSubmatch(la), jobsRe().FindStringSubmatch(lb); ja != nil && jb != nil && ja[1] != jb[1] {
			add(Cause{Kind: CauseCores, Detail: "a number of build jobs (NIX_BUILD_CORES, -jN)", A: ja[0], B: jb[0]})
		}
		wa, wb := tokens(la), tokens(lb)
		if len(wa) != len(wb) || len(wa) > 256 {
			continue
		}
		lower := strings.ToLower(la)
		for k := range wa {
			x, y := wa[k], wb[k]
			if x == y {
				continue
			}
			prev := ""
			if k > 0 {
				prev = strings.ToLower(wa[k-1])
			}
			nx, errX := strconv.Atoi(x)
			ny, errY := strconv.Atoi(y)
			if errX == nil && errY == nil && nx >= 0 && ny >= 0 && nx < 4096 && ny < 4096 {
				keyword := slices.ContainsFunc(coreWords, func(w string) bool { return strings.Contains(prev, w) || len(wa) <= 3 && strings.Contains(lower, w) })
				sides := (nx == sa.Cores || nx == sa.CPUs) && (ny == sb.Cores || ny == sb.CPUs) && nx != 0 && ny != 0 && len(strings.TrimSpace(la)) <= 40
				if keyword || sides {
					c := Cause{Kind: CauseCores, Detail: "the number of build cores or CPUs (NIX_BUILD_CORES, nproc)", A: x, B: y}
					if sa.Name != "" && (sa.Cores != sb.Cores || sa.CPUs != sb.CPUs) {
						c.Detail += fmt.Sprintf("; cores %d and %d CPU(s) on %s, cores %d and %d CPU(s) on %s", sa.Cores, sa.CPUs, sa.Name, sb.Cores, sb.CPUs, sb.Name)
					}
					add(c)
					continue
				}
			}
			if kernelRe().MatchString(x) && kernelRe().MatchString(y) &&
				(strings.HasPrefix(x, "2.6.") != strings.HasPrefix(y, "2.6.") || x == sa.Kernel || y == sb.Kernel ||
					strings.Contains(lower, "linux") || strings.Contains(lower, "kernel") || strings.Contains(prev, "uname")) {
				add(Cause{Kind: CauseKernel, Detail: "the kernel release (uname -r)", A: x, B: y})
				continue
			}
			if shift := sb.ClockShift - sa.ClockShift; shift.Abs() >= time.Minute && !seen[CauseTimestamp] {
				fx, errX := strconv.ParseFloat(x, 64)
				fy, errY := strconv.ParseFloat(y, 64)
				slack := max(sb.End.Sub(sa.Start), sa.End.Sub(sb.Start), 0) + time.Minute
				if errX == nil && errY == nil && math.Abs((fy-fx)-shift.Seconds()) <= slack.Seconds() {
					add(Cause{Kind: CauseTimestamp, Detail: fmt.Sprintf("seconds since boot (the monotonic or boot-time clock; it was moved ahead by %.0fs on %s)", shift.Seconds(), sb.Name), A: x, B: y})
					continue
				}
			}
			if len(x) == len(y) && len(x) >= 12 && randomLooking(x) && randomLooking(y) {
				add(Cause{Kind: CauseRandom, Detail: fmt.Sprintf("random-looking strings of the same length (%d characters)", len(x)), A: x, B: y})
			}
		}
	}
}

// randomLooking reports whether s is a high-entropy word: letters and
// digits (hex, base32, base64, a UUID) with at least 3 bits of entropy a
// character.
func randomLooking(s string) bool {
	if strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '-' || r == '_' || r == '=')
	}) || strings.HasPrefix(s, "/") || strings.Count(s, "/") > 1 {
		return false // a path
	}
	if !strings.ContainsAny(s, "0123456789") && len(s) < 20 {
		return false // a word
	}
	return entropy([]byte(s)) >= 3.0
}

// entropy is the Shannon entropy of b in bits per byte.
func entropy(b []byte) float64 {
	var n [256]int
	for _, c := range b {
		n[c]++
	}
	e := 0.0
	for _, k := range n {
		if k > 0 {
			p := float64(k) / float64(len(b))
			e -= p * math.Log2(p)
		}
	}
	return e
}

// randomRanges names random bytes: differing ranges of 8 to 64 bytes
// whose bytes are nearly all distinct on both sides (a random seed, a
// UUID, a hash of something random).
func randomRanges(samples [][2][]byte) (Cause, bool) {
	n := 0
	for _, s := range samples[:min(len(samples), 4)] {
		a, b := s[0], s[1]
		if len(a) < 8 || len(a) > 64 || len(a) != len(b) {
			return Cause{}, false
		}
		if distinct(a) < len(a)*3/4 || distinct(b) < len(b)*3/4 {
			return Cause{}, false
		}
		n = len(a)
	}
	if n == 0 {
		return Cause{}, false
	}
	return Cause{Kind: CauseRandom, Detail: fmt.Sprintf("high-entropy bytes of the same length (%d bytes)", n),
		A: fmt.Sprintf("%x", samples[0][0]), B: fmt.Sprintf("%x", samples[0][1])}, true
}

func distinct(b []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c] = true
			n++
		}
	}
	return n
}

func first(pref, all []string) string {
	if len(pref) > 0 {
		return pref[0]
	}
	if len(all) > 0 {
		return all[0]
	}
	return ""
}

func matches(re *regexp.Regexp, lines []string, group int) []string {
	var out []string
	for _, l := range lines {
		for _, m := range re.FindAllStringSubmatch(l, -1) {
			out = append(out, m[group])
		}
	}
	return out
}

// storeHashes maps store path names to their sorted distinct hashes.
func storeHashes(lines []string) map[string][]string {
	out := map[string][]string{}
	for _, l := range lines {
		for _, m := range storePathRe().FindAllStringSubmatch(l, -1) {
			if !slices.Contains(out[m[2]], m[1]) {
				out[m[2]] = append(out[m[2]], m[1])
			}
		}
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}
