package policy

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

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

// LoadBaseline reads a baseline file. Every entry needs a fingerprint and a
// reason.
func LoadBaseline(file string) (check.Baseline, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var bf baselineFile
	if err := json.Unmarshal(data, &bf); err != nil {
		return nil, fmt.Errorf("%s: %w", file, jsonPosError(data, err))
	}
	if bf.SchemaVersion != 1 {
		return nil, fmt.Errorf("%s: baseline schemaVersion %d is not supported", file, bf.SchemaVersion)
	}
	b := check.Baseline{}
	for i, e := range bf.Findings {
		if e.Fingerprint == "" || e.Reason == "" {
			return nil, fmt.Errorf("%s: finding %d (%s %s): a baseline entry needs a fingerprint and a reason", file, i+1, e.CheckID, e.Path)
		}
		b[e.Fingerprint] = e.Reason
	}
	return b, nil
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
