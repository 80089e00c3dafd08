package nar

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	months = `(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)`
	days   = `(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)`
	// timeRes are the common date formats, most specific first.
	timeRes = []*regexp.Regexp{
		// ISO 8601 / RFC 3339 and `date '+%F %T'`.
		regexp.MustCompile(`\b(?:19|20)\d\d-[01]\d-[0-3]\d[T ][0-2]\d:[0-5]\d(?::[0-6]\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d:?\d\d| ?UTC)?`),
		// date(1), ctime(3), RFC 2822: "Sat Nov 21 05:35:06 UTC 2026", "Sat, 21 Nov 2026 05:35:06 +0000".
		regexp.MustCompile(days + `,? +(?:\d{1,2} +)?` + months + `(?: +\d{1,2})?(?: +\d{4})? +[0-2]\d:[0-5]\d:[0-6]\d(?: +[A-Z]{2,5}| [+-]\d{4})?(?: +\d{4})?`),
		// C __DATE__ "Nov 21 2026", and "21 Nov 2026".
		regexp.MustCompile(months + ` +\d{1,2} +(?:19|20)\d\d|\b\d{1,2} ` + months + ` (?:19|20)\d\d`),
		// __TIME__ and other times of day.
		regexp.MustCompile(`\b[0-2]\d:[0-5]\d:[0-6]\d\b`),
		// Unix epochs in seconds (2001..2033) or milliseconds.
		regexp.MustCompile(`\b1\d{9}(?:\d{3})?\b`),
	}
	buildPathRe = regexp.MustCompile(`(?:^|[^\w./-])((?:/build\b|/tmp/nix-build-[^/\s"'<>:;,()]+)(?:/[^\s"'<>:;,()]*)?)`)
	storePathRe = regexp.MustCompile(`/nix/store/([0-9a-df-np-sv-z]{32})-([0-9A-Za-z+\-._?=]+)`)
)

var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05 UTC", "2006-01-02T15:04:05Z0700", "2006-01-02 15:04",
	time.UnixDate, time.RubyDate, time.RFC1123Z, time.RFC1123, time.ANSIC,
	"Mon, _2 Jan 2006 15:04:05 -0700", "Jan _2 2006", "_2 Jan 2006",
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

// findTimes returns the timestamps in lines, longest formats first, each
// span matched once.
func findTimes(lines []string) []string {
	var out []string
	for _, l := range lines {
		taken := make([]bool, len(l))
		for _, re := range timeRes {
			for _, m := range re.FindAllStringIndex(l, -1) {
				if slices.Contains(taken[m[0]:m[1]], true) {
					continue
				}
				for i := m[0]; i < m[1]; i++ {
					taken[i] = true
				}
				out = append(out, strings.TrimSpace(l[m[0]:m[1]]))
			}
		}
	}
	return out
}

// textCauses looks for the usual causes in the lines removed from A and
// added in B (or in the strings only found on one side of a binary).
func (d *differ) textCauses(removed, added []string, reordered bool) []Cause {
	var causes []Cause
	if reordered {
		return nil
	}
	// Timestamps.
	ta, tb := findTimes(removed), findTimes(added)
	if oa, ob := onlyIn(ta, tb), onlyIn(tb, ta); len(oa)+len(ob) > 0 && len(ta) > 0 && len(tb) > 0 {
		c := Cause{Kind: CauseTimestamp, Detail: "embedded timestamp", A: first(oa, ta), B: first(ob, tb)}
		if d.nearBuild(c.A, 0) || d.nearBuild(c.B, 1) {
			c.Detail = "embedded build time"
		}
		causes = append(causes, c)
	}
	// Build directory paths.
	pa, pb := matches(buildPathRe, removed, 1), matches(buildPathRe, added, 1)
	if oa, ob := onlyIn(pa, pb), onlyIn(pb, pa); len(oa)+len(ob) > 0 {
		causes = append(causes, Cause{Kind: CauseBuildPath, Detail: "embedded build directory path", A: first(oa, pa), B: first(ob, pb)})
	}
	// Store paths with another hash.
	ha, hb := storeHashes(removed), storeHashes(added)
	names := make([]string, 0, len(ha))
	for n := range ha {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		hashesB, ok := hb[n]
		if !ok || slices.Equal(ha[n], hashesB) {
			continue
		}
		causes = append(causes, Cause{Kind: CauseStoreHash, Detail: fmt.Sprintf("store path of %q with a different hash", n),
			A: "/nix/store/" + ha[n][0] + "-" + n, B: "/nix/store/" + hashesB[0] + "-" + n})
		break
	}
	return causes
}

// nearBuild reports whether the timestamp s falls in side's build window
// (with a minute of slack).
func (d *differ) nearBuild(s string, side int) bool {
	t, ok := parseTime(s)
	return ok && d.o.BuildTimes[side].contains(t, time.Minute)
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
		for _, m := range storePathRe.FindAllStringSubmatch(l, -1) {
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
