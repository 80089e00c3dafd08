package nixcli

import (
	"github.com/nixgate/nixgate/internal/fuzzlimit"

	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// realLog is Nix 2.8's internal-json log of `nix-store --realise` with an
// untrusted substitute (refused, then built) and a trusted one (fetched),
// "result" progress lines trimmed.
const realLog = `@nix {"action":"start","id":1,"level":6,"text":"querying info about missing paths","type":0}
@nix {"action":"msg","level":3,"msg":"this path will be fetched (0.00 MiB download, 0.00 MiB unpacked):"}
@nix {"action":"msg","level":3,"msg":"  /nix/store/b4k2r02w1gpddr3l10syb8l9vvmc084j-dep-x"}
@nix {"action":"msg","level":1,"msg":"\u001b[35;1mwarning:\u001b[0m the substitute for '/nix/store/b4k2r02w1gpddr3l10syb8l9vvmc084j-dep-x' from 'file:///tmp/subx/cache' is not signed by any of the keys in 'trusted-public-keys'"}
@nix {"action":"start","fields":["/nix/store/v0j5l6zwwfxw5vvyacxk188c4nqbz6xk-dep-x.drv","",1,1],"id":2,"level":3,"text":"building '/nix/store/v0j5l6zwwfxw5vvyacxk188c4nqbz6xk-dep-x.drv'","type":105}
@nix {"action":"result","fields":["hello from the builder"],"id":2,"type":101}
@nix {"action":"result","fields":[0,1,0,0],"id":3,"type":105}
@nix {"action":"stop","id":2}
@nix {"action":"start","fields":["/nix/store/8hzbz17vcmw97w1wpqpadxhfkj7crcps-lib","file:///tmp/subx/cache"],"id":4,"level":0,"text":"","type":108}
@nix {"action":"start","fields":["/nix/store/8hzbz17vcmw97w1wpqpadxhfkj7crcps-lib","file:///tmp/subx/cache","local"],"id":5,"level":3,"text":"copying path '/nix/store/8hzbz17vcmw97w1wpqpadxhfkj7crcps-lib' from 'file:///tmp/subx/cache'","type":100}
@nix {"action":"msg","level":1,"msg":"\u001b[35;1mwarning:\u001b[0m you did not specify '--add-root'; the result might be removed by the garbage collector"}
@nix {"action":"msg","column":null,"file":null,"level":0,"line":null,"msg":"\u001b[31;1merror:\u001b[0m something failed"}
plain line
@nix {not json`

func TestJSONLog(t *testing.T) {
	var text bytes.Buffer
	res := &RealiseResult{}
	l := &jsonLog{w: &text, res: res}
	// Written in pieces that split lines.
	for s := realLog; s != ""; {
		n := min(37, len(s))
		l.Write([]byte(s[:n]))
		s = s[n:]
	}
	l.Flush()
	want := &RealiseResult{
		Built:       []string{"/nix/store/v0j5l6zwwfxw5vvyacxk188c4nqbz6xk-dep-x.drv"},
		Substituted: []Substitution{{Path: "/nix/store/8hzbz17vcmw97w1wpqpadxhfkj7crcps-lib", From: "file:///tmp/subx/cache"}},
		Refused:     []Substitution{{Path: "/nix/store/b4k2r02w1gpddr3l10syb8l9vvmc084j-dep-x", From: "file:///tmp/subx/cache"}},
	}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	wantText := `this path will be fetched (0.00 MiB download, 0.00 MiB unpacked):
  /nix/store/b4k2r02w1gpddr3l10syb8l9vvmc084j-dep-x
warning: the substitute for '/nix/store/b4k2r02w1gpddr3l10syb8l9vvmc084j-dep-x' from 'file:///tmp/subx/cache' is not signed by any of the keys in 'trusted-public-keys'
building '/nix/store/v0j5l6zwwfxw5vvyacxk188c4nqbz6xk-dep-x.drv'
hello from the builder
copying path '/nix/store/8hzbz17vcmw97w1wpqpadxhfkj7crcps-lib' from 'file:///tmp/subx/cache'
error: something failed
plain line
@nix {not json
`
	if diff := cmp.Diff(wantText, text.String()); diff != "" {
		t.Errorf("text (-want +got):\n%s", diff)
	}
	if got := lastError(text.String()); got != "something failed" {
		t.Errorf("lastError = %q", got)
	}
}

// FuzzJSONLog feeds arbitrary logs to the internal-json reader: it must
// not panic, and every line must come out (rendered or verbatim) or be
// consumed.
func FuzzJSONLog(f *testing.F) {
	for _, l := range strings.Split(realLog, "\n") {
		f.Add(l + "\n")
	}
	f.Add(realLog)
	f.Add(`@nix {"action":"start","type":108,"fields":[1,null]}` + "\n")
	f.Add(`@nix {"action":"result","type":101,"fields":[]}` + "\n")
	f.Fuzz(func(t *testing.T, s string) {
		var text bytes.Buffer
		l := &jsonLog{w: &text, res: &RealiseResult{}}
		l.Write([]byte(s))
		l.Flush()
		if text.Len() > 3*len(s)+1 { // invalid UTF-8 in JSON decodes to U+FFFD, 3 bytes
			t.Errorf("rendered %d bytes from %d", text.Len(), len(s))
		}
	})
}

// FuzzNixJSON feeds the readers of `nix path-info --json` and `nix
// show-config --json` arbitrary bytes: an error or a result, no panic,
// bounded cost.
func FuzzNixJSON(f *testing.F) {
	f.Add([]byte(`[{"path":"/nix/store/0c7rx1bqizvi4f0wmg8lxk3ym6gzq2rj-x","narHash":"sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s","narSize":120,"references":[],"signatures":["k:s"]}]`),
		[]byte(`{"substituters":{"value":["https://cache.nixos.org/"]},"trusted-public-keys":{"value":[]}}`))
	f.Add([]byte(`[{"narSize":-1,"references":null}, null]`), []byte(`{"substituters":{"value":null}}`))
	f.Add([]byte(`{}`), []byte(`[]`))
	f.Fuzz(func(t *testing.T, pathInfo, showConfig []byte) {
		fuzzlimit.Default(t, func() {
			if res, err := parsePathInfo(pathInfo); err == nil && res == nil && len(bytes.TrimSpace(pathInfo)) > 0 && string(bytes.TrimSpace(pathInfo)) != "null" {
				t.Fatalf("no error and no result for %q", pathInfo)
			}
			_, _ = parseShowConfigSubstituters(showConfig)
		})
	})
}
