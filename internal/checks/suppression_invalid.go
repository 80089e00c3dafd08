package checks

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/lazyre"
	"github.com/nixgate/nixgate/internal/policy"
	"github.com/nixgate/nixgate/internal/repo"
)

// SuppressionInvalid reports inline suppressions that cannot work: a
// `nixgate:ignore` naming a check that does not exist (a typo silently
// suppresses nothing) or giving no reason.
var SuppressionInvalid = &check.Check{
	ID:       "suppression-invalid",
	Title:    "An inline suppression names no check or gives no reason",
	Severity: check.Medium,
	Rules:    []string{"R2"},
	Why: "A suppression is a reviewed decision: it names the check it silences and says why. One that names a " +
		"check nixgate does not have (a typo, a renamed check) silences nothing while looking like it does, and " +
		"one without a reason cannot be reviewed.",
	Remediation: "Write `nixgate:ignore CHECK-ID -- REASON` with an ID from `nixgate checks`, or remove the comment.",
	Scope:       check.ScopeRepo,
	// Run is set in init: it consults the registry, which lists this check.
}

func init() { SuppressionInvalid.Run = runSuppressionInvalid }

var suppressionRE = lazyre.New(`nixgate:ignore(?:\s+([^\s]+))?(?:\s+--\s*(.*?))?\s*(?:\*/|-->)?\s*$`)

func runSuppressionInvalid(ctx context.Context, p *check.Pass) error {
	known := map[string]bool{}
	for _, c := range All() {
		known[c.ID] = true
	}
	if b := p.Baseline; b != nil {
		for _, e := range b.Entries {
			if e.CheckID != "" && !known[e.CheckID] {
				p.Reportf(check.Location{Path: b.File, Line: e.Line}, "baseline:"+e.Fingerprint,
					"baseline entry for %q names no nixgate check: it suppresses nothing%s", e.CheckID, suggest(e.CheckID, known))
			}
		}
	}
	marker := []byte(check.IgnoreMarker)
	for _, name := range p.Repo.Files() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if p.Skip(name) || p.Repo.Mode(name) == "120000" {
			continue
		}
		data, err := p.Repo.ReadFile(name)
		if repo.IsRefused(err) {
			continue
		}
		if err != nil {
			continue // deleted or unreadable: other checks report it
		}
		if !bytes.Contains(data, marker) || bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
			continue
		}
		for i, line := range bytes.Split(data, []byte{'\n'}) {
			at := bytes.Index(line, marker)
			if at < 0 {
				continue
			}
			m := suppressionRE().FindSubmatch(line[at:])
			loc := check.Location{Path: name, Line: i + 1, Column: at + 1}
			if m == nil {
				m = [][]byte{nil, nil, nil}
			}
			id := string(m[1])
			if strings.ContainsAny(id, "<>`'\"()[]{}") || id != "" && strings.ToUpper(id) == id {
				continue // prose about the syntax (`nixgate:ignore <check-id>`, CHECK-ID), not a suppression
			}
			switch {
			case id == "":
				p.Reportf(loc, "", "nixgate:ignore without a check ID: write `nixgate:ignore CHECK-ID -- REASON`")
			case !known[id]:
				p.Reportf(loc, "unknown:"+id, "nixgate:ignore names %q, which is not a nixgate check: it suppresses nothing%s", id, suggest(id, known))
			case len(bytes.TrimSpace(m[2])) == 0:
				p.Reportf(loc, "noreason:"+id, "nixgate:ignore %s has no reason (write `nixgate:ignore %s -- REASON`): it suppresses nothing", id, id)
			}
		}
	}
	return nil
}

// suggest names the known ID closest to id, when one is close.
func suggest(id string, known map[string]bool) string {
	if best := policy.Closest(id, slices.Sorted(maps.Keys(known))); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}
