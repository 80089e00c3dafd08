package ciscan

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// stepInfo is what a CI step (or job) tells about the lines it covers.
type stepInfo struct {
	from, to int
	// label names the step: `step "sign" (job release)`, `job build`.
	label string
	// uses is the step's action without its ref (actions/checkout).
	uses     string
	usesLine int
	// idToken: the job can mint an OIDC token (GitHub permissions
	// id-token: write, a GitLab id_tokens block), which keyless signing
	// needs.
	idToken bool
	// keyEnv: the step, its job or the workflow puts cosign key material
	// in the environment (COSIGN_PRIVATE_KEY, COSIGN_KEY, COSIGN_PASSWORD).
	keyEnv bool
	// cred is "bot" for a step that mints a GitHub App token, "deploy" for
	// one that loads an SSH key for git; the secrets such a step uses are
	// credentials, not signing material.
	cred string
	// signs is set when a line of the step signs (filled by the scanner).
	signs string
	// ci names the CI system: "github", "gitlab", "" for others.
	ci string
	// file is the CI definition the step is in.
	file string
}

// fileCtx maps the lines of a CI definition to the innermost step that
// covers them, and says which with:/env: key each line sets.
type fileCtx struct {
	steps   []*stepInfo
	owner   []int32 // line -> index into steps, -1 when none
	lineKey map[int]string
}

func (c *fileCtx) at(line int) *stepInfo {
	if c == nil || line < 0 || line >= len(c.owner) || c.owner[line] < 0 {
		return nil
	}
	return c.steps[c.owner[line]]
}

// botActions mint GitHub App tokens; sshActions load SSH keys for git.
func credAction(uses string) string {
	u := strings.ToLower(uses)
	switch {
	case strings.Contains(u, "app-token"), strings.Contains(u, "github-app"), strings.Contains(u, "application-token"):
		return "bot"
	case strings.Contains(u, "ssh-agent"), strings.Contains(u, "ssh-key"):
		return "deploy"
	}
	return ""
}

// buildContext reads a YAML CI definition's steps. It returns nil for files
// that are not YAML or do not parse; then lines have no step.
func buildContext(name string, data []byte, nlines int) *fileCtx {
	if !isYAML(name) {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	c := &fileCtx{lineKey: map[int]string{}}
	add := func(n *yaml.Node, s *stepInfo) {
		s.from, s.to, s.file = n.Line, lastLine(n), name
		c.steps = append(c.steps, s)
	}
	keys := func(n *yaml.Node) {
		forEachPair(n, func(k, v *yaml.Node) {
			c.lineKey[k.Line] = k.Value
			if v.Kind == yaml.ScalarNode && v.Line != k.Line {
				for l := v.Line; l <= lastLine(v); l++ {
					c.lineKey[l] = k.Value
				}
			}
		})
	}
	switch {
	case strings.HasPrefix(name, ".github/"):
		topToken := idTokenPerm(mapGet(root, "permissions"))
		topKey := hasKeyEnv(mapGet(root, "env"))
		keys(mapGet(root, "env"))
		forEachPair(mapGet(root, "jobs"), func(k, job *yaml.Node) {
			tok := topToken
			if p := mapGet(job, "permissions"); p != nil {
				tok = idTokenPerm(p) // job permissions replace the workflow's
			}
			jobKey := topKey || hasKeyEnv(mapGet(job, "env"))
			keys(mapGet(job, "env"))
			add(job, &stepInfo{label: "job " + k.Value, idToken: tok, keyEnv: jobKey, ci: "github"})
			steps := mapGet(job, "steps")
			if steps == nil || steps.Kind != yaml.SequenceNode {
				return
			}
			for i, st := range steps.Content {
				s := &stepInfo{idToken: tok, keyEnv: jobKey || hasKeyEnv(mapGet(st, "env")), ci: "github"}
				label := fmt.Sprint(i + 1)
				if n := mapGet(st, "name"); n != nil && n.Value != "" {
					label = fmt.Sprintf("%q", n.Value)
				} else if n := mapGet(st, "uses"); n != nil {
					label = "uses " + n.Value
				}
				s.label = "step " + label + " (job " + k.Value + ")"
				if u := mapGet(st, "uses"); u != nil && u.Kind == yaml.ScalarNode {
					s.uses, _, _ = strings.Cut(strings.TrimSpace(u.Value), "@")
					s.usesLine = u.Line
					s.cred = credAction(s.uses)
				}
				keys(mapGet(st, "with"))
				keys(mapGet(st, "env"))
				add(st, s)
			}
		})
	case name == ".gitlab-ci.yml", name == ".circleci/config.yml":
		ci := ""
		if name == ".gitlab-ci.yml" {
			ci = "gitlab"
		}
		topKey := hasKeyEnv(mapGet(root, "variables"))
		forEachPair(root, func(k, v *yaml.Node) {
			if v.Kind == yaml.MappingNode {
				keys(mapGet(v, "variables"))
				add(v, &stepInfo{label: "job " + k.Value, idToken: mapGet(v, "id_tokens") != nil,
					keyEnv: topKey || hasKeyEnv(mapGet(v, "variables")), ci: ci})
			}
		})
	default: // Buildkite and others: steps with labels
		if st := mapGet(root, "steps"); st != nil && st.Kind == yaml.SequenceNode {
			for i, s := range st.Content {
				label := fmt.Sprintf("step %d", i+1)
				if n := mapGet(s, "label"); n != nil {
					label = fmt.Sprintf("step %q", n.Value)
				}
				keys(mapGet(s, "env"))
				add(s, &stepInfo{label: label, keyEnv: hasKeyEnv(mapGet(s, "env"))})
			}
		}
	}
	// Paint each line with its innermost step: outer ranges first, inner
	// ones over them. Jobs hold steps and steps do not overlap, so each
	// line is painted a bounded number of times.
	c.owner = make([]int32, nlines+2)
	for i := range c.owner {
		c.owner[i] = -1
	}
	order := make([]int, len(c.steps))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return (c.steps[b].to - c.steps[b].from) - (c.steps[a].to - c.steps[a].from)
	})
	for _, i := range order {
		s := c.steps[i]
		for l := max(s.from, 0); l <= min(s.to, len(c.owner)-1); l++ {
			c.owner[l] = int32(i)
		}
	}
	return c
}

// idTokenPerm reports whether a permissions node lets the job mint an OIDC
// token.
func idTokenPerm(p *yaml.Node) bool {
	if p == nil {
		return false
	}
	if p.Kind == yaml.ScalarNode {
		return p.Value == "write-all"
	}
	v := mapGet(p, "id-token")
	return v != nil && v.Value == "write"
}

// hasKeyEnv reports whether an env: or variables: mapping holds cosign key
// material.
func hasKeyEnv(n *yaml.Node) bool {
	found := false
	forEachPair(n, func(k, _ *yaml.Node) {
		s := normName(k.Value)
		if strings.HasPrefix(s, "cosign") && (strings.Contains(s, "key") || strings.Contains(s, "password")) {
			found = true
		}
	})
	return found
}

// signingActions are actions that sign in the job that runs them.
var signingActions = map[string]string{
	"actions/attest-build-provenance":      "keyless",
	"actions/attest":                       "keyless",
	"actions/attest-sbom":                  "keyless",
	"sigstore/gh-action-sigstore-python":   "keyless",
	"pypa/gh-action-pypi-publish":          "keyless", // PEP 740 attestations, on by default
	"crazy-max/ghaction-import-gpg":        "key",
	"sigstore/cosign-installer":            "",
	"slsa-framework/slsa-github-generator": "keyless",
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
