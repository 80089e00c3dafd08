package trust_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nix-community/go-nix/pkg/nixbase32"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/claim"
	"github.com/nixgate/nixgate/internal/claimlog"
	c2sp "github.com/nixgate/nixgate/internal/tlog"
	"github.com/nixgate/nixgate/internal/trust"
	"github.com/nixgate/nixgate/internal/witness"
)

func seed(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func nixKey(t *testing.T, name string) claim.SecretKey {
	t.Helper()
	k, err := claim.ParseSecretKey(name + ":" + base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(seed(name))))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func storePath(name string) string {
	return "/nix/store/" + nixbase32.EncodeToString(seed(name)[:20]) + "-" + name
}

// world is a log with one witness and three builders.
type world struct {
	t        *testing.T
	dir      string
	logKey   *c2sp.LogSigner
	cosigner *c2sp.Cosigner
	w        *witness.Witness
	wsrv     *httptest.Server
	a, b, c  claim.SecretKey
	log      *claimlog.Server
	store    *claimlog.Store
	hs       *httptest.Server
	policy   *c2sp.Policy
	quorum   bool
}

func newWorld(t *testing.T, quorum bool) *world {
	t.Helper()
	dir := t.TempDir()
	skey, _, err := c2sp.GenerateLogKey("log.example/trust")
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := c2sp.NewLogSigner(skey)
	wskey, _, _ := c2sp.GenerateCosignerKey("witness.example/w1")
	cs, _ := c2sp.NewCosigner(wskey)
	w, err := witness.New(context.Background(), cs, []string{ls.Vkey()}, filepath.Join(dir, "witness.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	x := &world{t: t, dir: dir, logKey: ls, cosigner: cs, w: w, wsrv: httptest.NewServer(w.Handler()),
		a: nixKey(t, "builder-a-1"), b: nixKey(t, "builder-b-1"), c: nixKey(t, "builder-c-1"), quorum: quorum}
	q := "quorum w1"
	if !quorum {
		q = "quorum none"
	}
	pol := fmt.Sprintf("# test policy\nlog %s\nwitness w1 %s %s\n%s\nbuilder A %s\nbuilder B %s\nbuilder C %s\nbuilder-group builders 2 A B C\ntrust builders\n",
		ls.Vkey(), cs.Vkey(), x.wsrv.URL, q, x.a.Public(), x.b.Public(), x.c.Public())
	if x.policy, err = c2sp.ParsePolicy([]byte(pol)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "policy"), []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		x.stop()
		x.wsrv.Close()
		w.Close()
	})
	return x
}

func (x *world) start() {
	x.t.Helper()
	ctx := context.Background()
	st, err := claimlog.OpenStore(ctx, "sqlite://"+filepath.Join(x.dir, "log.db"))
	if err != nil {
		x.t.Fatal(err)
	}
	for _, k := range []claim.SecretKey{x.a, x.b, x.c} {
		if err := st.AddBuilder(ctx, k.Name, k.Public().String()); err != nil {
			x.t.Fatal(err)
		}
	}
	var ws []*witness.Client
	if x.quorum {
		ws = []*witness.Client{{URL: x.wsrv.URL, Verifier: x.policy.Witnesses[0].Verifier}}
	}
	srv, err := claimlog.NewServer(ctx, claimlog.Config{Store: st, Signer: x.logKey, Witnesses: ws})
	if err != nil {
		x.t.Fatal(err)
	}
	x.log, x.store, x.hs = srv, st, httptest.NewServer(srv.Handler())
}

func (x *world) stop() {
	if x.log != nil {
		x.hs.Close()
		x.log.Close()
		x.store.Close()
		x.log = nil
	}
}

func (x *world) claim(k claim.SecretKey, path, content string) {
	x.t.Helper()
	c, err := claim.New(claim.Facts{StorePath: storePath(path), NarHash: "sha256:" + nixbase32.EncodeToString(seed(content)),
		NarSize: 1000, References: []string{storePath(path)}}, k)
	if err != nil {
		x.t.Fatal(err)
	}
	a, err := x.log.Sequencer().Submit(context.Background(), c)
	if err != nil {
		x.t.Fatal(err)
	}
	x.waitPublished(a.TreeSize)
}

func (x *world) waitPublished(size int64) {
	x.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, n := x.log.Published(); n >= size {
			return
		}
	}
	x.t.Fatalf("size %d not published", size)
}

// scenario: hello (A, B agree, C differs), solo (only A), equiv (A claims
// two NARs, B one of them).
func (x *world) scenario() {
	x.claim(x.a, "hello", "hello")
	x.claim(x.b, "hello", "hello")
	x.claim(x.c, "hello", "hello, another way")
	x.claim(x.a, "solo", "solo")
	x.claim(x.a, "equiv", "one")
	x.claim(x.b, "equiv", "one")
	x.claim(x.a, "equiv", "two")
}

func findings(ev *trust.Evaluation) map[string][]string {
	res := check.Run(context.Background(), checks.InScope(check.ScopeTrust), nil, check.Target{Input: ev}, nil)
	out := map[string][]string{}
	for _, f := range res.Findings {
		out[f.CheckID] = append(out[f.CheckID], f.Location.Path)
	}
	for _, e := range res.Errors {
		out["error"] = append(out["error"], e.Error)
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

func byPath(ev *trust.Evaluation) map[string]trust.PathDecision {
	m := map[string]trust.PathDecision{}
	for _, d := range ev.Paths {
		m[strings.SplitN(d.StorePath, "-", 2)[1]] = d
	}
	return m
}

func checkScenario(t *testing.T, ev *trust.Evaluation) {
	t.Helper()
	d := byPath(ev)
	hello := d["hello"]
	if !hello.Trusted || len(hello.Groups) != 2 || !slices.Equal(hello.Groups[0].Builders, []string{"A", "B"}) || !slices.Equal(hello.Groups[1].Builders, []string{"C"}) {
		t.Errorf("hello: %+v, want trusted by A and B with C disagreeing", hello)
	}
	if solo := d["solo"]; solo.Trusted || !slices.Equal(solo.Abstaining, []string{"B", "C"}) {
		t.Errorf("solo: %+v, want not trusted, B and C abstaining", solo)
	}
	eq := d["equiv"]
	if eq.Trusted || len(eq.Equivocating) != 1 || eq.Equivocating[0].Builder != "A" || len(eq.Equivocating[0].Claims) != 2 {
		t.Fatalf("equiv: %+v, want A equivocating with two claims", eq)
	}
	for _, c := range eq.Equivocating[0].Claims {
		if len(c.Proof) == 0 || c.TreeSize == 0 {
			t.Errorf("equivocating claim %d has no inclusion proof", c.Index)
		}
	}
	got := findings(ev)
	want := map[string][]string{
		"trust-disagreement": {storePath("hello")},
		"trust-equivocation": {storePath("equiv")},
		"trust-k-of-n":       {storePath("equiv"), storePath("solo")},
	}
	slices.Sort(want["trust-k-of-n"])
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	// What cache verify --log asks: the trusted fingerprint matches.
	if !hello.Matches(hello.Groups[0].Fingerprint) || hello.Matches(hello.Groups[1].Fingerprint) {
		t.Error("Matches does not follow the decision")
	}
}

func paths() []string { return []string{storePath("hello"), storePath("solo"), storePath("equiv")} }

// TestDecideOnline decides the scenario from a log over HTTP, its
// checkpoint cosigned by a witness the policy requires.
func TestDecideOnline(t *testing.T) {
	x := newWorld(t, true)
	x.start()
	x.scenario()
	ev, err := trust.Decide(context.Background(), trust.Options{Policy: x.policy, LogURL: x.hs.URL, Paths: paths(), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Checkpoints) == 0 || !ev.Checkpoints[0].Valid || !slices.Equal(ev.Checkpoints[0].Cosigners, []string{"w1"}) {
		t.Fatalf("checkpoint: %+v", ev.Checkpoints)
	}
	checkScenario(t, ev)
}

// writeProofs saves the tlog-proof of every claim in the log.
func (x *world) writeProofs(dir string) map[string]string {
	x.t.Helper()
	_, size := x.log.Published()
	files := map[string]string{}
	for i := int64(0); i < size; i++ {
		b, err := x.log.TLogProof(context.Background(), i)
		if err != nil {
			x.t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("%d.tlog-proof", i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			x.t.Fatal(err)
		}
		files[fmt.Sprint(i)] = p
	}
	return files
}

// TestDecideOffline decides the same scenario from tlog-proof files, and
// checks that flipping any one bit of a counted proof makes the path
// untrusted and reported.
func TestDecideOffline(t *testing.T) {
	x := newWorld(t, true)
	x.start()
	x.scenario()
	dir := t.TempDir()
	x.writeProofs(dir)
	ev, err := trust.Decide(context.Background(), trust.Options{Policy: x.policy, ProofsDir: dir, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	checkScenario(t, ev)

	// Bit flips in A's proof for hello, with B's beside it: 2 of 3 needs
	// both.
	flip := t.TempDir()
	orig, _ := os.ReadFile(filepath.Join(dir, "0.tlog-proof"))
	b1, _ := os.ReadFile(filepath.Join(dir, "1.tlog-proof"))
	os.WriteFile(filepath.Join(flip, "1.tlog-proof"), b1, 0o644)
	target := filepath.Join(flip, "0.tlog-proof")
	os.WriteFile(target, orig, 0o644)
	if ev, err := trust.Decide(context.Background(), trust.Options{Policy: x.policy, ProofsDir: flip, Paths: []string{storePath("hello")}}); err != nil || ev.Failed() {
		t.Fatalf("unflipped: %v %+v", err, ev)
	}
	for i := range len(orig) * 8 {
		b := append([]byte(nil), orig...)
		b[i/8] ^= 1 << (i % 8)
		if err := os.WriteFile(target, b, 0o644); err != nil {
			t.Fatal(err)
		}
		ev, err := trust.Decide(context.Background(), trust.Options{Policy: x.policy, ProofsDir: flip, Paths: []string{storePath("hello")}})
		if err != nil {
			t.Fatalf("bit %d: %v", i, err)
		}
		if ev.Paths[0].Trusted || !ev.Failed() {
			t.Fatalf("flipping bit %d of byte %d (%q) still trusts hello", i%8, i/8, orig[i/8])
		}
		if f := findings(ev); len(f["log-proof"])+len(f["log-checkpoint"]) == 0 {
			t.Fatalf("bit %d: no log-proof or log-checkpoint finding: %v", i, f)
		}
	}
}

// TestQuorumNotMet decides from a log whose witness never cosigned: the
// checkpoint is refused and nothing is trusted.
func TestQuorumNotMet(t *testing.T) {
	x := newWorld(t, false)
	x.start()
	x.scenario()
	pol := strings.Replace(mustRead(t, filepath.Join(x.dir, "policy")), "quorum none", "quorum w1", 1)
	p, err := c2sp.ParsePolicy([]byte(pol))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := trust.Decide(context.Background(), trust.Options{Policy: p, LogURL: x.hs.URL, Paths: paths()})
	if err != nil {
		t.Fatal(err)
	}
	f := findings(ev)
	if len(f["log-checkpoint"]) == 0 || len(f["trust-k-of-n"]) != 3 {
		t.Errorf("findings %v, want log-checkpoint and 3 untrusted paths", f)
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func copyDB(t *testing.T, src, dst string) {
	t.Helper()
	for _, s := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(src + s)
		if os.IsNotExist(err) {
			os.Remove(dst + s)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+s, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestForkAndRollback keeps the client's state across runs and rewinds
// the log's database: a smaller tree is a rollback, the same size with
// another root and a larger tree that does not extend the saved one are
// forks; each is reported and the state is not overwritten.
func TestForkAndRollback(t *testing.T) {
	x := newWorld(t, false)
	x.start()
	state := t.TempDir()
	decide := func() *trust.Evaluation {
		t.Helper()
		ev, err := trust.Decide(context.Background(), trust.Options{Policy: x.policy, LogURL: x.hs.URL, Paths: []string{storePath("hello")}, StateDir: state})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	status := func(ev *trust.Evaluation) string {
		var s []string
		for _, c := range ev.Consistency {
			s = append(s, c.Status)
		}
		return strings.Join(s, ",")
	}
	x.claim(x.a, "hello", "hello")
	x.claim(x.b, "hello", "hello")
	if s := status(decide()); s != "first-seen" {
		t.Fatalf("first run: %s", s)
	}
	x.stop()
	db := filepath.Join(x.dir, "log.db")
	copyDB(t, db, db+".old")
	x.start()
	x.claim(x.c, "other", "x")
	x.claim(x.c, "other2", "x")
	if s := status(decide()); s != "consistent" {
		t.Fatalf("grown log: %s", s)
	}
	saved := mustRead(t, filepath.Join(state, "log", fmt.Sprintf("%x.checkpoint", sha256.Sum256([]byte("log.example/trust")))))

	// Rewind to size 2.
	x.stop()
	copyDB(t, db+".old", db)
	x.start()
	ev := decide()
	if s := status(ev); s != "rollback" || len(findings(ev)["log-consistency"]) != 1 {
		t.Fatalf("rolled back: %s %v", s, findings(ev))
	}
	// The same size (4) with other claims.
	x.claim(x.a, "forked", "x")
	x.claim(x.b, "forked", "x")
	if s := status(decide()); s != "fork" {
		t.Fatalf("same size, other root: %s", s)
	}
	// Larger, still not an extension.
	x.claim(x.b, "forked2", "x")
	ev = decide()
	if s := status(ev); s != "fork" || !ev.Failed() {
		t.Fatalf("larger fork: %s", s)
	}
	if now := mustRead(t, filepath.Join(state, "log", fmt.Sprintf("%x.checkpoint", sha256.Sum256([]byte("log.example/trust"))))); now != saved {
		t.Error("the saved checkpoint was overwritten by a forked one")
	}
}
