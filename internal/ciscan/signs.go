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
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Finding is one problem at a line of a CI file or script.
type Finding struct {
	Path string
	Line int
	// Step names the CI step (or job) the line belongs to, "" when none.
	Step string
	// Kind says what was found: "sign", "deploy", "key", "secret" (Signs);
	// "unpinned-action", "injection", "untrusted-checkout",
	// "permissions", "sandbox-off", "curl-pipe-shell" (Harden).
	Kind    string
	Message string
	// Key identifies the finding's content for fingerprints.
	Key string
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

type rule struct {
	kind string
	re   *regexp.Regexp
	what string
}

var signRules = []rule{
	{"sign", regexp.MustCompile(`\b(sbsign|pesign|osslsigncode|kmodsign|jarsigner|debsign|rpmsign)\b`), "signs with %s"},
	{"sign", regexp.MustCompile(`\bsbctl\s+sign(-all)?\b`), "signs with %s"},
	{"sign", regexp.MustCompile(`\bsigntool(\.exe)?\s+sign\b`), "signs with %s"},
	{"sign", regexp.MustCompile(`\bcodesign\s`), "signs with %s"},
	{"sign", regexp.MustCompile(`\bscripts/sign-file\b`), "signs kernel modules with %s"},
	{"sign", regexp.MustCompile(`\bnix(\s+--[\w-]+(\s+[^\s-]\S*)?)*\s+store\s+sign\b`), "signs store paths with %s"},
	{"sign", regexp.MustCompile(`\bnix\s+sign-paths\b`), "signs store paths with %s"},
	{"key", regexp.MustCompile(`\bnix(-store\s+--generate-binary-cache-key|\s+key\s+generate-secret)\b`), "generates a Nix signing key (%s)"},
	{"key", regexp.MustCompile(`secret-key-files?\b`), "hands a Nix signing key to the build (%s)"},
	{"sign", regexp.MustCompile(`\bcosign\s+(sign|sign-blob|attest|attest-blob)\b`), "signs with %s"},
	{"sign", regexp.MustCompile(`\bgpg2?\b[^|;&\n]*?(--sign|--detach-sign|--clear-?sign|\s-[a-zA-Z]*[sb][a-zA-Z]*\b)`), "signs with %s"},
	{"sign", regexp.MustCompile(`\b(signify|minisign)\s+(-\w+\s+)*-S\b`), "signs with %s"},
	{"sign", regexp.MustCompile(`\bopenssl\s+(dgst|pkeyutl|smime|cms)\b[^|;&\n]*\s-sign\b`), "signs with %s"},
	{"sign", regexp.MustCompile(`\bnotation\s+sign\b`), "signs with %s"},
	{"sign", regexp.MustCompile(`\brpm\s+--addsign\b`), "signs with %s"},
	{"deploy", regexp.MustCompile(`\b(cachix|attic)\s+push\b`), "pushes to a binary cache (%s)"},
	{"deploy", regexp.MustCompile(`\bnix\s+copy\b[^\n]*\s--to\b`), "copies store paths to a cache (%s)"},
	{"key", regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`), "holds a private key (%s)"},
}

// secretName says a secret or variable is signing material.
var secretName = regexp.MustCompile(`(?i)(sign|private_?key|priv_?key|gpg|pgp|cosign|secure_?boot|sb_?key|db_?key|mok_?key|keystore|nix_?secret|cache_?key|secret_?key_?file)`)

var (
	secretish = regexp.MustCompile(`(?i)(key|pass|secret|token|cert|p12|pfx)`)
	ghSecret  = regexp.MustCompile(`\$\{\{\s*secrets\.([A-Za-z0-9_-]+)\s*\}\}`)
	shellVar  = regexp.MustCompile(`\$\{?([A-Z][A-Z0-9_]*)`)
	scriptRef = regexp.MustCompile(`(?:^|[\s'"=(])((?:\./)?(?:[\w.-]+/)*[\w.-]+\.(?:sh|bash|py|pl|rb)|\./[\w./-]+|\.ci/[\w./-]+)`)
)

// ReadFunc reads a repository file; Exists tells whether a path is a
// repository file.
type ReadFunc func(name string) ([]byte, error)

// Signs scans the CI definitions among files, and the repository scripts
// they call (transitively), for signing, deployment and signing keys.
func Signs(files []string, read ReadFunc, skip func(string) bool) ([]Finding, error) {
	return SignsExtra(files, nil, read, skip)
}

// SignsExtra is Signs with more files to treat as CI definitions.
func SignsExtra(files []string, extra map[string]bool, read ReadFunc, skip func(string) bool) ([]Finding, error) {
	exists := map[string]bool{}
	for _, f := range files {
		exists[f] = true
	}
	type job struct{ name, via string }
	var queue []job
	seen := map[string]bool{}
	for _, f := range files {
		if (IsCIDefinition(f) || extra[f]) && !skip(f) {
			queue = append(queue, job{name: f})
			seen[f] = true
		}
	}
	var out []Finding
	for len(queue) > 0 {
		j := queue[0]
		queue = queue[1:]
		data, err := read(j.name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", j.name, err)
		}
		steps := stepRanges(j.name, data)
		lines := strings.Split(string(data), "\n")
		for i, raw := range lines {
			ln := i + 1
			l := stripComment(j.name, raw)
			step := steps.at(ln)
			if j.via != "" {
				step = "called from " + j.via
			}
			for _, r := range signRules {
				if m := r.re.FindString(l); m != "" {
					m = strings.TrimSpace(m)
					out = append(out, Finding{Path: j.name, Line: ln, Step: step, Kind: r.kind,
						Message: fmt.Sprintf(r.what, "`"+clip(m)+"`"), Key: r.kind + ":" + m})
					break
				}
			}
			names := ghSecret.FindAllStringSubmatch(l, -1)
			for _, m := range shellVar.FindAllStringSubmatch(l, -1) {
				if secretish.MatchString(m[1]) { // $GPG_TTY is no secret; $GPG_PRIVATE_KEY is
					names = append(names, m)
				}
			}
			done := map[string]bool{}
			for _, m := range names {
				n := m[1]
				if done[n] || !secretName.MatchString(n) {
					continue
				}
				done[n] = true
				out = append(out, Finding{Path: j.name, Line: ln, Step: step, Kind: "secret",
					Message: fmt.Sprintf("uses the secret %s, whose name says it is signing material", n), Key: "secret:" + n})
			}
			for _, m := range scriptRef.FindAllStringSubmatch(l, -1) {
				p := path.Clean(strings.TrimPrefix(m[1], "./"))
				if !exists[p] || seen[p] || skip(p) {
					continue
				}
				seen[p] = true
				via := j.name
				if step != "" && j.via == "" {
					via += " (" + step + ")"
				} else if j.via != "" {
					via = j.name
				}
				queue = append(queue, job{name: p, via: via})
			}
		}
	}
	return out, nil
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

// steps maps lines to step names.
type steps []stepRange

type stepRange struct {
	from, to int
	name     string
}

func (s steps) at(line int) string {
	best := ""
	size := 0
	for _, r := range s {
		if line >= r.from && line <= r.to && (best == "" || r.to-r.from < size) {
			best, size = r.name, r.to-r.from
		}
	}
	return best
}

// stepRanges finds the steps of a YAML CI definition: GitHub steps (by
// name, uses or position), GitLab jobs, Buildkite steps (by label).
func stepRanges(name string, data []byte) steps {
	if !isYAML(name) {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	var out steps
	add := func(n *yaml.Node, label string) {
		out = append(out, stepRange{from: n.Line, to: lastLine(n), name: label})
	}
	switch {
	case strings.HasPrefix(name, ".github/"):
		jobs := mapGet(root, "jobs")
		forEachPair(jobs, func(k, job *yaml.Node) {
			add(job, "job "+k.Value)
			steps := mapGet(job, "steps")
			if steps == nil || steps.Kind != yaml.SequenceNode {
				return
			}
			for i, st := range steps.Content {
				label := fmt.Sprintf("%s step %d", k.Value, i+1)
				if n := mapGet(st, "name"); n != nil && n.Value != "" {
					label = fmt.Sprintf("%q", n.Value)
				} else if n := mapGet(st, "uses"); n != nil {
					label = "uses " + n.Value
				}
				add(st, "step "+label+" (job "+k.Value+")")
			}
		})
	case name == ".gitlab-ci.yml", name == ".circleci/config.yml":
		forEachPair(root, func(k, v *yaml.Node) {
			if v.Kind == yaml.MappingNode {
				add(v, "job "+k.Value)
			}
		})
	default: // Buildkite and others: steps with labels
		if st := mapGet(root, "steps"); st != nil && st.Kind == yaml.SequenceNode {
			for i, s := range st.Content {
				label := fmt.Sprintf("step %d", i+1)
				if n := mapGet(s, "label"); n != nil {
					label = fmt.Sprintf("step %q", n.Value)
				}
				add(s, label)
			}
		}
	}
	return out
}

func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func forEachPair(n *yaml.Node, f func(k, v *yaml.Node)) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		f(n.Content[i], n.Content[i+1])
	}
}

// lastLine is the last line a node covers.
func lastLine(n *yaml.Node) int {
	l := n.Line
	if n.Kind == yaml.ScalarNode {
		extra := strings.Count(strings.TrimRight(n.Value, "\n"), "\n")
		if n.Style == yaml.LiteralStyle || n.Style == yaml.FoldedStyle {
			extra++
		}
		l += extra
	}
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// scriptLines maps the lines of a run: scalar to file lines.
func scriptLines(n *yaml.Node) (first int, lines []string) {
	lines = strings.Split(strings.TrimRight(n.Value, "\n"), "\n")
	first = n.Line
	if n.Style == yaml.LiteralStyle || n.Style == yaml.FoldedStyle {
		first++
	}
	return first, lines
}

func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if a.Path != b.Path {
			return strings.Compare(a.Path, b.Path)
		}
		return a.Line - b.Line
	})
}
