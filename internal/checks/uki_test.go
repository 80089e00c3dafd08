package checks

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/authenticode"
	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/pecoff"
	"github.com/nixgate/nixgate/internal/uki"
	"github.com/nixgate/nixgate/internal/ukifixture"
)

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// addSection adds a section by hand, as an attacker with a hex editor
// would: a header in the header area's slack, its data appended at the
// end of the file (after the certificate table, when there is one).
func addSection(t *testing.T, image []byte, name string, data []byte) []byte {
	t.Helper()
	f, err := pecoff.Parse(bytes.NewReader(image), int64(len(image)))
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(image)
	hdr := f.SectionTableOffset + 40*int64(len(f.Sections))
	if hdr+40 > int64(f.SizeOfHeaders) {
		t.Fatal("no room for another section header")
	}
	align := func(v, a uint32) uint32 { return (v + a - 1) &^ (a - 1) }
	off := align(uint32(len(out)), f.FileAlignment)
	out = append(out, make([]byte, int(off)-len(out))...)
	raw := align(uint32(len(data)), f.FileAlignment)
	out = append(out, data...)
	out = append(out, make([]byte, int(raw)-len(data))...)
	va := align(f.SizeOfImage, f.SectionAlignment)
	le := binary.LittleEndian
	h := out[hdr : hdr+40]
	copy(h, make([]byte, 40))
	copy(h, name)
	le.PutUint32(h[8:], uint32(len(data)))
	le.PutUint32(h[12:], va)
	le.PutUint32(h[16:], raw)
	le.PutUint32(h[20:], off)
	le.PutUint32(h[36:], 0x40000040) // initialized data, readable
	le.PutUint16(out[f.PEOffset+6:], uint16(len(f.Sections)+1))
	le.PutUint32(out[f.PEOffset+24+56:], align(va+uint32(len(data)), f.SectionAlignment))
	return out
}

type result struct {
	id, msg string
}

// runUKI runs the checks of `uki check` and `uki verify` on an image.
func runUKI(t *testing.T, data []byte, cert *x509.Certificate) []result {
	t.Helper()
	im, err := uki.Parse(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	v, err := authenticode.Verify(im.File, authenticode.StoreFromCerts(cert), nil)
	if err != nil {
		t.Fatal(err)
	}
	res := check.Run(context.Background(), InScope(check.ScopeUKI), nil, check.Target{Input: &uki.Target{Image: im, Verify: v}}, nil)
	for _, e := range res.Errors {
		t.Errorf("check %s errored: %s", e.CheckID, e.Error)
	}
	var out []result
	for _, f := range res.Findings {
		out = append(out, result{f.CheckID, f.Severity.String() + " " + f.Message})
	}
	return out
}

func certOf(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(readFile(t, path))
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestUKIMutations: each way of tampering with a signed image gives its
// own findings, and the untouched image none.
func TestUKIMutations(t *testing.T) {
	fx := ukifixture.Get(t)
	cert := certOf(t, fx.SnakeoilCert)
	key, err := authenticode.ParseKey(readFile(t, fx.SnakeoilKey))
	if err != nil {
		t.Fatal(err)
	}
	signed := readFile(t, fx.Signed)
	unsigned := readFile(t, fx.Unsigned)
	sf, _ := pecoff.Parse(bytes.NewReader(signed), int64(len(signed)))
	dir := t.TempDir()

	// objcopy on the signed image: the real tool drops the table.
	evil := filepath.Join(dir, "evil.txt")
	os.WriteFile(evil, []byte("fetch https://evil.example/policy\n"), 0o644)
	objcopied := filepath.Join(dir, "objcopied.efi")
	if b, err := exec.Command("objcopy", "--add-section", ".evil="+evil, "--change-section-vma", ".evil=0x4000000", fx.Signed, objcopied).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v\n%s", err, b)
	}
	cmdlineByte := bytes.Clone(signed)
	cmdlineByte[sf.Section(".cmdline").PointerToRawData+11] = 'x' // init=/bin/bay0 -> bxy0
	// A second .cmdline added before signing: the signature is good, the
	// image is ambiguous.
	dup, err := authenticode.Sign(addSection(t, unsigned, ".cmdline", []byte("init=/bin/sh")), key, cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A second signature that is bad: a copy of the first with its RSA
	// signature's last byte flipped.
	tab, _ := authenticode.ReadTable(sf)
	der := bytes.TrimRight(bytes.Clone(tab.Entries[0].Data), "\x00")
	der[len(der)-1] ^= 0xff
	twoSigs, err := authenticode.Attach(signed, der)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		data []byte
		want []string // check-id: regexp
	}{
		{"untouched", signed, nil},
		{"section added by objcopy after signing", readFile(t, objcopied), []string{
			`uki-layout: the certificate directory entry names .* the table is missing`,
			`uki-signature: critical .*unsigned`,
		}},
		{"section added by hand after signing", addSection(t, signed, ".evil", []byte("evil")), []string{
			`uki-layout: bytes after the certificate table`,
			`uki-signature: critical .*invalid`,
			`uki-signature-bad: signature 1 .*image-digest`,
		}},
		{"one .cmdline byte", cmdlineByte, []string{
			`uki-cmdline: runs init=/bin/bxy0, not the required init=/bin/bay0`,
			`uki-signature: critical .*invalid`,
			`uki-signature-bad: signature 1 .*image-digest`,
		}},
		{"duplicated .cmdline", dup, []string{
			`uki-layout: section \.cmdline appears twice`,
		}},
		{"data after the certificate table", append(bytes.Clone(signed), "trailing"...), []string{
			`uki-layout: 8 bytes after the certificate table`,
			`uki-signature: critical .*invalid`,
			`uki-signature-bad: signature 1 .*image-digest`,
		}},
		{"a second signature that is bad", twoSigs, []string{
			`uki-signature-bad: signature 2 .*signature: the RSA signature`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runUKI(t, tc.data, cert)
			var unmatched []string
			for _, w := range tc.want {
				id, re, _ := strings.Cut(w, ": ")
				rx := regexp.MustCompile(re)
				i := slices.IndexFunc(got, func(r result) bool { return r.id == id && rx.MatchString(r.msg) })
				if i < 0 {
					unmatched = append(unmatched, w)
					continue
				}
				got = slices.Delete(got, i, i+1)
			}
			if len(unmatched) > 0 || len(got) > 0 {
				t.Errorf("wanted but not found: %q\nfound but not wanted: %v", unmatched, got)
			}
		})
	}
}

// TestUKIDiff: uki diff accepts what signing changes and nothing else.
func TestUKIDiff(t *testing.T) {
	fx := ukifixture.Get(t)
	unsigned := readFile(t, fx.Unsigned)
	signed := readFile(t, fx.Signed)
	sf, _ := pecoff.Parse(bytes.NewReader(signed), int64(len(signed)))
	cmdline := bytes.Clone(signed)
	cmdline[sf.Section(".cmdline").PointerToRawData] ^= 1
	stamped := bytes.Clone(signed)
	binary.LittleEndian.PutUint32(stamped[sf.PEOffset+8:], 0x12345678) // TimeDateStamp
	for _, tc := range []struct {
		name string
		new  []byte
		want []string
	}{
		{"sbsign", signed, nil},
		{"one .cmdline bit", cmdline, []string{`bytes \[0x11600, 0x11601\) differ \(section \.cmdline\)`, `Authenticode digest changed`, `signature 1 signs`}},
		{"a header field", stamped, []string{`bytes \[0x88, 0x8c\) differ \(headers\)`, `Authenticode digest changed`, `signature 1 signs`}},
		{"unsigned", unsigned, []string{`carries no signature`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, _ := uki.Parse(bytes.NewReader(unsigned), int64(len(unsigned)))
			b, _ := uki.Parse(bytes.NewReader(tc.new), int64(len(tc.new)))
			d, err := uki.Diff(a, b)
			if err != nil {
				t.Fatal(err)
			}
			res := check.Run(context.Background(), []*check.Check{UKIDiff}, nil, check.Target{Input: &uki.Target{Image: b, Diff: d}}, nil)
			var msgs []string
			for _, f := range res.Findings {
				msgs = append(msgs, f.Message)
			}
			if len(msgs) != len(tc.want) {
				t.Fatalf("findings %q, want %d matching %q", msgs, len(tc.want), tc.want)
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(msgs, regexp.MustCompile(w).MatchString) {
					t.Errorf("no finding matches %q in %q", w, msgs)
				}
			}
		})
	}
	_ = fmt.Sprint
}

// cpioGz archives files with the real cpio and gzip.
func cpioGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	cmd := exec.Command("sh", "-c", "find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -n")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	cmd := exec.Command("gzip", "-n")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUKICheckOptions runs the uki check checks with policies on the real
// fixture and on small images made for one check.
func TestUKICheckOptions(t *testing.T) {
	fx := ukifixture.Get(t)
	signed := readFile(t, fx.Signed)
	room := `{"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "network": {"enum": ["none", "uplink"]}}}`
	badRooms := pecoff.Minimal(map[string][]byte{
		".text": {0xc3}, ".cmdline": []byte("init=/bin/bay0 rd.break"), ".osrel": []byte("ID=x\n"),
		".initrd": cpioGz(t, map[string]string{"etc/room.schema.json": room, "etc/rooms/vault.toml": "#:schema ../room.schema.json\nname = \"vault\"\nnetwork = \"internet\"\n"}),
	}, []string{".text", ".cmdline", ".osrel", ".initrd"})
	config := "# Linux/x86 6.1.0 Kernel Configuration\nCONFIG_X86_64=y\nCONFIG_MODULES=y\nCONFIG_IKCONFIG=y\n"
	withConfig := pecoff.Minimal(map[string][]byte{
		".text": {0xc3}, ".cmdline": []byte("init=/bin/bay0"),
		".linux": slices.Concat([]byte("\x7fELF"), make([]byte, 64), []byte("IKCFG_ST"), gzipBytes(t, []byte(config)), []byte("IKCFG_ED")),
	}, []string{".text", ".cmdline", ".linux"})
	for _, tc := range []struct {
		name  string
		data  []byte
		check *check.Check
		opts  any
		want  []string // regexps; none means pass
	}{
		{"cmdline/pass", signed, UKICmdline, nil, nil},
		{"cmdline/kspp rules", signed, UKICmdline, &uki.CmdlineOptions{Init: "/bin/bay0", Profiles: []string{"kspp"}}, []string{`cmdline:pti: expected cmdline:pti=on and cmdline:nopti is not set, found cmdline:pti absent, cmdline:nopti absent \(profile kspp`}},
		{"cmdline/deny", badRooms, UKICmdline, nil, []string{`has rd\.break, which the deny list forbids`}},
		{"policy files/pass", signed, UKIPolicyFiles, &UKIPolicyFilesOptions{Required: []string{"etc/anchor/rooms/*.toml"},
			Mappings: []PolicySchemaMapping{{Files: "etc/anchor/rooms/*.toml", Schema: "etc/anchor/room.schema.json"}}}, nil},
		{"policy files/declared schema", badRooms, UKIPolicyFiles, nil, []string{`initrd/etc/rooms/vault.toml does not match initrd/etc/room.schema.json: .*one of`}},
		{"policy files/missing", signed, UKIPolicyFiles, &UKIPolicyFilesOptions{Required: []string{".policy", "etc/anchor/vault.toml"}},
			[]string{`required policy file initrd/etc/anchor/vault.toml is missing`, `required policy file initrd/\.policy is missing`}},
		{"kconfig/embedded", withConfig, UKIKconfig, nil, []string{`embedded configuration: CONFIG_MODULES: found y, want is not set`}},
		{"kconfig/none", signed, UKIKconfig, nil, nil},
		{"kconfig/required", signed, UKIKconfig, &uki.KconfigOptions{Profiles: []string{"anchor"}, Require: true}, []string{`built without CONFIG_IKCONFIG`}},
		{"sections/pass", signed, UKISections, nil, nil},
		{"sections/missing", withConfig, UKISections, nil, []string{`no \.initrd section`, `no \.osrel section`, `\.linux section is not an x86 bzImage`}},
		{"layout/pass", signed, UKILayout, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im, err := uki.Parse(bytes.NewReader(tc.data), int64(len(tc.data)))
			if err != nil {
				t.Fatal(err)
			}
			settings := map[string]check.Settings{}
			if tc.opts != nil {
				settings[tc.check.ID] = check.Settings{Enabled: true, Severity: tc.check.Severity, Options: tc.opts}
			} else if tc.check.Options != nil {
				settings[tc.check.ID] = check.Settings{Enabled: true, Severity: tc.check.Severity, Options: check.CloneOptions(tc.check.Options)}
			}
			res := check.Run(context.Background(), []*check.Check{tc.check}, settings, check.Target{Input: &uki.Target{Image: im}}, nil)
			if len(res.Errors) > 0 {
				t.Fatalf("errored: %v", res.Errors)
			}
			var msgs []string
			for _, f := range res.Findings {
				msgs = append(msgs, f.Message)
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(msgs, regexp.MustCompile(w).MatchString) {
					t.Errorf("no finding matches %q in %q", w, msgs)
				}
			}
			if len(tc.want) == 0 && len(msgs) > 0 || len(tc.want) > 0 && len(msgs) < len(tc.want) {
				t.Errorf("findings %q, want %q", msgs, tc.want)
			}
		})
	}
}
