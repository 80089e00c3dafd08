package report

// The JSON report as encoding/json writes it from these types: the
// reference writeJSON's hand-laid output must equal byte for byte
// (TestJSONMatchesEncoding, FuzzJSON).

import (
	"io"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/jsonindent"
)

type jsonReport struct {
	SchemaVersion int                `json:"schemaVersion"`
	Tool          jsonTool           `json:"tool"`
	Command       string             `json:"command"`
	Target        string             `json:"target"`
	FailOn        check.Severity     `json:"failOn"`
	Failed        bool               `json:"failed"`
	Summary       jsonSummary        `json:"summary"`
	Checks        []jsonCheck        `json:"checks"`
	Findings      []check.Finding    `json:"findings"`
	Groups        []jsonGroup        `json:"groups"`
	Suppressed    []check.Suppressed `json:"suppressed"`
	Errors        []check.Errored    `json:"errors"`
	Extra         any                `json:"extra,omitempty"`
}

// jsonGroup is a fact found in more than one place: the findings that
// share it are in findings, each with its location and fingerprint.
type jsonGroup struct {
	ID           string           `json:"id"`
	CheckID      string           `json:"checkId"`
	Severity     check.Severity   `json:"severity"`
	Message      string           `json:"message"`
	Locations    []check.Location `json:"locations"`
	Fingerprints []string         `json:"fingerprints"`
}

type jsonSummary struct {
	Findings   int            `json:"findings"`
	Distinct   int            `json:"distinct"`
	BySeverity map[string]int `json:"bySeverity"`
	Suppressed int            `json:"suppressed"`
	Errors     int            `json:"errors"`
}

func encodeJSON(w io.Writer, r *Report) error {
	res := r.Result
	out := jsonReport{
		SchemaVersion: SchemaVersion,
		Tool:          jsonTool{Name: "nixgate", Version: r.ToolVersion},
		Command:       r.Command,
		Target:        r.Target,
		FailOn:        r.FailOn,
		Failed:        r.Failed(),
		Summary: jsonSummary{
			Findings:   len(res.Findings),
			BySeverity: map[string]int{},
			Suppressed: len(res.Suppressed),
			Errors:     len(res.Errors),
		},
		Checks:     []jsonCheck{},
		Findings:   nonNil(res.Findings),
		Groups:     []jsonGroup{},
		Suppressed: nonNil(res.Suppressed),
		Errors:     nonNil(res.Errors),
		Extra:      r.Extra,
	}
	groups := Groups(res.Findings)
	out.Summary.Distinct = len(groups)
	for _, g := range groups {
		if len(g.Findings) < 2 {
			continue
		}
		jg := jsonGroup{ID: g.ID, CheckID: g.CheckID, Severity: g.Severity, Message: g.Message, Locations: g.Locations()}
		for _, f := range g.Findings {
			jg.Fingerprints = append(jg.Fingerprints, f.Fingerprint)
		}
		out.Groups = append(out.Groups, jg)
	}
	for _, c := range counts(res.Findings) {
		out.Summary.BySeverity[c.Severity.String()] = c.N
	}
	for _, c := range res.Checks {
		out.Checks = append(out.Checks, jsonCheck{ID: c.ID, Title: c.Title, Severity: c.Severity, Rules: nonNil(c.Rules)})
	}
	return jsonindent.Encode(w, out, true)
}
