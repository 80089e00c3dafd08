// Package ciscan reads CI definitions — GitHub workflows, .gitlab-ci.yml,
// Buildkite pipelines, a .ci/ directory, a Jenkinsfile — and the scripts
// they call. Signs finds what signs, deploys or handles signing keys (CI
// must build but never sign); Harden finds the weaknesses of GitHub
// workflows that let a contributor run code with the repository's
// privileges.
package ciscan

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Finding is one problem at a line of a CI file or script.
type Finding struct {
	Path string
	Line int
	// Step names the CI step (or job) the line belongs to, "" when none.
	Step string
	// Kind says what was found: "sign", "deploy", "key", "secret",
	// "secret-unknown" (a private key of no stated use) (Signs);
	// "unpinned-action", "injection", "untrusted-checkout",
	// "permissions", "sandbox-off", "curl-pipe-shell" (Harden).
	Kind    string
	Message string
	// Key identifies the finding's content for fingerprints.
	Key string
	// Signing says how a "sign" finding signs: "key" (a long-lived key the
	// job holds or reaches), "keyless" (Sigstore: an ephemeral key
	// certified for the job's OIDC identity), "" when unknown.
	Signing string
	// Identity is the identity a keyless signature's certificate carries.
	Identity string
}

// IsCIDefinition reports whether a repository path is a CI definition
// nixgate reads: .github/workflows/*.yml, .gitlab-ci.yml, .buildkite/…,
// .ci/…, Jenkinsfile, .circleci/config.yml (at the repository root).
func IsCIDefinition(name string) bool {
	switch {
	case strings.HasPrefix(name, ".github/workflows/"):
		return isYAML(name) && !strings.Contains(strings.TrimPrefix(name, ".github/workflows/"), "/")
	case name == ".gitlab-ci.yml", name == "Jenkinsfile", name == ".circleci/config.yml":
		return true
	case strings.HasPrefix(name, ".buildkite/"), strings.HasPrefix(name, ".ci/"):
		return true
	}
	return false
}

// IsWorkflow reports whether name is a GitHub Actions workflow.
func IsWorkflow(name string) bool {
	return strings.HasPrefix(name, ".github/workflows/") && IsCIDefinition(name)
}

func isYAML(name string) bool {
	e := path.Ext(name)
	return e == ".yml" || e == ".yaml"
}

// ReadFunc reads a repository file.
type ReadFunc func(name string) ([]byte, error)

// SignsInput is what ScanSigns reads.
type SignsInput struct {
	// Files are the repository's files; the CI definitions among them
	// (IsCIDefinition, or Extra) are scanned, and the scripts they call.
	Files []string
	Extra map[string]bool
	Read  ReadFunc
	Skip  func(string) bool
	// Repository is the GitHub or GitLab project ("owner/name") when
	// known, to name the identity a keyless signature carries.
	Repository string
}

// Signs scans the CI definitions among files, and the repository scripts
// they call (transitively), for signing, deployment and signing keys.
func Signs(files []string, read ReadFunc, skip func(string) bool) ([]Finding, error) {
	return ScanSigns(SignsInput{Files: files, Read: read, Skip: skip})
}

// SignsExtra is Signs with more files to treat as CI definitions.
func SignsExtra(files []string, extra map[string]bool, read ReadFunc, skip func(string) bool) ([]Finding, error) {
	return ScanSigns(SignsInput{Files: files, Extra: extra, Read: read, Skip: skip})
}

// logical is one command line: physical lines joined where they end in a
// backslash, comments stripped.
type logical struct {
	line int // first physical line, 1-based
	text string
}

func logicalLines(name string, data []byte) (lines []logical, n int) {
	var cur strings.Builder
	start := 0
	phys := strings.Split(string(data), "\n")
	for i, raw := range phys {
		l := stripComment(name, raw)
		t := strings.TrimRight(l, " \t\r")
		if cont := strings.HasSuffix(t, "\\"); cont || cur.Len() > 0 {
			if cur.Len() == 0 {
				start = i + 1
			}
			if cont {
				cur.WriteString(t[:len(t)-1])
				cur.WriteByte(' ')
				continue
			}
			cur.WriteString(l)
			lines = append(lines, logical{line: start, text: cur.String()})
			cur.Reset()
			continue
		}
		lines = append(lines, logical{line: i + 1, text: l})
	}
	if cur.Len() > 0 {
		lines = append(lines, logical{line: start, text: cur.String()})
	}
	return lines, len(phys)
}

// ScanSigns is Signs with every input spelled out.
func ScanSigns(in SignsInput) ([]Finding, error) {
	skip := in.Skip
	if skip == nil {
		skip = func(string) bool { return false }
	}
	exists := map[string]bool{}
	for _, f := range in.Files {
		exists[f] = true
	}
	type job struct {
		name, via string
		caller    *stepInfo
	}
	var queue []job
	seen := map[string]bool{}
	for _, f := range in.Files {
		if (IsCIDefinition(f) || in.Extra[f]) && !skip(f) {
			queue = append(queue, job{name: f})
			seen[f] = true
		}
	}
	var out []Finding
	for len(queue) > 0 {
		j := queue[0]
		queue = queue[1:]
		data, err := in.Read(j.name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", j.name, err)
		}
		lines, n := logicalLines(j.name, data)
		var ctx *fileCtx
		if j.caller == nil {
			ctx = buildContext(j.name, data, n)
		}
		stepAt := func(line int) *stepInfo {
			if j.caller != nil {
				return j.caller
			}
			return ctx.at(line)
		}
		label := func(st *stepInfo) string {
			switch {
			case j.via != "":
				return "called from " + j.via
			case st != nil:
				return st.label
			}
			return ""
		}
		// Actions that sign in the job that runs them.
		if ctx != nil {
			for _, st := range ctx.steps {
				how, ok := signingActions[st.uses]
				if !ok || how == "" {
					continue
				}
				f := Finding{Path: j.name, Line: st.usesLine, Step: st.label, Kind: "sign", Signing: how, Key: "action:" + st.uses}
				if how == "key" {
					f.Kind = "key"
					f.Message = fmt.Sprintf("imports a signing key into the job (%s): every step after it can sign", "`"+st.uses+"`")
				} else {
					f.Signing, f.Identity = keylessIdentity(st, in.Repository)
					f.Message = signMessage(match{what: st.uses, sigstore: true}, f.Signing, f.Identity, st)
				}
				st.signs = st.uses
				out = append(out, f)
			}
		}
		// Commands first, so that secrets know whether their step signs.
		type hit struct {
			m  match
			ln int
		}
		var hits []hit
		scripts := make([][]string, len(lines))
		for i, lg := range lines {
			m, ok, sc := scanLine(lg.text)
			scripts[i] = sc
			if ok {
				hits = append(hits, hit{m, lg.line})
				if st := stepAt(lg.line); st != nil && m.kind == "sign" && st.signs == "" {
					st.signs = m.what
				}
			}
		}
		for _, h := range hits {
			st := stepAt(h.ln)
			f := Finding{Path: j.name, Line: h.ln, Step: label(st), Kind: h.m.kind, Key: h.m.kind + ":" + h.m.what}
			switch h.m.kind {
			case "sign":
				f.Signing, f.Identity = "key", ""
				if h.m.sigstore && h.m.keyArg == "" && (st == nil || !st.keyEnv) {
					f.Signing, f.Identity = keylessIdentity(st, in.Repository)
				}
				f.Message = signMessage(h.m, f.Signing, f.Identity, st)
			case "deploy":
				f.Message = fmt.Sprintf("pushes to a binary cache (%s)", "`"+clip(h.m.what)+"`")
				if h.m.what == "nix copy --to" {
					f.Message = fmt.Sprintf("copies store paths to a cache (%s)", "`"+h.m.what+"`")
				}
			case "key":
				switch h.m.tool {
				case "pem":
					f.Message = "holds a private key (`-----BEGIN PRIVATE KEY-----`)"
				case "nix":
					if h.m.what == "secret-key-files" {
						f.Message = "hands a Nix signing key to the build (`secret-key-files`)"
					} else {
						f.Message = fmt.Sprintf("generates a Nix signing key (%s)", "`"+h.m.what+"`")
					}
				default:
					f.Message = fmt.Sprintf("generates a Nix signing key (%s)", "`"+h.m.what+"`")
				}
			}
			out = append(out, f)
		}
		for i, lg := range lines {
			st := stepAt(lg.line)
			for _, ref := range secretRefs(lg.text) {
				class := credClass(ref.name)
				if class == "" {
					continue
				}
				if st != nil && st.cred != "" && class != "signing" {
					continue // a GitHub App token or an SSH key for git
				}
				if k := ctx.lineKeyAt(lg.line); k != "" && j.caller == nil {
					if kc := credClass(k); kc == "bot" || kc == "deploy" {
						continue // fed to a with: or env: key that says what it is
					}
				}
				f := Finding{Path: j.name, Line: lg.line, Step: label(st), Kind: "secret", Key: "secret:" + ref.name}
				switch class {
				case "bot", "deploy":
					continue
				case "signing":
					f.Message = fmt.Sprintf("uses the secret %s, whose name says it is signing material", clip(ref.name))
				case "private-key":
					if st != nil && st.signs != "" {
						f.Message = fmt.Sprintf("uses the secret %s, a private key, in a step that signs (%s)", clip(ref.name), "`"+clip(st.signs)+"`")
					} else {
						f.Kind = "secret-unknown"
						f.Message = fmt.Sprintf("uses the secret %s, a private key this CI does not show a use for: if it signs, CI holds a signing key", clip(ref.name))
					}
				}
				out = append(out, f)
			}
			for _, p := range scripts[i] {
				p = path.Clean(strings.TrimPrefix(p, "./"))
				if !exists[p] || seen[p] || skip(p) {
					continue
				}
				seen[p] = true
				via := j.name
				if s := label(st); s != "" && j.via == "" {
					via += " (" + s + ")"
				}
				queue = append(queue, job{name: p, via: via, caller: callerCtx(j.caller, st)})
			}
		}
	}
	sortFindings(out)
	return out, nil
}

// callerCtx is the context a called script inherits: its caller's step, or
// an empty one (so that the script's own lines are not looked up as
// steps).
func callerCtx(outer, st *stepInfo) *stepInfo {
	switch {
	case outer != nil:
		return outer
	case st != nil:
		return st
	}
	return &stepInfo{}
}

func (c *fileCtx) lineKeyAt(line int) string {
	if c == nil {
		return ""
	}
	return c.lineKey[line]
}

// keylessIdentity decides whether a Sigstore signing without key material
// is keyless (the job can mint an OIDC token) and names the identity its
// certificate will carry.
func keylessIdentity(st *stepInfo, repository string) (signing, identity string) {
	if st == nil || !st.idToken {
		return "", ""
	}
	proj := repository
	switch st.ci {
	case "github":
		if proj == "" {
			proj = "<owner>/<repo>"
		}
		return "keyless", fmt.Sprintf("https://github.com/%s/%s@<ref> (issuer https://token.actions.githubusercontent.com)", proj, st.file)
	case "gitlab":
		if proj == "" {
			proj = "<group>/<project>"
		}
		return "keyless", fmt.Sprintf("https://gitlab.com/%s//.gitlab-ci.yml@<ref> (issuer https://gitlab.com)", proj)
	}
	return "keyless", "the CI job's OIDC identity"
}

func signMessage(m match, signing, identity string, st *stepInfo) string {
	lead := "signs with `" + clip(m.what) + "`"
	switch m.tool {
	case "nix":
		lead = "signs store paths with `" + m.what + "`"
	case "sign-file":
		lead = "signs kernel modules with `" + m.what + "`"
	}
	switch signing {
	case "keyless":
		return fmt.Sprintf("%s keyless: Sigstore certifies an ephemeral key for the workflow identity %s "+
			"and logs it in Rekor; no key can leak, but CI signs what it built before anyone reviewed it", lead, identity)
	case "key":
		switch {
		case m.keyArg != "":
			return fmt.Sprintf("%s using the key %s: whoever can change this pipeline can sign with it", lead, "`"+clip(m.keyArg)+"`")
		case m.sigstore:
			return lead + " using a key from the environment: whoever can change this pipeline can sign with it"
		}
		return lead + ", with a key the job holds: whoever can change this pipeline can sign with it"
	}
	why := "the job cannot mint an OIDC token (no `id-token: write`), so it must hold a key"
	if st == nil || st.ci == "" {
		why = "no key on its command line; keyless or not, CI signs"
	}
	return lead + ": " + why
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// stripComment removes a trailing comment from a line: "#" in YAML and
// shell, "//" in a Jenkinsfile. A "#" inside quotes or a word stays.
func stripComment(name, l string) string {
	marker := "#"
	if path.Base(name) == "Jenkinsfile" {
		marker = "//"
	}
	t := strings.TrimSpace(l)
	if strings.HasPrefix(t, marker) && !strings.HasPrefix(t, "#!") {
		return ""
	}
	inS, inD := false, false
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case c == '\'' && !inD:
			inS = !inS
		case c == '"' && !inS:
			inD = !inD
		case !inS && !inD && strings.HasPrefix(l[i:], marker) && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
			return l[:i]
		}
	}
	return l
}

func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if a.Path != b.Path {
			return strings.Compare(a.Path, b.Path)
		}
		return a.Line - b.Line
	})
}
