package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
)

// Reading reports back: `nixgate ci` runs each gate as its own command with
// a JSON (or SARIF) report into a buffer and reads the findings back, so
// that one combined report can be written. lookup returns a check of the
// registry by ID (its metadata: title, why, remediation); a check it does
// not know keeps what the report says of it.

// ReadJSON reads a report written by Write in the json format.
func ReadJSON(data []byte, lookup func(id string) *check.Check) (*Report, error) {
	var in struct {
		SchemaVersion int                `json:"schemaVersion"`
		Tool          jsonTool           `json:"tool"`
		Command       string             `json:"command"`
		Target        string             `json:"target"`
		FailOn        check.Severity     `json:"failOn"`
		Checks        []jsonCheck        `json:"checks"`
		Findings      []check.Finding    `json:"findings"`
		Suppressed    []check.Suppressed `json:"suppressed"`
		Errors        []check.Errored    `json:"errors"`
		Extra         json.RawMessage    `json:"extra"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("read JSON report: %w", err)
	}
	if in.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("read JSON report: schemaVersion %d, want %d", in.SchemaVersion, SchemaVersion)
	}
	r := &Report{Command: in.Command, Target: in.Target, ToolVersion: in.Tool.Version, FailOn: in.FailOn,
		Result: &check.Result{Findings: in.Findings, Suppressed: in.Suppressed, Errors: in.Errors}}
	if len(in.Extra) > 0 && string(in.Extra) != "null" {
		r.Extra = in.Extra
	}
	for _, c := range in.Checks {
		r.Result.Checks = append(r.Result.Checks, known(lookup, c.ID, c.Title, c.Severity, c.Rules))
	}
	return r, nil
}

// known is the registry's check, or one made of what a report says.
func known(lookup func(string) *check.Check, id, title string, sev check.Severity, rules []string) *check.Check {
	if lookup != nil {
		if c := lookup(id); c != nil {
			return c
		}
	}
	if title == "" {
		title = id
	}
	return &check.Check{ID: id, Title: title, Severity: sev, Rules: rules, Why: title + ".", Remediation: "See nixgate explain " + id + "."}
}

// ReadSARIF reads a SARIF log written by Write (one run). The threshold
// is not in SARIF: FailOn is left at Info for the caller to set.
func ReadSARIF(data []byte, lookup func(id string) *check.Check) (*Report, error) {
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Version string `json:"version"`
					Rules   []struct {
						ID               string    `json:"id"`
						ShortDescription sarifText `json:"shortDescription"`
						Default          struct {
							Level string `json:"level"`
						} `json:"defaultConfiguration"`
						Properties struct {
							Tags []string `json:"tags"`
						} `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Invocations []sarifInvocation `json:"invocations"`
			Results     []struct {
				RuleID    string             `json:"ruleId"`
				Level     string             `json:"level"`
				Message   sarifText          `json:"message"`
				Locations []sarifLocation    `json:"locations"`
				Partial   map[string]string  `json:"partialFingerprints"`
				Supp      []sarifSuppression `json:"suppressions"`
				Props     struct {
					Severity string `json:"severity"`
				} `json:"properties"`
			} `json:"results"`
			Automation *sarifAutomation `json:"automationDetails"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		return nil, fmt.Errorf("read SARIF: %w", err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		return nil, fmt.Errorf("read SARIF: want one run of a SARIF 2.1.0 log (version %q, %d runs)", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	r := &Report{ToolVersion: run.Tool.Driver.Version, Result: &check.Result{}}
	if a := run.Automation; a != nil {
		r.Command = strings.TrimSuffix(strings.TrimPrefix(a.ID, "nixgate/"), "/")
	}
	levels := map[string]check.Severity{"error": check.High, "warning": check.Medium, "note": check.Low, "none": check.Info}
	for _, ru := range run.Tool.Driver.Rules {
		r.Result.Checks = append(r.Result.Checks, known(lookup, ru.ID, ru.ShortDescription.Text, levels[ru.Default.Level], nil))
	}
	for _, res := range run.Results {
		sev, err := check.ParseSeverity(res.Props.Severity)
		if err != nil {
			sev = levels[res.Level]
		}
		f := check.Finding{CheckID: res.RuleID, Severity: sev, Message: res.Message.Text, Fingerprint: res.Partial[FingerprintKey]}
		if len(res.Locations) > 0 {
			pl := res.Locations[0].PhysicalLocation
			p, err := url.PathUnescape(pl.ArtifactLocation.URI)
			if err != nil {
				p = pl.ArtifactLocation.URI
			}
			f.Location.Path = p
			if pl.Region != nil {
				f.Location.Line, f.Location.Column = pl.Region.StartLine, pl.Region.StartColumn
			}
		}
		if len(res.Supp) == 0 {
			r.Result.Findings = append(r.Result.Findings, f)
			continue
		}
		via := "baseline"
		if res.Supp[0].Kind == "inSource" {
			via = "inline"
		}
		r.Result.Suppressed = append(r.Result.Suppressed, check.Suppressed{Finding: f, Via: via, Reason: res.Supp[0].Justification})
	}
	for _, inv := range run.Invocations {
		for _, n := range inv.Notifications {
			if n.Level == "error" && n.Descriptor != nil {
				r.Result.Errors = append(r.Result.Errors, check.Errored{CheckID: n.Descriptor.ID, Error: n.Message.Text})
			}
		}
	}
	return r, nil
}

// SARIFRun is one run of a combined SARIF log.
type SARIFRun struct {
	Report *Report
	// AutomationID is the run's category for code scanning; each run of
	// one log needs its own (GitHub refuses two runs of one tool with the
	// same category).
	AutomationID string
	// CommandLine and ExitCode describe the invocation, when known.
	CommandLine string
	ExitCode    *int
	// Failed marks an invocation that did not complete.
	Failed bool
	// Notes are warnings about the run (results left out).
	Notes []string
}

// WriteSARIFRuns writes one SARIF 2.1.0 log with a run per report.
func WriteSARIFRuns(w io.Writer, runs []SARIFRun) error {
	out := make([]sarifRun, 0, len(runs))
	for _, sr := range runs {
		run := sarifRunOf(sr.Report, sr.AutomationID)
		inv := &run.Invocations[0]
		inv.CommandLine, inv.ExitCode = sr.CommandLine, sr.ExitCode
		if sr.Failed {
			inv.ExecutionSuccessful = false
		}
		for _, n := range sr.Notes {
			inv.Notifications = append(inv.Notifications, sarifNotification{Level: "warning", Message: sarifText{Text: n}})
		}
		out = append(out, run)
	}
	return encodeSARIF(w, out)
}
