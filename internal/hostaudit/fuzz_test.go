package hostaudit

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// FuzzHostReaders feeds the readers of an audited system's files
// (/etc/group and /etc/passwd, the dpkg status file, `nix --version`
// output, the probe's JSON record, an ELF header) arbitrary bytes: no
// panic, sane results, bounded cost.
func FuzzHostReaders(f *testing.F) {
	elfSeed, _ := os.ReadFile("/bin/busybox")
	if len(elfSeed) > 4096 {
		elfSeed = elfSeed[:4096]
	}
	f.Add([]byte("root:x:0:\nwheel:x:10:alice,bob,alice\n"), []byte("carol:x:1000:10::/home/carol:/bin/sh\n"),
		[]byte("Package: nix-bin\nStatus: install ok installed\nVersion: 2.8.0-1.1+b1\n\n"), "nix (Nix) 2.8.0",
		[]byte(`{"schemaVersion":1,"nonce":"n","uid":0,"hostFileReachable":true,"hostFileNonceMatched":true}`), elfSeed)
	f.Add([]byte(":::\n::::,,,\n#x:y:z:w\n"), []byte("::::\n"), []byte("Package: \nStatus: installed\n\n\n"), "nix (Lix, like Nix) 2.91.1",
		[]byte(`{"pid":-1,"seccomp":"\u0000"}`), []byte("\x7fELF\x02\x01\x01"))
	f.Fuzz(func(t *testing.T, group, passwd, dpkg []byte, version string, probe, elfData []byte) {
		fuzzlimit.Default(t, func() {
			for g, ms := range parseGroups(group, passwd) {
				if !slices.IsSorted(ms) || len(slices.Compact(slices.Clone(ms))) != len(ms) {
					t.Fatalf("group %q members not sorted and unique: %v", g, ms)
				}
			}
			if p, v, ok := parseDpkgStatus(dpkg, "nix-bin"); ok && (p != "nix-bin" || bytes.Contains([]byte(v), []byte("\n"))) {
				t.Fatalf("dpkg: %q %q", p, v)
			}
			if impl, v, ok := ParseVersionOutput(version); ok && (impl == "" || v == "") {
				t.Fatalf("version %q: impl %q version %q", version, impl, v)
			}
			var rec ProbeRecord
			if json.Unmarshal(probe, &rec) == nil {
				r := &ProbeResult{Record: rec}
				r.Judge()
				if r.Verdict == "" {
					t.Fatal("probe record judged without a verdict")
				}
			}
			_ = checkStaticELF(bytes.NewReader(elfData))
		})
	})
}
