package secrets

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// nearMatches is text dense in near-matches: every line holds a keyword of
// some rule and something shaped almost like its secret, so that every
// line reaches the rules' regexps (the worst case for a scanner built on
// keyword prefilters).
func nearMatches(size int) []byte {
	lines := []string{
		`password = "aaaaaaaaaaaaaaaaaaaa"`,
		`token: ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`,
		`-----BEGIN RSA PRIVATE KEY-----`,
		`api_key=AKIAxxxxxxxxxxxx secret := os.Getenv("X")`,
		`machine x login y password $P access-tokens = github.com=${T}`,
		`eyJhbGciOi.eyJzdWIi.sig aws_secret_access_key = xxx`,
		`postgres://u:${P}@h/db Authorization: Bearer ${TOKEN} xoxb-123-456`,
		`data: QUtJQXh4eHh4eHh4eHh4eHh4eHh4 hooks.slack.com/services/x discord telegram heroku npm`,
	}
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		b.WriteString(lines[i%len(lines)])
		b.WriteByte('\n')
	}
	return b.Bytes()[:size]
}

// scanCost scans data and returns the time taken and the peak of the
// heap in use while scanning (sampled).
func scanCost(t *testing.T, rs *Ruleset, data []byte) (time.Duration, uint64) {
	t.Helper()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var m runtime.MemStats
		var p uint64
		for {
			runtime.ReadMemStats(&m)
			p = max(p, m.HeapInuse)
			select {
			case <-stop:
				peak <- p - min(p, base.HeapInuse)
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	if err := rs.NewScanner().ScanBytes(Input{Path: "near.txt"}, data, func(Finding) {}); err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	close(stop)
	return el, <-peak
}

// TestLinear: the scan's time grows at most linearly with its input, from
// 1 MB to 16 MB of near-matches, and one line of 30 MB costs a bounded
// amount of memory (a few chunks) and time linear in its size.
func TestLinear(t *testing.T) {
	rs := defaultRuleset(t)
	t1, _ := scanCost(t, rs, nearMatches(1<<20))
	big := nearMatches(16 << 20)
	t16, m16 := scanCost(t, rs, big)
	lines := bytes.Count(big, []byte{'\n'})
	t.Logf("near-matches: 1 MiB %s, 16 MiB %s (%.0f lines/s), heap +%d MiB", t1, t16, float64(lines)/t16.Seconds(), m16>>20)
	// Linear within a factor of 2, for noise on a shared machine.
	if t16 > 32*t1+time.Second {
		t.Errorf("16 MiB took %s, 1 MiB %s: not linear", t16, t1)
	}
	// One line of 30 MiB: ordinary text with a keyword every 300 bytes or
	// so, and runs of near-matches.
	var b bytes.Buffer
	unit := strings.ReplaceAll(string(nearMatches(4<<10)), "\n", " ") + strings.Repeat("lorem ipsum dolor sit amet consectetur ", 100)
	for b.Len() < 30<<20 {
		b.WriteString(unit)
	}
	one := b.Bytes()[:30<<20]
	t1l, _ := scanCost(t, rs, one[:1<<20])
	t30, m30 := scanCost(t, rs, one)
	t.Logf("one line: 1 MiB %s, 30 MiB %s, heap +%d MiB", t1l, t30, m30>>20)
	if m30 > 64<<20 {
		t.Errorf("one line of 30 MiB held %d MiB of heap", m30>>20)
	}
	if t30 > 60*t1l+2*time.Second {
		t.Errorf("one line of 30 MiB took %s, its first MiB %s: not linear", t30, t1l)
	}
}
