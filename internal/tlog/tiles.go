package tlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// TileHeight is the height of C2SP tiles: 256 hashes (or entries) wide.
const TileHeight = 8

// TileWidth is the number of hashes in a full tile.
const TileWidth = 1 << TileHeight

// EntriesLevel is the tlog.Tile level of entry bundles (x/mod's "data").
const EntriesLevel = -1

// TilePath is a tile's path under the log prefix (c2sp.org/tlog-tiles):
// tile/L/N[.p/W], and tile/entries/N[.p/W] for entry bundles (L = -1).
func TilePath(t tlog.Tile) string {
	level := strconv.Itoa(t.L)
	if t.L == EntriesLevel {
		level = "entries"
	}
	p := "tile/" + level + "/" + encodeIndex(t.N)
	if t.W != TileWidth {
		p += ".p/" + strconv.Itoa(t.W)
	}
	return p
}

func encodeIndex(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/", n%1000) + s
	}
	return s
}

// ParseTilePath reads a path made by TilePath, strictly: levels 0..63 or
// "entries" without leading zeros, 3-digit index elements with x on all
// but the last, and a partial width 1..255.
func ParseTilePath(path string) (tlog.Tile, error) {
	bad := func(why string) (tlog.Tile, error) {
		return tlog.Tile{}, fmt.Errorf("tile path %.80q: %s", path, why)
	}
	rest, ok := strings.CutPrefix(path, "tile/")
	if !ok {
		return bad("want tile/L/N[.p/W]")
	}
	level, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("want tile/L/N[.p/W]")
	}
	t := tlog.Tile{H: TileHeight, W: TileWidth}
	if level == "entries" {
		t.L = EntriesLevel
	} else {
		l, err := strconv.Atoi(level)
		if err != nil || l < 0 || l > 63 || strconv.Itoa(l) != level {
			return bad("level must be 0..63 or entries")
		}
		t.L = l
	}
	idx, width, partial := strings.Cut(rest, ".p/")
	if partial {
		w, err := strconv.Atoi(width)
		if err != nil || w < 1 || w >= TileWidth || strconv.Itoa(w) != width {
			return bad("partial width must be 1..255")
		}
		t.W = w
	}
	elems := strings.Split(idx, "/")
	if len(elems) > 7 {
		return bad("index too large")
	}
	for i, e := range elems {
		if i < len(elems)-1 {
			var ok bool
			if e, ok = strings.CutPrefix(e, "x"); !ok {
				return bad("every index element but the last starts with x")
			}
		}
		if len(e) != 3 || e[0] < '0' || e[0] > '9' || e[1] < '0' || e[1] > '9' || e[2] < '0' || e[2] > '9' {
			return bad("index elements are three digits")
		}
		if t.N > (1<<63-1-999)/1000 {
			return bad("index out of range")
		}
		t.N = t.N*1000 + int64(e[0]-'0')*100 + int64(e[1]-'0')*10 + int64(e[2]-'0')
	}
	if len(elems) > 1 && strings.TrimPrefix(elems[0], "x") == "000" {
		return bad("index has a leading zero element")
	}
	return t, nil
}

// AppendEntry appends a length-prefixed entry to a bundle.
func AppendEntry(bundle, entry []byte) ([]byte, error) {
	if len(entry) > 0xffff {
		return nil, fmt.Errorf("entry of %d bytes does not fit a 16-bit length", len(entry))
	}
	bundle = binary.BigEndian.AppendUint16(bundle, uint16(len(entry)))
	return append(bundle, entry...), nil
}

// SplitBundle splits an entry bundle into its entries (at most 256).
func SplitBundle(bundle []byte) ([][]byte, error) {
	return splitEntries(bundle, TileWidth)
}

// SplitBundleUnbounded splits a sequence of length-prefixed entries of any
// length (the files of the benchmarks).
func SplitBundleUnbounded(b []byte) ([][]byte, error) { return splitEntries(b, -1) }

func splitEntries(bundle []byte, max int) ([][]byte, error) {
	var out [][]byte
	for len(bundle) > 0 {
		if len(bundle) < 2 {
			return nil, errors.New("entry bundle: truncated length")
		}
		n := int(binary.BigEndian.Uint16(bundle))
		if len(bundle) < 2+n {
			return nil, fmt.Errorf("entry bundle: entry %d truncated", len(out))
		}
		out = append(out, bundle[2:2+n])
		bundle = bundle[2+n:]
		if max >= 0 && len(out) > max {
			return nil, errors.New("entry bundle: more than 256 entries")
		}
	}
	return out, nil
}
