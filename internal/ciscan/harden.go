package ciscan

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/nixgate/nixgate/internal/lazyre"
)

var (
	fullSHA    = lazyre.New(`^[0-9a-f]{40}$`)
	expr       = lazyre.New(`\$\{\{\s*([^}]*?)\s*\}\}`)
	untrusted  = lazyre.New(`^(github\.event\.[\w.*\[\]'"-]*\.?(title|body|message|ref|head_ref|head_branch|label|name|email|page_name|default_branch)|github\.head_ref)$`)
	prHead     = lazyre.New(`github\.event\.pull_request\.head\.|github\.head_ref|github\.event\.workflow_run\.head_|refs/pull/`)
	curlPipe   = lazyre.New(`\b(curl|wget)\b[^|;&\n]*\|\s*(sudo\s+(-\w+\s+)*)?(ba|z|da|k)?sh\b|\b(ba)?sh\s+<\(\s*(curl|wget)\b|\b(ba)?sh\s+-c\s+["']?\$\((curl|wget)\b`)
	sandboxOff = lazyre.New(`--option\s+sandbox\s+(false|relaxed)\b|\bsandbox\s*=\s*(false|relaxed)\b|--no-sandbox\b`)
	gitFetchPR = lazyre.New(`\b(git\s+(checkout|fetch|switch|pull)|gh\s+pr\s+checkout)\b`)
)

// Harden checks one GitHub Actions workflow.
func Harden(name string, data []byte) ([]Finding, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil
	}
	root := doc.Content[0]
	var out []Finding
	report := func(line int, step, kind, key, format string, args ...any) {
		out = append(out, Finding{Path: name, Line: line, Step: step, Kind: kind, Key: kind + ":" + key, Message: fmt.Sprintf(format, args...)})
	}

	triggers := map[string]bool{}
	if on := mapGet(root, "on"); on != nil {
		switch on.Kind {
		case yaml.ScalarNode:
			triggers[on.Value] = true
		case yaml.SequenceNode:
			for _, c := range on.Content {
				triggers[c.Value] = true
			}
		case yaml.MappingNode:
			forEachPair(on, func(k, _ *yaml.Node) { triggers[k.Value] = true })
		}
	}
	privileged := ""
	for _, t := range []string{"pull_request_target", "workflow_run"} {
		if triggers[t] {
			privileged = t
		}
	}

	if p := mapGet(root, "permissions"); p == nil {
		report(1, "", "permissions", "missing", "no top-level permissions: every job's GITHUB_TOKEN gets the repository default, which may be write-all; set `permissions: {contents: read}` and widen per job")
	} else if p.Kind == yaml.ScalarNode && p.Value == "write-all" {
		report(p.Line, "", "permissions", "write-all", "top-level `permissions: write-all` gives every job a token that can push, release and change settings")
	}

	forEachPair(mapGet(root, "jobs"), func(k, job *yaml.Node) {
		jobName := "job " + k.Value
		if p := mapGet(job, "permissions"); p != nil && p.Kind == yaml.ScalarNode && p.Value == "write-all" {
			report(p.Line, jobName, "permissions", "write-all:"+k.Value, "job %s has `permissions: write-all`", k.Value)
		}
		if u := mapGet(job, "uses"); u != nil {
			checkUses(u, jobName, report)
		}
		steps := mapGet(job, "steps")
		if steps == nil || steps.Kind != yaml.SequenceNode {
			return
		}
		for i, st := range steps.Content {
			label := fmt.Sprintf("step %d", i+1)
			if n := mapGet(st, "name"); n != nil && n.Value != "" {
				label = fmt.Sprintf("step %q", n.Value)
			} else if n := mapGet(st, "uses"); n != nil {
				label = "step uses " + n.Value
			}
			label += " (" + jobName + ")"
			uses := mapGet(st, "uses")
			if uses != nil {
				checkUses(uses, label, report)
			}
			with := mapGet(st, "with")
			merged := privileged == "pull_request_target" && (requiresMerged(mapGet(job, "if")) || requiresMerged(mapGet(st, "if")))
			if privileged != "" && uses != nil && strings.HasPrefix(uses.Value, "actions/checkout@") {
				if ref := mapGet(with, "ref"); ref != nil && prHead().MatchString(ref.Value) {
					if merged {
						report(ref.Line, label, "merged-checkout", "checkout:"+ref.Value,
							"a %s workflow checks out the pull request's head (ref: %s), but its `if:` runs it only for merged pull requests: the head is merged code", privileged, ref.Value)
					} else {
						report(ref.Line, label, "untrusted-checkout", "checkout:"+ref.Value,
							"a %s workflow checks out the contributed code (ref: %s): it then runs with the base repository's secrets and write token", privileged, ref.Value)
					}
				}
			}
			forEachPair(with, func(wk, wv *yaml.Node) {
				if wv.Kind != yaml.ScalarNode {
					return
				}
				first, lines := scriptLines(wv)
				for j, l := range lines {
					if m := sandboxOff().FindString(l); m != "" {
						report(first+j, label, "sandbox-off", "sandbox:"+m, "turns the Nix sandbox off (`%s` in %s): builds can read the network and the host", m, wk.Value)
					}
					if wk.Value == "script" {
						checkInjection(l, first+j, label, report)
					}
				}
			})
			run := mapGet(st, "run")
			if run == nil || run.Kind != yaml.ScalarNode {
				continue
			}
			first, lines := scriptLines(run)
			for j, l := range lines {
				ln := first + j
				checkInjection(l, ln, label, report)
				if m := curlPipe().FindString(l); m != "" {
					report(ln, label, "curl-pipe-shell", "curl:"+strings.TrimSpace(m), "pipes a download into a shell (`%s`): what runs is whatever the server sends that day; download, check a pinned hash, then run", clip(strings.TrimSpace(m)))
				}
				if m := sandboxOff().FindString(l); m != "" {
					report(ln, label, "sandbox-off", "sandbox:"+m, "turns the Nix sandbox off (`%s`): builds can read the network and the host", m)
				}
				if privileged != "" && !merged && gitFetchPR().MatchString(l) && prHead().MatchString(l) {
					report(ln, label, "untrusted-checkout", "git:"+strings.TrimSpace(l),
						"a %s workflow fetches the contributed code: it then runs with the base repository's secrets and write token", privileged)
				}
			}
		}
	})
	sortFindings(out)
	return slices.CompactFunc(out, func(a, b Finding) bool { return a.Line == b.Line && a.Key == b.Key }), nil
}

func checkUses(u *yaml.Node, step string, report func(int, string, string, string, string, ...any)) {
	v := strings.TrimSpace(u.Value)
	switch {
	case v == "", strings.HasPrefix(v, "./"):
		return // a local action or workflow
	case strings.HasPrefix(v, "docker://"):
		if !strings.Contains(v, "@sha256:") {
			report(u.Line, step, "unpinned-action", v, "container %s is not pinned to a digest (@sha256:…)", v)
		}
		return
	}
	action, ref, ok := strings.Cut(v, "@")
	if !ok {
		report(u.Line, step, "unpinned-action", v, "action %s has no version at all", v)
		return
	}
	if !fullSHA().MatchString(ref) {
		report(u.Line, step, "unpinned-action", action, "action %s is pinned to %q, a movable tag or branch; pin a full commit SHA (%s@<40 hex> # %s)", action, ref, action, ref)
	}
}

func checkInjection(l string, line int, step string, report func(int, string, string, string, string, ...any)) {
	for _, m := range expr().FindAllStringSubmatch(l, -1) {
		if untrusted().MatchString(m[1]) {
			report(line, step, "injection", "expr:"+m[1],
				"`${{ %s }}` is expanded into the script before it runs: a contributor who controls it can run commands; pass it through env: and quote \"$VAR\"", m[1])
		}
	}
}

// requiresMerged reports whether an `if:` condition holds only for a merged
// pull request: github.event.pull_request.merged (== true) is one of the
// conditions joined by && at the top level, and no top-level || offers a
// way around it.
func requiresMerged(n *yaml.Node) bool {
	if n == nil || n.Kind != yaml.ScalarNode {
		return false
	}
	cond := strings.TrimSpace(n.Value)
	cond = strings.TrimSuffix(strings.TrimPrefix(cond, "${{"), "}}")
	const key = "github.event.pull_request.merged"
	depth, found := 0, false
	for i := 0; i < len(cond); i++ {
		switch c := cond[i]; {
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '\'' || c == '"':
			// skip a string literal
			if j := strings.IndexByte(cond[i+1:], c); j >= 0 {
				i += j + 1
			}
		case depth == 0 && strings.HasPrefix(cond[i:], "||"):
			return false
		case depth == 0 && strings.HasPrefix(cond[i:], key):
			before := strings.TrimRight(cond[:i], " \t")
			if strings.HasSuffix(before, "!") {
				return false
			}
			rest := strings.TrimLeft(cond[i+len(key):], " \t\n")
			switch {
			case strings.HasPrefix(rest, "=="):
				found = strings.HasPrefix(strings.TrimLeft(rest[2:], " \t"), "true")
			case rest == "", strings.HasPrefix(rest, "&&"), strings.HasPrefix(rest, ")"):
				found = true
			}
			i += len(key) - 1
		}
	}
	return found
}
