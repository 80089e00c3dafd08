// Command logload is the load generator of the build-claim log's
// benchmarks (bench/log.sh, bench/log-crash.sh). Modes:
//
//	keys   -dir DIR -n N                 N deterministic builder keys: DIR/keys, DIR/builders
//	gen    -dir DIR -n N -out FILE       N signed claims (length-prefixed) round-robin over the keys
//	submit -log URL -in FILE -c C        POST every claim, C at a time; throughput and latency
//	         [-acks FILE] [-mix]         record acknowledgements; interleave bad submissions
//	engine -db URL -in FILE -c C         the same claims through the sequencer in-process (no HTTP)
//	fill   -db URL -key FILE -n N        bulk-load N claims in-process (for the proof benchmark)
//	proofs -log URL -n N -c C            N inclusion proofs and claim lookups, verified; latency
//	check  -log URL -acks FILE           every acknowledged claim is in the log at its index
//
// Results are one JSON object on stdout.
package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nix-community/go-nix/pkg/nixbase32"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/nixgate/nixgate/internal/claim"
	"github.com/nixgate/nixgate/internal/claimlog"
	c2sp "github.com/nixgate/nixgate/internal/tlog"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: logload keys|gen|submit|engine|fill|proofs|check [flags]")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	dir := fs.String("dir", "", "key directory")
	n := fs.Int("n", 1000, "count")
	out := fs.String("out", "", "output file")
	in := fs.String("in", "", "claims file")
	logURL := fs.String("log", "", "log URL")
	db := fs.String("db", "", "database URL")
	key := fs.String("key", "", "log private key file")
	conc := fs.Int("c", 64, "concurrency")
	acks := fs.String("acks", "", "acknowledgement record")
	mix := fs.Bool("mix", false, "interleave forged, replayed, malformed and oversized submissions")
	seedFlag := fs.String("seed", "bench", "seed of the keys and claims")
	fs.Parse(os.Args[2:])
	var res any
	var err error
	ctx := context.Background()
	switch mode {
	case "keys":
		err = keys(*dir, *n, *seedFlag)
	case "gen":
		err = gen(*dir, *n, *out, *seedFlag)
	case "submit":
		res, err = submit(ctx, *logURL, *in, *conc, *acks, *mix, *dir)
	case "engine":
		res, err = engine(ctx, *db, *key, *in, *conc)
	case "fill":
		res, err = fill(ctx, *db, *key, *n, *conc, *seedFlag)
	case "proofs":
		if *db != "" {
			res, err = proofsInProcess(ctx, *db, *key, *n)
		} else {
			res, err = proofs(ctx, *logURL, *n, *conc)
		}
	case "check":
		res, err = check(ctx, *logURL, *acks)
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "logload:", err)
		os.Exit(1)
	}
	if res != nil {
		json.NewEncoder(os.Stdout).Encode(res)
	}
}

func seed(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func keyOf(name, s string) claim.SecretKey {
	k, err := claim.ParseSecretKey(name + ":" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed(s+"/"+name))))
	if err != nil {
		panic(err)
	}
	return k
}

func keys(dir string, n int, s string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var sk, pk strings.Builder
	for i := range n {
		k := keyOf(fmt.Sprintf("bench-builder-%d", i), s)
		sk.WriteString(k.String() + "\n")
		pk.WriteString(k.Public().String() + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "keys"), []byte(sk.String()), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "builders"), []byte(pk.String()), 0o644)
}

func readKeys(dir string) ([]claim.SecretKey, error) {
	b, err := os.ReadFile(filepath.Join(dir, "keys"))
	if err != nil {
		return nil, err
	}
	var out []claim.SecretKey
	for _, l := range strings.Fields(string(b)) {
		k, err := claim.ParseSecretKey(l)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

func storePath(name string) string {
	return "/nix/store/" + nixbase32.EncodeToString(seed(name)[:20]) + "-" + name
}

// makeClaim is the i-th claim of a run: a path with two references.
func makeClaim(k claim.SecretKey, i int, s string) (*claim.Claim, error) {
	name := fmt.Sprintf("pkg-%s-%d", s, i)
	return claim.New(claim.Facts{StorePath: storePath(name), NarHash: "sha256:" + nixbase32.EncodeToString(seed(name+"/nar")),
		NarSize: uint64(1000 + i), References: []string{storePath("glibc-2.40"), storePath(name)}, Deriver: storePath(name + ".drv")}, k)
}

func gen(dir string, n int, out, s string) error {
	ks, err := readKeys(dir)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := range n {
		c, err := makeClaim(ks[i%len(ks)], i, s)
		if err != nil {
			return err
		}
		b := c.Marshal()
		binary.Write(w, binary.BigEndian, uint16(len(b)))
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func readClaims(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return c2sp.SplitBundleUnbounded(data)
}

type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }

func (l *latencies) summary() map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.d)
	q := func(p float64) float64 {
		if len(l.d) == 0 {
			return 0
		}
		return float64(l.d[min(len(l.d)-1, int(p*float64(len(l.d))))].Nanoseconds()) / 1e6
	}
	return map[string]any{"p50ms": q(0.5), "p90ms": q(0.9), "p99ms": q(0.99), "maxms": q(1)}
}

func submit(ctx context.Context, logURL, in string, conc int, acksFile string, mix bool, dir string) (any, error) {
	claims, err := readClaims(in)
	if err != nil {
		return nil, err
	}
	cl, err := claimlog.NewClient(logURL)
	if err != nil {
		return nil, err
	}
	cl.HTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	var ackw *bufio.Writer
	var ackf *os.File
	var ackMu sync.Mutex
	if acksFile != "" {
		if ackf, err = os.OpenFile(acksFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			return nil, err
		}
		ackw = bufio.NewWriter(ackf)
	}
	// Bad submissions, one every 10 good ones with -mix.
	var bad []badSub
	if mix {
		if bad, err = badSubmissions(dir, claims); err != nil {
			return nil, err
		}
	}
	var lat latencies
	var acked, failed, dup atomic.Int64
	var rejected, accepted sync.Map // kind -> *atomic.Int64
	count := func(m *sync.Map, k string) {
		v, _ := m.LoadOrStore(k, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	var firstErr atomic.Value
	// Acknowledged claims, for replays.
	type ackRec struct {
		body  []byte
		index int64
	}
	var ackedMu sync.Mutex
	var ackedList []ackRec
	// sendBad sends the bad submission of round i and counts its outcome.
	sendBad := func(i int) {
		b := bad[(i/10)%len(bad)]
		body, want := b.body, int64(-1)
		if b.kind == "replayed" {
			ackedMu.Lock()
			if len(ackedList) > 0 {
				r := ackedList[len(ackedList)/2]
				body, want = r.body, r.index
			}
			ackedMu.Unlock()
			if body == nil {
				return // nothing acknowledged yet to replay
			}
		}
		a, err := cl.SubmitRaw(ctx, body)
		var se *claimlog.StatusError
		switch {
		case b.kind == "replayed" && err == nil && a.Duplicate && a.Index == want:
			count(&rejected, "replayed (idempotent, nothing stored)")
		case b.kind == "replayed" && errors.As(err, &se) && se.Code == http.StatusTooManyRequests:
			count(&rejected, "replayed (rate limited)")
		case b.kind != "replayed" && errors.As(err, &se) && se.Code >= 400 && se.Code < 500:
			count(&rejected, b.kind)
		default:
			count(&accepted, b.kind)
		}
	}
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if mix && i%10 == 5 {
					sendBad(i)
				}
				t0 := time.Now()
				a, err := cl.SubmitRaw(ctx, claims[i])
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat.add(time.Since(t0))
				acked.Add(1)
				if a.Duplicate {
					dup.Add(1)
				}
				if mix {
					ackedMu.Lock()
					ackedList = append(ackedList, ackRec{claims[i], a.Index})
					ackedMu.Unlock()
				}
				if ackw != nil {
					h := sha256.Sum256(claims[i])
					ackMu.Lock()
					fmt.Fprintf(ackw, "%d %s\n", a.Index, hex.EncodeToString(h[:]))
					ackMu.Unlock()
				}
			}
		}()
	}
	for i := range claims {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	if ackw != nil {
		ackw.Flush()
		ackf.Sync()
		ackf.Close()
	}
	res := map[string]any{"claims": len(claims), "acked": acked.Load(), "duplicates": dup.Load(), "failed": failed.Load(),
		"concurrency": conc, "seconds": elapsed.Seconds(), "perSecond": float64(acked.Load()) / elapsed.Seconds()}
	maps.Copy(res, lat.summary())
	if e := firstErr.Load(); e != nil {
		res["firstError"] = e
	}
	if mix {
		r, a := map[string]int64{}, map[string]int64{}
		rejected.Range(func(k, v any) bool { r[k.(string)] = v.(*atomic.Int64).Load(); return true })
		accepted.Range(func(k, v any) bool { a[k.(string)] = v.(*atomic.Int64).Load(); return true })
		res["badRejected"], res["badAccepted"] = r, a
	}
	return res, nil
}

type badSub struct {
	kind string
	body []byte
}

// badSubmissions makes forged, unknown-key, malformed and oversized
// claims from the good ones (and marks replays).
func badSubmissions(dir string, claims [][]byte) ([]badSub, error) {
	ks, err := readKeys(dir)
	if err != nil {
		return nil, err
	}
	c0, err := claim.Parse(claims[0])
	if err != nil {
		return nil, err
	}
	forged := *c0
	other, _ := makeClaim(ks[0], 1<<30, "forged")
	forged.Sig = forged.Builder + ":" + strings.SplitN(other.Sig, ":", 2)[1]
	stranger := keyOf("stranger", "not enrolled")
	unknown, _ := makeClaim(stranger, 1, "x")
	malformed := slices.Clone(claims[1])
	malformed = malformed[:len(malformed)/2]
	return []badSub{
		{"forged", forged.Marshal()},
		{"unknown key", unknown.Marshal()},
		{"malformed", malformed},
		{"oversized", append(slices.Clone(claims[2]), make([]byte, claim.MaxSize)...)},
		{"replayed", nil},
		{"flipped bit", flipBit(claims[3])},
	}, nil
}

func flipBit(b []byte) []byte {
	c := slices.Clone(b)
	c[len(c)-10] ^= 0x01
	return c
}

func openLog(ctx context.Context, db, keyFile string) (*claimlog.Store, *claimlog.Sequencer, error) {
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, err
	}
	signer, err := c2sp.NewLogSigner(string(kb))
	if err != nil {
		return nil, nil, err
	}
	st, err := claimlog.OpenStore(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	seq, err := claimlog.NewSequencer(ctx, st, signer, nil)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, seq, nil
}

func engine(ctx context.Context, db, keyFile, in string, conc int) (any, error) {
	raw, err := readClaims(in)
	if err != nil {
		return nil, err
	}
	claims := make([]*claim.Claim, len(raw))
	for i, b := range raw {
		if claims[i], err = claim.Parse(b); err != nil {
			return nil, err
		}
	}
	st, seq, err := openLog(ctx, db, keyFile)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	defer seq.Close()
	elapsed, err := parallel(len(claims), conc, func(i int) error { _, err := seq.Submit(ctx, claims[i]); return err })
	if err != nil {
		return nil, err
	}
	return map[string]any{"engine": "nixgate-" + st.Kind, "leaves": len(claims), "concurrency": conc, "seconds": elapsed.Seconds(),
		"perSecond": float64(len(claims)) / elapsed.Seconds()}, nil
}

func parallel(n, conc int, f func(i int) error) (time.Duration, error) {
	next := make(chan int)
	var wg sync.WaitGroup
	var first atomic.Value
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if e, ok := first.Load().(error); ok {
		return 0, e
	}
	return time.Since(start), nil
}

func fill(ctx context.Context, db, keyFile string, n, conc int, s string) (any, error) {
	st, seq, err := openLog(ctx, db, keyFile)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	defer seq.Close()
	ks := []claim.SecretKey{keyOf("fill-a", s), keyOf("fill-b", s), keyOf("fill-c", s)}
	for _, k := range ks {
		if err := st.AddBuilder(ctx, k.Name, k.Public().String()); err != nil {
			return nil, err
		}
	}
	_, have := seq.Latest()
	elapsed, err := parallel(n, conc, func(i int) error {
		c, err := makeClaim(ks[i%3], int(have)+i, s)
		if err != nil {
			return err
		}
		_, err = seq.Submit(ctx, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	_, size := seq.Latest()
	return map[string]any{"filled": n, "size": size, "seconds": elapsed.Seconds()}, nil
}

func proofs(ctx context.Context, logURL string, n, conc int) (any, error) {
	cl, err := claimlog.NewClient(logURL)
	if err != nil {
		return nil, err
	}
	cl.HTTP = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	cp, err := cl.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	sn, err := c2sp.SplitNote(cp)
	if err != nil {
		return nil, err
	}
	tree, err := c2sp.ParseCheckpoint(sn.Text)
	if err != nil {
		return nil, err
	}
	if tree.Size == 0 {
		return nil, errors.New("empty log")
	}
	// Only the proof requests are timed. Every proof is then verified
	// against its leaf, read from the entry bundles after the timed part:
	// fetched alongside, 3,900 bundles of 256 claims competed with the
	// proofs for the two cores and made the first pass's tail the load
	// generator's own.
	var lat latencies
	r := rand.New(rand.NewPCG(1, 2))
	idx := make([]int64, n)
	for i := range idx {
		idx[i] = r.Int64N(tree.Size)
	}
	got := make([]tlog.RecordProof, n)
	// No collection while timing: the load generator's own pauses (91
	// cycles of up to 0.7 ms stopping the world in one pass) were in the
	// latencies it measured.
	gc := debug.SetGCPercent(-1)
	elapsed, err := parallel(n, conc, func(i int) error {
		t0 := time.Now()
		p, err := cl.InclusionProof(ctx, idx[i], tree.Size)
		if err != nil {
			return err
		}
		lat.add(time.Since(t0))
		got[i] = p
		return nil
	})
	debug.SetGCPercent(gc)
	if err != nil {
		return nil, err
	}
	byBundle := map[int64][]int{}
	for i, x := range idx {
		byBundle[x/c2sp.TileWidth] = append(byBundle[x/c2sp.TileWidth], i)
	}
	bns := slices.Sorted(maps.Keys(byBundle))
	if _, err := parallel(len(bns), conc, func(k int) error {
		bn := bns[k]
		w := c2sp.TileWidth
		if (bn+1)*c2sp.TileWidth > tree.Size {
			w = int(tree.Size - bn*c2sp.TileWidth)
		}
		b, err := cl.Tile(ctx, tlog.Tile{H: 8, L: -1, N: bn, W: w})
		if err != nil {
			return err
		}
		entries, err := c2sp.SplitBundle(b)
		if err != nil {
			return err
		}
		for _, i := range byBundle[bn] {
			x := idx[i]
			if x%c2sp.TileWidth >= int64(len(entries)) {
				return fmt.Errorf("bundle %d has no entry %d", bn, x)
			}
			if err := c2sp.CheckInclusion(tree, x, got[i], entries[x%c2sp.TileWidth]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	res := map[string]any{"treeSize": tree.Size, "proofs": n, "concurrency": conc, "verified": n, "seconds": elapsed.Seconds()}
	maps.Copy(res, lat.summary())
	return res, nil
}

// proofsInProcess times Server.InclusionProof without HTTP: the log
// engine's share of a proof's latency.
func proofsInProcess(ctx context.Context, db, keyFile string, n int) (any, error) {
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	signer, err := c2sp.NewLogSigner(string(kb))
	if err != nil {
		return nil, err
	}
	st, err := claimlog.OpenStore(ctx, db)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	srv, err := claimlog.NewServer(ctx, claimlog.Config{Store: st, Signer: signer})
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	cp, size := srv.Published()
	sn, err := c2sp.SplitNote(cp)
	if err != nil {
		return nil, err
	}
	tree, err := c2sp.ParseCheckpoint(sn.Text)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(3, 4))
	res := map[string]any{"treeSize": tree.Size, "proofs": n, "inProcess": true}
	// Two passes: the first reads the tiles from the database, the second
	// finds them cached.
	for _, pass := range []string{"cold", "warm"} {
		var lat latencies
		for range n {
			x := r.Int64N(size)
			t0 := time.Now()
			p, err := srv.InclusionProof(ctx, x, size)
			if err != nil {
				return nil, err
			}
			lat.add(time.Since(t0))
			if err := c2sp.CheckInclusion(tree, x, p, nil); err == nil && size > 1 {
				return nil, errors.New("a proof verified for the wrong leaf")
			}
		}
		for k, v := range lat.summary() {
			res[pass+"_"+k] = v
		}
	}
	return res, nil
}

func check(ctx context.Context, logURL, acksFile string) (any, error) {
	cl, err := claimlog.NewClient(logURL)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(acksFile)
	if err != nil {
		return nil, err
	}
	cp, err := cl.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	sn, err := c2sp.SplitNote(cp)
	if err != nil {
		return nil, err
	}
	tree, err := c2sp.ParseCheckpoint(sn.Text)
	if err != nil {
		return nil, err
	}
	want := map[int64]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		i, _ := strconv.ParseInt(f[0], 10, 64)
		if h, ok := want[i]; ok && h != f[1] {
			return nil, fmt.Errorf("index %d acknowledged for two claims", i)
		}
		want[i] = f[1]
	}
	lost := 0
	bundles := map[int64][][]byte{}
	for i, h := range want {
		if i >= tree.Size {
			lost++
			continue
		}
		bn := i / c2sp.TileWidth
		entries, ok := bundles[bn]
		if !ok {
			w := c2sp.TileWidth
			if (bn+1)*c2sp.TileWidth > tree.Size {
				w = int(tree.Size - bn*c2sp.TileWidth)
			}
			b, err := cl.Tile(ctx, tlog.Tile{H: 8, L: -1, N: bn, W: w})
			if err != nil {
				return nil, err
			}
			if entries, err = c2sp.SplitBundle(b); err != nil {
				return nil, err
			}
			bundles[bn] = entries
		}
		got := sha256.Sum256(entries[i%c2sp.TileWidth])
		if hex.EncodeToString(got[:]) != h {
			lost++
		}
	}
	res := map[string]any{"acknowledged": len(want), "treeSize": tree.Size, "lost": lost}
	if lost > 0 {
		json.NewEncoder(os.Stdout).Encode(res)
		return nil, fmt.Errorf("%d acknowledged claims are not in the log at their index", lost)
	}
	return res, nil
}
