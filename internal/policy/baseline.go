package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/nixgate/nixgate/internal/check"
)

// baselineFile is the on-disk shape of a baseline.
type baselineFile struct {
	SchemaVersion int             `json:"schemaVersion"`
	Findings      []baselineEntry `json:"findings"`
}

type baselineEntry struct {
	Fingerprint string `json:"fingerprint"`
	CheckID     string `json:"checkId"`
	Path        string `json:"path,omitempty"`
	Message     string `json:"message"`
	Reason      string `json:"reason"`
}

// WriteBaseline writes findings as a baseline, each accepted for reason.
func WriteBaseline(w io.Writer, findings []check.Finding, reason string) error {
	bf := baselineFile{SchemaVersion: 1, Findings: []baselineEntry{}}
	for _, f := range findings {
		bf.Findings = append(bf.Findings, baselineEntry{Fingerprint: f.Fingerprint, CheckID: f.CheckID,
			Path: f.Location.Path, Message: f.Message, Reason: reason})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(bf)
}

// ParseBaseline decodes a baseline file named name. Every entry needs a
// fingerprint and a reason.
func ParseBaseline(name string, data []byte) (*check.Baseline, error) {
	var bf baselineFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&bf); err != nil {
		return nil, fmt.Errorf("%s: %w", name, jsonPosError(data, err))
	}
	if bf.SchemaVersion != 1 {
		return nil, fmt.Errorf("%s: baseline schemaVersion %d is not supported", name, bf.SchemaVersion)
	}
	b := &check.Baseline{File: name}
	lines := fingerprintLines(data)
	for i, e := range bf.Findings {
		if e.Fingerprint == "" || e.Reason == "" {
			return nil, fmt.Errorf("%s: finding %d: a baseline entry needs a fingerprint and a reason", name, i+1)
		}
		b.Entries = append(b.Entries, check.BaselineEntry{Fingerprint: e.Fingerprint, CheckID: e.CheckID,
			Path: e.Path, Reason: e.Reason, Line: lines[e.Fingerprint]})
	}
	return b, nil
}

// fingerprintLines maps each fingerprint to the line it is written on.
func fingerprintLines(data []byte) map[string]int {
	out := map[string]int{}
	for i, l := range bytes.Split(data, []byte("\n")) {
		if k := bytes.Index(l, []byte(`"fingerprint"`)); k >= 0 {
			rest := l[k+len(`"fingerprint"`):]
			if a := bytes.IndexByte(rest, '"'); a >= 0 {
				if b := bytes.IndexByte(rest[a+1:], '"'); b >= 0 {
					fp := string(rest[a+1 : a+1+b])
					if _, ok := out[fp]; !ok {
						out[fp] = i + 1
					}
				}
			}
		}
	}
	return out
}

// jsonPosError adds line:col to a JSON syntax error.
func jsonPosError(data []byte, err error) error {
	var off int64 = -1
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
	}
	if off < 0 {
		return err
	}
	line, col := 1, 1
	for _, c := range data[:min(int(off), len(data))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("%d:%d: %w", line, col, err)
}
