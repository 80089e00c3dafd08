package claimlog

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/nixgate/nixgate/internal/claim"
	c2sp "github.com/nixgate/nixgate/internal/tlog"
)

// FsckResult is what Fsck found.
type FsckResult struct {
	Origin   string   `json:"origin"`
	Size     int64    `json:"size"`
	Root     string   `json:"root"`
	Claims   int64    `json:"claims"`
	Problems []string `json:"problems"`
}

// OK reports a clean log.
func (r *FsckResult) OK() bool { return len(r.Problems) == 0 }

// Fsck re-reads the whole log: every claim row is a valid, correctly
// signed claim of an enrolled builder at a gap-free index, every entry
// bundle holds exactly the claims, the root recomputed from the claims
// (leaf by leaf, with the reference hashing of transparency-dev/merkle)
// and the root recomputed from the stored tiles (x/mod/sumdb/tlog) both
// equal the latest checkpoint's, whose signature verifies.
func Fsck(ctx context.Context, s *Store, v note.Verifier) (*FsckResult, error) {
	r := &FsckResult{Problems: []string{}}
	bad := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }
	r.Origin, _ = s.Meta(ctx, "origin")
	sizeText, err := s.Meta(ctx, "size")
	if err != nil {
		return nil, err
	}
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("the database has no log size (%q)", sizeText)
	}
	r.Size = size
	msg, err := s.Checkpoint(ctx, size)
	if err != nil || msg == nil {
		return nil, fmt.Errorf("no checkpoint for size %d: %v", size, err)
	}
	cp, _, err := c2sp.OpenCheckpoint(msg, v)
	if err != nil {
		bad("latest checkpoint: %v", err)
		if sn, err := c2sp.SplitNote(msg); err == nil {
			cp, _ = c2sp.ParseCheckpoint(sn.Text)
		}
	}
	r.Root = c2sp.EncodeHash(cp.Hash)
	if cp.Size != size {
		bad("the checkpoint says size %d, the database %d", cp.Size, size)
	}
	if latest, _ := s.LatestCheckpoint(ctx); !bytes.Equal(latest, msg) {
		bad("a checkpoint larger than the log size %d is stored", size)
	}
	builders, err := s.Builders(ctx)
	if err != nil {
		return nil, err
	}
	keys := map[string]claim.PublicKey{}
	for n, k := range builders {
		if pk, err := claim.ParsePublicKey(k); err == nil {
			keys[n] = pk
		} else {
			bad("builder %s: %v", n, err)
		}
	}
	// The claims, in batches, against the entry bundles and the leaves.
	rng := rangeFactory.NewEmptyRange(0)
	const step = 1 << 14
	next := int64(0)
	var bundle [][]byte
	for lo := int64(0); lo < size; lo += step {
		rows, err := s.ClaimRange(ctx, lo, lo+step)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			if row.Index != next {
				bad("claim index %d follows %d: a gap", row.Index, next-1)
				next = row.Index
			}
			c, err := claim.Parse(row.Leaf)
			switch {
			case err != nil:
				bad("claim %d: %v", row.Index, err)
			default:
				if k, ok := keys[c.Builder]; !ok {
					bad("claim %d: builder %s is not enrolled", row.Index, c.Builder)
				} else if err := c.Verify(k); err != nil {
					bad("claim %d: %v", row.Index, err)
				}
			}
			if row.Index%c2sp.TileWidth == 0 {
				d, err := s.Tile(ctx, c2sp.EntriesLevel, row.Index/c2sp.TileWidth)
				if err != nil {
					return nil, err
				}
				if bundle, err = c2sp.SplitBundle(d); err != nil {
					bad("entry bundle %d: %v", row.Index/c2sp.TileWidth, err)
				}
			}
			if i := int(row.Index % c2sp.TileWidth); i >= len(bundle) || !bytes.Equal(bundle[i], row.Leaf) {
				bad("claim %d differs from its entry in tile/entries/%d", row.Index, row.Index/c2sp.TileWidth)
			}
			h := tlog.RecordHash(row.Leaf)
			if err := rng.Append(h[:], nil); err != nil {
				return nil, err
			}
			next++
			r.Claims++
		}
	}
	if next != size {
		bad("%d claims stored below the log size %d", next, size)
	}
	if extra, err := s.ClaimRange(ctx, size, 1<<62); err != nil {
		return nil, err
	} else if len(extra) > 0 {
		bad("%d claims stored at or above the log size %d", len(extra), size)
	}
	if got := rootOf(rng); got != cp.Hash {
		bad("the claims give the root %s, the checkpoint says %s", c2sp.EncodeHash(got), r.Root)
	}
	// The root from the tiles, as any tile reader computes it.
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			h, err := storedHash(func(l int, n int64) ([]byte, error) { return s.Tile(ctx, l, n) }, x)
			if err != nil {
				return nil, err
			}
			out[i] = h
		}
		return out, nil
	})
	if size > 0 {
		if h, err := tlog.TreeHash(size, hr); err != nil {
			bad("tiles: %v", err)
		} else if h != cp.Hash {
			bad("the tiles give the root %s, the checkpoint says %s", c2sp.EncodeHash(h), r.Root)
		}
	}
	return r, nil
}
