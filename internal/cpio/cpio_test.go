package cpio

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tree makes a small directory tree with a file, a symlink, an empty file,
// a long name and a directory.
func tree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "etc", "anchor"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "etc", "anchor", "room.toml"), []byte("name = \"clock\"\n"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "empty"), nil, 0o600))
	must(os.WriteFile(filepath.Join(dir, strings.Repeat("n", 200)), []byte("x"), 0o644))
	must(os.Symlink("etc/anchor/room.toml", filepath.Join(dir, "link")))
	return dir
}

// archive runs the real cpio in format (newc, crc, odc) over dir.
func archive(t *testing.T, dir, format string) []byte {
	t.Helper()
	cmd := exec.Command("sh", "-c", "find . -mindepth 1 | LC_ALL=C sort | cpio -o -H "+format+" --quiet")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -o -H %s: %v", format, err)
	}
	return out
}

// listing is what `cpio -t` says, the oracle.
func listing(t *testing.T, data []byte) []string {
	t.Helper()
	cmd := exec.Command("cpio", "-t", "--quiet")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -t: %v", err)
	}
	return strings.Fields(string(out))
}

func TestFormatsAgainstCpio(t *testing.T) {
	dir := tree(t)
	for _, format := range []string{"newc", "crc", "odc"} {
		t.Run(format, func(t *testing.T) {
			data := archive(t, dir, format)
			r := NewReader(bytes.NewReader(data))
			var names []string
			contents := map[string]string{}
			for {
				e, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, e.Name)
				b, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				if e.Mode&TypeMask == TypeSymlink {
					contents[e.Name] = "-> " + e.Linkname
				} else {
					contents[e.Name] = string(b)
				}
				if e.Format != map[string]string{"newc": Newc, "crc": NewcCRC, "odc": ODC}[format] {
					t.Errorf("%s: format %s", e.Name, e.Format)
				}
			}
			if want := listing(t, data); !slices.Equal(names, want) {
				t.Errorf("names %q, cpio -t %q", names, want)
			}
			if contents["etc/anchor/room.toml"] != "name = \"clock\"\n" || contents["link"] != "-> etc/anchor/room.toml" || contents["empty"] != "" {
				t.Errorf("contents %q", contents)
			}
			// Concatenated: what follows the trailer is left for the caller.
			two := append(append(bytes.Clone(data), make([]byte, 512)...), data...)
			r = NewReader(bytes.NewReader(two))
			for {
				if _, err := r.Next(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
			rest, _ := io.ReadAll(r.Rest())
			if !bytes.HasSuffix(rest, data) {
				t.Errorf("after the first trailer: %d bytes, not the second archive", len(rest))
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	good := archive(t, tree(t), "newc")
	for name, data := range map[string][]byte{
		"empty":           nil,
		"bad magic":       []byte("070799" + strings.Repeat("0", 200)),
		"bad hex":         append([]byte("070701zzzzzzzz"), good[14:]...),
		"truncated":       good[:len(good)/2],
		"no trailer":      good[:bytes.Index(good, []byte("TRAILER!!!"))-110],
		"huge name size":  []byte("070701" + strings.Repeat("0", 88) + "FFFFFFFF" + strings.Repeat("0", 8)),
		"symlink too big": []byte("070701" + "00000000" + "0000A1FF" + strings.Repeat("0", 32) + "FFFFFFFF" + strings.Repeat("0", 32) + "00000002" + "00000000" + "a\x00"),
	} {
		t.Run(name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(data))
			for i := 0; i < 100; i++ {
				_, err := r.Next()
				if err == io.EOF {
					t.Fatal("malformed archive read to its trailer")
				}
				if err != nil {
					var ce *Error
					if !errorsAs(err, &ce) {
						t.Fatalf("error %v is not a *cpio.Error", err)
					}
					return
				}
				io.Copy(io.Discard, r)
			}
			t.Fatal("no error")
		})
	}
}
