package tlog

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/nixgate/nixgate/internal/claim"
	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// The example of c2sp.org/tlog-checkpoint.
const specCheckpoint = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

func TestCheckpoint(t *testing.T) {
	c, err := ParseCheckpoint(specCheckpoint)
	if err != nil {
		t.Fatal(err)
	}
	if c.Origin != "example.com/behind-the-sofa" || c.Size != 20852163 || c.Text() != specCheckpoint {
		t.Fatalf("%+v", c)
	}
	tc, err := torchwood.ParseCheckpoint(specCheckpoint)
	if err != nil || tc.N != c.Size || tc.Hash != c.Hash {
		t.Fatalf("torchwood reads %+v, %v", tc, err)
	}
	for _, bad := range []string{
		"", "o\n1\n", "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n", // padding bits
		"o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
	} {
		if _, err := ParseCheckpoint(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestSignedCheckpoint(t *testing.T) {
	skey, vkey, err := GenerateLogKey("log.example/a")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewLogSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	if s.Vkey() != vkey {
		t.Fatalf("vkey %s, generated %s", s.Vkey(), vkey)
	}
	wskey, wvkey, _ := GenerateCosignerKey("witness.example/w")
	w, err := NewCosigner(wskey)
	if err != nil {
		t.Fatal(err)
	}
	w.Now = func() time.Time { return time.Unix(1700000000, 0) }
	wv, err := NewCosignatureVerifier(wvkey)
	if err != nil {
		t.Fatal(err)
	}
	text := Checkpoint{Origin: "log.example/a", Size: 5, Hash: tlog.Hash(sha256.Sum256([]byte("x")))}.Text()
	msg, err := note.Sign(&note.Note{Text: text}, s, w)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NewLogVerifier(vkey)
	c, n, err := OpenCheckpoint(msg, v, wv)
	if err != nil || c.Size != 5 || len(n.Sigs) != 2 {
		t.Fatalf("%+v %v", c, err)
	}
	sn, _ := SplitNote(msg)
	name, b64, _ := strings.Cut(sn.Sigs[1], " ")
	if ts, err := CosignatureTime(b64); name != "witness.example/w" || err != nil || ts.Unix() != 1700000000 {
		t.Errorf("cosignature time %v %v", ts, err)
	}
	// Another key under the log's name is refused; a log key is not a
	// witness key.
	other, _, _ := GenerateLogKey("log.example/a")
	os, _ := NewLogSigner(other)
	forged, _ := note.Sign(&note.Note{Text: text}, os)
	if _, _, err := OpenCheckpoint(forged, v); err == nil {
		t.Error("a checkpoint signed by another key opened")
	}
	if _, err := NewCosignatureVerifier(vkey); err == nil {
		t.Error("a log vkey accepted as a witness key")
	}
	if _, err := NewLogVerifier(wvkey); err == nil {
		t.Error("a witness vkey accepted as a log key")
	}
}

// TestTilePaths: the C2SP examples, and agreement with torchwood for
// every tile of a few trees.
func TestTilePaths(t *testing.T) {
	for path, want := range map[string]tlog.Tile{
		"tile/0/x001/x234/067":      {H: 8, L: 0, N: 1234067, W: 256},
		"tile/1/000.p/17":           {H: 8, L: 1, N: 0, W: 17},
		"tile/entries/x001/234.p/1": {H: 8, L: -1, N: 1234, W: 1},
		"tile/entries/000":          {H: 8, L: -1, N: 0, W: 256},
	} {
		got, err := ParseTilePath(path)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v, want %+v", path, got, err, want)
		}
		if TilePath(want) != path {
			t.Errorf("TilePath(%+v) = %s, want %s", want, TilePath(want), path)
		}
	}
	for _, size := range []int64{1, 255, 256, 257, 70000, 1 << 24} {
		for _, tl := range tlog.NewTiles(TileHeight, 0, size) {
			if TilePath(tl) != torchwood.TilePath(tl) {
				t.Errorf("%+v: %s, torchwood %s", tl, TilePath(tl), torchwood.TilePath(tl))
			}
			tl.L = -1
			if TilePath(tl) != torchwood.TilePath(tl) {
				t.Errorf("%+v: %s, torchwood %s", tl, TilePath(tl), torchwood.TilePath(tl))
			}
		}
	}
	for _, bad := range []string{"tile/0/1", "tile/00/000", "tile/0/x000/001", "tile/0/001/002", "tile/64/000", "tile/0/000.p/0",
		"tile/0/000.p/256", "tile/0/000.p/01", "tile/x/000", "tile/0/x999/x999/x999/x999/x999/x999/x999/999", "tile/0/000/"} {
		if _, err := ParseTilePath(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestBundle(t *testing.T) {
	var b []byte
	for i := range 3 {
		var err error
		if b, err = AppendEntry(b, []byte(fmt.Sprint("entry ", i))); err != nil {
			t.Fatal(err)
		}
	}
	es, err := SplitBundle(b)
	if err != nil || len(es) != 3 || string(es[2]) != "entry 2" {
		t.Fatalf("%q %v", es, err)
	}
	if e, rest, err := torchwood.ReadTileEntry(b); err != nil || string(e) != "entry 0" || len(rest) == 0 {
		t.Fatalf("torchwood reads %q %v", e, err)
	}
	if _, err := SplitBundle(b[:len(b)-1]); err == nil {
		t.Error("a truncated bundle split")
	}
}

func TestProofRoundTrip(t *testing.T) {
	p := &Proof{Extra: []byte("leaf"), Index: 7, Inclusion: tlog.RecordProof{tlog.Hash(sha256.Sum256([]byte("a")))},
		Checkpoint: []byte(specCheckpoint + "\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n")}
	b := p.Marshal()
	q, err := ParseProof(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(q.Marshal(), b) {
		t.Fatal("round trip differs")
	}
	if !strings.HasPrefix(string(b), "c2sp.org/tlog-proof@v1\nextra bGVhZg==\nindex 7\n") {
		t.Errorf("encoding:\n%s", b)
	}
}

// The example policy of c2sp.org/tlog-policy with keys, and nixgate's
// builder extension.
func TestPolicy(t *testing.T) {
	_, lv, _ := GenerateLogKey("log.example/p")
	var w []string
	for i := range 6 {
		_, v, _ := GenerateCosignerKey(fmt.Sprintf("w%d.example", i))
		w = append(w, v)
	}
	var b []string
	for _, n := range []string{"a-1", "b-1", "c-1"} {
		_, pk, _ := claim.GenerateKey(n)
		b = append(b, pk.String())
	}
	text := fmt.Sprintf(`log %s https://log.example/p
  # comment
witness X1 %s
witness X2 %s
witness X3 %s
group X-witnesses 2 X1 X2 X3
witness Y1 %s
witness Y2 %s
witness Y3 %s
group Y-witnesses any Y1 Y2 Y3
group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
builder A %s
builder B %s
builder C %s
builder-group two 2 A B C
trust two
`, lv, w[0], w[1], w[2], w[3], w[4], w[5], b[0], b[1], b[2])
	p, err := ParsePolicy([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	set := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	for _, c := range []struct {
		have []string
		want bool
	}{{[]string{"X1", "X2", "Y3"}, true}, {[]string{"X1", "Y1", "Y2"}, false}, {[]string{"X1", "X2", "X3"}, false}} {
		if p.QuorumMet(set(c.have...)) != c.want {
			t.Errorf("quorum with %v: want %v", c.have, c.want)
		}
	}
	if !p.TrustMet(set("A", "C")) || p.TrustMet(set("B")) {
		t.Error("2 of A B C")
	}
	if p.Describe("two") != "2 of (A, B, C)" {
		t.Errorf("Describe: %s", p.Describe("two"))
	}
	bad := map[string]string{
		"no quorum":     "log " + lv + "\n",
		"two quorums":   "quorum none\nquorum none\n",
		"forward ref":   "group g any W\nwitness W " + w[0] + "\nquorum g\n",
		"k too large":   "witness W " + w[0] + "\ngroup g 2 W\nquorum g\n",
		"k zero":        "witness W " + w[0] + "\ngroup g 0 W\nquorum g\n",
		"dup member":    "witness W " + w[0] + "\ngroup g any W W\nquorum g\n",
		"dup key":       "witness W " + w[0] + "\nwitness V " + w[0] + "\nquorum none\n",
		"none member":   "group g any none\nquorum none\n",
		"kinds":         "witness W " + w[0] + "\nbuilder-group g any W\nquorum none\n",
		"trust witness": "witness W " + w[0] + "\nquorum none\ntrust W\n",
		"cr":            "quorum none\r\n",
		"log as wit":    "witness W " + lv + "\nquorum none\n",
		"unknown":       "quorum none\nfrobnicate x\n",
	}
	for name, text := range bad {
		if _, err := ParsePolicy([]byte(text)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add(specCheckpoint)
	f.Add("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n")
	f.Fuzz(func(t *testing.T, s string) {
		fuzzlimit.Default(t, func() {
			c, err := ParseCheckpoint(s)
			if err == nil && c.Text() != s {
				t.Errorf("non-canonical checkpoint accepted: %q", s)
			}
		})
	})
}

func FuzzSplitNote(f *testing.F) {
	f.Add([]byte(specCheckpoint + "\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"))
	f.Add([]byte("x\n\n— a AAAAAAA=\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzlimit.Default(t, func() {
			n, err := SplitNote(b)
			if err == nil && !bytes.Equal(n.Bytes(), b) {
				t.Errorf("SplitNote does not round-trip: %q", b)
			}
		})
	})
}

func FuzzParseTilePath(f *testing.F) {
	f.Add("tile/0/x001/x234/067")
	f.Add("tile/entries/000.p/5")
	f.Fuzz(func(t *testing.T, s string) {
		fuzzlimit.Default(t, func() {
			tl, err := ParseTilePath(s)
			if err == nil && TilePath(tl) != s {
				t.Errorf("%q parses to %+v, which is %q", s, tl, TilePath(tl))
			}
		})
	})
}

func FuzzParseProof(f *testing.F) {
	p := &Proof{Extra: []byte("leaf"), Index: 7, Inclusion: tlog.RecordProof{tlog.Hash(sha256.Sum256([]byte("a")))},
		Checkpoint: []byte(specCheckpoint + "\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n")}
	f.Add(p.Marshal())
	f.Add([]byte(ProofHeader + "\nindex 0\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzlimit.Default(t, func() {
			p, err := ParseProof(b)
			if err == nil && !bytes.Equal(p.Marshal(), b) {
				t.Errorf("non-canonical proof accepted: %q", b)
			}
		})
	})
}

func FuzzParsePolicy(f *testing.F) {
	_, lv, _ := GenerateLogKey("log.example/p")
	_, wv, _ := GenerateCosignerKey("w.example")
	_, pk, _ := claim.GenerateKey("a-1")
	f.Add([]byte("log " + lv + "\nwitness W " + wv + "\ngroup g any W\nquorum g\nbuilder A " + pk.String() + "\nbuilder-group b 1 A\ntrust b\n"))
	f.Add([]byte("quorum none\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzlimit.Default(t, func() {
			p, err := ParsePolicy(b)
			if err == nil {
				p.QuorumMet(map[string]bool{"W": true})
				p.TrustMet(map[string]bool{"A": true})
			}
		})
	})
}

func FuzzSplitBundle(f *testing.F) {
	b, _ := AppendEntry(nil, []byte("x"))
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzlimit.Default(t, func() {
			es, err := SplitBundle(b)
			if err != nil {
				return
			}
			var again []byte
			for _, e := range es {
				again, _ = AppendEntry(again, e)
			}
			if !bytes.Equal(again, b) {
				t.Error("bundle does not round-trip")
			}
		})
	})
}
