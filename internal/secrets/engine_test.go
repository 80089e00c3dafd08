package secrets

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// TestStreamingBoundaries puts secrets around every chunk boundary of a
// large file and checks each is found once, at the right line.
func TestStreamingBoundaries(t *testing.T) {
	rs := defaultRuleset(t)
	g := newGen(7)
	var b bytes.Buffer
	want := map[int]string{}
	line := 1
	filler := strings.Repeat("lorem ipsum dolor sit amet ", 3) + "\n"
	for b.Len() < 3*chunkSize+keepSize {
		// Place a token just before and after each chunk and keep boundary.
		pos := b.Len() % chunkSize
		if pos > chunkSize-keepSize-200 && pos < chunkSize-keepSize+200 || pos < 200 || pos > chunkSize-200 {
			tok := g.render(t, "{gh:ghp}")
			b.WriteString("token " + tok + "\n")
			want[line] = tok
		} else {
			b.WriteString(filler)
		}
		line++
	}
	// A PEM block spans lines.
	pem := g.render(t, "{pem:RSA PRIVATE KEY}")
	want[line] = "pem"
	b.WriteString(pem)
	got := map[int]string{}
	err := rs.NewScanner().Scan(Input{Path: "big.txt"}, &b, func(f Finding) {
		if _, dup := got[f.Line]; dup {
			t.Errorf("line %d reported twice", f.Line)
		}
		if f.RuleID == "private-key" {
			got[f.Line] = "pem"
		} else {
			got[f.Line] = f.Secret
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for l, s := range want {
		if got[l] != s {
			t.Errorf("line %d: got %q, want %q", l, got[l], s)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d findings, want %d", len(got), len(want))
	}
}

func TestBinarySkipped(t *testing.T) {
	rs := defaultRuleset(t)
	tok := newGen(1).render(t, "{gh:ghp}")
	err := rs.NewScanner().Scan(Input{Path: "x.bin"}, strings.NewReader("\x7fELF\x00\x00"+tok), func(f Finding) { t.Errorf("finding in binary: %s", f.RuleID) })
	if err != ErrBinary {
		t.Errorf("err = %v, want ErrBinary", err)
	}
}

func TestRedaction(t *testing.T) {
	tok := newGen(3).render(t, "{gh:ghp}")
	f := Finding{RuleID: "github-pat", Secret: tok}
	msg := f.Message()
	if strings.Contains(msg, tok) || strings.Contains(msg, tok[10:]) {
		t.Errorf("message shows the secret: %s", msg)
	}
	if !strings.HasPrefix(msg, "github-pat: "+tok[:6]+"… (40 chars, fp:") {
		t.Errorf("message = %q", msg)
	}
}

func TestMatcher(t *testing.T) {
	checkMatcher(t, []string{"he", "she", "his", "hers", "key", "KEY-", "a", ""}, "ushers His Key-a")
	checkMatcher(t, []string{"aa", "aaa", "ab", "b"}, "aaaabaab")
	// Bytes outside ASCII, invalid UTF-8 among them, and duplicates.
	checkMatcher(t, []string{"\xff\xfe", "é", "\xffA", "é", "KEY"}, "x\xff\xfeA\xffa é key")
}

// checkMatcher compares the automaton's hits with a naive search: every
// occurrence of every keyword, case-insensitively (ASCII), once.
func checkMatcher(t testing.TB, kws []string, text string) {
	t.Helper()
	m := newMatcher(kws)
	var got []string
	m.scan([]byte(text), func(k, start int) { got = append(got, fmt.Sprintf("%d@%d", k, start)) })
	var want []string
	lt := []byte(text)
	for i := range lt {
		lt[i] = lowerTable[lt[i]]
	}
	for k, kw := range kws {
		lk := []byte(kw)
		for i := range lk {
			lk[i] = lowerTable[lk[i]]
		}
		if len(lk) == 0 {
			continue
		}
		for i := 0; i+len(lk) <= len(lt); i++ {
			if bytes.Equal(lt[i:i+len(lk)], lk) {
				want = append(want, fmt.Sprintf("%d@%d", k, i))
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("keywords %q in %q: got %v, want %v", kws, text, got, want)
	}
}

// FuzzMatcher holds the automaton to the naive search.
func FuzzMatcher(f *testing.F) {
	f.Add("he\x00she\x00hers", "ushers")
	f.Add("aa\x00aaa\x00b", "aaaabaab")
	f.Fuzz(func(t *testing.T, kws, text string) {
		if len(kws) > 512 || len(text) > 4096 {
			return
		}
		fuzzlimit.Default(t, func() { checkMatcher(t, strings.Split(kws, "\x00"), text) })
	})
}

func BenchmarkScan(b *testing.B) {
	rs := defaultRuleset(b)
	data := bytes.Repeat([]byte("func (s *Server) handle(token string, key []byte) error { return nil } // https://example.org\n"), 20000)
	sc := rs.NewScanner()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		sc.Scan(Input{Path: "x.go"}, bytes.NewReader(data), func(Finding) {})
	}
}
