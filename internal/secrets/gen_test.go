package secrets

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Token-shaped test secrets are generated at test time from templates, so
// that no literal token lives in the source. Template fields:
//
//	{an:N} letters+digits   {AN:N} upper+digits   {AN2:N} A-Z2-7
//	{ans:N} letters+digits+_-   {hex:N} {alpha:N} {lowdig:N} {dig:N} {b64:N}
//	{x:N} N times 'x'   {gh:PREFIX} a GitHub token with a valid checksum
//	{jwt} {age} {pem:TYPE} {nixkey:NAME} {nixsig:NAME} {nixkeyb64} {nixsigb64}
type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

var fieldRe = regexp.MustCompile(`\{([a-zA-Z0-9]+)(?::([^}]*))?\}`)

const (
	lower  = "abcdefghijklmnopqrstuvwxyz"
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits = "0123456789"
)

func (g *gen) pick(set string, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(set[g.r.IntN(len(set))])
	}
	return b.String()
}

func (g *gen) render(t testing.TB, tpl string) string {
	return fieldRe.ReplaceAllStringFunc(tpl, func(m string) string {
		sm := fieldRe.FindStringSubmatch(m)
		name, arg := sm[1], sm[2]
		n, _ := strconv.Atoi(arg)
		switch name {
		case "an":
			return g.pick(lower+upper+digits, n)
		case "AN":
			return g.pick(upper+digits, n)
		case "AN2":
			return g.pick(upper+"234567", n)
		case "ans":
			return g.pick(lower+upper+digits+"_-", n)
		case "hex":
			return g.pick("0123456789abcdef", n)
		case "alpha":
			return g.pick(lower+upper, n)
		case "lowdig":
			return g.pick(lower+digits, n)
		case "dig":
			return g.pick(digits, n)
		case "b64":
			return g.pick(lower+upper+digits+"+/", n)
		case "x":
			return strings.Repeat("x", n)
		case "gh":
			body := g.pick(lower+upper+digits, 30)
			return arg + "_" + body + GitHubChecksum(body)
		case "jwt":
			enc := base64.RawURLEncoding.EncodeToString
			return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." +
				enc([]byte(fmt.Sprintf(`{"iss":"%d","sub":"%s"}`, g.r.IntN(1e6), g.pick(lower, 12)))) + "." + g.pick(lower+upper+digits+"_-", 43)
		case "age":
			return strings.ToUpper(bech32Encode("age-secret-key-", g.bytes(32)))
		case "pem":
			var raw []byte
			raw = g.bytes(300)
			return string(pem.EncodeToMemory(&pem.Block{Type: arg, Bytes: raw}))
		case "nixkey", "nixkeyb64":
			k := ed25519.NewKeyFromSeed(g.bytes(32))
			s := base64.StdEncoding.EncodeToString(k)
			if name == "nixkeyb64" {
				return s
			}
			return arg + ":" + s
		case "nixsig", "nixsigb64":
			k := ed25519.NewKeyFromSeed(g.bytes(32))
			s := base64.StdEncoding.EncodeToString(ed25519.Sign(k, []byte("1;/nix/store/x;sha256:y;1;")))
			if name == "nixsigb64" {
				return s
			}
			return arg + ":" + s
		}
		t.Fatalf("unknown template field %s", m)
		return ""
	})
}

func (g *gen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	return b
}

// bech32Encode encodes data (8-bit) with a human-readable part.
func bech32Encode(hrp string, data []byte) string {
	var five []byte
	acc, bits := 0, 0
	for _, b := range data {
		acc = acc<<8 | int(b)
		bits += 8
		for bits >= 5 {
			bits -= 5
			five = append(five, byte(acc>>bits)&31)
		}
	}
	if bits > 0 {
		five = append(five, byte(acc<<(5-bits))&31)
	}
	polymod := func(values []byte) uint32 {
		gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
		chk := uint32(1)
		for _, v := range values {
			top := chk >> 25
			chk = (chk&0x1ffffff)<<5 ^ uint32(v)
			for i := 0; i < 5; i++ {
				if (top>>i)&1 == 1 {
					chk ^= gen[i]
				}
			}
		}
		return chk
	}
	var exp []byte
	for i := 0; i < len(hrp); i++ {
		exp = append(exp, hrp[i]>>5)
	}
	exp = append(exp, 0)
	for i := 0; i < len(hrp); i++ {
		exp = append(exp, hrp[i]&31)
	}
	values := append(append(exp, five...), 0, 0, 0, 0, 0, 0)
	mod := polymod(values) ^ 1
	var b strings.Builder
	b.WriteString(hrp)
	b.WriteByte('1')
	for _, v := range five {
		b.WriteByte(bech32Charset[v])
	}
	for i := 0; i < 6; i++ {
		b.WriteByte(bech32Charset[(mod>>(5*(5-i)))&31])
	}
	return b.String()
}
