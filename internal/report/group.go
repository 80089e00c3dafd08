package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
)

// Group is one fact and every place it was found: the findings of one
// check with the same severity and the same message (53 flake.locks that
// follow one stale nixpkgs are one group of 53). A finding found once is a
// group of one.
type Group struct {
	// ID names the fact: a hash of the check, the severity and the
	// message. Every finding of the group shares it (SARIF carries it as
	// the results' correlationGuid).
	ID       string
	CheckID  string
	Severity check.Severity
	Message  string
	// Findings are the group's findings in report order; the first is
	// where text and Markdown show the group.
	Findings []check.Finding
}

// Locations lists the group's places.
func (g Group) Locations() []check.Location {
	out := make([]check.Location, len(g.Findings))
	for i, f := range g.Findings {
		out[i] = f.Location
	}
	return out
}

// Groups groups findings that state the same fact, keeping report order:
// a group sits where its first finding sorts.
func Groups(fs []check.Finding) []Group {
	index := map[string]int{}
	var out []Group
	for _, f := range fs {
		id := GroupID(f)
		if i, ok := index[id]; ok {
			out[i].Findings = append(out[i].Findings, f)
			continue
		}
		index[id] = len(out)
		out = append(out, Group{ID: id, CheckID: f.CheckID, Severity: f.Severity, Message: f.Message, Findings: []check.Finding{f}})
	}
	return out
}

// GroupID is the ID of the group a finding belongs to.
func GroupID(f check.Finding) string {
	b := make([]byte, 0, len(f.CheckID)+len(f.Message)+16)
	b = append(b, f.CheckID...)
	b = append(b, 0)
	b = append(b, f.Severity.String()...)
	b = append(b, 0)
	b = append(b, f.Message...)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// guid renders a group ID as the GUID SARIF's correlationGuid wants (the
// form of a name-based, version 5 UUID).
func guid(id string) string {
	b := []byte(id[:32])
	b[12] = '5'
	b[16] = "89ab"[strings.IndexByte("0123456789abcdef", b[16])%4]
	return fmt.Sprintf("%s-%s-%s-%s-%s", b[0:8], b[8:12], b[12:16], b[16:20], b[20:32])
}

// checkCount is one line of the summary: a check's findings by severity.
type checkCount struct {
	ID       string
	Max      check.Severity
	BySev    map[check.Severity]int
	Distinct int
	Total    int
}

// checkSummary counts findings per check, most severe first: by the check's
// highest severity, then by how many findings it has at it, then by ID.
func checkSummary(groups []Group) []checkCount {
	by := map[string]*checkCount{}
	for _, g := range groups {
		c := by[g.CheckID]
		if c == nil {
			c = &checkCount{ID: g.CheckID, Max: g.Severity, BySev: map[check.Severity]int{}}
			by[g.CheckID] = c
		}
		c.Max = max(c.Max, g.Severity)
		c.BySev[g.Severity] += len(g.Findings)
		c.Total += len(g.Findings)
		c.Distinct++
	}
	var out []checkCount
	for _, c := range by {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b checkCount) int {
		return cmp.Or(cmp.Compare(b.Max, a.Max), cmp.Compare(b.BySev[b.Max], a.BySev[a.Max]), strings.Compare(a.ID, b.ID))
	})
	return out
}

// countText renders a check's counts: "3 high, 2 info" and, when groups
// joined findings, how many distinct facts they are.
func (c checkCount) countText() string {
	var parts []string
	sevs := check.Severities()
	slices.Reverse(sevs)
	for _, s := range sevs {
		if n := c.BySev[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	t := strings.Join(parts, ", ")
	if c.Distinct < c.Total {
		t += fmt.Sprintf(" (%d distinct)", c.Distinct)
	}
	return t
}

// mostSevere returns the first n groups by severity (report order within
// a severity).
func mostSevere(groups []Group, n int) []Group {
	s := slices.Clone(groups)
	slices.SortStableFunc(s, func(a, b Group) int { return cmp.Compare(b.Severity, a.Severity) })
	return s[:min(n, len(s))]
}
