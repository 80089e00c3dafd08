package cacheverify_test

import (
	"context"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nixgate/nixgate/internal/binarycache"
	"github.com/nixgate/nixgate/internal/cacheverify"
	"github.com/nixgate/nixgate/internal/narinfo"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func start(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

// startS3 starts s3rver (installed by scripts/deps.sh from the npm
// registry, with aws4) on a free loopback port with one bucket, behind
// testdata/s3verify.js, which checks every request's Signature Version 4
// with the aws4 package and the credentials S3RVER/S3RVER (s3rver itself
// does not check v4 signatures). It returns the proxy's address.
func startS3rver(t *testing.T, bucket string) string {
	t.Helper()
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		gopath = build.Default.GOPATH
	}
	dir := filepath.Join(gopath, "share", "nixgate", "s3rver")
	bin := filepath.Join(dir, "node_modules", ".bin", "s3rver")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("s3rver is not installed (scripts/deps.sh installs it): %v", err)
	}
	verifier, err := filepath.Abs("testdata/s3verify.js")
	if err != nil {
		t.Fatal(err)
	}
	port, proxy := freePort(t), freePort(t)
	start(t, bin, "-d", t.TempDir(), "-a", "127.0.0.1", "-p", fmt.Sprint(port), "--silent", "--no-vhost-buckets", "--configure-bucket", bucket)
	nodeCmd := exec.Command("node", verifier, fmt.Sprint(proxy), fmt.Sprint(port), "S3RVER", "S3RVER")
	nodeCmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	nodeCmd.Stderr = os.Stderr
	if err := nodeCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nodeCmd.Process.Kill(); nodeCmd.Wait() })
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", proxy)
	deadline := time.Now().Add(20 * time.Second)
	for {
		up, err1 := http.Get(fmt.Sprintf("http://127.0.0.1:%d/%s?list-type=2", port, bucket))
		resp, err := http.Get(endpoint + "/" + bucket + "?list-type=2")
		if err == nil && err1 == nil {
			resp.Body.Close()
			up.Body.Close()
			return endpoint
		}
		if time.Now().After(deadline) {
			t.Fatalf("s3rver did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestS3 uploads a signed cache from `nix copy` into an S3 bucket (signed
// PUTs) and verifies it through s3:// with credentials from the
// environment: listing (--all), signed GETs, the same verdicts as
// file://. Wrong credentials fail the run.
func TestS3(t *testing.T) {
	f := getFixture(t)
	endpoint := startS3rver(t, "nixcache")
	dir := filepath.Join(f.root, "s3-src")
	args := append([]string{"nix", xf, "nix-command", "copy", "--store", f.store, "--to", "file://" + dir + "?compression=zstd&secret-key=" + f.secret["a"]},
		f.storePaths("lib", "app")...)
	if _, err := f.run("", args...); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER"}
	uri := "s3://nixcache?endpoint=" + strings.TrimPrefix(endpoint, "http://") + "&scheme=http&region=us-east-1"
	s, err := binarycache.Open(uri, binarycache.Options{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, _ := os.ReadFile(p)
		if err := s.(binarycache.Putter).Put(ctx, filepath.ToSlash(rel), b); err != nil {
			t.Fatal(err)
		}
		return nil
	})
	keys, _ := narinfo.ParseKeys([]string{f.public["a"]})
	res, err := cacheverify.Run(testCtx(t), cacheverify.Config{Store: s, All: true, Keys: keys, Decider: &cacheverify.SignaturePolicy{Keys: keys, Require: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Paths) != 2 {
		t.Fatalf("%d paths listed, want 2: %+v", len(res.Paths), res.Paths)
	}
	for _, p := range res.Paths {
		if p.Verdict != cacheverify.OK || p.NarChecked != cacheverify.NarFull || p.Detected != "zstd" {
			t.Errorf("%s: %s %v (%s, %s)", p.StorePath, p.Verdict, p.Problems, p.NarChecked, p.Detected)
		}
	}
	// A wrong secret: the server refuses the signature and the run
	// cannot complete.
	bad, _ := binarycache.Open(uri, binarycache.Options{Env: map[string]string{"AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "wrong"}})
	_, err = cacheverify.Run(testCtx(t), cacheverify.Config{Store: bad, All: true, Keys: keys})
	if err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("wrong credentials: err = %v, want the server's signature error", err)
	}
	// Credentials from a shared credentials file and a profile.
	cred := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(cred, []byte("[default]\naws_access_key_id = nope\naws_secret_access_key = nope\n\n[cache]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n"), 0o600)
	prof, err := binarycache.Open(uri+"&profile=cache", binarycache.Options{Env: map[string]string{"AWS_SHARED_CREDENTIALS_FILE": cred}})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := cacheverify.Run(testCtx(t), cacheverify.Config{Store: prof, All: true, Keys: keys}); err != nil || len(res.Paths) != 2 {
		t.Errorf("profile credentials: %v", err)
	}
}
