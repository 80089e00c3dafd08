package ciscan

import (
	"path"
	"strings"
)

// The signing scanner reads CI scripts as shell-like commands, not with
// regular expressions: a hostile workflow line of many megabytes must cost
// time linear in its length (regexp's NFA over eighteen patterns was both
// slow and, for patterns with lazy repetition, super-linear). Every pass
// below visits each byte a bounded number of times.

// match is what one command does that ci-signs reports.
type match struct {
	kind string // sign, deploy, key
	// what is the command as shown (`cosign sign-blob`), tool its name.
	what, tool string
	// keyArg is the key the command names (--key VALUE), "" when none.
	keyArg string
	// keyless is true for a Sigstore command without key material on its
	// command line (cosign sign without --key, --sk or --slot).
	sigstore bool
}

// forEachWord splits a logical line into words and commands: a command
// ends at a shell separator (| ; & ( ) ` and newlines). Quote characters
// are dropped rather than grouping words, so that a command inside
// sh -c '…' is still seen. word gets each word (a substring of the line
// without its quotes), end the end of each command. Linear in len(l), and
// it allocates at most one copy of the line.
func forEachWord(l string, word func(w string), end func()) {
	if strings.ContainsAny(l, "'\"") {
		l = strings.Map(func(r rune) rune {
			if r == '\'' || r == '"' {
				return -1
			}
			return r
		}, l)
	}
	start := -1
	for i := 0; i <= len(l); i++ {
		c := byte('\n')
		if i < len(l) {
			c = l[i]
		}
		switch c {
		case ' ', '\t', '\r', '\f', '\v', '|', ';', '&', '(', ')', '`', '\n':
			if start >= 0 {
				word(l[start:i])
				start = -1
			}
			if c != ' ' && c != '\t' && c != '\r' && c != '\f' && c != '\v' {
				end()
			}
		default:
			if start < 0 {
				start = i
			}
		}
	}
}

// base is a word's last path element (/usr/bin/sbsign → sbsign).
func base(w string) string {
	if i := strings.LastIndexByte(w, '/'); i >= 0 {
		return w[i+1:]
	}
	return w
}

var signTools = map[string]bool{
	"sbsign": true, "pesign": true, "osslsigncode": true, "kmodsign": true,
	"jarsigner": true, "debsign": true, "rpmsign": true,
}

// command follows the words of one command and recognises what ci-signs
// reports. It keeps a constant amount of state, so a command of a million
// words costs a million steps.
type command struct {
	prev, prev2                                        string
	gpg, openssl, rpm, nixCopy, nixStore, signify, nix bool
	// cosign is a pending cosign signing, completed at the end of the
	// command with the key flags that follow it.
	cosign  *match
	keyNext bool
}

// word feeds the next word; it returns a match as soon as one is certain
// (a cosign match waits for the end of the command).
func (c *command) word(w string) (match, bool) {
	prev, prev2 := c.prev, c.prev2
	c.prev2, c.prev = prev, w
	if c.cosign != nil {
		switch {
		case c.keyNext:
			c.cosign.keyArg, c.keyNext = w, false
		case w == "--key" || w == "-key":
			c.keyNext = true
		case strings.HasPrefix(w, "--key="):
			c.cosign.keyArg = strings.TrimPrefix(w, "--key=")
		case w == "--sk" || w == "--slot" || strings.HasPrefix(w, "--slot="):
			c.cosign.keyArg = "a security key (" + w + ")"
		}
		return match{}, false
	}
	b, pb := base(w), base(prev)
	switch {
	case signTools[b]:
		return match{kind: "sign", what: b, tool: b}, true
	case pb == "sbctl" && (w == "sign" || w == "sign-all"):
		return match{kind: "sign", what: "sbctl " + w, tool: "sbctl"}, true
	case (pb == "signtool" || pb == "signtool.exe") && w == "sign":
		return match{kind: "sign", what: pb + " sign", tool: "signtool"}, true
	case pb == "codesign":
		return match{kind: "sign", what: "codesign", tool: "codesign"}, true
	case strings.HasSuffix(w, "scripts/sign-file"):
		return match{kind: "sign", what: "scripts/sign-file", tool: "sign-file"}, true
	case pb == "cosign" && (w == "sign" || w == "sign-blob" || w == "attest" || w == "attest-blob"):
		c.cosign = &match{kind: "sign", what: "cosign " + w, tool: "cosign", sigstore: true}
	case b == "gpg" || b == "gpg2":
		c.gpg = true
	case c.gpg && isGPGSignFlag(w):
		return match{kind: "sign", what: "gpg " + clip(w), tool: "gpg"}, true
	case b == "signify" || b == "minisign":
		c.signify = true
	case c.signify && strings.HasPrefix(w, "-S"):
		return match{kind: "sign", what: "signify -S", tool: "signify"}, true
	case pb == "openssl" && (w == "dgst" || w == "pkeyutl" || w == "smime" || w == "cms"):
		c.openssl = true
	case c.openssl && w == "-sign":
		return match{kind: "sign", what: "openssl -sign", tool: "openssl"}, true
	case pb == "notation" && w == "sign":
		return match{kind: "sign", what: "notation sign", tool: "notation"}, true
	case b == "rpm":
		c.rpm = true
	case c.rpm && w == "--addsign":
		return match{kind: "sign", what: "rpm --addsign", tool: "rpm"}, true
	case pb == "nix" && w == "sign-paths":
		return match{kind: "sign", what: "nix sign-paths", tool: "nix"}, true
	case pb == "nix" && w == "copy":
		c.nixCopy = true
	case base(prev2) == "nix" && prev == "key" && w == "generate-secret":
		return match{kind: "key", what: "nix key generate-secret", tool: "nix"}, true
	case c.nix && prev == "store" && w == "sign":
		return match{kind: "sign", what: "nix store sign", tool: "nix"}, true
	case c.nixCopy && (w == "--to" || strings.HasPrefix(w, "--to=")):
		return match{kind: "deploy", what: "nix copy --to", tool: "nix"}, true
	case b == "nix-store":
		c.nixStore = true
	case c.nixStore && w == "--generate-binary-cache-key":
		return match{kind: "key", what: "nix-store --generate-binary-cache-key", tool: "nix-store"}, true
	case (pb == "cachix" || pb == "attic") && (w == "push" || w == "watch-exec" || w == "watch-store"):
		return match{kind: "deploy", what: pb + " " + w, tool: pb}, true
	}
	if b == "nix" {
		c.nix = true
	}
	return match{}, false
}

// end finishes the command: a pending cosign match is complete.
func (c *command) end() (match, bool) {
	m := c.cosign
	*c = command{}
	if m != nil {
		return *m, true
	}
	return match{}, false
}

// isGPGSignFlag reports whether a gpg argument asks for a signature:
// --sign, --detach-sign (or its abbreviation --detach-sig), --clearsign,
// or a cluster of short options holding -s or -b.
func isGPGSignFlag(w string) bool {
	switch w {
	case "--sign", "--detach-sign", "--detach-sig", "--clearsign", "--clear-sign":
		return true
	}
	if len(w) < 2 || w[0] != '-' || w[1] == '-' {
		return false
	}
	for i := 1; i < len(w); i++ {
		c := w[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return strings.ContainsAny(w[1:], "sb")
}

// scanLine finds the first reportable command of a logical line (or a
// private key block, or a Nix secret-key-file setting anywhere in it), and
// the words that name scripts (*.sh, *.bash, *.py, *.pl, *.rb, ./anything,
// .ci/anything), in one pass.
func scanLine(l string) (found match, ok bool, scripts []string) {
	var c command
	forEachWord(l, func(w string) {
		if !ok {
			found, ok = c.word(w)
		}
		if s := scriptWord(w); s != "" {
			scripts = append(scripts, s)
		}
	}, func() {
		if !ok {
			found, ok = c.end()
		}
		c = command{}
	})
	if ok {
		return found, true, scripts
	}
	if hasPrivateKeyBlock(l) {
		return match{kind: "key", what: "-----BEGIN PRIVATE KEY-----", tool: "pem"}, true, scripts
	}
	if strings.Contains(l, "secret-key-file") {
		return match{kind: "key", what: "secret-key-files", tool: "nix"}, true, scripts
	}
	return match{}, false, scripts
}

// scriptWord returns the script a word names, or "".
func scriptWord(w string) string {
	if i := strings.LastIndexByte(w, '='); i >= 0 {
		w = w[i+1:]
	}
	if w == "" || len(w) > 4096 {
		return ""
	}
	ext := path.Ext(w)
	if strings.HasPrefix(w, "./") && len(w) > 2 || strings.HasPrefix(w, ".ci/") ||
		ext == ".sh" || ext == ".bash" || ext == ".py" || ext == ".pl" || ext == ".rb" {
		return w
	}
	return ""
}

// hasPrivateKeyBlock finds "-----BEGIN <A-Z and spaces>PRIVATE KEY-----".
func hasPrivateKeyBlock(l string) bool {
	const begin = "-----BEGIN "
	for i := 0; ; {
		j := strings.Index(l[i:], begin)
		if j < 0 {
			return false
		}
		k := i + j + len(begin)
		// The label is short: look at no more than 40 bytes of it.
		p := k
		for p < len(l) && p-k < 40 && (l[p] >= 'A' && l[p] <= 'Z' || l[p] == ' ') {
			p++
		}
		if strings.HasSuffix(l[k:p], "PRIVATE KEY") && strings.HasPrefix(l[p:], "-----") {
			return true
		}
		i = k
	}
}

// secretRef is a secret or variable a line uses.
type secretRef struct {
	name string
}

// secretRefs lists the GitHub secrets (${{ secrets.NAME }}, also inside a
// larger expression) and the upper-case shell variables ($NAME, ${NAME})
// of a line, each once, in order.
func secretRefs(l string) []secretRef {
	var out []secretRef
	var seen map[string]bool
	add := func(n string, secretish bool) {
		if n == "" || seen[n] {
			return
		}
		if !secretish && !looksSecret(n) {
			return // $GPG_TTY is no secret; $GPG_PRIVATE_KEY is
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		seen[n] = true
		out = append(out, secretRef{name: n})
	}
	// ${{ … }} expressions: each "}}" is searched for once, from the
	// expression's start, and the scan resumes after it.
	for i := 0; i < len(l); {
		j := strings.Index(l[i:], "${{")
		if j < 0 {
			break
		}
		start := i + j + 3
		k := strings.Index(l[start:], "}}")
		if k < 0 {
			break
		}
		expr := l[start : start+k]
		for p := 0; p < len(expr); {
			q := strings.Index(expr[p:], "secrets.")
			if q < 0 {
				break
			}
			s := p + q + len("secrets.")
			e := s
			for e < len(expr) && isNameByte(expr[e]) {
				e++
			}
			if at := p + q; at == 0 || !isNameByte(expr[at-1]) && expr[at-1] != '.' {
				add(expr[s:e], true)
			}
			p = max(e, s)
		}
		i = start + k + 2
	}
	// $NAME and ${NAME}
	for i := 0; i < len(l); i++ {
		if l[i] != '$' {
			continue
		}
		s := i + 1
		if s < len(l) && l[s] == '{' {
			s++
		}
		if s >= len(l) || l[s] < 'A' || l[s] > 'Z' {
			continue
		}
		e := s
		for e < len(l) && (l[e] >= 'A' && l[e] <= 'Z' || l[e] >= '0' && l[e] <= '9' || l[e] == '_') {
			e++
		}
		add(l[s:e], false)
		i = e - 1
	}
	return out
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// normName lower-cases a secret's name and drops _ and -, so that
// SECURE_BOOT_DB_KEY, secure-boot-db-key and SecureBootDbKey compare alike.
func normName(n string) string {
	var b strings.Builder
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c == '_' || c == '-':
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// looksSecret: a variable whose name says it holds a credential.
func looksSecret(n string) bool {
	s := normName(n)
	for _, w := range []string{"key", "pass", "secret", "token", "cert", "p12", "pfx"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// signingWords in a secret's (normalised) name say it is signing material.
var signingWords = []string{"sign", "gpg", "pgp", "cosign", "secureboot", "sbkey", "dbkey", "mokkey", "keystore",
	"nixsecret", "cachekey", "secretkeyfile", "cachepriv"}

// credClass says what a secret's name says it is: "signing" (signing
// material), "bot" (a GitHub App's key, which mints a bot token), "deploy"
// (an SSH or deploy key for git and hosts), "private-key" (a private key of
// no stated use), or "" (not key material at all).
func credClass(n string) string {
	s := normName(n)
	for _, w := range signingWords {
		if strings.Contains(s, w) {
			return "signing"
		}
	}
	parts := strings.FieldsFunc(strings.ToLower(n), func(r rune) bool { return r == '_' || r == '-' })
	has := func(p string) bool {
		for _, x := range parts {
			if x == p {
				return true
			}
		}
		return false
	}
	isKey := strings.Contains(s, "privatekey") || strings.Contains(s, "privkey")
	switch {
	case (isKey || has("key") || has("pem")) && (has("app") || strings.Contains(s, "githubapp") || strings.Contains(s, "ghapp")):
		return "bot"
	case isKey && (has("ssh") || has("deploy")), has("deploy") && has("key"), strings.Contains(s, "sshkey"), strings.Contains(s, "deploykey"):
		return "deploy"
	case isKey:
		return "private-key"
	}
	return ""
}
