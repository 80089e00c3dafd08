package cli

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/claim"
	"github.com/nixgate/nixgate/internal/claimlog"
	"github.com/nixgate/nixgate/internal/nixcli"
	c2sp "github.com/nixgate/nixgate/internal/tlog"
)

// TestRebuildSubmit rebuilds a derivation on two clean chroot stores with
// the real Nix and submits the agreed output as a claim: the log holds it
// with the NAR hash and references Nix recorded, and the kept stores are
// removed afterwards.
func TestRebuildSubmit(t *testing.T) {
	if !nixcli.Available() {
		t.Fatal("nix is not installed (scripts/deps.sh installs nix-bin)")
	}
	dir := t.TempDir()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal("/bin/busybox is missing (scripts/deps.sh installs busybox-static)")
	}
	os.Mkdir(filepath.Join(dir, "bb"), 0o755)
	os.WriteFile(filepath.Join(dir, "bb", "busybox"), bb, 0o755)
	os.WriteFile(filepath.Join(dir, "submit.nix"), []byte(`{ system ? builtins.currentSystem }:
let
  bb = builtins.path { path = ./bb; name = "busybox"; };
  mk = name: script: derivation {
    inherit name system;
    builder = "${bb}/busybox";
    args = [ "sh" "-c" "export PATH=${bb}; busybox mkdir -p $out; ${script}" ];
  };
in rec {
  dep = mk "submit-dep" "echo dep > $out/dep";
  out = mk "submit-out" "echo ${dep} > $out/ref";
}
`), 0o644)
	key, _, err := claim.GenerateKey("rebuilder.example-1")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte(key.String()), 0o600)

	ctx := context.Background()
	st, err := claimlog.OpenStore(ctx, "sqlite://"+filepath.Join(dir, "log.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.AddBuilder(ctx, key.Name, key.Public().String()); err != nil {
		t.Fatal(err)
	}
	skey, _, _ := c2sp.GenerateLogKey("log.example/rebuild")
	signer, _ := c2sp.NewLogSigner(skey)
	srv, err := claimlog.NewServer(ctx, claimlog.Config{Store: st, Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	tmp := filepath.Join(dir, "tmp")
	os.Mkdir(tmp, 0o755)
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	stdout, stderr, code := run(t, "rebuild", "--no-record", "--submit", hs.URL, "--key", keyFile, filepath.Join(dir, "submit.nix"), "-A", "out")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "nixgate: claimed /nix/store/") {
		t.Errorf("stderr: %s", stderr)
	}
	n, err := st.ClaimCount(ctx)
	if err != nil || n != 1 {
		t.Fatalf("%d claims, %v", n, err)
	}
	rows, err := st.ClaimRange(ctx, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := claim.Parse(rows[0].Leaf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(c.StorePath, "-submit-out") || len(c.References) != 1 || !strings.HasSuffix(c.References[0], "-submit-dep") || !strings.HasSuffix(c.Deriver, "-submit-out.drv") {
		t.Errorf("claim %+v", c)
	}
	if err := c.Verify(key.Public()); err != nil {
		t.Error(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("kept stores left behind: %v", left)
	}
}
