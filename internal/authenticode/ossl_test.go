package authenticode

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/nixgate/nixgate/internal/pecoff"
)

// osslsigncodeOld reports whether the osslsigncode on PATH is older than
// 2.6. Debian 12 ships 2.5, whose verify refuses a certificate table whose
// one WIN_CERTIFICATE has a dwLength without the table's padding to 8
// bytes ("Invalid signature") — what sbsign writes and the PE format
// allows (the directory size is padded, dwLength need not be). osslsigncode
// dropped that check in 2.6 (commit c699087, "Check the length of the
// attribute certificate entry").
var osslsigncodeOld = sync.OnceValue(func() bool {
	out, _ := exec.Command("osslsigncode", "--version").CombinedOutput()
	m := regexp.MustCompile(`osslsigncode (\d+)\.(\d+)`).FindSubmatch(out)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	return major < 2 || major == 2 && minor < 6
})

// osslsigncodeVerify runs `osslsigncode verify -CAfile CA -in path`. For an
// osslsigncode older than 2.6 it verifies a copy whose single
// WIN_CERTIFICATE's dwLength is rounded up to the padded table size: the
// certificate table is outside the Authenticode hash, so the copy has the
// same digest and signature, and the old oracle judges what the newer one
// judges.
func osslsigncodeVerify(t *testing.T, ca, path string) bool {
	t.Helper()
	if osslsigncodeOld() {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if f, err := pecoff.Parse(pecoff.Bytes(data), int64(len(data))); err == nil && f.Cert.Size >= 8 &&
			int64(f.Cert.Offset)+int64(f.Cert.Size) <= int64(len(data)) {
			at := int64(f.Cert.Offset)
			l := binary.LittleEndian.Uint32(data[at:])
			if l < f.Cert.Size && (l+7)&^7 == f.Cert.Size {
				binary.LittleEndian.PutUint32(data[at:], f.Cert.Size)
				path = filepath.Join(t.TempDir(), filepath.Base(path))
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return exec.Command("osslsigncode", "verify", "-CAfile", ca, "-in", path).Run() == nil
}
