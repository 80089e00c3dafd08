package claimlog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nix-community/go-nix/pkg/nixbase32"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/nixgate/nixgate/internal/claim"
	"github.com/nixgate/nixgate/internal/pgtest"
	c2sp "github.com/nixgate/nixgate/internal/tlog"
)

var pg *pgtest.Cluster

func TestMain(m *testing.M) {
	var err error
	pg, err = pgtest.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start PostgreSQL:", err)
		os.Exit(1)
	}
	code := m.Run()
	if err := pg.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// stores returns a fresh SQLite and a fresh PostgreSQL database URL.
func stores(t *testing.T) map[string]string {
	t.Helper()
	u, err := pg.NewDatabase()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"sqlite":   "sqlite://" + filepath.Join(t.TempDir(), "log.db"),
		"postgres": u,
	}
}

func seed(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// testLogKey is a deterministic log key, so that two runs sign the same
// checkpoints.
func testLogKey(t testing.TB, origin string) *c2sp.LogSigner {
	t.Helper()
	pub := ed25519.NewKeyFromSeed(seed(origin)).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(origin, pub)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Split(vkey, "+")[1]
	skey := fmt.Sprintf("PRIVATE+KEY+%s+%s+%s", origin, id, base64.StdEncoding.EncodeToString(append([]byte{1}, seed(origin)...)))
	s, err := c2sp.NewLogSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testBuilder is a deterministic Nix key pair.
func testBuilder(t testing.TB, name string) claim.SecretKey {
	t.Helper()
	k, err := claim.ParseSecretKey(name + ":" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed(name))))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// storePath makes a syntactically valid store path.
func storePath(name string) string {
	return "/nix/store/" + nixbase32.EncodeToString(seed(name)[:20]) + "-" + name
}

func narHash(content string) string { return "sha256:" + nixbase32.EncodeToString(seed(content)) }

func newClaim(t testing.TB, k claim.SecretKey, path, content string) *claim.Claim {
	t.Helper()
	c, err := claim.New(claim.Facts{StorePath: storePath(path), NarHash: narHash(content), NarSize: uint64(len(content)) + 100,
		References: []string{storePath("glibc"), storePath(path)}, Deriver: storePath(path + ".drv")}, k)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type testLog struct {
	srv    *Server
	http   *httptest.Server
	client *Client
	signer *c2sp.LogSigner
	store  *Store
}

func startLog(t *testing.T, dbURL string, cfg Config, builders ...claim.SecretKey) *testLog {
	t.Helper()
	ctx := context.Background()
	st, err := OpenStore(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range builders {
		if err := st.AddBuilder(ctx, b.Name, b.Public().String()); err != nil {
			t.Fatal(err)
		}
	}
	if cfg.Signer == nil {
		cfg.Signer = testLogKey(t, "log.example/nixgate")
	}
	cfg.Store = st
	srv, err := NewServer(ctx, cfg)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	cl, _ := NewClient(hs.URL)
	l := &testLog{srv: srv, http: hs, client: cl, signer: cfg.Signer, store: st}
	t.Cleanup(l.close)
	return l
}

func (l *testLog) close() {
	if l.http == nil {
		return
	}
	l.http.Close()
	l.srv.Close()
	l.store.Close()
	l.http = nil
}

// waitPublished waits until the served checkpoint has the given size.
func (l *testLog) waitPublished(t *testing.T, size int64) []byte {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cp, n := l.srv.Published(); n == size {
			return cp
		}
	}
	_, n := l.srv.Published()
	t.Fatalf("published size %d, want %d", n, size)
	return nil
}

// TestLogScenario runs the same submissions on SQLite and on PostgreSQL:
// acknowledgements, duplicates, equivocation, proofs that verify, and
// checkpoints that are byte-identical between the two databases.
func TestLogScenario(t *testing.T) {
	a, b, c := testBuilder(t, "builder-a-1"), testBuilder(t, "builder-b-1"), testBuilder(t, "builder-c-1")
	checkpoints := map[string][][]byte{}
	for kind, dbURL := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			l := startLog(t, dbURL, Config{}, a, b, c)
			ctx := context.Background()
			v := l.signer.Verifier()
			var seen [][]byte
			submit := func(cl *claim.Claim, wantIndex int64, wantDup bool) {
				t.Helper()
				ack, err := l.client.Submit(ctx, cl)
				if err != nil {
					t.Fatal(err)
				}
				if ack.Index != wantIndex || ack.Duplicate != wantDup {
					t.Fatalf("ack %+v, want index %d duplicate %v", ack, wantIndex, wantDup)
				}
				cp := l.waitPublished(t, ack.TreeSize)
				seen = append(seen, cp)
			}
			submit(newClaim(t, a, "hello-2.12", "hello"), 0, false)
			submit(newClaim(t, b, "hello-2.12", "hello"), 1, false)
			submit(newClaim(t, c, "hello-2.12", "hello, differently"), 2, false)
			submit(newClaim(t, a, "hello-2.12", "hello"), 0, true) // replay: idempotent
			submit(newClaim(t, a, "hello-2.12", "hello, again"), 3, false)
			for i := range 300 {
				submit(newClaim(t, b, fmt.Sprintf("pkg-%d", i), "x"), int64(4+i), false)
			}
			checkpoints[kind] = seen

			cp, err := l.client.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			tree, _, err := c2sp.OpenCheckpoint(cp, v)
			if err != nil {
				t.Fatal(err)
			}
			if tree.Size != 304 {
				t.Fatalf("checkpoint size %d, want 304", tree.Size)
			}
			resp, err := l.client.Claims(ctx, storePath("hello-2.12"))
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Claims) != 4 {
				t.Fatalf("%d claims for hello, want 4", len(resp.Claims))
			}
			for _, cl := range resp.Claims {
				var p tlog.RecordProof
				for _, h := range cl.Proof {
					hh, err := c2sp.ParseHash(h)
					if err != nil {
						t.Fatal(err)
					}
					p = append(p, hh)
				}
				if err := c2sp.CheckInclusion(tree, cl.Index, p, []byte(cl.Claim)); err != nil {
					t.Errorf("claim %d: %v", cl.Index, err)
				}
			}
			eq, err := l.store.Equivocations(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(eq) != 1 || eq[0].Builder != a.Name || fmt.Sprint(eq[0].Indexes) != "[0 3]" {
				t.Errorf("equivocations %+v, want builder-a-1 at [0 3]", eq)
			}
			// Consistency between every pair of seen checkpoints.
			var prev c2sp.Checkpoint
			for i, n := range seen {
				cur, _, err := c2sp.OpenCheckpoint(n, v)
				if err != nil {
					t.Fatal(err)
				}
				if i > 0 && cur.Size > prev.Size {
					p, err := l.client.Consistency(ctx, prev.Size, cur.Size)
					if err != nil {
						t.Fatal(err)
					}
					if err := tlog.CheckTree(p, cur.Size, cur.Hash, prev.Size, prev.Hash); err != nil {
						t.Fatalf("consistency %d -> %d: %v", prev.Size, cur.Size, err)
					}
				}
				prev = cur
			}
			// A tlog-proof for a claim verifies offline.
			pf, err := l.client.TLogProof(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			p, err := c2sp.ParseProof(pf)
			if err != nil {
				t.Fatal(err)
			}
			pc, _, err := c2sp.OpenCheckpoint(p.Checkpoint, v)
			if err != nil {
				t.Fatal(err)
			}
			if err := c2sp.CheckInclusion(pc, p.Index, p.Inclusion, p.Extra); err != nil {
				t.Fatal(err)
			}
		})
	}
	if s, p := checkpoints["sqlite"], checkpoints["postgres"]; len(s) != len(p) || len(s) == 0 {
		t.Fatalf("%d and %d checkpoints", len(s), len(p))
	} else {
		for i := range s {
			if !bytes.Equal(s[i], p[i]) {
				t.Fatalf("checkpoint %d differs between SQLite and PostgreSQL:\n%s\n%s", i, s[i], p[i])
			}
		}
	}
}

// TestRefusals sends forged, malformed, oversized and rate-limited
// submissions: each gets its 4xx and reason, and nothing is stored.
func TestRefusals(t *testing.T) {
	a, b := testBuilder(t, "builder-a-1"), testBuilder(t, "builder-b-1")
	stranger := testBuilder(t, "stranger-1")
	for kind, dbURL := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			l := startLog(t, dbURL, Config{Rate: 1}, a, b)
			ctx := context.Background()
			good := newClaim(t, a, "hello-2.12", "hello")
			forged := *good
			forged.Sig = newClaim(t, a, "hello-2.12", "evil").Sig // a's signature over another NAR
			forged.Builder = a.Name
			impostor := newClaim(t, stranger, "hello-2.12", "hello")
			renamed := *newClaim(t, b, "hello-2.12", "hello")
			renamed.Builder = a.Name // b's signature under a's name
			renamed.Sig = a.Name + ":" + strings.SplitN(renamed.Sig, ":", 2)[1]
			cases := []struct {
				name   string
				body   []byte
				code   int
				reason string
			}{
				{"forged", forged.Marshal(), 403, ReasonBadSig},
				{"renamed", renamed.Marshal(), 403, ReasonBadSig},
				{"unknown key", impostor.Marshal(), 403, ReasonUnknownKey},
				{"malformed", []byte("nixgate build-claim v1\nfingerprint 1;/nix/store/x;;;\n"), 400, ReasonMalformed},
				{"not a claim", []byte("GET / HTTP/1.0\r\n\r\n"), 400, ReasonMalformed},
				{"empty", nil, 400, ReasonMalformed},
				{"oversized", bytes.Repeat([]byte("x"), claim.MaxSize+1), 413, ReasonTooLarge},
			}
			for _, tc := range cases {
				_, err := l.client.SubmitRaw(ctx, tc.body)
				var se *StatusError
				if !errors.As(err, &se) || se.Code != tc.code || !strings.Contains(se.Reason, tc.reason) {
					t.Errorf("%s: %v, want %d %s", tc.name, err, tc.code, tc.reason)
				}
			}
			if n, _ := l.store.ClaimCount(ctx); n != 0 {
				t.Fatalf("%d claims stored after refusals", n)
			}
			// Rate: 1/s with a burst of 2; of 12 claims in a row, some are
			// refused however slow the machine.
			limited := 0
			for i := range 12 {
				_, err := l.client.Submit(ctx, newClaim(t, a, fmt.Sprintf("p%d", i), "x"))
				var se *StatusError
				if errors.As(err, &se) && se.Code == http.StatusTooManyRequests {
					limited++
				} else if err != nil {
					t.Fatal(err)
				}
			}
			if limited == 0 {
				t.Error("no submission was rate limited")
			}
			if _, err := l.client.Submit(ctx, newClaim(t, b, "other", "x")); err != nil {
				t.Errorf("another builder is limited too: %v", err)
			}
		})
	}
}

// TestRestart checks that a restarted log continues where it stopped, and
// that a log whose tiles no longer give the checkpoint's root refuses to
// start.
func TestRestart(t *testing.T) {
	a := testBuilder(t, "builder-a-1")
	for kind, dbURL := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			l := startLog(t, dbURL, Config{}, a)
			for i := range 700 {
				if _, err := l.client.Submit(ctx, newClaim(t, a, fmt.Sprintf("p%d", i), "x")); err != nil {
					t.Fatal(err)
				}
			}
			l.close()
			l = startLog(t, dbURL, Config{}, a)
			ack, err := l.client.Submit(ctx, newClaim(t, a, "after-restart", "x"))
			if err != nil || ack.Index != 700 {
				t.Fatalf("after restart: %+v %v", ack, err)
			}
			l.close()
			st, err := OpenStore(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			d, _ := st.Tile(ctx, 0, 2)
			d[0] ^= 1
			if _, err := st.db.ExecContext(ctx, st.q(`UPDATE tiles SET data = ? WHERE level = 0 AND idx = 2`), d); err != nil {
				t.Fatal(err)
			}
			_, err = NewSequencer(ctx, st, testLogKey(t, "log.example/nixgate"), nil)
			st.Close()
			if err == nil || !strings.Contains(err.Error(), "the tiles give the root") {
				t.Fatalf("a corrupted tile: %v", err)
			}
		})
	}
}

// TestDuplicatesInOneBatch submits the same claim from many goroutines at
// once: one index, one non-duplicate acknowledgement, one row.
func TestDuplicatesInOneBatch(t *testing.T) {
	a := testBuilder(t, "builder-a-1")
	for kind, dbURL := range stores(t) {
		t.Run(kind, func(t *testing.T) {
			l := startLog(t, dbURL, Config{}, a)
			c := newClaim(t, a, "same", "x")
			acks := make(chan Ack, 50)
			var wg sync.WaitGroup
			for range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ack, err := l.srv.seq.Submit(context.Background(), c)
					if err != nil {
						t.Error(err)
					}
					acks <- ack
				}()
			}
			wg.Wait()
			close(acks)
			fresh := 0
			for ack := range acks {
				if ack.Index != 0 {
					t.Errorf("ack %+v", ack)
				}
				if !ack.Duplicate {
					fresh++
				}
			}
			if n, _ := l.store.ClaimCount(context.Background()); fresh != 1 || n != 1 {
				t.Errorf("%d fresh acknowledgements, %d rows", fresh, n)
			}
		})
	}
}
