package claimlog

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"filippo.io/torchwood"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/tlog"

	c2sp "github.com/nixgate/nixgate/internal/tlog"
)

// memTiles is the tiling of appendLeaf kept in memory.
type memTiles map[tileKey][]byte

func (m memTiles) tile(level int, n int64) ([]byte, error) { return m[tileKey{level, n}], nil }

func (m memTiles) reader() tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			h, err := storedHash(m.tile, x)
			if err != nil {
				return nil, err
			}
			out[i] = h
		}
		return out, nil
	})
}

func hashesOf(p []tlog.Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

// TestTreeVectors checks the log's tiling (appendLeaf: the compact range of
// transparency-dev/merkle feeding C2SP tiles) against RFC 6962: the known
// answers of the RFC's test tree, and, for every size 0..1025, the root,
// inclusion and consistency proofs of transparency-dev/merkle's reference
// tree, read back from the tiles with x/mod/sumdb/tlog.
func TestTreeVectors(t *testing.T) {
	// RFC 6962 known answers (the 8-leaf tree of the RFC's test vectors).
	tiles := memTiles{}
	rng := rangeFactory.NewEmptyRange(0)
	get := func(k tileKey) []byte { return tiles[k] }
	set := func(k tileKey, d []byte) { tiles[k] = d }
	for i, leaf := range testonly.LeafInputs() {
		if err := appendLeaf(rng, int64(i), leaf, get, set); err != nil {
			t.Fatal(err)
		}
		want := testonly.RootHashes()[i+1]
		if got := rootOf(rng); !bytes.Equal(got[:], want) {
			t.Fatalf("RFC 6962 root of %d leaves: %x, want %x", i+1, got, want)
		}
		if h, err := tlog.TreeHash(int64(i+1), tiles.reader()); err != nil || !bytes.Equal(h[:], want) {
			t.Fatalf("tlog.TreeHash(%d) from tiles: %x %v, want %x", i+1, h, err, want)
		}
	}
	if r := rootOf(rangeFactory.NewEmptyRange(0)); !bytes.Equal(r[:], testonly.RootHashes()[0]) {
		t.Fatalf("empty root %x", r)
	}

	// Sizes 0..1025 against the reference tree.
	const max = 1025
	tiles = memTiles{}
	rng = rangeFactory.NewEmptyRange(0)
	ref := testonly.New(rfc6962.DefaultHasher)
	r := rand.New(rand.NewPCG(1, 2))
	roots := []tlog.Hash{emptyRoot}
	for i := range max {
		leaf := fmt.Appendf(nil, "leaf %d %x", i, r.Uint64())
		if err := appendLeaf(rng, int64(i), leaf, get, set); err != nil {
			t.Fatal(err)
		}
		ref.AppendData(leaf)
		got := rootOf(rng)
		if !bytes.Equal(got[:], ref.Hash()) {
			t.Fatalf("root of %d: %x, reference %x", i+1, got, ref.Hash())
		}
		roots = append(roots, got)
	}
	hr := tiles.reader()
	for n := int64(1); n <= max; n++ {
		if h, err := tlog.TreeHash(n, hr); err != nil || h != roots[n] {
			t.Fatalf("TreeHash(%d) from tiles: %v", n, err)
		}
		for _, i := range sample(n, r) {
			p, err := tlog.ProveRecord(n, i, hr)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.InclusionProof(uint64(i), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(hashesOf(p)) != fmt.Sprint(want) {
				t.Fatalf("inclusion proof %d in %d differs from the reference", i, n)
			}
		}
		for _, m := range sample(n, r) {
			if m == 0 {
				continue
			}
			p, err := tlog.ProveTree(n, m, hr)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.ConsistencyProof(uint64(m), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(hashesOf(p)) != fmt.Sprint(want) {
				t.Fatalf("consistency proof %d -> %d differs from the reference", m, n)
			}
			if err := tlog.CheckTree(p, n, roots[n], m, roots[m]); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// sample returns every index below n for small n, else the edges, the
// middle and a few random ones.
func sample(n int64, r *rand.Rand) []int64 {
	if n <= 40 {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i)
		}
		return out
	}
	out := []int64{0, 1, n / 3, n / 2, n - 2, n - 1}
	for range 6 {
		out = append(out, r.Int64N(n))
	}
	return out
}

// TestTorchwoodReadsTiles has an independent C2SP tlog-tiles client,
// filippo.io/torchwood, fetch and authenticate every entry of a log over
// HTTP against its checkpoint, with partial tiles at the right edge.
func TestTorchwoodReadsTiles(t *testing.T) {
	a := testBuilder(t, "builder-a-1")
	dbURL := "sqlite://" + t.TempDir() + "/log.db"
	l := startLog(t, dbURL, Config{}, a)
	ctx := context.Background()
	var want [][]byte
	for i := range 70000 / 100 {
		c := newClaim(t, a, fmt.Sprintf("pkg-%d", i), "x")
		if _, err := l.srv.seq.Submit(ctx, c); err != nil {
			t.Fatal(err)
		}
		want = append(want, c.Marshal())
	}
	cp := l.waitPublished(t, int64(len(want)))
	tree, _, err := c2sp.OpenCheckpoint(cp, l.signer.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	f, err := torchwood.NewTileFetcher(l.http.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	tc, err := torchwood.NewClient(f)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for i, e := range tc.Entries(ctx, tree.Tree(), 0) {
		if i != int64(len(got)) {
			t.Fatalf("entry %d out of order", i)
		}
		got = append(got, bytes.Clone(e))
	}
	if err := tc.Err(); err != nil {
		t.Fatal(err)
	}
	// Entries stops before the partial entry bundle at the right edge.
	if len(got) != len(want)/256*256 {
		t.Fatalf("torchwood read %d entries, want %d", len(got), len(want)/256*256)
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("entry %d differs", i)
		}
	}
	// Entries of the partial bundle, with their proofs, as torchwood
	// computes them from partial tiles.
	for _, i := range []int64{300, 512, 650, int64(len(want) - 1)} {
		e, proof, err := tc.Entry(ctx, tree.Tree(), i)
		if err != nil || !bytes.Equal(e, want[i]) {
			t.Fatalf("torchwood entry %d: %v", i, err)
		}
		if err := c2sp.CheckInclusion(tree, i, proof, e); err != nil {
			t.Fatal(err)
		}
	}
	// Tile paths agree with torchwood's.
	for _, tl := range tlog.NewTiles(c2sp.TileHeight, 0, tree.Size) {
		if got, want := c2sp.TilePath(tl), torchwood.TilePath(tl); got != want {
			t.Errorf("tile path %s, torchwood %s", got, want)
		}
	}
}
