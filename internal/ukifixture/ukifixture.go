// Package ukifixture builds the real unified kernel images that nixgate's
// UKI tests use, with scripts/uki-fixture.sh (a Debian kernel, a busybox
// initrd, systemd-boot's stub, objcopy and sbsign), once per set of inputs:
// the result is kept in the temporary directory, keyed by the script and
// the kernel package, and shared by every test package.
package ukifixture

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Fixture is the directory the script filled, with the paths of its files.
type Fixture struct {
	Dir                                   string
	Unsigned, Signed, Other               string
	SnakeoilKey, SnakeoilCert             string
	OtherKey, OtherCert                   string
	Kernel, KernelConfig, Initrd, Cmdline string
}

// File is a path in the fixture directory.
func (f *Fixture) File(name string) string { return filepath.Join(f.Dir, name) }

var (
	once    sync.Once
	fixture *Fixture
	errOnce error
)

// Root is the repository root (the directory of go.mod above the working
// directory).
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Get builds (or reuses) the fixture, failing the test when the tools are
// missing: scripts/deps.sh installs them.
func Get(t testing.TB) *Fixture {
	t.Helper()
	f, err := Build()
	if err != nil {
		t.Fatalf("build the UKI fixture: %v", err)
	}
	return f
}

// Build builds (or reuses) the fixture.
func Build() (*Fixture, error) {
	once.Do(func() { fixture, errOnce = build() })
	return fixture, errOnce
}

func build() (*Fixture, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	script := filepath.Join(root, "scripts", "uki-fixture.sh")
	src, err := os.ReadFile(script)
	if err != nil {
		return nil, err
	}
	deb, _ := filepath.Glob("/var/cache/nixgate/linux-image-*-amd64_*.deb")
	h := sha256.New()
	h.Write(src)
	for _, d := range deb {
		fmt.Fprintln(h, d)
	}
	dir := filepath.Join(os.TempDir(), "nixgate-ukifixture-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "other.efi")); err != nil {
		tmp, err := os.MkdirTemp(os.TempDir(), "nixgate-ukifixture-build-")
		if err != nil {
			return nil, err
		}
		cmd := exec.Command("bash", script, tmp)
		if out, err := cmd.CombinedOutput(); err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("%s: %v\n%s", script, err, out)
		}
		if err := os.Rename(tmp, dir); err != nil {
			// Another test package built it meanwhile.
			os.RemoveAll(tmp)
			if _, err2 := os.Stat(filepath.Join(dir, "other.efi")); err2 != nil {
				return nil, err
			}
		}
	}
	f := &Fixture{Dir: dir}
	for p, name := range map[*string]string{
		&f.Unsigned: "unsigned.efi", &f.Signed: "signed.efi", &f.Other: "other.efi",
		&f.SnakeoilKey: "snakeoil.key", &f.SnakeoilCert: "snakeoil.crt", &f.OtherKey: "other.key", &f.OtherCert: "other.crt",
		&f.Kernel: "vmlinuz", &f.KernelConfig: "kernel.config", &f.Initrd: "initrd.img", &f.Cmdline: "cmdline",
	} {
		*p = filepath.Join(dir, name)
	}
	return f, nil
}
