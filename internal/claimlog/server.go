package claimlog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/nixgate/nixgate/internal/claim"
	c2sp "github.com/nixgate/nixgate/internal/tlog"
	"github.com/nixgate/nixgate/internal/witness"
)

// Config is a log server's configuration.
type Config struct {
	Store  *Store
	Signer *c2sp.LogSigner
	// Witnesses are asked to cosign every new checkpoint.
	Witnesses []*witness.Client
	// WitnessQuorum is how many cosignatures a checkpoint needs before it
	// is published (default: every witness).
	WitnessQuorum int
	// Rate is the number of claims per second a builder may submit (burst
	// 2*Rate); 0 means no limit.
	Rate float64
	// Upstream is the binary cache holding the NARs, for the narinfo
	// endpoint (file:///DIR or http(s)://HOST/…); "" to serve narinfo
	// without a URL.
	Upstream string
	Logger   *slog.Logger
}

// Server is a running log.
type Server struct {
	cfg   Config
	store *Store
	seq   *Sequencer
	log   *slog.Logger

	bmu      sync.RWMutex
	builders map[string]claim.PublicKey // enrolled keys by key name

	limiter *limiter
	tiles   *tileCache

	pmu           sync.RWMutex
	published     []byte // the checkpoint served, with its cosignatures
	publishedSize int64

	trigger chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
}

// NewServer starts the sequencer and the witness loop.
func NewServer(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.WitnessQuorum <= 0 || cfg.WitnessQuorum > len(cfg.Witnesses) {
		cfg.WitnessQuorum = len(cfg.Witnesses)
	}
	seq, err := NewSequencer(ctx, cfg.Store, cfg.Signer, cfg.Logger)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: cfg.Store, seq: seq, log: cfg.Logger, builders: map[string]claim.PublicKey{},
		limiter: newLimiter(cfg.Rate), tiles: newTileCache(16384), trigger: make(chan struct{}, 1), done: make(chan struct{})}
	if err := s.loadBuilders(ctx); err != nil {
		seq.Close()
		return nil, err
	}
	if err := s.loadPublished(ctx); err != nil {
		seq.Close()
		return nil, err
	}
	seq.OnCommit(func(int64) {
		select {
		case s.trigger <- struct{}{}:
		default:
		}
	})
	s.wg.Add(1)
	go s.witnessLoop()
	s.trigger <- struct{}{}
	return s, nil
}

// Close stops the witness loop and the sequencer.
func (s *Server) Close() {
	close(s.done)
	s.wg.Wait()
	s.seq.Close()
}

// Sequencer returns the server's sequencer.
func (s *Server) Sequencer() *Sequencer { return s.seq }

func (s *Server) loadBuilders(ctx context.Context) error {
	keys, err := s.store.Builders(ctx)
	if err != nil {
		return err
	}
	s.bmu.Lock()
	defer s.bmu.Unlock()
	for name, k := range keys {
		pk, err := claim.ParsePublicKey(k)
		if err != nil {
			return fmt.Errorf("enrolled builder %s: %w", name, err)
		}
		s.builders[name] = pk
	}
	return nil
}

// builderKey returns an enrolled key, asking the database on a miss so that
// `nixgate log builder add` takes effect without a restart.
func (s *Server) builderKey(ctx context.Context, name string) (claim.PublicKey, bool) {
	s.bmu.RLock()
	k, ok := s.builders[name]
	s.bmu.RUnlock()
	if ok {
		return k, true
	}
	text, err := s.store.Builder(ctx, name)
	if err != nil || text == "" {
		return claim.PublicKey{}, false
	}
	pk, err := claim.ParsePublicKey(text)
	if err != nil {
		return claim.PublicKey{}, false
	}
	s.bmu.Lock()
	s.builders[name] = pk
	s.bmu.Unlock()
	return pk, true
}

func (s *Server) loadPublished(ctx context.Context) error {
	cp, size := s.seq.Latest()
	if len(s.cfg.Witnesses) > 0 {
		var best int64 = -1
		err := s.store.db.QueryRowContext(ctx, s.store.q(`SELECT size FROM cosignatures GROUP BY size HAVING COUNT(*) >= ? ORDER BY size DESC LIMIT 1`), s.cfg.WitnessQuorum).Scan(&best)
		if err != nil && !isNoRows(err) {
			return err
		}
		if best >= 0 {
			if cp, err = s.store.Checkpoint(ctx, best); err != nil {
				return err
			}
			size = best
		}
	}
	lines, err := s.store.Cosignatures(ctx, size)
	if err != nil {
		return err
	}
	s.publish(cp, size, lines)
	return nil
}

func (s *Server) publish(cp []byte, size int64, cosigs []string) {
	n := slices.Clone(cp)
	for _, l := range cosigs {
		n = append(n, []byte("— "+l+"\n")...)
	}
	s.pmu.Lock()
	if size >= s.publishedSize || s.published == nil {
		s.published, s.publishedSize = n, size
	}
	s.pmu.Unlock()
}

// Published returns the served checkpoint and its size.
func (s *Server) Published() ([]byte, int64) {
	s.pmu.RLock()
	defer s.pmu.RUnlock()
	return s.published, s.publishedSize
}

func (s *Server) witnessLoop() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.done; cancel() }()
	for {
		select {
		case <-s.done:
			return
		case <-s.trigger:
		}
		cp, size := s.seq.Latest()
		if len(s.cfg.Witnesses) == 0 {
			s.publish(cp, size, nil)
			continue
		}
		var wg sync.WaitGroup
		for _, w := range s.cfg.Witnesses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				line, err := w.Cosign(cctx, cp, size, func(old int64) (tlog.TreeProof, error) {
					return tlog.ProveTree(size, old, s.hashReader(cctx))
				})
				if err != nil {
					if errors.Is(err, witness.ErrConflict) {
						s.log.Error("witness refuses this log's tree: a rollback or fork of the database?", "witness", w.Verifier.Name(), "err", err)
					} else {
						s.log.Warn("witness did not cosign", "witness", w.Verifier.Name(), "size", size, "err", err)
					}
					return
				}
				if err := s.store.AddCosignature(cctx, size, w.Verifier.Name(), line); err != nil {
					s.log.Warn("store cosignature", "err", err)
				}
			}()
		}
		wg.Wait()
		lines, err := s.store.Cosignatures(ctx, size)
		if err != nil {
			continue
		}
		if len(lines) >= s.cfg.WitnessQuorum {
			s.publish(cp, size, lines)
		}
	}
}

// tileData returns a tile's stored data (the widest version); hash tiles
// are cached, entry bundles (up to 16 MiB each) are not.
func (s *Server) tileData(ctx context.Context, level int, n int64, need int) ([]byte, error) {
	if level == c2sp.EntriesLevel {
		return s.store.Tile(ctx, level, n)
	}
	if d, ok := s.tiles.get(level, n); ok && len(d) >= need {
		return d, nil
	}
	d, err := s.store.Tile(ctx, level, n)
	if err != nil || d == nil {
		return d, err
	}
	s.tiles.put(level, n, d)
	return d, nil
}

func (s *Server) hashReader(ctx context.Context) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			t := tlog.TileForIndex(c2sp.TileHeight, idx)
			d, err := s.tileData(ctx, t.L, t.N, t.W*tlog.HashSize)
			if err != nil {
				return nil, err
			}
			if len(d) < t.W*tlog.HashSize {
				return nil, fmt.Errorf("tile %s is not stored", c2sp.TilePath(t))
			}
			if len(d) == c2sp.TileWidth*tlog.HashSize {
				// A full tile never changes: its node hashes are computed
				// once, 255 of them, and read by every later proof (the
				// hashing was most of a proof's cost while the cache
				// filled).
				level, n := tlog.SplitStoredHashIndex(idx)
				k := level - t.L*c2sp.TileHeight
				j := n - t.N<<c2sp.TileHeight>>k
				if k == 0 {
					copy(out[i][:], d[j*tlog.HashSize:])
				} else {
					out[i] = s.tiles.tree(t.L, t.N, d)[k-1][j]
				}
				continue
			}
			if out[i], err = tlog.HashFromTile(t, d, idx); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}

// Handler is the log's HTTP interface.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-claim", s.addClaim)
	mux.HandleFunc("GET /checkpoint", s.checkpoint)
	mux.HandleFunc("GET /tile/", s.tile)
	mux.HandleFunc("GET /claims", s.claims)
	mux.HandleFunc("GET /proof/consistency", s.consistency)
	mux.HandleFunc("GET /proof/inclusion", s.inclusion)
	mux.HandleFunc("GET /tlog-proof", s.tlogProof)
	mux.HandleFunc("GET /builders", s.listBuilders)
	mux.HandleFunc("GET /nix-cache/nix-cache-info", s.cacheInfo)
	mux.HandleFunc("GET /nix-cache/{file}", s.narinfo)
	mux.HandleFunc("GET /nix-cache/nar/{file}", s.nar)
	mux.HandleFunc("GET /ui/", s.dashboard)
	mux.HandleFunc("GET /ui/path", s.dashboardPath)
	mux.HandleFunc("GET /ui/style.css", s.dashboardCSS)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusFound) })
	return mux
}

func textError(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	fmt.Fprintf(w, format+"\n", args...)
}

// Reasons of refused submissions, also counted by the load generator.
const (
	ReasonTooLarge    = "claim too large"
	ReasonMalformed   = "malformed claim"
	ReasonUnknownKey  = "unknown builder key"
	ReasonBadSig      = "signature does not verify"
	ReasonRateLimited = "rate limited"
)

func (s *Server) addClaim(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, claim.MaxSize+1))
	if err != nil {
		textError(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	if len(body) > claim.MaxSize {
		textError(w, http.StatusRequestEntityTooLarge, "%s: more than %d bytes", ReasonTooLarge, claim.MaxSize)
		return
	}
	c, err := claim.Parse(body)
	if err != nil {
		textError(w, http.StatusBadRequest, "%s: %v", ReasonMalformed, err)
		return
	}
	key, ok := s.builderKey(r.Context(), c.Builder)
	if !ok {
		textError(w, http.StatusForbidden, "%s %q: enrol it with `nixgate log builder add`", ReasonUnknownKey, c.Builder)
		return
	}
	if err := c.Verify(key); err != nil {
		textError(w, http.StatusForbidden, "%s: %s", ReasonBadSig, c.Builder)
		return
	}
	if !s.limiter.allow(c.Builder, time.Now()) {
		w.Header().Set("Retry-After", "1")
		textError(w, http.StatusTooManyRequests, "%s: builder %s", ReasonRateLimited, c.Builder)
		return
	}
	ack, err := s.seq.Submit(r.Context(), c)
	if err != nil {
		textError(w, http.StatusServiceUnavailable, "not stored: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(ack)
}

func (s *Server) checkpoint(w http.ResponseWriter, r *http.Request) {
	cp, _ := s.Published()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache, max-age=0")
	w.Write(cp)
}

func (s *Server) tile(w http.ResponseWriter, r *http.Request) {
	t, err := c2sp.ParseTilePath(strings.TrimPrefix(r.URL.Path, "/"))
	if err != nil {
		textError(w, http.StatusNotFound, "%v", err)
		return
	}
	_, size := s.seq.Latest()
	// The tile must exist in the tree of the latest checkpoint: a full
	// tile, or a partial one no wider than that tree's.
	var have int64
	if t.L == c2sp.EntriesLevel {
		have = size - t.N*c2sp.TileWidth
	} else {
		have = size>>(c2sp.TileHeight*t.L) - t.N*c2sp.TileWidth
	}
	if have < int64(t.W) {
		textError(w, http.StatusNotFound, "no such tile in a tree of size %d", size)
		return
	}
	d, err := s.tileData(r.Context(), t.L, t.N, 0)
	if err != nil {
		textError(w, http.StatusInternalServerError, "read tile: %v", err)
		return
	}
	if t.L == c2sp.EntriesLevel {
		d, err = bundlePrefix(d, t.W)
	} else if len(d) < t.W*tlog.HashSize {
		err = fmt.Errorf("tile %s is short", c2sp.TilePath(t))
	} else {
		d = d[:t.W*tlog.HashSize]
	}
	if err != nil {
		textError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(d)
}

// bundlePrefix returns the first w entries of an entry bundle.
func bundlePrefix(b []byte, w int) ([]byte, error) {
	off := 0
	for i := 0; i < w; i++ {
		if off+2 > len(b) {
			return nil, errors.New("entry bundle is short")
		}
		off += 2 + (int(b[off])<<8 | int(b[off+1]))
		if off > len(b) {
			return nil, errors.New("entry bundle is short")
		}
	}
	return b[:off], nil
}

// ClaimProof is a claim with its index and inclusion proof.
type ClaimProof struct {
	Index    int64     `json:"index"`
	Claim    string    `json:"claim"`
	Proof    []string  `json:"proof"`
	Received time.Time `json:"received"`
}

// ClaimsResponse is the answer of GET /claims.
type ClaimsResponse struct {
	// Checkpoint is the published checkpoint the proofs are against.
	Checkpoint string       `json:"checkpoint"`
	Claims     []ClaimProof `json:"claims"`
}

func (s *Server) claims(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("path")
	if claim.HashPart(p) == "" || !strings.HasPrefix(p, "/nix/store/") || len(p) > 512 {
		textError(w, http.StatusBadRequest, "want ?path=/nix/store/HASH-NAME")
		return
	}
	cp, size := s.Published()
	rows, err := s.store.ClaimsForPath(r.Context(), p, size)
	if err != nil {
		textError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	resp := ClaimsResponse{Checkpoint: string(cp), Claims: []ClaimProof{}}
	for _, row := range rows {
		proof, err := tlog.ProveRecord(size, row.Index, s.hashReader(r.Context()))
		if err != nil {
			textError(w, http.StatusInternalServerError, "prove %d: %v", row.Index, err)
			return
		}
		cpf := ClaimProof{Index: row.Index, Claim: string(row.Leaf), Received: row.Received, Proof: []string{}}
		for _, h := range proof {
			cpf.Proof = append(cpf.Proof, c2sp.EncodeHash(h))
		}
		resp.Claims = append(resp.Claims, cpf)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, max-age=0")
	json.NewEncoder(w).Encode(resp)
}

func queryInt(r *http.Request, name string) (int64, bool) {
	v := r.URL.Query().Get(name)
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n >= 0 && strconv.FormatInt(n, 10) == v
}

func writeHashes(w http.ResponseWriter, hs []tlog.Hash) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// One write of one buffer: a proof is about 20 lines of 45 bytes.
	b := make([]byte, 0, len(hs)*(base64.StdEncoding.EncodedLen(tlog.HashSize)+1))
	for _, h := range hs {
		b = base64.StdEncoding.AppendEncode(b, h[:])
		b = append(b, '\n')
	}
	w.Write(b)
}

func (s *Server) consistency(w http.ResponseWriter, r *http.Request) {
	old, ok1 := queryInt(r, "old")
	n, ok2 := queryInt(r, "new")
	_, size := s.seq.Latest()
	if !ok1 || !ok2 || old > n || n > size {
		textError(w, http.StatusBadRequest, "want ?old=M&new=N with M <= N <= %d", size)
		return
	}
	var p tlog.TreeProof
	if old > 0 && old < n {
		var err error
		if p, err = tlog.ProveTree(n, old, s.hashReader(r.Context())); err != nil {
			textError(w, http.StatusInternalServerError, "%v", err)
			return
		}
	}
	writeHashes(w, p)
}

func (s *Server) inclusion(w http.ResponseWriter, r *http.Request) {
	idx, ok1 := queryInt(r, "index")
	n, ok2 := queryInt(r, "size")
	_, size := s.seq.Latest()
	if !ok1 || !ok2 || idx >= n || n > size {
		textError(w, http.StatusBadRequest, "want ?index=I&size=N with I < N <= %d", size)
		return
	}
	p, err := s.InclusionProof(r.Context(), idx, n)
	if err != nil {
		textError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	writeHashes(w, p)
}

// InclusionProof proves the leaf at index in the tree of size n (at most
// the sequenced size), from the tiles.
func (s *Server) InclusionProof(ctx context.Context, index, n int64) (tlog.RecordProof, error) {
	return tlog.ProveRecord(n, index, s.hashReader(ctx))
}

// TLogProof returns the c2sp.org/tlog-proof of the claim at index against
// the published checkpoint, with the claim as the extra data.
func (s *Server) TLogProof(ctx context.Context, index int64) ([]byte, error) {
	cp, size := s.Published()
	if index >= size {
		return nil, fmt.Errorf("index %d is not in the published tree of size %d", index, size)
	}
	rows, err := s.store.ClaimRange(ctx, index, index+1)
	if err != nil || len(rows) != 1 {
		return nil, fmt.Errorf("claim %d: not found (%v)", index, err)
	}
	p, err := tlog.ProveRecord(size, index, s.hashReader(ctx))
	if err != nil {
		return nil, err
	}
	return (&c2sp.Proof{Extra: rows[0].Leaf, Index: index, Inclusion: p, Checkpoint: cp}).Marshal(), nil
}

func (s *Server) tlogProof(w http.ResponseWriter, r *http.Request) {
	idx, ok := queryInt(r, "index")
	if !ok {
		textError(w, http.StatusBadRequest, "want ?index=I")
		return
	}
	b, err := s.TLogProof(r.Context(), idx)
	if err != nil {
		textError(w, http.StatusNotFound, "%v", err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(b)
}

func (s *Server) listBuilders(w http.ResponseWriter, r *http.Request) {
	keys, err := s.store.Builders(r.Context())
	if err != nil {
		textError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	names := make([]string, 0, len(keys))
	for n := range keys {
		names = append(names, n)
	}
	slices.Sort(names)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, n := range names {
		fmt.Fprintln(w, keys[n])
	}
}

func (s *Server) cacheInfo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/x-nix-cache-info")
	fmt.Fprint(w, "StoreDir: /nix/store\nWantMassQuery: 0\nPriority: 60\n")
}

// Agreement groups a store path's claims by fingerprint.
type Agreement struct {
	Fingerprint string
	Claims      []*claim.Claim
	Indexes     []int64
}

// agreements parses the claims of a path and groups them by fingerprint,
// the largest group (by distinct builders) first.
func agreements(rows []StoredClaim) []Agreement {
	var out []Agreement
	for _, row := range rows {
		c, err := claim.Parse(row.Leaf)
		if err != nil {
			continue
		}
		i := slices.IndexFunc(out, func(a Agreement) bool { return a.Fingerprint == c.Fingerprint() })
		if i < 0 {
			out = append(out, Agreement{Fingerprint: c.Fingerprint()})
			i = len(out) - 1
		}
		out[i].Claims = append(out[i].Claims, c)
		out[i].Indexes = append(out[i].Indexes, row.Index)
	}
	slices.SortStableFunc(out, func(a, b Agreement) int { return len(b.Claims) - len(a.Claims) })
	return out
}

func (s *Server) narinfo(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	hashPart, ok := strings.CutSuffix(file, ".narinfo")
	if !ok || len(hashPart) != 32 {
		http.NotFound(w, r)
		return
	}
	_, size := s.Published()
	rows, err := s.store.ClaimsForHashPart(r.Context(), hashPart, size)
	if err != nil {
		textError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	ag := agreements(rows)
	if len(ag) == 0 || len(ag) > 1 && len(ag[1].Claims) == len(ag[0].Claims) {
		// No claim, or a tie between disagreeing builders: no answer.
		http.NotFound(w, r)
		return
	}
	best := ag[0]
	var url, comp, fileHash string
	var fileSize uint64
	if s.cfg.Upstream != "" {
		up, err := s.upstreamNarinfo(r.Context(), hashPart)
		if err != nil {
			textError(w, http.StatusBadGateway, "upstream narinfo: %v", err)
			return
		}
		if err := matchNarinfo(up, best.Claims[0]); err != nil {
			s.log.Warn("upstream narinfo differs from the agreed claim", "path", best.Claims[0].StorePath, "err", err)
			http.NotFound(w, r)
			return
		}
		url, comp, fileHash, fileSize = up.url, up.compression, up.fileHash, up.fileSize
	}
	body, err := claim.Narinfo(best.Claims, url, comp, fileHash, fileSize)
	if err != nil {
		textError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	w.Header().Set("Content-Type", "text/x-nix-narinfo")
	w.Write(body)
}

// upstreamInfo is what the log takes from the upstream cache's narinfo.
type upstreamInfo struct {
	url, compression, fileHash string
	fileSize                   uint64
	narHash                    string
	narSize                    uint64
	refs                       []string
}

func (s *Server) upstreamGet(ctx context.Context, rel string) (io.ReadCloser, error) {
	up := s.cfg.Upstream
	if dir, ok := strings.CutPrefix(up, "file://"); ok {
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, err
		}
		defer root.Close()
		return root.Open(rel)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(up, "/")+"/"+rel, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %s", rel, resp.Status)
	}
	return resp.Body, nil
}

func (s *Server) upstreamNarinfo(ctx context.Context, hashPart string) (*upstreamInfo, error) {
	rc, err := s.upstreamGet(ctx, hashPart+".narinfo")
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 1<<20))
	if err != nil {
		return nil, err
	}
	u := &upstreamInfo{}
	for _, l := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		switch k {
		case "URL":
			u.url = v
		case "Compression":
			u.compression = v
		case "FileHash":
			u.fileHash = v
		case "FileSize":
			u.fileSize, _ = strconv.ParseUint(v, 10, 64)
		case "NarHash":
			u.narHash = v
		case "NarSize":
			u.narSize, _ = strconv.ParseUint(v, 10, 64)
		case "References":
			u.refs = strings.Fields(v)
		}
	}
	// The NAR URL is served below /nix-cache/ by this log: keep it
	// relative, and inside nar/.
	if u.url == "" || !strings.HasPrefix(u.url, "nar/") || strings.Contains(u.url, "..") || strings.Count(u.url, "/") != 1 {
		return nil, fmt.Errorf("upstream narinfo URL %q is not nar/FILE", u.url)
	}
	return u, nil
}

// matchNarinfo checks that the upstream narinfo describes the claimed NAR.
func matchNarinfo(u *upstreamInfo, c *claim.Claim) error {
	h, err := claim.NormalizeNarHash(u.narHash)
	if err != nil {
		return err
	}
	if h != c.NarHash || u.narSize != c.NarSize {
		return fmt.Errorf("NAR %s (%d bytes), the claims say %s (%d bytes)", h, u.narSize, c.NarHash, c.NarSize)
	}
	refs := make([]string, len(u.refs))
	for i, r := range u.refs {
		refs[i] = "/nix/store/" + r
	}
	slices.Sort(refs)
	if !slices.Equal(refs, c.References) {
		return errors.New("the references differ")
	}
	return nil
}

func (s *Server) nar(w http.ResponseWriter, r *http.Request) {
	file := path.Base(r.PathValue("file"))
	if s.cfg.Upstream == "" || file != r.PathValue("file") || strings.HasPrefix(file, ".") {
		http.NotFound(w, r)
		return
	}
	rc, err := s.upstreamGet(r.Context(), "nar/"+file)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/x-nix-nar")
	io.Copy(w, rc)
}

// limiter is a token bucket per builder; hand-written because it is ten
// lines and x/time/rate would be a dependency for them.
type limiter struct {
	rate    float64
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64) *limiter { return &limiter{rate: rate, buckets: map[string]*bucket{}} }

func (l *limiter) allow(key string, now time.Time) bool {
	if l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	burst := 2 * l.rate
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// tileCache keeps tile data and, for full tiles, the node hashes inside
// them; a full tile never changes, a partial one only grows, so a cached
// tile too short for a request is read again.
type tileCache struct {
	mu  sync.Mutex
	max int
	m   map[tileKey]*cachedTile
}

// cachedTile is a tile's data and, once a proof has needed it, the inner
// node hashes of a full tile (dropped with the data).
type cachedTile struct {
	data []byte
	tree *tileTree
}

// tileTree is a full tile's inner node hashes by height above the tile's
// stored ones: [k-1] holds the 256>>k nodes k levels up (128, 64, … 2).
type tileTree [c2sp.TileHeight - 1][]tlog.Hash

func newTileCache(max int) *tileCache {
	return &tileCache{max: max, m: map[tileKey]*cachedTile{}}
}

func (c *tileCache) get(level int, n int64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[tileKey{level, n}]
	if !ok {
		return nil, false
	}
	return e.data, true
}

func (c *tileCache) put(level int, n int64, d []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k := range c.m { // drop an arbitrary tenth
			delete(c.m, k)
			if len(c.m) < c.max*9/10 {
				break
			}
		}
	}
	c.m[tileKey{level, n}] = &cachedTile{data: d}
}

// tree returns the node hashes of the full tile (level, n) whose data is
// d, computing them the first time; they are kept while the tile is.
func (c *tileCache) tree(level int, n int64, d []byte) *tileTree {
	key := tileKey{level, n}
	c.mu.Lock()
	if e := c.m[key]; e != nil && e.tree != nil {
		c.mu.Unlock()
		return e.tree
	}
	c.mu.Unlock()
	t := newTileTree(d)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[key]; e != nil && len(e.data) == len(d) {
		e.tree = t
	}
	return t
}

func newTileTree(d []byte) *tileTree {
	var t tileTree
	below := make([]tlog.Hash, len(d)/tlog.HashSize)
	for i := range below {
		copy(below[i][:], d[i*tlog.HashSize:])
	}
	for k := range t {
		t[k] = make([]tlog.Hash, len(below)/2)
		for j := range t[k] {
			t[k][j] = tlog.NodeHash(below[2*j], below[2*j+1])
		}
		below = t[k]
	}
	return &t
}
