package claimlog

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	c2sp "github.com/nixgate/nixgate/internal/tlog"
)

// TestTileTree: every node hash of a full tile read from its tree equals
// x/mod's HashFromTile, at every height inside the tile, on two tile levels.
func TestTileTree(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	d := make([]byte, c2sp.TileWidth*tlog.HashSize)
	for i := range d {
		d[i] = byte(r.Uint32())
	}
	tree := newTileTree(d)
	for _, tl := range []struct {
		L int
		N int64
	}{{0, 5}, {1, 3}} {
		checked := 0
		for k := 0; k < c2sp.TileHeight; k++ {
			level := tl.L*c2sp.TileHeight + k
			width := int64(c2sp.TileWidth >> k)
			for j := range width {
				n := tl.N*width + j
				idx := tlog.StoredHashIndex(level, n)
				tile := tlog.TileForIndex(c2sp.TileHeight, idx)
				if tile.L != tl.L || tile.N != tl.N {
					t.Fatalf("index %d (level %d, n %d) is in tile %d/%d", idx, level, n, tile.L, tile.N)
				}
				want, err := tlog.HashFromTile(tile, d, idx)
				if err != nil {
					t.Fatal(err)
				}
				lv, nn := tlog.SplitStoredHashIndex(idx)
				k := lv - tile.L*c2sp.TileHeight
				j := nn - tile.N<<c2sp.TileHeight>>k
				var got tlog.Hash
				if k == 0 {
					copy(got[:], d[j*tlog.HashSize:])
				} else {
					got = tree[k-1][j]
				}
				if got != want {
					t.Fatalf("tile %d/%d level %d n %d: tree %x, HashFromTile %x", tl.L, tl.N, level, n, got, want)
				}
				checked++
			}
		}
		if checked != 2*c2sp.TileWidth-2 {
			t.Errorf("checked %d hashes", checked)
		}
	}
}
