package secrets

import (
	"strings"

	"github.com/nixgate/nixgate/internal/lazyre"
)

// Placeholders, code and documentation. A value assigned to a secret-like
// name is often not a secret: a reference to one (an environment
// variable, a template, a field of a configuration object, a function
// call), a placeholder a reader is to replace (`<your-token>`, `xxxx`,
// `changeme`, `23ac...b289`), or a name (`MY_TEAM_CACHIX_TOKEN`,
// `project-token`). These tests are applied by the rules whose secret has
// no fixed format (assignments, passwords, connection strings, netrc,
// access-tokens, cachix); a provider token with a fixed format is judged
// by its format and checksum.

var (
	// An upper-case identifier or environment variable name.
	envNameRe = lazyre.New(`^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$|^[A-Z]{2,}$`)
	// A dotted field access or qualified name: base.cachix_auth_token,
	// X25519.secret_length, config.services.foo.
	fieldRe = lazyre.New(`^[A-Za-z_$][\w$]*(?:(?:\.|::|->|\?\.)[A-Za-z_$][\w$]*)+(?:\(\)?)?$`)
	// Lower-case words joined by separators: project-token, my_secret_key,
	// k8s-secret-manifest (each part starts with a letter and has at most
	// one digit).
	wordsRe = lazyre.New(`^[a-z]+[0-9]?[a-z]*[0-9]*(?:[-_.](?:[a-z]+[0-9]?[a-z]*[0-9]*|[0-9]{1,4}))+$`)
	// A number (a float in a table, a port).
	numberRe = lazyre.New(`^[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?$`)
	// Lower-case letters with a digit or two: a word-like name
	// (fts5yyminor), told from a short random string by its few digits.
	lowerNameRe = lazyre.New(`^[a-z][a-z0-9]*$`)
	// A file path.
	pathRe = lazyre.New(`^(?:/|\./|\.\./|~/)[A-Za-z0-9._@-]+(?:/[A-Za-z0-9._@-]*)*$`)
	// Lower-case letters naming what the value is: mypassword,
	// urlencodedpassword, secrettoken.
	namedRe = lazyre.New(`^[a-z]*(?:password|passwd|secret|token|apikey|pass)[a-z]*[0-9]*!?$`)
	// camelCase or snake identifiers without digits: someToken,
	// cachix_auth_token_secret.
	identRe = lazyre.New(`^[a-z]+(?:[A-Z][a-z]+)+$|^[a-z]+(?:_[a-z]+)+$`)
	// PascalCase type and value names (K8sSecretManifest): told from a
	// password by having at most one digit.
	pascalRe = lazyre.New(`^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+$`)
	// Template and reference syntaxes.
	refRe = lazyre.New(`^\$\{?\w+\}?$|\$\{|\$\(|\{\{|\}\}|^<[^>]*>$|^%[\w.]+%$|^%\(\w+\)s$|^@[\w-]+@$|^\[\[|^#\{|^<%|^\{[\w.:]*\}$|^%[sdv]$`)
	// A hash named by its algorithm: sha256-…, sha256:…, md5=….
	hashRe = lazyre.New(`^(?i:sha1|sha224|sha256|sha384|sha512|md5|blake2b|blake3)[-:=]`)
	// Percent-encoded text: the value is scanned decoded, not raw.
	percentRe = lazyre.New(`%[0-9A-Fa-f]{2}`)
)

// fillerWords mark a value as a placeholder or an example.
var fillerWords = []string{
	"xxxx", "****", "....", "…", "example", "sample", "dummy", "placeholder", "redacted", "changeme",
	"change_me", "change-me", "replace", "your_", "your-", "yourtoken", "yoursecret", "yourpassword",
	"insert", "todo", "fixme", "tbd", "_here", "-here", "notasecret", "not_a_secret", "not-a-secret",
	"secretvalue", "secret_value", "secret-value", "abcdefgh", "0123456789", "1234567890", "12345678", "qwerty",
}

// fillerValues are whole values that are placeholders.
var fillerValues = map[string]bool{
	"password": true, "passwd": true, "pass": true, "secret": true, "token": true, "changeme": true, "pwd": true,
	"test": true, "testing": true, "none": true, "null": true, "nil": true, "undefined": true, "true": true,
	"false": true, "user": true, "admin": true, "root": true, "guest": true, "default": true, "empty": true,
	"foo": true, "bar": true, "foobar": true, "hunter2": true, "letmein": true, "private": true, "public": true,
	"required": true, "optional": true, "string": true, "str": true, "value": true, "mysecret": true,
	"mypassword": true, "mytoken": true, "apikey": true, "api_key": true, "secretkey": true, "secret_key": true,
}

// notSecretValue says why an assigned value is not a secret, or "" when it
// may be one. after is the text that follows it on the line.
func notSecretValue(v, after string) string {
	v = strings.Trim(v, "\"'`")
	l := strings.ToLower(v)
	switch {
	case v == "":
		return "empty"
	case fillerValues[l]:
		return "placeholder"
	case refRe().MatchString(v):
		return "reference"
	case strings.HasPrefix(strings.TrimLeft(after, " \t"), "("):
		return "function call"
	case envNameRe().MatchString(v):
		return "identifier"
	case fieldRe().MatchString(v) && identParts(v):
		return "field access"
	case wordsRe().MatchString(v), identRe().MatchString(v), namedRe().MatchString(v),
		pascalRe().MatchString(v) && digitCount(v) <= 1:
		return "name"
	case pathRe().MatchString(v):
		return "path"
	case numberRe().MatchString(v):
		return "number"
	case hashRe().MatchString(v):
		return "hash"
	case percentRe().MatchString(v):
		return "percent-encoded"
	case strings.Contains(v, "..."), strings.Contains(v, "…"):
		return "elided"
	}
	for _, w := range fillerWords {
		if strings.Contains(l, w) {
			return "placeholder"
		}
	}
	if isPlaceholder(v) {
		return "low entropy"
	}
	return ""
}

// identPartRe is one part of a qualified name: snake_case, TypeName,
// TypeName2, X25519, camelCase or CONSTANT.
var identPartRe = lazyre.New(`^(?:[A-Za-z_$][a-z0-9_$]*|[A-Z][A-Za-z]*[0-9]*|[a-z]+(?:[A-Z][a-z0-9]+)+|[A-Z][A-Z0-9_]*)(?:\(\)?)?$`)

// identParts reports whether every part of a dotted name is an
// identifier a programmer would write (no longer than 40 characters).
func identParts(v string) bool {
	for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == ':' || r == '>' || r == '-' || r == '?' }) {
		if len(p) > 40 || !identPartRe().MatchString(p) {
			return false
		}
	}
	return true
}

// assignedName is the name a matched value is assigned to: the identifier
// characters before the operator of an assignment match, reaching back
// into the text before the match.
func assignedName(m *Match) string {
	isName := func(c byte) bool {
		return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '$'
	}
	t := m.Text
	i := 0
	for i < len(t) && isName(t[i]) {
		i++
	}
	j := len(m.Before)
	for j > 0 && isName(m.Before[j-1]) {
		j--
	}
	return m.Before[j:] + t[:i]
}

// nameNotSecret reports whether a secret-like name says that its value is
// not a secret: the secret's name, length or file, a hash, a public or
// CSRF token, an endpoint.
var nameNotSecretRe = lazyre.New(`(?i)(?:` +
	`[_.-]?(?:name|names|file|files|path|paths|dir|len|length|size|type|types|format|field|header|prefix|suffix|env|var|ref|arn|url|uri|endpoint|version|ttl|expiry|expires|expiration|timeout|count|hash|sha1|sha256|sha512|md5|digest|checksum|fingerprint|id|ids|index|key_id|mode|enabled|enable|required|policy|scope|scopes|label|kind|location|provider|regex|pattern|placeholder|description|hint|example|query|param|command|cmd|script|method|class|store|manager|service|source|target|format|encoding|algorithm|alg|separator|delimiter|cache)$` +
	`|(?:hash|sha1|sha256|sha512|md5|digest|checksum|fingerprint|integrity)` +
	`|csrf|xsrf|authenticity|authenticat|authori[tz]|nonce|public|pubkey|pub_key|publishable|author(?:s|_|-|\.|$)|accessor|accessib|rapid|capital|monkey|turkey|keyboard|keypress|keyframe|keystore|keytab|primary_?key|foreign_?key|sort_?key|partition_?key|cache_?key|idempotency|_?token_?type|token_?endpoint|token_?url|tokenizer|secrets?_?manager|user_?secrets_?id` +
	`)`)

// verifyAssigned is the check of generic assignment rules: the value is
// not a placeholder or code and the name does not describe a non-secret.
func verifyAssigned(m *Match) Verdict {
	if notSecretValue(m.Secret, m.After) != "" {
		return Verdict{}
	}
	name := assignedName(m)
	if name != "" && nameNotSecretRe().MatchString(name) {
		return Verdict{}
	}
	// A value that holds the name it is assigned to is an alias or a
	// derived name (type AuthContext = TAuthContext), not a secret.
	if n := strings.Trim(strings.ToLower(name), "_.-$"); len(n) >= 4 && strings.Contains(strings.ToLower(m.Secret), n) {
		return Verdict{}
	}
	return Verdict{OK: true}
}

func digitCount(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}
