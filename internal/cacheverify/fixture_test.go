package cacheverify_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nix-community/go-nix/pkg/nixbase32"
	"github.com/ulikunitz/xz"

	"github.com/nixgate/nixgate/internal/nar"
)

// The fixture: store paths built with the real Nix from testdata/cache.nix
// in a chroot store, copied with `nix copy` to an unsigned file:// cache
// (base), and four keys from `nix key generate-secret`: a, b and c are
// trusted, x is not.
type fixture struct {
	root    string
	store   string            // the chroot store
	base    string            // the unsigned cache (xz, Nix's default)
	paths   map[string]string // attribute name -> store path
	secret  map[string]string // key -> secret key file
	public  map[string]string // key -> NAME:BASE64
	xdg     int
	xdgLock sync.Mutex
}

var (
	fxOnce sync.Once
	fx     *fixture
	fxErr  error
	tmpDir string
)

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "nixgate-cache-test-")
	if err != nil {
		panic(err)
	}
	tmpDir = d
	code := m.Run()
	removeAll(tmpDir)
	os.Exit(code)
}

// removeAll deletes a tree holding a chroot store, whose directories Nix
// made read-only.
func removeAll(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
	os.RemoveAll(dir)
}

var attrs = []string{
	"lib", "app", "gone", "needs-gone", "hidden",
	"sig-abc", "sig-ab", "sig-bc", "sig-a", "sig-none", "sig-a-x", "sig-dup", "sig-respelled",
	"forged", "forged-narsize", "narsize-plus", "narsize-minus", "nar-flip", "filehash", "filesize",
	"label-zstd", "label-lz4", "truncated", "padding", "unsorted", "duplicate", "dotdot", "slash",
	"deep", "trailing", "url-dotdot", "url-absolute", "renamed", "malformed",
}

const xf = "--extra-experimental-features"

// nixEnv is the environment of every nix call: a fresh cache directory, so
// that Nix's narinfo disk cache never answers for a file the test changed.
func (f *fixture) nixEnv() []string {
	f.xdgLock.Lock()
	f.xdg++
	n := f.xdg
	f.xdgLock.Unlock()
	return append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(f.root, "xdg", strconv.Itoa(n)), "NIX_CONFIG=")
}

// run runs a command and returns its stdout; it fails with its stderr.
func (f *fixture) run(stdin string, args ...string) (string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = f.nixEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

func getFixture(t *testing.T) *fixture {
	t.Helper()
	fxOnce.Do(func() { fx, fxErr = buildFixture() })
	if fxErr != nil {
		t.Fatal(fxErr)
	}
	return fx
}

func buildFixture() (*fixture, error) {
	f := &fixture{root: tmpDir, paths: map[string]string{}, secret: map[string]string{}, public: map[string]string{}}
	f.store = filepath.Join(f.root, "store")
	src := filepath.Join(f.root, "src")
	if err := os.MkdirAll(filepath.Join(src, "bb"), 0o755); err != nil {
		return nil, err
	}
	nixFile, err := os.ReadFile("testdata/cache.nix")
	if err != nil {
		return nil, err
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("busybox-static is needed (scripts/deps.sh installs it): %w", err)
	}
	if err := os.WriteFile(filepath.Join(src, "cache.nix"), nixFile, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(src, "bb", "busybox"), bb, 0o755); err != nil {
		return nil, err
	}
	args := []string{"nix-build", "--store", f.store, "--no-out-link", "--option", "sandbox", "true",
		"--option", "substituters", "", filepath.Join(src, "cache.nix")}
	for _, a := range attrs {
		args = append(args, "-A", a)
	}
	out, err := f.run("", args...)
	if err != nil {
		return nil, err
	}
	lines := strings.Fields(out)
	if len(lines) != len(attrs) {
		return nil, fmt.Errorf("nix-build printed %d paths for %d attributes:\n%s", len(lines), len(attrs), out)
	}
	for i, a := range attrs {
		f.paths[a] = lines[i]
	}
	for _, k := range []string{"a", "b", "c", "x"} {
		sec, err := f.run("", "nix", xf, "nix-command", "key", "generate-secret", "--key-name", "key-"+k)
		if err != nil {
			return nil, err
		}
		pub, err := f.run(sec, "nix", xf, "nix-command", "key", "convert-secret-to-public")
		if err != nil {
			return nil, err
		}
		file := filepath.Join(f.root, "key-"+k+".sec")
		if err := os.WriteFile(file, []byte(sec), 0o600); err != nil {
			return nil, err
		}
		f.secret[k], f.public[k] = file, pub
	}
	f.base = filepath.Join(f.root, "base")
	if _, err := f.run("", append([]string{"nix", xf, "nix-command", "copy", "--store", f.store, "--to", "file://" + f.base}, f.storePaths(attrs...)...)...); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *fixture) storePaths(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, f.paths[n])
	}
	return out
}

func (f *fixture) trusted() []string { return []string{f.public["a"], f.public["b"], f.public["c"]} }

// copyDir copies a cache directory.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sign signs paths in the cache at dir with key k, with the real Nix.
func (f *fixture) sign(t *testing.T, dir, k string, paths ...string) {
	t.Helper()
	if len(paths) == 0 {
		return
	}
	args := append([]string{"nix", xf, "nix-command", "store", "sign", "--store", "file://" + dir, "--key-file", f.secret[k]}, paths...)
	if _, err := f.run("", args...); err != nil {
		t.Fatal(err)
	}
}

// nixVerify runs `nix store verify` on one path and reports whether Nix
// accepts it.
func (f *fixture) nixVerify(store string, sigsNeeded int, path string) (bool, string) {
	_, err := f.run("", "nix", xf, "nix-command", "store", "verify", "--store", store,
		"--sigs-needed", strconv.Itoa(sigsNeeded), "--trusted-public-keys", strings.Join(f.trusted(), " "), path)
	if err != nil {
		return false, err.Error()
	}
	return true, ""
}

// narinfoFile is a narinfo edited line by line.
type narinfoFile struct {
	path  string
	lines [][2]string
}

func hashOf(storePath string) string { return filepath.Base(storePath)[:32] }

func readNarinfo(t *testing.T, dir, storePath string) *narinfoFile {
	t.Helper()
	p := filepath.Join(dir, hashOf(storePath)+".narinfo")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	n := &narinfoFile{path: p}
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		k, v, _ := strings.Cut(l, ": ")
		n.lines = append(n.lines, [2]string{k, v})
	}
	return n
}

func (n *narinfoFile) get(k string) string {
	for _, l := range n.lines {
		if l[0] == k {
			return l[1]
		}
	}
	return ""
}

func (n *narinfoFile) set(k, v string) {
	for i, l := range n.lines {
		if l[0] == k {
			n.lines[i][1] = v
			return
		}
	}
	n.lines = append(n.lines, [2]string{k, v})
}

func (n *narinfoFile) del(k string) {
	n.lines = slices.DeleteFunc(n.lines, func(l [2]string) bool { return l[0] == k })
}

func (n *narinfoFile) add(k, v string) { n.lines = append(n.lines, [2]string{k, v}) }

func (n *narinfoFile) write(t *testing.T) {
	t.Helper()
	var b strings.Builder
	for _, l := range n.lines {
		b.WriteString(l[0] + ": " + l[1] + "\n")
	}
	if err := os.WriteFile(n.path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readNAR returns the decoded NAR of a narinfo of the xz cache.
func readNAR(t *testing.T, dir string, n *narinfoFile) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, n.get("URL")))
	if err != nil {
		t.Fatal(err)
	}
	r, err := xz.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func base32Hash(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + nixbase32.EncodeToString(h[:])
}

func xzBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// putFile writes a compressed NAR file into the cache and points the
// narinfo's URL, FileHash and FileSize at it (the unsigned fields).
func putFile(t *testing.T, dir string, n *narinfoFile, file []byte, ext string) {
	t.Helper()
	fh := base32Hash(file)
	url := "nar/" + strings.TrimPrefix(fh, "sha256:") + ext
	if err := os.WriteFile(filepath.Join(dir, url), file, 0o644); err != nil {
		t.Fatal(err)
	}
	n.set("URL", url)
	n.set("FileHash", fh)
	n.set("FileSize", strconv.Itoa(len(file)))
}

// replaceNAR stores a new NAR for a path: compressed with xz, with its
// NarHash and NarSize (signed fields: the path must be signed afterwards).
func replaceNAR(t *testing.T, dir string, n *narinfoFile, narBytes []byte) {
	t.Helper()
	putFile(t, dir, n, xzBytes(t, narBytes), ".nar.xz")
	n.set("NarHash", base32Hash(narBytes))
	n.set("NarSize", strconv.Itoa(len(narBytes)))
	n.del("Sig")
}

// node is a NAR tree that can hold what no writer produces.
type node struct {
	typ      string // regular, directory, symlink
	exec     bool
	contents []byte
	target   string
	entries  []entry
}

type entry struct {
	name string
	node *node
}

// parseTree reads a NAR (a good one) into a tree.
func parseTree(t *testing.T, b []byte) *node {
	t.Helper()
	r := nar.NewReader(bytes.NewReader(b), nar.Limits{})
	byPath := map[string]*node{}
	var root *node
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n := &node{typ: e.Type, exec: e.Executable, target: e.Target}
		if e.Type == nar.Regular {
			n.contents, _ = io.ReadAll(r)
		}
		byPath[e.Path] = n
		if e.Path == "/" {
			root = n
			continue
		}
		dir, name := filepath.Split(e.Path)
		parent := byPath[strings.TrimSuffix(dir, "/")]
		if dir == "/" {
			parent = root
		}
		parent.entries = append(parent.entries, entry{name, n})
	}
	return root
}

func (n *node) child(name string) *node {
	for _, e := range n.entries {
		if e.name == name {
			return e.node
		}
	}
	return nil
}

// narWriter serialises tokens as Nix does, with the padding bytes given.
type narWriter struct {
	b      []byte
	padder byte // the byte used for padding (0 for a canonical NAR)
}

func (w *narWriter) str(s []byte) {
	w.b = binary.LittleEndian.AppendUint64(w.b, uint64(len(s)))
	w.b = append(w.b, s...)
	for i := 0; i < int(-uint64(len(s))&7); i++ {
		w.b = append(w.b, 0)
	}
}

func (w *narWriter) strs(ss ...string) {
	for _, s := range ss {
		w.str([]byte(s))
	}
}

func (w *narWriter) node(n *node) {
	w.strs("(", "type", n.typ)
	switch n.typ {
	case nar.Regular:
		if n.exec {
			w.strs("executable", "")
		}
		w.strs("contents")
		w.str(n.contents)
	case nar.Symlink:
		w.strs("target", n.target)
	case nar.Directory:
		for _, e := range n.entries {
			w.strs("entry", "(", "name", e.name, "node")
			w.node(e.node)
			w.strs(")")
		}
	}
	w.strs(")")
}

func serialise(n *node) []byte {
	w := &narWriter{}
	w.strs("nix-archive-1")
	w.node(n)
	return w.b
}

func randomSig(keyName string) string {
	b := make([]byte, 64)
	rand.Read(b)
	return keyName + ":" + base64.StdEncoding.EncodeToString(b)
}
