package report

import (
	"encoding/json"
	"io"
	"slices"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/jsonindent"
	"github.com/nixgate/nixgate/internal/jsonw"
)

// jsonTool and jsonCheck are the report's "tool" and "checks" entries, as
// read back (read.go).
type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonCheck struct {
	ID       string         `json:"id"`
	Title    string         `json:"title"`
	Severity check.Severity `json:"severity"`
	Rules    []string       `json:"rules"`
}

// JSONAppender is an Extra that appends its own compact JSON: the bytes
// json.Marshal writes for it. kconfig's half-megabyte verdict tables take
// this way; any other Extra is marshalled by encoding/json.
type JSONAppender interface {
	AppendJSON(b []byte) []byte
}

// writeJSON writes the report as indented JSON (docs/report-json.md). It
// is laid out here rather than marshalled from structs: encoding/json's
// reflection was a fifth of a kconfig run. json_ref_test.go keeps the
// struct form, and the tests require the same bytes from both.
func writeJSON(w io.Writer, r *Report) error {
	res := r.Result
	str := jsonw.StringHTML
	b := make([]byte, 0, 4096+256*len(res.Findings))
	b = append(b, `{"schemaVersion":`...)
	b = jsonw.Int(b, SchemaVersion)
	b = append(b, `,"tool":{"name":"nixgate","version":`...)
	b = str(b, r.ToolVersion)
	b = append(b, `},"command":`...)
	b = str(b, r.Command)
	b = append(b, `,"target":`...)
	b = str(b, r.Target)
	b = append(b, `,"failOn":`...)
	b = str(b, r.FailOn.String())
	b = append(b, `,"failed":`...)
	if r.Failed() {
		b = append(b, "true"...)
	} else {
		b = append(b, "false"...)
	}
	groups := Groups(res.Findings)
	b = append(b, `,"summary":{"findings":`...)
	b = jsonw.Int(b, int64(len(res.Findings)))
	b = append(b, `,"distinct":`...)
	b = jsonw.Int(b, int64(len(groups)))
	b = append(b, `,"bySeverity":{`...)
	// encoding/json sorts a map's keys: the severities by name.
	cs := counts(res.Findings)
	byName := make(map[string]int, len(cs))
	names := make([]string, 0, len(cs))
	for _, c := range cs {
		byName[c.Severity.String()] = c.N
		names = append(names, c.Severity.String())
	}
	slices.Sort(names)
	for i, n := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = str(b, n)
		b = append(b, ':')
		b = jsonw.Int(b, int64(byName[n]))
	}
	b = append(b, `},"suppressed":`...)
	b = jsonw.Int(b, int64(len(res.Suppressed)))
	b = append(b, `,"errors":`...)
	b = jsonw.Int(b, int64(len(res.Errors)))
	b = append(b, `},"checks":`...)
	b = jsonw.Array(b, nonNil(res.Checks), func(b []byte, c *check.Check) []byte {
		b = append(b, `{"id":`...)
		b = str(b, c.ID)
		b = append(b, `,"title":`...)
		b = str(b, c.Title)
		b = append(b, `,"severity":`...)
		b = str(b, c.Severity.String())
		b = append(b, `,"rules":`...)
		b = jsonw.StringsHTML(b, c.Rules)
		return append(b, '}')
	})
	b = append(b, `,"findings":`...)
	b = jsonw.Array(b, nonNil(res.Findings), func(b []byte, f check.Finding) []byte {
		b = append(b, '{')
		b = findingFields(b, &f)
		return append(b, '}')
	})
	b = append(b, `,"groups":[`...)
	n := 0
	for _, g := range groups {
		if len(g.Findings) < 2 {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = append(b, `{"id":`...)
		b = str(b, g.ID)
		b = append(b, `,"checkId":`...)
		b = str(b, g.CheckID)
		b = append(b, `,"severity":`...)
		b = str(b, g.Severity.String())
		b = append(b, `,"message":`...)
		b = str(b, g.Message)
		b = append(b, `,"locations":`...)
		b = jsonw.Array(b, g.Findings, func(b []byte, f check.Finding) []byte { return location(b, f.Location) })
		b = append(b, `,"fingerprints":`...)
		b = jsonw.Array(b, g.Findings, func(b []byte, f check.Finding) []byte { return str(b, f.Fingerprint) })
		b = append(b, '}')
	}
	b = append(b, `],"suppressed":`...)
	b = jsonw.Array(b, nonNil(res.Suppressed), func(b []byte, s check.Suppressed) []byte {
		b = append(b, '{')
		b = findingFields(b, &s.Finding)
		b = append(b, `,"via":`...)
		b = str(b, s.Via)
		b = append(b, `,"reason":`...)
		b = str(b, s.Reason)
		return append(b, '}')
	})
	b = append(b, `,"errors":`...)
	b = jsonw.Array(b, nonNil(res.Errors), func(b []byte, e check.Errored) []byte {
		b = append(b, `{"checkId":`...)
		b = str(b, e.CheckID)
		b = append(b, `,"error":`...)
		b = str(b, e.Error)
		return append(b, '}')
	})
	if r.Extra != nil {
		b = append(b, `,"extra":`...)
		if a, ok := r.Extra.(JSONAppender); ok {
			b = a.AppendJSON(b)
		} else {
			x, err := json.Marshal(r.Extra)
			if err != nil {
				return err
			}
			b = append(b, x...)
		}
	}
	b = append(b, '}')
	return jsonindent.Write(w, b)
}

// findingFields appends a finding's members (without the braces, for a
// suppressed finding's members to follow).
func findingFields(b []byte, f *check.Finding) []byte {
	b = append(b, `"checkId":`...)
	b = jsonw.StringHTML(b, f.CheckID)
	b = append(b, `,"severity":`...)
	b = jsonw.StringHTML(b, f.Severity.String())
	b = append(b, `,"message":`...)
	b = jsonw.StringHTML(b, f.Message)
	b = append(b, `,"location":`...)
	b = location(b, f.Location)
	b = append(b, `,"fingerprint":`...)
	return jsonw.StringHTML(b, f.Fingerprint)
}

// location appends a location, its empty members left out.
func location(b []byte, l check.Location) []byte {
	b = append(b, '{')
	sep := false
	if l.Path != "" {
		b = append(b, `"path":`...)
		b = jsonw.StringHTML(b, l.Path)
		sep = true
	}
	if l.Line != 0 {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"line":`...)
		b = jsonw.Int(b, int64(l.Line))
		sep = true
	}
	if l.Column != 0 {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"column":`...)
		b = jsonw.Int(b, int64(l.Column))
	}
	return append(b, '}')
}

// nonNil is s, or an empty slice for nil: the report's lists are arrays
// even when empty.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
