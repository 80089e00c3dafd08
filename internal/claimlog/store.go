// Package claimlog is the build-claim transparency log: its storage (one
// schema and one code path through database/sql, on SQLite with
// modernc.org/sqlite or on PostgreSQL with jackc/pgx), the single sequencer
// that integrates claims into C2SP tiles and signs checkpoints, the HTTP
// server (write path, C2SP tlog-tiles read path, claims, proofs, narinfo),
// the dashboard, and the client.
package claimlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver
)

// schemaVersion is stored in meta; a database of another version is refused.
const schemaVersion = "1"

// Store is the log's database.
type Store struct {
	db *sql.DB
	// Kind is "sqlite" or "postgres".
	Kind string
	blob string
	// tile is Tile's query, prepared once: a proof reads up to three tiles
	// the cache does not hold, and parsing the query was most of a read.
	tile *sql.Stmt
}

// OpenStore opens (creating the schema when missing) the database at
// dbURL: sqlite:///ABSOLUTE/PATH or sqlite:RELATIVE/PATH for the embedded
// default, postgres://… or postgresql://… for PostgreSQL.
func OpenStore(ctx context.Context, dbURL string) (*Store, error) {
	s := &Store{}
	var err error
	switch {
	case strings.HasPrefix(dbURL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite:"), "//")
		if path == "" {
			return nil, fmt.Errorf("--db %s: no path", dbURL)
		}
		path = filepath.Clean(path)
		q := url.Values{}
		// WAL with synchronous=FULL: a commit is on disk when it returns,
		// which is when a submission is acknowledged. The sequencer is
		// the only writer; readers never block it.
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(ON)")
		q.Set("_txlock", "immediate")
		s.db, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		s.Kind, s.blob = "sqlite", "BLOB"
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		s.db, err = sql.Open("pgx", dbURL)
		s.Kind, s.blob = "postgres", "BYTEA"
		s.db.SetMaxOpenConns(16)
	default:
		return nil, fmt.Errorf("--db %q: want sqlite:///PATH or postgres://…", redactURL(dbURL))
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", redactURL(dbURL), err)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open %s: %w", redactURL(dbURL), err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open %s: %w", redactURL(dbURL), err)
	}
	if s.tile, err = s.db.PrepareContext(ctx, s.q(`SELECT data FROM tiles WHERE level = ? AND idx = ?`)); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open %s: %w", redactURL(dbURL), err)
	}
	return s, nil
}

// redactURL drops a password from a database URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Close closes the database.
func (s *Store) Close() error {
	s.tile.Close()
	return s.db.Close()
}

// q rewrites ? placeholders to $1, $2, … for PostgreSQL, so that every
// query is written once.
func (s *Store) q(query string) string {
	if s.Kind != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) migrate(ctx context.Context) error {
	stmts := []string{
		`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS builders (key_name TEXT PRIMARY KEY, public_key TEXT NOT NULL, added BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS claims (
			idx BIGINT PRIMARY KEY,
			builder TEXT NOT NULL,
			store_path TEXT NOT NULL,
			path_hash TEXT NOT NULL,
			nar_hash TEXT NOT NULL,
			leaf ` + s.blob + ` NOT NULL,
			received BIGINT NOT NULL)`,
		// The key of idempotent submissions, and the lookup by path.
		`CREATE UNIQUE INDEX IF NOT EXISTS claims_key ON claims (store_path, builder, nar_hash)`,
		`CREATE INDEX IF NOT EXISTS claims_path_hash ON claims (path_hash)`,
		`CREATE TABLE IF NOT EXISTS tiles (level INTEGER NOT NULL, idx BIGINT NOT NULL, data ` + s.blob + ` NOT NULL, PRIMARY KEY (level, idx))`,
		`CREATE TABLE IF NOT EXISTS checkpoints (size BIGINT PRIMARY KEY, note ` + s.blob + ` NOT NULL, created BIGINT NOT NULL)`,
		// Paths whose builders disagree (builder '') and builders that
		// equivocate, kept by the sequencer in each batch's transaction so
		// that the dashboard never scans the claims.
		`CREATE TABLE IF NOT EXISTS flags (store_path TEXT NOT NULL, builder TEXT NOT NULL, last BIGINT NOT NULL, PRIMARY KEY (store_path, builder))`,
		`CREATE INDEX IF NOT EXISTS flags_last ON flags (last)`,
		`CREATE TABLE IF NOT EXISTS cosignatures (size BIGINT NOT NULL, witness TEXT NOT NULL, line TEXT NOT NULL, created BIGINT NOT NULL, PRIMARY KEY (size, witness))`,
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, st := range stmts {
		if _, err := tx.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	var v string
	err = tx.QueryRowContext(ctx, s.q(`SELECT v FROM meta WHERE k = 'schema'`)).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO meta (k, v) VALUES ('schema', ?)`), schemaVersion); err != nil {
			return err
		}
	case err != nil:
		return err
	case v != schemaVersion:
		return fmt.Errorf("database schema version %s, this nixgate reads version %s", v, schemaVersion)
	}
	return tx.Commit()
}

// Meta reads a meta value ("" when unset).
func (s *Store) Meta(ctx context.Context, k string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT v FROM meta WHERE k = ?`), k).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// AddBuilder enrols a builder's Nix public key (NAME:BASE64). Adding the same
// key again is a no-op; another key under an enrolled name is refused.
func (s *Store) AddBuilder(ctx context.Context, keyName, publicKey string) error {
	var have string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT public_key FROM builders WHERE key_name = ?`), keyName).Scan(&have)
	switch {
	case err == nil && have == publicKey:
		return nil
	case err == nil:
		return fmt.Errorf("builder key name %q is enrolled with another key", keyName)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO builders (key_name, public_key, added) VALUES (?, ?, ?)`), keyName, publicKey, time.Now().Unix())
	return err
}

// Builders lists enrolled keys by key name.
func (s *Store) Builders(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key_name, public_key FROM builders ORDER BY key_name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, k string
		if err := rows.Scan(&n, &k); err != nil {
			return nil, err
		}
		out[n] = k
	}
	return out, rows.Err()
}

// Builder returns one enrolled key ("" when not enrolled).
func (s *Store) Builder(ctx context.Context, keyName string) (string, error) {
	var k string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT public_key FROM builders WHERE key_name = ?`), keyName).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return k, err
}

// LatestCheckpoint returns the signed checkpoint of the largest size, or
// nil for a log that never signed one.
func (s *Store) LatestCheckpoint(ctx context.Context) ([]byte, error) {
	var n []byte
	err := s.db.QueryRowContext(ctx, `SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1`).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return n, err
}

// Checkpoint returns the signed checkpoint of a size (nil when none).
func (s *Store) Checkpoint(ctx context.Context, size int64) ([]byte, error) {
	var n []byte
	err := s.db.QueryRowContext(ctx, s.q(`SELECT note FROM checkpoints WHERE size = ?`), size).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return n, err
}

// Tile returns a stored tile's data (level -1: an entry bundle), nil when
// the tile does not exist. The stored data is the widest version; a
// narrower partial tile is its prefix.
func (s *Store) Tile(ctx context.Context, level int, idx int64) ([]byte, error) {
	var d []byte
	err := s.tile.QueryRowContext(ctx, level, idx).Scan(&d)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return d, err
}

// StoredClaim is a claim row.
type StoredClaim struct {
	Index    int64
	Leaf     []byte
	Received time.Time
}

// ClaimsForPath returns the integrated claims for a store path below size,
// by index.
func (s *Store) ClaimsForPath(ctx context.Context, storePath string, size int64) ([]StoredClaim, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT idx, leaf, received FROM claims WHERE store_path = ? AND idx < ? ORDER BY idx`), storePath, size)
	if err != nil {
		return nil, err
	}
	return scanClaims(rows)
}

func scanClaims(rows *sql.Rows) ([]StoredClaim, error) {
	defer rows.Close()
	var out []StoredClaim
	for rows.Next() {
		var c StoredClaim
		var t int64
		if err := rows.Scan(&c.Index, &c.Leaf, &t); err != nil {
			return nil, err
		}
		c.Received = time.Unix(t, 0).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// ClaimsForHashPart returns the integrated claims below size for the store
// path whose hash part is given, by index.
func (s *Store) ClaimsForHashPart(ctx context.Context, hashPart string, size int64) ([]StoredClaim, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT idx, leaf, received FROM claims WHERE path_hash = ? AND idx < ? ORDER BY idx`), hashPart, size)
	if err != nil {
		return nil, err
	}
	return scanClaims(rows)
}

// ClaimRange returns the claims with lo <= index < hi, by index.
func (s *Store) ClaimRange(ctx context.Context, lo, hi int64) ([]StoredClaim, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT idx, leaf, received FROM claims WHERE idx >= ? AND idx < ? ORDER BY idx`), lo, hi)
	if err != nil {
		return nil, err
	}
	return scanClaims(rows)
}

// Cosignatures returns the stored cosignature lines for a checkpoint size,
// sorted by witness name.
func (s *Store) Cosignatures(ctx context.Context, size int64) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT line FROM cosignatures WHERE size = ? ORDER BY witness`), size)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// AddCosignature stores a witness's cosignature line for a size.
func (s *Store) AddCosignature(ctx context.Context, size int64, witness, line string) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO cosignatures (size, witness, line, created) VALUES (?, ?, ?, ?)
		ON CONFLICT (size, witness) DO UPDATE SET line = excluded.line, created = excluded.created`), size, witness, line, time.Now().Unix())
	return err
}

// PathSummary is what the dashboard shows of a store path.
type PathSummary struct {
	StorePath string
	Claims    int
	Hashes    int // distinct NAR hashes
	Builders  int
}

// Disagreements lists store paths with more than one NAR hash, most
// recently claimed first, at most limit.
func (s *Store) Disagreements(ctx context.Context, limit int) ([]PathSummary, error) {
	return s.summaries(ctx, s.q(`SELECT store_path FROM flags WHERE builder = '' ORDER BY last DESC LIMIT ?`), limit)
}

// RecentPaths lists recently claimed store paths, newest first.
func (s *Store) RecentPaths(ctx context.Context, limit int) ([]PathSummary, error) {
	return s.summaries(ctx, s.q(`SELECT store_path FROM claims ORDER BY idx DESC LIMIT ?`), 4*limit, limit)
}

// summaries summarises the distinct paths that query (with one LIMIT
// parameter, n) returns, at most max of them, each through the index on
// store_path.
func (s *Store) summaries(ctx context.Context, query string, n int, max ...int) ([]PathSummary, error) {
	rows, err := s.db.QueryContext(ctx, query, n)
	if err != nil {
		return nil, err
	}
	var paths []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return nil, err
		}
		if !slices.Contains(paths, p) && (len(max) == 0 || len(paths) < max[0]) {
			paths = append(paths, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []PathSummary
	for _, p := range paths {
		sum := PathSummary{StorePath: p}
		err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*), COUNT(DISTINCT nar_hash), COUNT(DISTINCT builder) FROM claims WHERE store_path = ?`), p).
			Scan(&sum.Claims, &sum.Hashes, &sum.Builders)
		if err != nil {
			return nil, err
		}
		out = append(out, sum)
	}
	return out, nil
}

// existing returns the indexes of the batch's claims already in the log.
func (s *Store) existing(ctx context.Context, tx *sql.Tx, batch []*submission) (map[claimKey]int64, error) {
	want := map[claimKey]bool{}
	var paths []string
	for _, sub := range batch {
		k := keyOf(sub.c)
		if !want[k] {
			want[k] = true
			paths = append(paths, k.path)
		}
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	out := map[claimKey]int64{}
	for len(paths) > 0 {
		chunk := paths[:min(len(paths), 500)]
		paths = paths[len(chunk):]
		args := make([]any, len(chunk))
		for i, p := range chunk {
			args[i] = p
		}
		rows, err := tx.QueryContext(ctx, s.q(`SELECT builder, store_path, nar_hash, idx FROM claims WHERE store_path IN (`+
			strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+`)`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k claimKey
			var idx int64
			if err := rows.Scan(&k.builder, &k.path, &k.narHash, &idx); err != nil {
				rows.Close()
				return nil, err
			}
			if want[k] {
				out[k] = idx
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// flag records, in a batch's transaction, the disagreements and
// equivocations among the paths of the batch.
func (s *Store) flag(ctx context.Context, tx *sql.Tx, paths []string, last int64) error {
	for len(paths) > 0 {
		chunk := paths[:min(len(paths), 500)]
		paths = paths[len(chunk):]
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")
		args := make([]any, 0, len(chunk)+1)
		args = append(args, last)
		for _, p := range chunk {
			args = append(args, p)
		}
		for _, q := range []string{
			`INSERT INTO flags (store_path, builder, last) SELECT store_path, '', ? FROM claims WHERE store_path IN (` + ph + `)
				GROUP BY store_path HAVING COUNT(DISTINCT nar_hash) > 1
				ON CONFLICT (store_path, builder) DO UPDATE SET last = excluded.last`,
			`INSERT INTO flags (store_path, builder, last) SELECT store_path, builder, ? FROM claims WHERE store_path IN (` + ph + `)
				GROUP BY store_path, builder HAVING COUNT(*) > 1
				ON CONFLICT (store_path, builder) DO UPDATE SET last = excluded.last`,
		} {
			if _, err := tx.ExecContext(ctx, s.q(q), args...); err != nil {
				return fmt.Errorf("flag disagreements: %w", err)
			}
		}
	}
	return nil
}

// Equivocation is a builder that claimed more than one NAR hash for a path.
type Equivocation struct {
	Builder   string
	StorePath string
	Indexes   []int64
}

// Equivocations lists (builder, path) pairs with more than one NAR hash.
func (s *Store) Equivocations(ctx context.Context, limit int) ([]Equivocation, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT builder, store_path FROM flags WHERE builder <> '' ORDER BY last DESC LIMIT ?`), limit)
	if err != nil {
		return nil, err
	}
	var out []Equivocation
	for rows.Next() {
		var e Equivocation
		if err := rows.Scan(&e.Builder, &e.StorePath); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		r, err := s.db.QueryContext(ctx, s.q(`SELECT idx FROM claims WHERE builder = ? AND store_path = ? ORDER BY idx`), out[i].Builder, out[i].StorePath)
		if err != nil {
			return nil, err
		}
		for r.Next() {
			var idx int64
			if err := r.Scan(&idx); err != nil {
				r.Close()
				return nil, err
			}
			out[i].Indexes = append(out[i].Indexes, idx)
		}
		r.Close()
	}
	return out, nil
}

// ClaimCount returns the number of claims stored.
func (s *Store) ClaimCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM claims`).Scan(&n)
	return n, err
}
