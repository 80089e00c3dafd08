package claimlog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/nixgate/nixgate/internal/claim"
	c2sp "github.com/nixgate/nixgate/internal/tlog"
)

// MaxBatch is the largest number of claims integrated in one transaction.
const MaxBatch = 4096

// Ack is the outcome of a submission, sent once it is durable.
type Ack struct {
	Index     int64 `json:"index"`
	Duplicate bool  `json:"duplicate"`
	TreeSize  int64 `json:"treeSize"`
	Err       error `json:"-"`
}

type submission struct {
	c        *claim.Claim
	leaf     []byte
	received time.Time
	done     chan Ack
}

type tileKey struct {
	level int
	n     int64
}

// Sequencer is the log's only writer: it takes verified claims, integrates
// them in batches, each batch in one transaction together with the changed
// tiles and the newly signed checkpoint, and acknowledges a claim only
// after that transaction committed.
type Sequencer struct {
	store  *Store
	signer note.Signer
	origin string
	queue  chan *submission
	log    *slog.Logger

	mu       sync.RWMutex
	size     int64
	rng      *compact.Range
	edge     map[tileKey][]byte // the partial tiles on the right edge
	latest   []byte             // the newest signed checkpoint
	onCommit []func(size int64)

	stop    chan struct{}
	stopped chan struct{}
}

var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// emptyRoot is the RFC 6962 hash of the empty tree, SHA-256 of nothing.
var emptyRoot = tlog.Hash(sha256.Sum256(nil))

// NewSequencer loads the log's state from the store (creating the empty
// log and its first checkpoint when the store is new), checks that the
// tiles recompute the latest checkpoint's root, and starts integrating.
func NewSequencer(ctx context.Context, store *Store, signer note.Signer, logger *slog.Logger) (*Sequencer, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Sequencer{store: store, signer: signer, origin: signer.Name(), queue: make(chan *submission, 4*MaxBatch),
		log: logger, edge: map[tileKey][]byte{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	go s.run()
	return s, nil
}

// OnCommit registers f to be called (in the sequencer's goroutine, so it
// must not block) after each committed batch.
func (s *Sequencer) OnCommit(f func(size int64)) {
	s.mu.Lock()
	s.onCommit = append(s.onCommit, f)
	s.mu.Unlock()
}

// Origin is the log's origin.
func (s *Sequencer) Origin() string { return s.origin }

// Latest returns the newest signed checkpoint and its size.
func (s *Sequencer) Latest() ([]byte, int64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.latest, s.size
}

func (s *Sequencer) load(ctx context.Context) error {
	origin, err := s.store.Meta(ctx, "origin")
	if err != nil {
		return err
	}
	switch {
	case origin == "":
		if err := s.initLog(ctx); err != nil {
			return fmt.Errorf("create log %s: %w", s.origin, err)
		}
	case origin != s.origin:
		return fmt.Errorf("the database holds the log %q, the key signs for %q", origin, s.origin)
	}
	sizeText, err := s.store.Meta(ctx, "size")
	if err != nil {
		return err
	}
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil {
		return fmt.Errorf("database: bad size %q", sizeText)
	}
	latest, err := s.store.Checkpoint(ctx, size)
	if err != nil || latest == nil {
		return fmt.Errorf("database: no checkpoint for the log size %d: %v", size, err)
	}
	v, err := VerifierOf(s.signer)
	if err != nil {
		return err
	}
	cp, _, err := c2sp.OpenCheckpoint(latest, v)
	if err != nil {
		return fmt.Errorf("database: latest checkpoint: %w", err)
	}
	// The right edge: partial tiles, and the compact range from the tiles.
	for level := 0; size>>(c2sp.TileHeight*level) > 0; level++ {
		w := (size >> (c2sp.TileHeight * level)) % c2sp.TileWidth
		if w == 0 {
			continue
		}
		n := size >> (c2sp.TileHeight * (level + 1))
		d, err := s.store.Tile(ctx, level, n)
		if err != nil {
			return err
		}
		if int64(len(d)) != w*tlog.HashSize {
			return fmt.Errorf("database: tile %s is %d bytes, the checkpoint of size %d needs %d", c2sp.TilePath(tlog.Tile{H: 8, L: level, N: n, W: int(w)}), len(d), size, w*tlog.HashSize)
		}
		s.edge[tileKey{level, n}] = d
	}
	if w := size % c2sp.TileWidth; w > 0 {
		d, err := s.store.Tile(ctx, c2sp.EntriesLevel, size/c2sp.TileWidth)
		if err != nil {
			return err
		}
		entries, err := c2sp.SplitBundle(d)
		if err != nil || int64(len(entries)) != w {
			return fmt.Errorf("database: the last entry bundle has %d entries, want %d (%v)", len(entries), w, err)
		}
		s.edge[tileKey{c2sp.EntriesLevel, size / c2sp.TileWidth}] = d
	}
	rng, err := RangeAt(ctx, size, s.tileReader(ctx))
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	root := rootOf(rng)
	if root != cp.Hash {
		return fmt.Errorf("database: the tiles give the root %s for size %d, the checkpoint says %s", c2sp.EncodeHash(root), size, c2sp.EncodeHash(cp.Hash))
	}
	s.size, s.rng, s.latest = size, rng, latest
	return nil
}

// tileReader reads tiles from the edge first, then from the store.
func (s *Sequencer) tileReader(ctx context.Context) func(level int, n int64) ([]byte, error) {
	return func(level int, n int64) ([]byte, error) {
		if d, ok := s.edge[tileKey{level, n}]; ok {
			return d, nil
		}
		return s.store.Tile(ctx, level, n)
	}
}

// RangeAt rebuilds the compact range of the tree of size from its tiles,
// read by tile(level, n).
func RangeAt(ctx context.Context, size int64, tile func(level int, n int64) ([]byte, error)) (*compact.Range, error) {
	ids := compact.RangeNodes(0, uint64(size), nil)
	hashes := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := storedHash(tile, tlog.StoredHashIndex(int(id.Level), int64(id.Index)))
		if err != nil {
			return nil, err
		}
		hashes[i] = h[:]
	}
	return rangeFactory.NewRange(0, uint64(size), hashes)
}

// storedHash reads one stored hash (x/mod/sumdb/tlog numbering) from the
// tile that holds it.
func storedHash(tile func(level int, n int64) ([]byte, error), index int64) (tlog.Hash, error) {
	t := tlog.TileForIndex(c2sp.TileHeight, index)
	d, err := tile(t.L, t.N)
	if err != nil {
		return tlog.Hash{}, err
	}
	if len(d) < t.W*tlog.HashSize {
		return tlog.Hash{}, fmt.Errorf("tile %s is missing or short (%d bytes)", c2sp.TilePath(t), len(d))
	}
	return tlog.HashFromTile(t, d, index)
}

func rootOf(r *compact.Range) tlog.Hash {
	if r.End() == 0 {
		return emptyRoot
	}
	h, _ := r.GetRootHash(nil)
	var out tlog.Hash
	copy(out[:], h)
	return out
}

// VerifierOf derives the vkey verifier of a note signer made by
// tlog.NewLogSigner, by signing and checking a probe message.
func VerifierOf(s note.Signer) (note.Verifier, error) {
	v, ok := s.(interface{ Verifier() note.Verifier })
	if ok {
		return v.Verifier(), nil
	}
	return nil, errors.New("signer without a verifier")
}

func (s *Sequencer) initLog(ctx context.Context) error {
	cp, err := s.sign(0, emptyRoot)
	if err != nil {
		return err
	}
	tx, err := s.store.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, kv := range [][2]string{{"origin", s.origin}, {"size", "0"}} {
		if _, err := tx.ExecContext(ctx, s.store.q(`INSERT INTO meta (k, v) VALUES (?, ?)`), kv[0], kv[1]); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, s.store.q(`INSERT INTO checkpoints (size, note, created) VALUES (?, ?, ?)`), 0, cp, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *Sequencer) sign(size int64, root tlog.Hash) ([]byte, error) {
	text := c2sp.Checkpoint{Origin: s.origin, Size: size, Hash: root}.Text()
	return note.Sign(&note.Note{Text: text}, s.signer)
}

// ErrClosed means the sequencer stopped before the claim was integrated.
var ErrClosed = errors.New("the log is shutting down")

// Submit queues a verified claim and waits until it is durable (or the
// context ends: the claim may still be integrated).
func (s *Sequencer) Submit(ctx context.Context, c *claim.Claim) (Ack, error) {
	sub := &submission{c: c, leaf: c.Marshal(), received: time.Now(), done: make(chan Ack, 1)}
	select {
	case s.queue <- sub:
	case <-s.stop:
		return Ack{}, ErrClosed
	case <-ctx.Done():
		return Ack{}, ctx.Err()
	}
	select {
	case a := <-sub.done:
		return a, a.Err
	case <-ctx.Done():
		return Ack{}, ctx.Err()
	}
}

// Close stops the sequencer after the batch in progress.
func (s *Sequencer) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.stopped
}

func (s *Sequencer) run() {
	defer close(s.stopped)
	for {
		var first *submission
		select {
		case first = <-s.queue:
		case <-s.stop:
			s.drain()
			return
		}
		batch := []*submission{first}
	fill:
		for len(batch) < MaxBatch {
			select {
			case sub := <-s.queue:
				batch = append(batch, sub)
			default:
				break fill
			}
		}
		acks, err := s.integrate(batch)
		for i, sub := range batch {
			if err != nil {
				sub.done <- Ack{Err: fmt.Errorf("integrate: %w", err)}
				continue
			}
			sub.done <- acks[i]
		}
		if err != nil {
			s.log.Error("batch not integrated", "claims", len(batch), "err", err)
		}
	}
}

func (s *Sequencer) drain() {
	for {
		select {
		case sub := <-s.queue:
			sub.done <- Ack{Err: ErrClosed}
		default:
			return
		}
	}
}

// integrate writes one batch: claims, tiles and the checkpoint, in one
// transaction. The in-memory state changes only after the commit.
func (s *Sequencer) integrate(batch []*submission) ([]Ack, error) {
	ctx := context.Background()
	s.mu.RLock()
	oldSize := s.size
	s.mu.RUnlock()
	rng := rangeFactory.NewEmptyRange(0)
	if err := rng.AppendRange(s.rng, nil); err != nil {
		return nil, err
	}
	edge := map[tileKey][]byte{}
	get := func(k tileKey) []byte {
		if d, ok := edge[k]; ok {
			return d
		}
		return slices.Clip(s.edge[k])
	}
	set := func(k tileKey, d []byte) { edge[k] = d }

	tx, err := s.store.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	acks := make([]Ack, len(batch))
	// Duplicates: earlier in the batch, or already in the log.
	existing, err := s.store.existing(ctx, tx, batch)
	if err != nil {
		return nil, err
	}
	first := map[claimKey]int{}
	var fresh []int
	size := oldSize
	for i, sub := range batch {
		k := keyOf(sub.c)
		if idx, ok := existing[k]; ok {
			acks[i] = Ack{Index: idx, Duplicate: true}
			continue
		}
		if j, ok := first[k]; ok {
			acks[i] = Ack{Index: acks[j].Index, Duplicate: true}
			continue
		}
		first[k] = i
		if err := appendLeaf(rng, size, sub.leaf, get, set); err != nil {
			return nil, err
		}
		acks[i] = Ack{Index: size}
		fresh = append(fresh, i)
		size++
	}
	// The new claims, many rows a statement; a row that conflicts (an
	// index taken by another writer) fails the batch.
	const rowsPerInsert = 64
	for len(fresh) > 0 {
		chunk := fresh[:min(len(fresh), rowsPerInsert)]
		fresh = fresh[len(chunk):]
		args := make([]any, 0, 7*len(chunk))
		for _, i := range chunk {
			c := batch[i].c
			args = append(args, acks[i].Index, c.Builder, c.StorePath, claim.HashPart(c.StorePath), c.NarHash, batch[i].leaf, batch[i].received.Unix())
		}
		q := `INSERT INTO claims (idx, builder, store_path, path_hash, nar_hash, leaf, received) VALUES ` +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?), ", len(chunk)), ", ")
		if _, err := tx.ExecContext(ctx, s.store.q(q), args...); err != nil {
			return nil, fmt.Errorf("insert claims (another writer?): %w", err)
		}
	}
	root := rootOf(rng)
	var cp []byte
	if size != oldSize {
		keys := make([]tileKey, 0, len(edge))
		for k := range edge {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b tileKey) int {
			if a.level != b.level {
				return a.level - b.level
			}
			return int(a.n - b.n)
		})
		// The changed tiles in one statement (a batch changes a handful).
		args := make([]any, 0, 3*len(keys))
		for _, k := range keys {
			args = append(args, k.level, k.n, edge[k])
		}
		q := `INSERT INTO tiles (level, idx, data) VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?), ", len(keys)), ", ") +
			` ON CONFLICT (level, idx) DO UPDATE SET data = excluded.data`
		if _, err := tx.ExecContext(ctx, s.store.q(q), args...); err != nil {
			return nil, fmt.Errorf("write tiles: %w", err)
		}
		var paths []string
		for i, sub := range batch {
			if !acks[i].Duplicate {
				paths = append(paths, sub.c.StorePath)
			}
		}
		slices.Sort(paths)
		if err := s.store.flag(ctx, tx, slices.Compact(paths), size); err != nil {
			return nil, err
		}
		if cp, err = s.sign(size, root); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, s.store.q(`INSERT INTO checkpoints (size, note, created) VALUES (?, ?, ?)`), size, cp, time.Now().Unix()); err != nil {
			return nil, fmt.Errorf("write checkpoint: %w", err)
		}
		// Compare and swap: a second writer on the same database fails
		// here instead of forking the log.
		res, err := tx.ExecContext(ctx, s.store.q(`UPDATE meta SET v = ? WHERE k = 'size' AND v = ?`), strconv.FormatInt(size, 10), strconv.FormatInt(oldSize, 10))
		if err != nil {
			return nil, err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return nil, fmt.Errorf("the log size in the database is no longer %d: another writer", oldSize)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if size == oldSize {
		for i := range acks {
			acks[i].TreeSize = size
		}
		return acks, nil
	}
	s.mu.Lock()
	s.size, s.rng, s.latest = size, rng, cp
	for k, d := range edge {
		full := len(d) == c2sp.TileWidth*tlog.HashSize
		if k.level == c2sp.EntriesLevel {
			full = (k.n+1)*c2sp.TileWidth <= size
		}
		if full {
			delete(s.edge, k)
		} else {
			s.edge[k] = d
		}
	}
	hooks := s.onCommit
	s.mu.Unlock()
	for i := range acks {
		acks[i].TreeSize = size
	}
	for _, f := range hooks {
		f(size)
	}
	return acks, nil
}

// claimKey identifies a claim for idempotence: (builder, path, NAR hash).
type claimKey struct{ builder, path, narHash string }

func keyOf(c *claim.Claim) claimKey { return claimKey{c.Builder, c.StorePath, c.NarHash} }

// appendLeaf appends the leaf at index size to the compact range and to the
// right-edge tiles (get and set read and write a tile's data): every new
// node at a level that is a multiple of 8 is a hash of a tile, and the
// leaf itself goes into its entry bundle.
func appendLeaf(rng *compact.Range, size int64, leaf []byte, get func(tileKey) []byte, set func(tileKey, []byte)) error {
	var visitErr error
	visit := func(id compact.NodeID, hash []byte) {
		if id.Level%c2sp.TileHeight != 0 {
			return
		}
		k := tileKey{int(id.Level / c2sp.TileHeight), int64(id.Index >> c2sp.TileHeight)}
		d := get(k)
		if pos := int(id.Index % c2sp.TileWidth); len(d) != pos*tlog.HashSize && visitErr == nil {
			visitErr = fmt.Errorf("tile %d/%d has %d bytes before hash %d", k.level, k.n, len(d), pos)
		}
		set(k, append(d, hash...))
	}
	if rng.End() != uint64(size) {
		return fmt.Errorf("compact range ends at %d, the leaf is %d", rng.End(), size)
	}
	lh := tlog.RecordHash(leaf)
	if err := rng.Append(lh[:], visit); err != nil {
		return err
	}
	if visitErr != nil {
		return visitErr
	}
	k := tileKey{c2sp.EntriesLevel, size / c2sp.TileWidth}
	b, err := c2sp.AppendEntry(get(k), leaf)
	if err != nil {
		return err
	}
	set(k, b)
	return nil
}

// isNoRows reports a missing row.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
