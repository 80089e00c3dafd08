package witness_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"
	"github.com/nix-community/go-nix/pkg/nixbase32"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/nixgate/nixgate/internal/claim"
	"github.com/nixgate/nixgate/internal/claimlog"
	"github.com/nixgate/nixgate/internal/fuzzlimit"
	c2sp "github.com/nixgate/nixgate/internal/tlog"
	"github.com/nixgate/nixgate/internal/witness"
)

func seed(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func cosignerKey(t *testing.T, name string) (*c2sp.Cosigner, ed25519.PrivateKey) {
	t.Helper()
	k := ed25519.NewKeyFromSeed(seed(name))
	tw, err := torchwood.NewCosignatureSigner(name, k)
	if err != nil {
		t.Fatal(err)
	}
	skey := fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, tw.KeyHash(), base64.StdEncoding.EncodeToString(append([]byte{4}, seed(name)...)))
	c, err := c2sp.NewCosigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

// TestCosignatureInterop checks cosignature/v1 against torchwood's
// implementation: the same vkey, and each verifies the other's signatures.
func TestCosignatureInterop(t *testing.T) {
	c, k := cosignerKey(t, "witness.example/w1")
	tw, _ := torchwood.NewCosignatureSigner("witness.example/w1", k)
	if c.Vkey() != tw.Verifier().String() {
		t.Fatalf("vkey %s, torchwood %s", c.Vkey(), tw.Verifier().String())
	}
	logKey, _, _ := c2sp.GenerateLogKey("log.example/x")
	ls, _ := c2sp.NewLogSigner(logKey)
	text := c2sp.Checkpoint{Origin: "log.example/x", Size: 3, Hash: tlog.Hash(seed("root"))}.Text()
	mine, err := note.Sign(&note.Note{Text: text}, ls, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(mine, note.VerifierList(tw.Verifier())); err != nil {
		t.Errorf("torchwood does not verify nixgate's cosignature: %v", err)
	}
	theirs, err := note.Sign(&note.Note{Text: text}, ls, tw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := c2sp.NewCosignatureVerifier(c.Vkey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(theirs, note.VerifierList(v)); err != nil {
		t.Errorf("nixgate does not verify torchwood's cosignature: %v", err)
	}
}

type env struct {
	t       *testing.T
	dbPath  string
	logKey  *c2sp.LogSigner
	builder claim.SecretKey
	w       *witness.Witness
	wsrv    *httptest.Server
	wv      *c2sp.CosignatureVerifier
	log     *claimlog.Server
	store   *claimlog.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	skey, _, err := c2sp.GenerateLogKey("log.example/witnessed")
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := c2sp.NewLogSigner(skey)
	cs, _ := cosignerKey(t, "witness.example/w1")
	w, err := witness.New(context.Background(), cs, []string{ls.Vkey()}, filepath.Join(dir, "witness.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	wv, _ := c2sp.NewCosignatureVerifier(cs.Vkey())
	e := &env{t: t, dbPath: filepath.Join(dir, "log.db"), logKey: ls, w: w, wsrv: httptest.NewServer(w.Handler()), wv: wv}
	e.builder, _ = claim.ParseSecretKey("b-1:" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed("b"))))
	t.Cleanup(func() {
		e.stopLog()
		e.wsrv.Close()
		w.Close()
	})
	return e
}

func (e *env) startLog() {
	e.t.Helper()
	ctx := context.Background()
	st, err := claimlog.OpenStore(ctx, "sqlite://"+e.dbPath)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := st.AddBuilder(ctx, e.builder.Name, e.builder.Public().String()); err != nil {
		e.t.Fatal(err)
	}
	srv, err := claimlog.NewServer(ctx, claimlog.Config{Store: st, Signer: e.logKey,
		Witnesses: []*witness.Client{{URL: e.wsrv.URL, Verifier: e.wv}}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.log, e.store = srv, st
}

func (e *env) stopLog() {
	if e.log != nil {
		e.log.Close()
		e.store.Close()
		e.log = nil
	}
}

func (e *env) submit(names ...string) int64 {
	e.t.Helper()
	var size int64
	for _, n := range names {
		c, err := claim.New(claim.Facts{StorePath: "/nix/store/" + nixbase32.EncodeToString(seed(n)[:20]) + "-" + n,
			NarHash: "sha256:" + nixbase32.EncodeToString(seed(n+"nar")), NarSize: 1}, e.builder)
		if err != nil {
			e.t.Fatal(err)
		}
		a, err := e.log.Sequencer().Submit(context.Background(), c)
		if err != nil {
			e.t.Fatal(err)
		}
		size = a.TreeSize
	}
	return size
}

// waitCosigned waits until the log publishes a checkpoint of size with
// the witness's cosignature.
func (e *env) waitCosigned(size int64) []byte {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cp, n := e.log.Published(); n == size && strings.Contains(string(cp), "— witness.example/w1 ") {
			return cp
		}
	}
	_, n := e.log.Published()
	e.t.Fatalf("published %d, want %d cosigned", n, size)
	return nil
}

func (e *env) post(body string) (int, string, string) {
	e.t.Helper()
	resp, err := http.Post(e.wsrv.URL+"/add-checkpoint", "text/plain", strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// logOnly strips cosignatures from a published checkpoint.
func logOnly(cp []byte) string {
	s := string(cp)
	if i := strings.Index(s, "— witness."); i >= 0 {
		s = s[:i]
	}
	return s
}

// TestWitnessProtocol exercises every status of add-checkpoint against a
// log that asks the witness to cosign its checkpoints.
func TestWitnessProtocol(t *testing.T) {
	e := newEnv(t)
	e.startLog()
	e.submit("a", "b", "c")
	cp3 := e.waitCosigned(3)
	if _, err := note.Open(cp3, note.VerifierList(e.logKey.Verifier(), e.wv)); err != nil {
		t.Fatal(err)
	}
	e.submit("d", "e")
	cp5 := e.waitCosigned(5)

	// 409: a stale old size, with the witness's size in the body.
	code, ctype, body := e.post("old 3\n\n" + logOnly(cp5))
	if code != 409 || ctype != "text/x.tlog.size" || body != "5\n" {
		t.Errorf("stale old size: %d %s %q, want 409 text/x.tlog.size \"5\\n\"", code, ctype, body)
	}
	e.submit("f", "g")
	e.waitCosigned(7)
	e.stopLog()
	// 422: a checkpoint of size 8 signed by the log, with a bad proof.
	text8 := c2sp.Checkpoint{Origin: "log.example/witnessed", Size: 8, Hash: tlog.Hash(seed("r8"))}.Text()
	n8, _ := note.Sign(&note.Note{Text: text8}, e.logKey)
	if code, _, body := e.post("old 7\n" + base64.StdEncoding.EncodeToString(seed("x")) + "\n\n" + string(n8)); code != 422 {
		t.Errorf("bad consistency proof: %d %s, want 422", code, body)
	}
	if code, _, body := e.post("old 7\n\n" + string(n8)); code != 422 {
		t.Errorf("missing consistency proof: %d %s, want 422", code, body)
	}
	// 422: same size, another root.
	text7 := c2sp.Checkpoint{Origin: "log.example/witnessed", Size: 7, Hash: tlog.Hash(seed("other root"))}.Text()
	n7, _ := note.Sign(&note.Note{Text: text7}, e.logKey)
	if code, _, body := e.post("old 7\n\n" + string(n7)); code != 422 {
		t.Errorf("same size, other root: %d %s, want 422", code, body)
	}
	// 422: a size-0 checkpoint whose root is not the empty tree's.
	text0 := c2sp.Checkpoint{Origin: "log.example/witnessed", Size: 0, Hash: tlog.Hash(seed("x"))}.Text()
	n0, _ := note.Sign(&note.Note{Text: text0}, e.logKey)
	if code, _, _ := e.post("old 0\n\n" + string(n0)); code != 422 && code != 409 {
		t.Errorf("size 0 with a root: %d, want 422 (or 409 for the stale size)", code)
	}
	// 400: old size above the checkpoint size.
	if code, _, _ := e.post("old 9\n\n" + string(n8)); code != 400 {
		t.Errorf("old above size: %d, want 400", code)
	}
	// 400: malformed bodies.
	for _, b := range []string{"", "old 07\n\n" + string(n8), "old 7\nnot base64\n\n" + string(n8), "old 7\n" + string(n8)} {
		if code, _, _ := e.post(b); code != 400 {
			t.Errorf("malformed %q: %d, want 400", b[:min(len(b), 12)], code)
		}
	}
	// 404: unknown origin.
	other, _, _ := c2sp.GenerateLogKey("log.example/unknown")
	os, _ := c2sp.NewLogSigner(other)
	nu, _ := note.Sign(&note.Note{Text: c2sp.Checkpoint{Origin: "log.example/unknown", Size: 1, Hash: tlog.Hash(seed("x"))}.Text()}, os)
	if code, _, _ := e.post("old 0\n\n" + string(nu)); code != 404 {
		t.Errorf("unknown origin: %d, want 404", code)
	}
	// 403: the origin is known, the signature is by another key.
	impostor, _, _ := c2sp.GenerateLogKey("log.example/witnessed")
	is, _ := c2sp.NewLogSigner(impostor)
	ni, _ := note.Sign(&note.Note{Text: text8}, is)
	if code, _, _ := e.post("old 7\n\n" + string(ni)); code != 403 {
		t.Errorf("signature by another key: %d, want 403", code)
	}
	// The monitoring checkpoint carries the log's and the witness's
	// signatures of the latest cosigned size.
	h := sha256.Sum256([]byte("log.example/witnessed"))
	resp, err := http.Get(e.wsrv.URL + "/" + hex.EncodeToString(h[:]) + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	mon, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	c, n, err := c2sp.OpenCheckpoint(mon, e.logKey.Verifier(), e.wv)
	if err != nil || c.Size != 7 || len(n.Sigs) != 2 {
		t.Errorf("monitoring checkpoint: size %d, %v, %s", c.Size, err, mon)
	}
}

// TestWitnessRefusesFork rewinds the log's database to an earlier copy and
// lets the log append other claims: the witness refuses the forked
// checkpoints (422 for an inconsistent proof, the same size with another
// root, and a tree smaller than it has cosigned), so they never get
// published with a cosignature.
func TestWitnessRefusesFork(t *testing.T) {
	e := newEnv(t)
	e.startLog()
	e.submit("a", "b", "c", "d", "e")
	e.waitCosigned(5)
	e.stopLog()
	backup := t.TempDir()
	copyDB(t, e.dbPath, backup)
	e.startLog()
	e.submit("f", "g", "h", "i", "j")
	good := e.waitCosigned(10)
	e.stopLog()

	// Rewind, then grow to the same size with other claims, then beyond.
	copyDB(t, filepath.Join(backup, filepath.Base(e.dbPath)), filepath.Dir(e.dbPath))
	e.startLog()
	for _, size := range []int64{10, 12} {
		var names []string
		for i := range 5 {
			names = append(names, fmt.Sprintf("fork-%d-%d", size, i))
		}
		if size == 12 {
			names = names[:2]
		}
		e.submit(names...)
		time.Sleep(300 * time.Millisecond)
		cosigs, err := e.store.Cosignatures(context.Background(), size)
		if err != nil {
			t.Fatal(err)
		}
		if len(cosigs) != 0 {
			t.Fatalf("the witness cosigned the forked tree of size %d", size)
		}
		if _, n := e.log.Published(); n != 5 {
			t.Fatalf("the forked log published size %d with cosignatures", n)
		}
	}
	// The witness still holds the original size-10 checkpoint.
	h := sha256.Sum256([]byte("log.example/witnessed"))
	resp, err := http.Get(e.wsrv.URL + "/" + hex.EncodeToString(h[:]) + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	mon, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(mon), logOnly(good)[:strings.Index(logOnly(good), "\n\n")]) {
		t.Errorf("the witness's checkpoint changed:\n%s", mon)
	}
}

func copyDB(t *testing.T, src, dstDir string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(src + suffix)
		if os.IsNotExist(err) {
			os.Remove(filepath.Join(dstDir, filepath.Base(src)+suffix))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dstDir, filepath.Base(src)+suffix), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzParseRequest: an add-checkpoint body never panics the parser, which
// keeps at most 63 proof lines.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("old 0\n\nlog.example/x\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— log.example/x AAAA\n"))
	f.Add([]byte("old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzlimit.Default(t, func() {
			r, err := witness.ParseRequest(b)
			if err == nil && (len(r.Proof) > 63 || r.OldSize < 0) {
				t.Errorf("%+v", r)
			}
		})
	})
}
