package claimlog

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/claim"
	"github.com/nixgate/nixgate/internal/nixcli"
)

func run(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// TestNixVerifiesClaims builds a path with the real Nix, claims it with two
// keys made by `nix key generate-secret`, and serves the log's narinfo (the
// claims' Sig lines, never re-signed) in front of an unsigned binary cache:
// `nix store verify --sigs-needed 2` accepts it with both keys trusted and
// refuses it with one, and `nix copy` substitutes it with signatures
// required.
func TestNixVerifiesClaims(t *testing.T) {
	if !nixcli.Available() {
		t.Fatal("nix is not installed (scripts/deps.sh installs nix-bin)")
	}
	x := "--extra-experimental-features"
	dir := t.TempDir()
	src, _ := os.ReadFile("testdata/claim.nix")
	os.WriteFile(filepath.Join(dir, "claim.nix"), src, 0o644)
	os.Mkdir(filepath.Join(dir, "bb"), 0o755)
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal("/bin/busybox is missing (scripts/deps.sh installs busybox-static)")
	}
	os.WriteFile(filepath.Join(dir, "bb", "busybox"), bb, 0o755)
	store := filepath.Join(dir, "store")
	path := run(t, "", "nix-build", "--store", store, "--no-out-link", "--option", "sandbox", "true", "--option", "substituters", "",
		filepath.Join(dir, "claim.nix"), "-A", "out")
	t.Cleanup(func() { removeTree(store) })

	var keys []claim.SecretKey
	var pubs []string
	for _, n := range []string{"builder-a.example-1", "builder-b.example-1"} {
		sk := run(t, "", "nix", x, "nix-command", "key", "generate-secret", "--key-name", n)
		pk := run(t, sk, "nix", x, "nix-command", "key", "convert-secret-to-public")
		k, err := claim.ParseSecretKey(sk)
		if err != nil {
			t.Fatal(err)
		}
		if k.Public().String() != pk {
			t.Fatalf("public key %s, nix says %s", k.Public(), pk)
		}
		keys, pubs = append(keys, k), append(pubs, pk)
	}
	ctx := context.Background()
	infos, err := nixcli.QueryPathInfo(ctx, store, []string{path})
	if err != nil || len(infos) != 1 {
		t.Fatal(err)
	}
	in := infos[0]
	if len(in.References) == 0 {
		t.Fatalf("%s has no references; the test wants some", path)
	}
	cache := filepath.Join(dir, "cache")
	run(t, "", "nix", x, "nix-command", "copy", "--store", store, "--to", "file://"+cache, path)

	l := startLog(t, "sqlite://"+filepath.Join(dir, "log.db"), Config{Upstream: "file://" + cache}, keys...)
	// Claim the closure (the output and its dependency) with both keys.
	closure, err := nixcli.QueryPathInfo(ctx, store, append([]string{path}, in.References...))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		for _, in := range closure {
			c, err := claim.New(claim.Facts{StorePath: in.Path, NarHash: in.NarHash, NarSize: uint64(in.NarSize), References: in.References, Deriver: in.Deriver}, k)
			if err != nil {
				t.Fatal(err)
			}
			a, err := l.client.Submit(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			l.waitPublished(t, a.TreeSize)
		}
	}
	hs := httptest.NewServer(l.srv.Handler())
	defer hs.Close()
	url := hs.URL + "/nix-cache"
	verify := func(need string, trusted ...string) error {
		cmd := exec.Command("nix", x, "nix-command", "store", "verify", "--store", url, "--sigs-needed", need,
			"--option", "trusted-public-keys", strings.Join(trusted, " "), path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("nix store verify --sigs-needed %s with %d keys: %v\n%s", need, len(trusted), err, out)
		}
		return err
	}
	if err := verify("2", pubs...); err != nil {
		t.Fatal("nix store verify refuses the log's narinfo with both keys trusted")
	}
	if verify("2", pubs[0]) == nil {
		t.Error("nix store verify --sigs-needed 2 accepts one trusted key")
	}
	if verify("3", pubs...) == nil {
		t.Error("nix store verify --sigs-needed 3 accepts two signatures")
	}
	// Plain Nix substitutes from the log, signatures required.
	other := filepath.Join(dir, "other")
	t.Cleanup(func() { removeTree(other) })
	run(t, "", "nix", x, "nix-command", "copy", "--from", url, "--to", other, "--option", "require-sigs", "true",
		"--option", "trusted-public-keys", pubs[1], path)
	if _, err := os.Stat(filepath.Join(other, path, "ref")); err != nil {
		t.Fatalf("substituted output: %v", err)
	}
}

// removeTree deletes a chroot store, whose directories Nix made read-only.
func removeTree(dir string) {
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	os.RemoveAll(dir)
}
