package cacheverify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nixgate/nixgate/internal/binarycache"
	"github.com/nixgate/nixgate/internal/cacheverify"
	"github.com/nixgate/nixgate/internal/narinfo"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// verify runs the job with --require 2 over keys a, b, c.
func verify(t *testing.T, f *fixture, uri string, cfg cacheverify.Config) *cacheverify.Result {
	t.Helper()
	s, err := binarycache.Open(uri, binarycache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := narinfo.ParseKeys(f.trusted())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Keys = s, keys
	if cfg.Decider == nil {
		cfg.Decider = &cacheverify.SignaturePolicy{Keys: keys, Require: 2}
	}
	res, err := cacheverify.Run(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// byName maps a result to mutation names.
func byName(f *fixture, res *cacheverify.Result) map[string]*cacheverify.PathResult {
	names := map[string]string{}
	for n, p := range f.paths {
		names[hashOf(p)] = n
	}
	names[renamedHash(f)] = "renamed"
	out := map[string]*cacheverify.PathResult{}
	for _, p := range res.Paths {
		out[names[p.Hash]] = p
	}
	return out
}

func checkVerdicts(t *testing.T, f *fixture, res *cacheverify.Result, scan bool) {
	t.Helper()
	got := byName(f, res)
	if len(got) != len(mutations) {
		t.Errorf("%d paths verified, want %d", len(got), len(mutations))
	}
	for _, m := range mutations {
		want := m.want
		if m.name == "hidden" && !scan {
			want = cacheverify.OK
		}
		p := got[m.name]
		if p == nil {
			t.Errorf("%s: not verified", m.name)
			continue
		}
		if p.Verdict != want {
			t.Errorf("%s: verdict %s (%v), want %s", m.name, p.Verdict, p.Problems, want)
		}
	}
}

// TestMutations verifies the mutated file:// cache: one verdict per path,
// each mutation its code.
func TestMutations(t *testing.T) {
	f, dir := mutatedCache(t)
	res := verify(t, f, "file://"+dir, cacheverify.Config{All: true, ScanReferences: true})
	checkVerdicts(t, f, res, true)
	got := byName(f, res)
	// Details a reader relies on.
	for name, want := range map[string]string{
		"sig-a":         "1 of 2 required distinct trusted key(s) signed: valid key-a; not signed by key-b, key-c",
		"sig-a-x":       "also signed by untrusted key-x",
		"sig-dup":       "1 duplicate Sig line(s) counted once",
		"forged":        "claims the trusted key key-c but does not verify",
		"sig-respelled": "not canonical base64: Nix 2.8 decodes it to a signature by key-a",
		"narsize-plus":  "NarSize says",
		"deep":          "nested deeper than 1024",
		"dotdot":        `entry name ".."`,
		"unsorted":      `entries not sorted: "a" after "b"`,
		"duplicate":     `duplicate entry name "a"`,
		"slash":         `entry name "c/x" contains "/"`,
		"padding":       "non-zero padding",
		"trailing":      "trailing data after the root node (8 bytes)",
		"truncated":     "does not decode",
		"label-zstd":    "labelled zstd but the bytes are xz",
		"url-dotdot":    `climbs out of the cache with ".."`,
		"url-absolute":  "is absolute",
		"needs-gone":    hashOf(f.paths["gone"]),
		"hidden":        "/nix/store/00000000000000000000000000000000",
		"malformed":     "StorePath given twice",
	} {
		if p := got[name]; p == nil || len(p.Problems) == 0 || !strings.Contains(p.Problems[0].Detail, want) {
			t.Errorf("%s: detail %v, want it to contain %q", name, p, want)
		}
	}
	if p := got["padding"]; p != nil && len(p.Problems) > 0 && p.Problems[0].Offset == nil {
		t.Errorf("padding: no byte offset")
	}
	if p := got["malformed"]; p != nil && (p.Problems[0].Pos == nil || p.Problems[0].Pos.Line == 0) {
		t.Errorf("malformed: no line:col")
	}
	// The trust decision says which keys signed and which were required.
	if d := got["sig-a-x"].Trust; d == nil || d.Required != 2 || strings.Join(d.SignedBy, ",") != "key-a,key-x" {
		t.Errorf("sig-a-x trust = %+v", d)
	}
	// Untrusted and forged paths are not downloaded.
	for _, n := range []string{"sig-a", "forged", "sig-none"} {
		if got[n].NarChecked != cacheverify.NarNone {
			t.Errorf("%s: NAR checked (%s) although the path is not trusted", n, got[n].NarChecked)
		}
	}
	if got["lib"].NarChecked != cacheverify.NarFull {
		t.Errorf("lib: NAR checked %s, want full", got["lib"].NarChecked)
	}

	// Without --scan-references, the hidden path is OK.
	res = verify(t, f, "file://"+dir, cacheverify.Config{All: true})
	checkVerdicts(t, f, res, false)

	// --nar none: only narinfo-level verdicts.
	res = verify(t, f, "file://"+dir, cacheverify.Config{All: true, Nar: cacheverify.NarNone})
	for _, p := range byName(f, res) {
		switch cacheverify.Family(p.Verdict) {
		case cacheverify.FamilyNAR, cacheverify.FamilyNARFormat, cacheverify.FamilyHidden:
			t.Errorf("--nar none: %s has %s", p.StorePath, p.Verdict)
		}
	}
}

// TestMutationsHTTP serves the same directory over HTTP on loopback: the
// same verdicts from --paths, and nothing outside the cache is requested.
func TestMutationsHTTP(t *testing.T) {
	f, dir := mutatedCache(t)
	var mu sync.Mutex
	var requested []string
	fs := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requested = append(requested, r.URL.Path)
		mu.Unlock()
		fs.ServeHTTP(w, r)
	}))
	defer srv.Close()
	var paths []string
	for _, m := range mutations {
		paths = append(paths, requestPath(f, m.name))
	}
	res := verify(t, f, srv.URL, cacheverify.Config{Paths: paths, ScanReferences: true})
	checkVerdicts(t, f, res, true)
	mu.Lock()
	for _, p := range requested {
		if strings.Contains(p, "outside") || path.Clean(p) != p {
			t.Errorf("requested %s, outside the cache", p)
		}
	}
	mu.Unlock()
	// --all needs a listing, which HTTP does not have.
	s, _ := binarycache.Open(srv.URL, binarycache.Options{})
	if _, err := cacheverify.Run(testCtx(t), cacheverify.Config{Store: s, All: true}); err == nil || !strings.Contains(err.Error(), "cannot list") {
		t.Errorf("--all over HTTP: %v", err)
	}
}

// TestClosure follows References from app: lib is verified too.
func TestClosure(t *testing.T) {
	f, dir := mutatedCache(t)
	res := verify(t, f, "file://"+dir, cacheverify.Config{Closure: []string{f.paths["app"]}})
	got := byName(f, res)
	if len(res.Paths) != 2 || got["app"] == nil || got["lib"] == nil || got["lib"].Requested != "reference" {
		t.Fatalf("closure of app: %+v", res.Paths)
	}
	// needs-gone's reference is missing, unless an upstream has it.
	res = verify(t, f, "file://"+dir, cacheverify.Config{Closure: []string{f.paths["needs-gone"]}})
	if p := byName(f, res)["needs-gone"]; p == nil || p.Verdict != cacheverify.MissingReference {
		t.Fatalf("needs-gone: %+v", res.Paths)
	}
	up, _ := binarycache.Open("file://"+f.base, binarycache.Options{})
	res = verify(t, f, "file://"+dir, cacheverify.Config{Closure: []string{f.paths["needs-gone"]}, Upstream: []binarycache.Store{up}})
	if p := byName(f, res)["needs-gone"]; p == nil || p.Verdict != cacheverify.OK {
		t.Fatalf("needs-gone with upstream: %+v", res.Paths)
	}
}

// TestNixCrossCheck runs `nix store verify --sigs-needed 2` on every path
// of the mutated cache: every path Nix rejects, nixgate rejects. The paths
// only nixgate rejects are logged (docs/cache.md lists them).
func TestNixCrossCheck(t *testing.T) {
	f, dir := mutatedCache(t)
	res := verify(t, f, "file://"+dir, cacheverify.Config{All: true, ScanReferences: true})
	got := byName(f, res)
	type outcome struct {
		name   string
		nixOK  bool
		nixErr string
	}
	outs := make([]outcome, len(mutations))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, m := range mutations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ok, msg := f.nixVerify("file://"+dir, 2, requestPath(f, m.name))
			outs[i] = outcome{m.name, ok, msg}
		}()
	}
	wg.Wait()
	var only []string
	for _, o := range outs {
		p := got[o.name]
		if p == nil {
			continue
		}
		if !o.nixOK && p.Verdict == cacheverify.OK {
			t.Errorf("%s: nix store verify rejects it, nixgate says OK\n%s", o.name, o.nixErr)
		}
		if o.nixOK && p.Verdict != cacheverify.OK {
			only = append(only, o.name+" ("+p.Verdict+")")
		}
	}
	// The good paths pass both.
	for _, o := range outs {
		if (o.name == "lib" || o.name == "sig-abc") && !o.nixOK {
			t.Errorf("%s: nix store verify rejects a good path: %s", o.name, o.nixErr)
		}
	}
	t.Logf("only nixgate rejects (%d): %s", len(only), strings.Join(only, ", "))
}
