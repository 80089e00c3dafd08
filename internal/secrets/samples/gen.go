// Package samples generates labelled secret-scanning samples: token shapes
// rendered at run time from templates (so that no literal token lives in
// the source), and a set of true and false positives per class of secret,
// modelled on the public rule and detector test cases of gitleaks and
// trufflehog and on hand-made Nix cases, with encrypted material (sops,
// age, agenix, SealedSecrets, git-crypt, PGP messages) as negatives. The
// set is what bench/secrets-recall.sh runs nixgate, gitleaks and trufflehog
// on, and what the secrets package's tests hold nixgate to.
package samples

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	mrand "math/rand/v2"
	"regexp"
	"strconv"
	"strings"
)

// Gen renders templates with deterministic pseudo-random values.
//
// Template fields:
//
//	{an:N} letters+digits   {AN:N} upper+digits   {AN2:N} A-Z2-7   {az:N} a-z2-7
//	{ans:N} letters+digits+_-   {hex:N} {HEX:N} {alpha:N} {lowdig:N} {dig:N} {b64:N}
//	{x:N} N times 'x'   {gh:PREFIX} a GitHub token with a valid checksum
//	{jwt} {jwtnone} {age} {ageplugin} {pem:TYPE} {nixkey:NAME} {nixsig:NAME}
//	{nixkeyb64} {nixsigb64} {uuid} {UUID} {discord} {dockerauth} {basic}
type Gen struct{ r *mrand.Rand }

// New returns a generator seeded with seed.
func New(seed uint64) *Gen { return &Gen{mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

var fieldRe = regexp.MustCompile(`\{([a-zA-Z0-9]+)(?::([^}]*))?\}`)

const (
	lower  = "abcdefghijklmnopqrstuvwxyz"
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits = "0123456789"
	base62 = digits + upper + lower
)

// Pick returns n characters drawn from set.
func (g *Gen) Pick(set string, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteByte(set[g.r.IntN(len(set))])
	}
	return b.String()
}

// Bytes returns n pseudo-random bytes.
func (g *Gen) Bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	return b
}

// IntN returns a pseudo-random int in [0, n).
func (g *Gen) IntN(n int) int { return g.r.IntN(n) }

// Render fills a template's fields.
func (g *Gen) Render(tpl string) (string, error) {
	var bad string
	out := fieldRe.ReplaceAllStringFunc(tpl, func(m string) string {
		sm := fieldRe.FindStringSubmatch(m)
		v, ok := g.field(sm[1], sm[2])
		if !ok && bad == "" {
			bad = m
		}
		return v
	})
	if bad != "" {
		return "", fmt.Errorf("unknown template field %s", bad)
	}
	return out, nil
}

// MustRender is Render for templates known to be valid.
func (g *Gen) MustRender(tpl string) string {
	s, err := g.Render(tpl)
	if err != nil {
		panic(err)
	}
	return s
}

func (g *Gen) field(name, arg string) (string, bool) {
	n, _ := strconv.Atoi(arg)
	switch name {
	case "an":
		return g.Pick(lower+upper+digits, n), true
	case "AN":
		return g.Pick(upper+digits, n), true
	case "AN2":
		return g.Pick(upper+"234567", n), true
	case "az":
		return g.Pick(lower+"234567", n), true
	case "ans":
		return g.Pick(lower+upper+digits+"_-", n), true
	case "hex":
		return g.Pick("0123456789abcdef", n), true
	case "HEX":
		return g.Pick("0123456789ABCDEF", n), true
	case "alpha":
		return g.Pick(lower+upper, n), true
	case "lowdig":
		return g.Pick(lower+digits, n), true
	case "dig":
		return g.Pick("123456789", 1) + g.Pick(digits, n-1), true
	case "b64":
		return g.Pick(lower+upper+digits+"+/", n), true
	case "x":
		return strings.Repeat("x", n), true
	case "gh":
		return GitHubToken(arg, g.Pick(lower+upper+digits, 30)), true
	case "jwt":
		return g.JWT(true), true
	case "jwtnone":
		return g.JWT(false), true
	case "age":
		return strings.ToUpper(Bech32("age-secret-key-", g.Bytes(32))), true
	case "ageplugin":
		return strings.ToUpper(Bech32("age-plugin-yubikey-", g.Bytes(20))), true
	case "pem":
		return g.PEM(arg), true
	case "nixkey", "nixkeyb64":
		s := base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(g.Bytes(32)))
		if name == "nixkeyb64" {
			return s, true
		}
		return arg + ":" + s, true
	case "nixsig", "nixsigb64":
		k := ed25519.NewKeyFromSeed(g.Bytes(32))
		s := base64.StdEncoding.EncodeToString(ed25519.Sign(k, []byte("1;/nix/store/x;sha256:y;1;")))
		if name == "nixsigb64" {
			return s, true
		}
		return arg + ":" + s, true
	case "uuid":
		h := g.Pick("0123456789abcdef", 32)
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], true
	case "UUID":
		h := g.Pick("0123456789ABCDEF", 32)
		return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], true
	case "discord":
		id := g.Pick("123456789", 1) + g.Pick(digits, 17)
		return strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(id)), "=") + "." + g.Pick(lower+upper+digits+"_-", 6) + "." + g.Pick(lower+upper+digits+"_-", 38), true
	case "dockerauth", "basic":
		return base64.StdEncoding.EncodeToString([]byte(g.Pick(lower, 6) + ":" + g.Pick(lower+upper+digits, 20))), true
	}
	if v, ok := g.field2(name, arg); ok {
		return v, true
	}
	if v, ok := g.field3(name, arg, n); ok {
		return v, true
	}
	// Anything else is text (CSS, ${TOKEN}, Helm), left alone; a
	// lower-case name without an argument is an unknown field.
	if arg == "" && strings.ToLower(name) == name {
		return "", false
	}
	if arg != "" {
		return "{" + name + ":" + arg + "}", true
	}
	return "{" + name + "}", true
}

// GitHubToken is prefix_ + body (30 characters) + its checksum.
func GitHubToken(prefix, body30 string) string {
	c := crc32.ChecksumIEEE([]byte(body30))
	var out [6]byte
	for i := 5; i >= 0; i-- {
		out[i] = base62[c%62]
		c /= 62
	}
	return prefix + "_" + body30 + string(out[:])
}

// JWT returns a token with a JSON header and payload, signed (a random
// signature) or unsigned (alg none, empty signature).
func (g *Gen) JWT(signed bool) string {
	enc := base64.RawURLEncoding.EncodeToString
	if !signed {
		return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(fmt.Sprintf(`{"sub":"%s","iat":%d}`, g.Pick(lower, 10), 1600000000+g.r.IntN(1e8)))) + "."
	}
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		enc([]byte(fmt.Sprintf(`{"iss":"%d","sub":"%s","exp":%d}`, g.r.IntN(1e6), g.Pick(lower, 12), 1700000000+g.r.IntN(1e8)))) + "." + g.Pick(lower+upper+digits+"_-", 43)
}

// PEM returns a PEM block of a type with a body of the size of a real key.
// "RSA PRIVATE KEY" and "PRIVATE KEY" hold real (small, fast) RSA keys;
// other types hold random bytes.
func (g *Gen) PEM(typ string) string {
	var der []byte
	switch typ {
	case "OPENSSH PRIVATE KEY":
		der = g.openssh()
	default:
		der = g.Bytes(300)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

// openssh returns an unencrypted openssh-key-v1 body for a random ed25519
// key.
func (g *Gen) openssh() []byte {
	k := ed25519.NewKeyFromSeed(g.Bytes(32))
	pub := k.Public().(ed25519.PublicKey)
	str := func(b []byte, v []byte) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		return append(b, v...)
	}
	var blob []byte
	blob = str(blob, []byte("ssh-ed25519"))
	blob = str(blob, pub)
	var priv []byte
	check := uint32(g.r.Uint32())
	priv = binary.BigEndian.AppendUint32(priv, check)
	priv = binary.BigEndian.AppendUint32(priv, check)
	priv = str(priv, []byte("ssh-ed25519"))
	priv = str(priv, pub)
	priv = str(priv, k)
	priv = str(priv, []byte("sample"))
	for i := byte(1); len(priv)%8 != 0; i++ {
		priv = append(priv, i)
	}
	b := []byte("openssh-key-v1\x00")
	b = str(b, []byte("none"))
	b = str(b, []byte("none"))
	b = str(b, nil)
	b = binary.BigEndian.AppendUint32(b, 1)
	b = str(b, blob)
	b = str(b, priv)
	return b
}

// RSAKey returns a real PKCS#1 or PKCS#8 RSA private key in PEM (1024
// bits: fast to make; the scanners judge the format, not the strength).
func RSAKey(pkcs8 bool) string {
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	if pkcs8 {
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// Bech32 encodes 8-bit data with a human-readable part.
func Bech32(hrp string, data []byte) string {
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

// field3 renders composite values: keys in their file formats, encoded
// secrets.
func (g *Gen) field3(name, arg string, n int) (string, bool) {
	indent := func(text, by string) string {
		var b strings.Builder
		for _, l := range strings.SplitAfter(text, "\n") {
			if l != "" {
				b.WriteString(by + l)
			}
		}
		return b.String()
	}
	switch name {
	case "awssecret":
		// 40 characters with upper, lower and digits, as real keys have.
		for {
			s := g.Pick(lower+upper+digits+"+/", 40)
			if strings.ContainsAny(s, digits) && strings.ContainsAny(s, upper) && strings.ContainsAny(s, lower) {
				return s, true
			}
		}
	case "azs":
		return g.Pick(lower+upper+digits+"_~.-", n), true
	case "rsa":
		return RSAKey(false), true
	case "rsa8":
		return RSAKey(true), true
	case "rsajson":
		return strings.ReplaceAll(RSAKey(true), "\n", `\n`), true
	case "rsaindent":
		return indent(RSAKey(false), "    "), true
	case "opensshindent":
		return indent(g.PEM("OPENSSH PRIVATE KEY"), "    "), true
	case "serviceaccount":
		key := strings.ReplaceAll(RSAKey(true), "\n", `\n`)
		return fmt.Sprintf("{\n  \"type\": \"service_account\",\n  \"project_id\": \"demo-%s\",\n  \"private_key_id\": \"%s\",\n  \"private_key\": \"%s\",\n  \"client_email\": \"ci@demo.iam.gserviceaccount.com\",\n  \"client_id\": \"%s\"\n}\n",
			g.Pick(lower, 6), g.Pick("0123456789abcdef", 40), key, g.Pick(digits, 21)), true
	case "gcrjsonkey":
		sa, _ := g.field3("serviceaccount", "", 0)
		return base64.StdEncoding.EncodeToString([]byte("_json_key:" + sa)), true
	case "jwtb64":
		return base64.StdEncoding.EncodeToString([]byte(g.JWT(true))), true
	case "b64text":
		return base64.StdEncoding.EncodeToString([]byte(g.Pick(lower+upper+digits, n))), true
	case "ghb64":
		return base64.StdEncoding.EncodeToString([]byte(GitHubToken("ghp", g.Pick(lower+upper+digits, 30)))), true
	case "dockerconfigb64":
		auth, _ := g.field("dockerauth", "")
		return base64.StdEncoding.EncodeToString([]byte(`{"auths":{"registry.example.org":{"auth":"` + auth + `"}}}`)), true
	case "nixpub":
		return g.nixPub(arg), true
	case "nixkeyb64wrapped":
		k := ed25519.NewKeyFromSeed(g.Bytes(32))
		return base64.StdEncoding.EncodeToString([]byte("cache.example.org-1:" + base64.StdEncoding.EncodeToString(k))), true
	case "cachixjwt":
		// Cachix tokens are HS256 JWTs naming the token's id.
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(`{"alg":"HS256"}`)) + "." + enc([]byte(fmt.Sprintf(`{"jti":"%s","scopes":"cache"}`, g.Pick("0123456789abcdef-", 36)))) + "." + g.Pick(lower+upper+digits+"_-", 43), true
	}
	return "", false
}
