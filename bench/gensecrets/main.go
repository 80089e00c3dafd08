// Command gensecrets writes the generated tree that bench/secrets.sh scans:
// source-like files dense in the words secret scanners key on (token, key,
// password, secret, api, auth), one large log file (to show memory stays
// flat), some binary files, and planted secrets generated on the spot.
// The output is deterministic for a given seed.
//
//	go run ./bench/gensecrets -o DIR [-mb 160]
package main

import (
	"bufio"
	"crypto/ed25519"
	"encoding/base64"
	"flag"
	"fmt"
	"hash/crc32"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
)

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func pick(r *rand.Rand, set string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

func ghToken(r *rand.Rand) string {
	body := pick(r, alnum, 30)
	c := crc32.ChecksumIEEE([]byte(body))
	const b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var s [6]byte
	for i := 5; i >= 0; i-- {
		s[i] = b62[c%62]
		c /= 62
	}
	return "ghp_" + body + string(s[:])
}

var lines = []string{
	"func (s *Server) authenticate(ctx context.Context, token string) (*User, error) {",
	"\tkey := s.cache.Key(req.URL.Path) // api key lookup",
	"\tif err := s.store.Put(key, value); err != nil { return fmt.Errorf(\"put %s: %w\", key, err) }",
	"\tpassword := os.Getenv(\"DB_PASSWORD\")",
	"// See https://example.org/docs/api/auth#tokens for the secret rotation policy.",
	"\tsecretName := fmt.Sprintf(\"%s-credentials\", cfg.Name)",
	"\taccessKey := strings.TrimSpace(string(b))",
	"\treturn &Config{Endpoint: \"https://api.example.org/v1\", Timeout: 30 * time.Second}",
	"    def refresh_token(self, credentials): return self.session.post(self.auth_url, data=credentials)",
	"  api_version: v2  # the token endpoint moved in v2",
	"\tfor i, k := range keys { if k == nil { continue }; out[i] = k.PublicKey() }",
	"\t// The quick brown fox jumps over the lazy dog; nothing to see here.",
	"\tsum := sha256.Sum256(data); id := hex.EncodeToString(sum[:]) // 4ac5f2e1e3e5bb0a1b7f2e6e4c0f1d8e",
}

func main() {
	out := flag.String("o", "", "output directory")
	mb := flag.Int("mb", 160, "approximate size in MB")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	if *out == "" {
		log.Fatal("-o DIR is required")
	}
	r := rand.New(rand.NewPCG(*seed, *seed))
	planted := 0
	plant := func() string {
		planted++
		switch r.IntN(4) {
		case 0:
			return "GITHUB_TOKEN=" + ghToken(r)
		case 1:
			return "aws_access_key_id = AKIA" + pick(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
		case 2:
			k := ed25519.NewKeyFromSeed([]byte(pick(r, alnum, 32)))
			return "secret-key = cache.example.org-1:" + base64.StdEncoding.EncodeToString(k)
		default:
			return "SLACK_WEBHOOK=https://hooks.slack.com/services/T" + pick(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10) + "/B" + pick(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10) + "/" + pick(r, alnum, 24)
		}
	}
	write := func(name string, size int) {
		p := filepath.Join(*out, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			log.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		n := 0
		for n < size {
			l := lines[r.IntN(len(lines))]
			if r.IntN(20000) == 0 {
				l = plant()
			}
			k, _ := fmt.Fprintln(w, l)
			n += k
		}
		if err := w.Flush(); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
	total := *mb << 20
	big := total / 4 // one large file: streamed, never loaded whole
	write("logs/big.log", big)
	written := big
	for i := 0; written < total; i++ {
		size := 2000 + r.IntN(60000)
		ext := []string{".go", ".py", ".yaml", ".nix", ".md", ".env"}[i%6]
		write(fmt.Sprintf("src/pkg%03d/file%05d%s", i/100, i, ext), size)
		written += size
		if i%50 == 0 {
			bin := make([]byte, 4096)
			for j := range bin {
				bin[j] = byte(r.IntN(256))
			}
			copy(bin, "\x7fELF")
			os.WriteFile(filepath.Join(*out, fmt.Sprintf("src/pkg%03d/blob%05d.o", i/100, i)), bin, 0o644)
		}
	}
	fmt.Fprintf(os.Stderr, "gensecrets: %d MB, %d planted secrets in %s\n", written>>20, planted, *out)
}
