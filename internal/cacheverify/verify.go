package cacheverify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/nixgate/nixgate/internal/binarycache"
	"github.com/nixgate/nixgate/internal/nar"
	"github.com/nixgate/nixgate/internal/narinfo"
	"github.com/nixgate/nixgate/internal/progress"
)

// NAR modes (--nar).
const (
	NarNone = "none" // narinfo only: signatures, URL, closure
	NarHash = "hash" // also FileHash/FileSize, the label, NarHash/NarSize
	NarFull = "full" // also the strict NAR walk
)

// Config is one verification job.
type Config struct {
	Store binarycache.Store
	// Upstream stores may hold references the cache does not (--upstream).
	Upstream []binarycache.Store
	// All verifies every narinfo the store lists.
	All bool
	// Paths are requested paths: store paths, base names or hashes.
	Paths []string
	// Closure are roots whose References are followed.
	Closure []string
	// Nar is NarNone, NarHash or NarFull (default).
	Nar string
	// ScanReferences looks for undeclared store paths in the NAR.
	ScanReferences bool
	// Jobs is the number of paths checked at once (default: the number of
	// CPUs for a local store, 16 for a remote one).
	Jobs int
	// Keys are the trusted keys signatures are checked against.
	Keys *narinfo.Keys
	// Decider decides trust (default: SignaturePolicy requiring one key).
	Decider Decider
	// Enabled reports whether a verdict family's check is on (nil: all).
	// A path whose trust failed is still fetched when the signature
	// family is off; its NAR is only hashed when the nar-format family
	// is off.
	Enabled func(family string) bool
	// Info is the cache's nix-cache-info (nil: read from the store).
	Info *binarycache.CacheInfo
	// Progress counts paths done (nil: none).
	Progress *progress.Bar
	// Limits bound the strict NAR walk (Size is set per path).
	Limits nar.Limits
}

// Request is a requested path, parsed.
type Request struct {
	Hash string
	// Path is the full store path when one was given.
	Path string
}

// ParseRequest reads a path given on the command line or in --paths: a
// store path, a base name HASH-NAME, or a bare hash.
func ParseRequest(s, storeDir string) (Request, error) {
	s = strings.TrimSpace(s)
	if narinfo.IsHash(s) {
		return Request{Hash: s}, nil
	}
	base := s
	if strings.HasPrefix(s, "/") {
		if !strings.HasPrefix(s, storeDir+"/") {
			return Request{}, fmt.Errorf("%q is not in the store %s", s, storeDir)
		}
		base = strings.TrimPrefix(s, storeDir+"/")
	}
	if err := narinfo.ValidateBaseName(base); err != nil {
		return Request{}, err
	}
	return Request{Hash: base[:32], Path: storeDir + "/" + base}, nil
}

// transportError marks an error of the cache's transport (not of the
// data): the run cannot complete.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// transportReader tags the errors of a body.
type transportReader struct{ r io.Reader }

func (t transportReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		err = &transportError{err}
	}
	return n, err
}

type job struct {
	cfg      Config
	storeDir string

	mu      sync.Mutex
	results map[string]*PathResult // by hash
	queued  map[string]bool
	exists  map[string]bool // hashes with a narinfo in the cache (listing or fetched)
	wg      sync.WaitGroup
	sem     chan struct{}
	total   int
	err     error
	cancel  context.CancelFunc
}

// Run verifies the cache. An error means the cache could not be read (a
// listing, a narinfo or NAR that failed to download); a path with a
// problem is a verdict in the result, never an error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Nar == "" {
		cfg.Nar = NarFull
	}
	if cfg.Keys == nil {
		cfg.Keys, _ = narinfo.NewKeys(nil)
	}
	if cfg.Jobs <= 0 {
		cfg.Jobs = runtime.NumCPU()
		if cfg.Store.Remote() {
			cfg.Jobs = 16
		}
	}
	if cfg.Enabled == nil {
		cfg.Enabled = func(string) bool { return true }
	}
	if cfg.Info == nil {
		info, err := binarycache.ReadCacheInfo(ctx, cfg.Store)
		if err != nil {
			return nil, err
		}
		cfg.Info = info
	}
	if cfg.Decider == nil {
		cfg.Decider = &SignaturePolicy{Keys: cfg.Keys, Require: 1, StoreDir: cfg.Info.StoreDir}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	j := &job{cfg: cfg, storeDir: cfg.Info.StoreDir, results: map[string]*PathResult{}, queued: map[string]bool{},
		exists: map[string]bool{}, sem: make(chan struct{}, cfg.Jobs), cancel: cancel}
	listed := false
	if cfg.All {
		err := cfg.Store.List(ctx, func(name string) error {
			h := strings.TrimSuffix(name, ".narinfo")
			j.mu.Lock()
			j.exists[h] = true
			j.mu.Unlock()
			j.enqueue(ctx, Request{Hash: h}, "all", false)
			return nil
		})
		if err != nil {
			cancel()
			j.wg.Wait()
			return nil, fmt.Errorf("list %s: %w", cfg.Store.URI(), err)
		}
		listed = true
	}
	for _, p := range cfg.Paths {
		r, err := ParseRequest(p, j.storeDir)
		if err != nil {
			return nil, err
		}
		j.enqueue(ctx, r, "paths", false)
	}
	for _, p := range cfg.Closure {
		r, err := ParseRequest(p, j.storeDir)
		if err != nil {
			return nil, err
		}
		j.enqueue(ctx, r, "closure", true)
	}
	j.wg.Wait()
	if j.err != nil {
		return nil, j.err
	}
	if err := j.closure(ctx, listed); err != nil {
		return nil, err
	}
	res := &Result{SchemaVersion: 1, Store: cfg.Store.URI(), StoreDir: j.storeDir, Nar: cfg.Nar, Counts: map[string]int{}}
	if cfg.Info.Present {
		res.CacheRequired, res.RequireAll = cfg.Info.RequiredSignatures, cfg.Info.RequireAllSignatures
	}
	for _, pr := range j.results {
		finish(pr, cfg.Enabled)
		res.Paths = append(res.Paths, pr)
		res.Counts[pr.Verdict]++
	}
	slices.SortFunc(res.Paths, func(a, b *PathResult) int {
		return strings.Compare(a.StorePath+"\x00"+a.Hash, b.StorePath+"\x00"+b.Hash)
	})
	if res.Paths == nil {
		res.Paths = []*PathResult{}
	}
	return res, nil
}

// finish orders a path's problems by precedence and sets its verdict:
// the first problem whose family's check is on. Problems of families
// that are off are dropped.
func finish(pr *PathResult, enabled func(string) bool) {
	kept := []Problem{}
	for _, q := range pr.Problems {
		if enabled(Family(q.Code)) {
			kept = append(kept, q)
		}
	}
	slices.SortStableFunc(kept, func(a, b Problem) int {
		return slices.Index(Codes, a.Code) - slices.Index(Codes, b.Code)
	})
	pr.Problems = kept
	pr.Verdict = OK
	if len(kept) > 0 {
		pr.Verdict = kept[0].Code
	}
}

func (j *job) fail(err error) {
	j.mu.Lock()
	if j.err == nil {
		j.err = err
	}
	j.mu.Unlock()
	j.cancel()
}

// enqueue schedules a path once.
func (j *job) enqueue(ctx context.Context, r Request, how string, follow bool) {
	j.mu.Lock()
	if j.queued[r.Hash] {
		j.mu.Unlock()
		return
	}
	j.queued[r.Hash] = true
	j.total++
	j.cfg.Progress.SetTotal(int64(j.total))
	j.mu.Unlock()
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		select {
		case j.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-j.sem }()
		pr, refs, err := j.verify(ctx, r, how)
		j.cfg.Progress.Add(1)
		if err != nil {
			j.fail(err)
			return
		}
		if pr == nil {
			return
		}
		j.mu.Lock()
		j.results[r.Hash] = pr
		j.mu.Unlock()
		if follow {
			for _, ref := range refs {
				j.enqueue(ctx, Request{Hash: ref[:32], Path: j.storeDir + "/" + ref}, "reference", true)
			}
		}
	}()
}

// verify checks one path. It returns the references to follow.
func (j *job) verify(ctx context.Context, r Request, how string) (*PathResult, []string, error) {
	pr := &PathResult{Hash: r.Hash, StorePath: r.Path, Narinfo: r.Hash + ".narinfo", Requested: how, NarChecked: NarNone}
	if pr.StorePath == "" {
		pr.StorePath = j.storeDir + "/" + r.Hash
	}
	b, err := get(ctx, j.cfg.Store, pr.Narinfo, narinfo.MaxSize)
	if binarycache.IsNotFound(err) {
		if how == "reference" {
			// Reported on the paths that refer to it (closure), which
			// also looks upstream.
			return nil, nil, nil
		}
		pr.add(MissingReference, fmt.Sprintf("the cache has no %s for the requested path", pr.Narinfo))
		return pr, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", pr.Narinfo, err)
	}
	j.mu.Lock()
	j.exists[r.Hash] = true
	j.mu.Unlock()
	ni, err := narinfo.Parse(b, narinfo.Options{StoreDir: j.storeDir})
	if err != nil {
		p := pr.add(NarinfoMalformed, err.Error())
		var se *narinfo.SyntaxError
		if errors.As(err, &se) {
			p.Detail, p.Pos = se.Msg, &se.Pos
		}
		return pr, nil, nil
	}
	pr.StorePath, pr.URL, pr.Compression, pr.NarSize, pr.FileSize = ni.StorePath, ni.URL, ni.Compression, ni.NarSize, ni.FileSize
	pr.References = ni.References
	pr.refPos = ni.Pos["References"]
	if got := narinfo.HashPart(ni.StorePath); got != r.Hash {
		p := pr.add(StorePathMismatch, fmt.Sprintf("%s holds the narinfo of %s, whose hash is %s", pr.Narinfo, ni.StorePath, got))
		pos := ni.Pos["StorePath"]
		p.Pos = &pos
	} else if r.Path != "" && r.Path != ni.StorePath {
		p := pr.add(StorePathMismatch, fmt.Sprintf("requested %s, but the narinfo is for %s", r.Path, ni.StorePath))
		pos := ni.Pos["StorePath"]
		p.Pos = &pos
	}

	// Trust, before any NAR byte.
	signers := j.cfg.Keys.Check(ni, j.storeDir)
	pr.Signatures = signers.Sigs
	d, err := j.cfg.Decider.Decide(ctx, &Candidate{StorePath: ni.StorePath, NarInfo: ni, Fingerprint: ni.Fingerprint(j.storeDir), Signers: signers, Store: j.cfg.Store.URI()})
	if err != nil {
		return nil, nil, fmt.Errorf("trust decision for %s: %w", ni.StorePath, err)
	}
	pr.Trust = d
	trusted := d.Verdict == OK
	if !trusted {
		p := pr.add(d.Verdict, d.Reason)
		if pos, ok := ni.Pos["Sig"]; ok && len(d.Forged) > 0 {
			pos.Line = d.Forged[0].Line
			p.Pos = &pos
		}
	}
	if pr.has(StorePathMismatch) {
		// The narinfo is not the one asked for: its NAR says nothing
		// about the requested path.
		return pr, ni.References, nil
	}

	key, uerr := binarycache.ResolveURL(ni.URL, j.cfg.Store.Remote())
	if uerr != nil {
		p := pr.add(URLEscape, uerr.Error()+"; not fetched")
		pos := ni.Pos["URL"]
		p.Pos = &pos
	}
	fetch := j.cfg.Nar != NarNone && uerr == nil && (trusted || !j.cfg.Enabled(FamilySignature))
	if fetch && !slices.Contains(Compressions, ni.Compression) {
		p := pr.add(UnsupportedCompression, fmt.Sprintf("Compression: %s is not one of %s; not decoded", ni.Compression, strings.Join(Compressions, ", ")))
		pos := ni.Pos["Compression"]
		p.Pos = &pos
		fetch = false
	}
	if fetch {
		if err := j.checkNAR(ctx, pr, ni, key); err != nil {
			return nil, nil, err
		}
	}
	return pr, ni.References, nil
}

// get reads a whole small file.
func get(ctx context.Context, s binarycache.Store, key string, max int64) ([]byte, error) {
	o, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer o.Body.Close()
	b, err := io.ReadAll(io.LimitReader(o.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", key, max)
	}
	return b, nil
}

// counter counts bytes written.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// limitReader reads at most n bytes and records whether more were there.
type limitReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if k, _ := l.r.Read(one[:]); k > 0 {
			l.over = true
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}

func newHash(algo string) hash.Hash {
	switch algo {
	case "sha512":
		return sha512.New()
	case "sha1":
		return sha1.New()
	}
	return sha256.New()
}

// decodeError is an error of the decompressor (the data), as opposed to
// the transport.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

type decodeReader struct{ r io.Reader }

func (d decodeReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		var te *transportError
		if !errors.As(err, &te) {
			err = &decodeError{err}
		}
	}
	return n, err
}

// checkNAR streams the NAR once: FileHash/FileSize over the compressed
// bytes, the label against the magic, NarHash/NarSize over the decoded
// bytes (decoding stops at NarSize+1), the strict walk and the reference
// scan. It returns an error only when the transport fails.
func (j *job) checkNAR(ctx context.Context, pr *PathResult, ni *narinfo.NarInfo, key string) error {
	o, err := j.cfg.Store.Get(ctx, key)
	if binarycache.IsNotFound(err) {
		p := pr.add(FileSizeMismatch, fmt.Sprintf("the NAR file %s is not in the cache", key))
		pos := ni.Pos["URL"]
		p.Pos = &pos
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	defer o.Body.Close()
	pr.NarChecked = NarHash

	// The compressed stream, bounded: a file larger than FileSize, or much
	// larger than the NAR, is not read to its end.
	fileCap := int64(ni.NarSize) + int64(ni.NarSize)/64 + 64<<10
	if ni.HasFileSize {
		fileCap = max(fileCap, int64(ni.FileSize))
	}
	fileAlgo := "sha256"
	if !ni.FileHash.IsZero() {
		fileAlgo = ni.FileHash.Algo
	}
	fileSum, fileN := newHash(fileAlgo), &counter{}
	capped := &limitReader{r: transportReader{o.Body}, n: fileCap}
	br := bufio.NewReaderSize(io.TeeReader(capped, io.MultiWriter(fileSum, fileN)), 64<<10)
	head, herr := br.Peek(32)
	var te *transportError
	if errors.As(herr, &te) {
		return fmt.Errorf("read %s: %w", key, herr)
	}
	dec, detected, mismatch, err := decoder(ni.Compression, head, br, int64(ni.NarSize)+1)
	pr.Detected = detected
	if mismatch != "" {
		p := pr.add(CompressionMismatch, mismatch)
		pos := ni.Pos["Compression"]
		p.Pos = &pos
		return nil
	}
	if err != nil {
		pr.add(CompressionMismatch, fmt.Sprintf("labelled %s but the stream does not decode: %v", ni.Compression, err))
		return nil
	}
	defer dec.Close()

	narSum, narN := sha256.New(), &counter{}
	decoded := &limitReader{r: decodeReader{dec}, n: int64(ni.NarSize) + 1}
	sinks := []io.Writer{narSum, narN}
	var scan *refScanner
	if j.cfg.ScanReferences {
		scan = newRefScanner(j.storeDir)
		sinks = append(sinks, scan)
	}
	stream := io.TeeReader(decoded, io.MultiWriter(sinks...))

	var walkErr error
	if j.cfg.Nar == NarFull && j.cfg.Enabled(FamilyNARFormat) {
		pr.NarChecked = NarFull
		lim := j.cfg.Limits
		lim.Size = int64(ni.NarSize)
		_, walkErr = nar.Validate(stream, lim, nil)
	}
	// Drain what the walk did not read (all of it in hash mode), so that
	// the hash and size cover the whole decoded stream, up to NarSize+1.
	_, drainErr := io.Copy(io.Discard, stream)
	decErr := errors.Join(walkErr, drainErr)
	if errors.As(decErr, &te) {
		return fmt.Errorf("read %s: %w", key, te)
	}
	// The rest of the compressed file, for FileHash and FileSize.
	if _, err := io.Copy(io.Discard, br); errors.As(err, &te) {
		return fmt.Errorf("read %s: %w", key, te)
	}

	var de *decodeError
	decodeFailed := errors.As(decErr, &de)
	var fe *nar.FormatError
	switch {
	case decoded.over:
		pr.add(NarSizeMismatch, fmt.Sprintf("the decoded NAR is longer than NarSize %d: decoding stopped at byte %d", ni.NarSize, ni.NarSize+1))
	case decodeFailed:
		off := narN.n
		p := pr.add(NarMalformed, fmt.Sprintf("the %s stream does not decode after %d bytes of NAR: %v", ni.Compression, narN.n, de.err))
		p.Offset = &off
	case uint64(narN.n) != ni.NarSize:
		pr.add(NarSizeMismatch, fmt.Sprintf("the decoded NAR has %d bytes, NarSize says %d", narN.n, ni.NarSize))
	default:
		if got := narSum.Sum(nil); !bytes.Equal(got, ni.NarHash.Digest) {
			p := pr.add(NarHashMismatch, fmt.Sprintf("the decoded NAR hashes to %s, NarHash says %s", narinfo.Hash{Algo: "sha256", Digest: got}, ni.NarHash))
			pos := ni.Pos["NarHash"]
			p.Pos = &pos
		}
	}
	if !decodeFailed && errors.As(walkErr, &fe) {
		off := fe.Offset
		p := pr.add(NarMalformed, fe.Error())
		p.Offset = &off
	}
	switch {
	case capped.over:
		p := pr.add(FileSizeMismatch, fmt.Sprintf("the file %s is larger than %d bytes (FileSize %d, NarSize %d); not read further", key, fileCap, ni.FileSize, ni.NarSize))
		pos := ni.Pos["FileSize"]
		p.Pos = &pos
	case ni.HasFileSize && uint64(fileN.n) != ni.FileSize:
		p := pr.add(FileSizeMismatch, fmt.Sprintf("the file %s has %d bytes, FileSize says %d", key, fileN.n, ni.FileSize))
		pos := ni.Pos["FileSize"]
		p.Pos = &pos
	case !ni.FileHash.IsZero():
		if got := fileSum.Sum(nil); !bytes.Equal(got, ni.FileHash.Digest) {
			p := pr.add(FileHashMismatch, fmt.Sprintf("the file %s hashes to %s, FileHash says %s", key, narinfo.Hash{Algo: fileAlgo, Digest: got}, ni.FileHash))
			pos := ni.Pos["FileHash"]
			p.Pos = &pos
		}
	}
	if scan != nil && !decoded.over {
		self := narinfo.HashPart(ni.StorePath)
		declared := map[string]bool{}
		for _, r := range ni.References {
			declared[r[:32]] = true
		}
		var hidden []string
		for h := range scan.found {
			if !declared[h] {
				hidden = append(hidden, h)
			}
		}
		slices.Sort(hidden)
		for i, h := range hidden {
			hidden[i] = j.storeDir + "/" + h
			if h == self {
				hidden[i] += " (itself)"
			}
		}
		if len(hidden) > 0 {
			pr.Hidden = hidden
			pr.add(HiddenReference, fmt.Sprintf("the NAR mentions %d store path(s) References does not declare: %s", len(hidden), strings.Join(hidden, ", ")))
		}
	}
	return nil
}

// closure checks that every reference of every path read has a narinfo
// in the cache, or in an upstream store.
func (j *job) closure(ctx context.Context, listed bool) error {
	need := map[string]bool{}
	for _, pr := range j.results {
		for _, r := range pr.References {
			h := r[:32]
			if !j.exists[h] {
				need[h] = true
			}
		}
	}
	if len(need) == 0 {
		return nil
	}
	var hashes []string
	for h := range need {
		hashes = append(hashes, h)
	}
	slices.Sort(hashes)
	found := make([]string, len(hashes)) // "" missing, else where
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, j.cfg.Jobs)
	for i, h := range hashes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			stores := j.cfg.Upstream
			if !listed {
				stores = append([]binarycache.Store{j.cfg.Store}, stores...)
			}
			for _, s := range stores {
				o, err := s.Get(ctx, h+".narinfo")
				if binarycache.IsNotFound(err) {
					continue
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("read %s.narinfo from %s: %w", h, s.URI(), err)
					}
					mu.Unlock()
					return
				}
				o.Body.Close()
				found[i] = s.URI()
				return
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	missing := map[string]bool{}
	for i, h := range hashes {
		if found[i] == "" {
			missing[h] = true
		}
	}
	if !j.cfg.Enabled(FamilyClosure) {
		return nil
	}
	for _, pr := range j.results {
		var miss []string
		for _, r := range pr.References {
			if missing[r[:32]] {
				miss = append(miss, j.storeDir+"/"+r)
			}
		}
		if len(miss) > 0 {
			pr.Missing = miss
			p := pr.add(MissingReference, fmt.Sprintf("%d reference(s) have no narinfo in the cache%s: %s", len(miss), upstreamNote(j.cfg.Upstream), strings.Join(miss, ", ")))
			if pr.refPos.Line > 0 {
				pos := pr.refPos
				p.Pos = &pos
			}
		}
	}
	return nil
}

func upstreamNote(up []binarycache.Store) string {
	if len(up) == 0 {
		return ""
	}
	var names []string
	for _, s := range up {
		names = append(names, s.URI())
	}
	return " or upstream (" + strings.Join(names, ", ") + ")"
}
