package binarycache

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

func TestResolveURL(t *testing.T) {
	for _, c := range []struct {
		url, want string
		query     bool
		bad       string
	}{
		{url: "nar/0abc.nar.xz", want: "nar/0abc.nar.xz"},
		{url: "nar/0abc.nar?hash=xyz", want: "nar/0abc.nar?hash=xyz", query: true},
		{url: "nar/0abc.nar?hash=xyz", bad: "query"},
		{url: "../outside/x.nar.xz", bad: `climbs out of the cache with ".."`},
		{url: "nar/../../x", bad: `".."`},
		{url: "nar/%2e%2e/%2e%2e/x", bad: `".."`},
		{url: "nar%2f..%2f..%2fx", bad: `".."`},
		{url: "/etc/passwd", bad: "absolute path"},
		{url: "file:///etc/passwd", bad: "absolute"},
		{url: "https://evil.example/nar/x.nar", bad: "absolute"},
		{url: "//evil.example/nar/x.nar", bad: "another host"},
		{url: "nar\\..\\x", bad: "backslash"},
		{url: "nar//x", bad: "empty"},
		{url: "./nar/x", bad: `"."`},
		{url: "nar/x#frag", bad: "fragment"},
		{url: "", bad: "empty URL"},
		{url: "nar/x\x00", bad: "control"},
	} {
		got, err := ResolveURL(c.url, c.query)
		switch {
		case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
			t.Errorf("ResolveURL(%q) = %q, %v; want an error with %q", c.url, got, err, c.bad)
		case c.bad == "" && (err != nil || got != c.want):
			t.Errorf("ResolveURL(%q) = %q, %v; want %q", c.url, got, err, c.want)
		}
	}
}

func TestCacheInfo(t *testing.T) {
	ci, err := ParseCacheInfo([]byte("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\nRequiredSignatures: a-1:" + strings.Repeat("A", 43) + "= b-1:" + strings.Repeat("B", 42) + "A=\nRequireAllSignatures: 1\nUnknown: ignored\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ci.StoreDir != "/nix/store" || !ci.WantMassQuery || ci.Priority != "40" || len(ci.RequiredSignatures) != 2 || !ci.RequireAllSignatures {
		t.Errorf("%+v", ci)
	}
	for _, bad := range []string{"StoreDir: relative\n", "RequiredSignatures: nokey\n", "garbage line\n"} {
		if _, err := ParseCacheInfo([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestFileStoreRoot: a key or a symlink inside the cache never reaches a
// file outside it.
func TestFileStoreRoot(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	os.MkdirAll(filepath.Join(cache, "nar"), 0o755)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("outside"), 0o644)
	os.WriteFile(filepath.Join(cache, "a.narinfo"), []byte("x"), 0o644)
	os.Symlink("../../secret", filepath.Join(cache, "nar", "link.nar"))
	s, err := Open("file://"+cache+"?compression=xz", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, key := range []string{"../secret", "nar/link.nar"} {
		if o, err := s.Get(ctx, key); err == nil {
			o.Body.Close()
			t.Errorf("Get(%q) reached outside the cache", key)
		}
	}
	if _, err := s.Get(ctx, "missing.narinfo"); !IsNotFound(err) {
		t.Errorf("missing file: %v", err)
	}
	var names []string
	if err := s.List(ctx, func(n string) error { names = append(names, n); return nil }); err != nil || len(names) != 1 {
		t.Errorf("List = %v, %v", names, err)
	}
}

// TestHTTPStatus: 404 is missing, 403 AccessDenied is missing (S3 without
// list permission), a refused signature and a 5xx are errors, retried.
func TestHTTPStatus(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/c/missing":
			http.NotFound(w, r)
		case "/c/denied":
			w.WriteHeader(403)
			w.Write([]byte("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"))
		case "/c/badsig":
			w.WriteHeader(403)
			w.Write([]byte("<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error>"))
		case "/c/flaky":
			calls++
			if calls < 3 {
				w.WriteHeader(503)
				return
			}
			w.Write([]byte("ok"))
		default:
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	s, err := Open(srv.URL+"/c/", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Get(ctx, "missing"); !IsNotFound(err) {
		t.Errorf("404: %v", err)
	}
	if _, err := s.Get(ctx, "denied"); !IsNotFound(err) {
		t.Errorf("403 AccessDenied: %v", err)
	}
	if _, err := s.Get(ctx, "badsig"); err == nil || IsNotFound(err) || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
		t.Errorf("403 SignatureDoesNotMatch: %v", err)
	}
	if o, err := s.Get(ctx, "flaky"); err != nil {
		t.Errorf("503 twice then 200: %v", err)
	} else {
		o.Body.Close()
	}
	if _, err := s.Get(ctx, "broken"); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "500") {
		t.Errorf("500: %v", err)
	}
	if err := s.List(ctx, func(string) error { return nil }); !errors.Is(err, ErrNoListing) {
		t.Errorf("List over HTTP: %v", err)
	}
	for _, bad := range []string{"ftp://x", "file://host/dir", "s3://", "s3://b?nope=1", "s3://b?scheme=http", "http://user:pw@host/"} {
		if _, err := Open(bad, Options{}); err == nil {
			t.Errorf("Open(%q) accepted", bad)
		}
	}
}

func FuzzParseCacheInfo(f *testing.F) {
	f.Add([]byte("StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n"))
	f.Add([]byte("RequiredSignatures: a:b c:d\nRequireAllSignatures: 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzlimit.Default(t, func() {
			ci, err := ParseCacheInfo(b)
			if err == nil && (!strings.HasPrefix(ci.StoreDir, "/") || strings.HasSuffix(ci.StoreDir, "/")) {
				t.Fatalf("accepted StoreDir %q", ci.StoreDir)
			}
		})
	})
}

func FuzzResolveURL(f *testing.F) {
	for _, s := range []string{"nar/x.nar.xz", "../x", "nar/%2e%2e/x", "http://h/x", "nar/x?hash=1"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, query bool) {
		fuzzlimit.Default(t, func() {
			key, err := ResolveURL(raw, query)
			if err != nil {
				return
			}
			p, _, _ := strings.Cut(key, "?")
			for _, seg := range strings.Split(p, "/") {
				if seg == ".." || seg == "." || seg == "" {
					t.Fatalf("ResolveURL(%q) = %q: escapes", raw, key)
				}
			}
			if strings.HasPrefix(key, "/") || strings.Contains(key, "\\") || strings.Contains(key, "://") {
				t.Fatalf("ResolveURL(%q) = %q", raw, key)
			}
		})
	})
}
