package ci

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/report"
)

// GitHub code scanning's documented limits on an uploaded SARIF file
// (docs.github.com, "SARIF results exceed one or more limits"): beyond
// them the upload is rejected.
const (
	MaxRuns          = 20
	MaxResultsPerRun = 25000
	MaxRulesPerRun   = 25000
	MaxTagsPerRule   = 20
	MaxLocations     = 1000
	// MaxGzipBytes is the largest gzip-compressed SARIF file accepted.
	MaxGzipBytes = 10 << 20
)

// writeSARIF writes one SARIF log with a run per gate kind that reports
// findings (several lock files or kernel configurations share their
// kind's run), each with its own category (automationDetails.id
// nixgate/ci/KIND/): code scanning refuses two runs of one tool with the
// same category in one file.
func writeSARIF(w io.Writer, r *Run) error {
	type group struct {
		kind    Kind
		reports []*Result
	}
	var groups []*group
	byKind := map[Kind]*group{}
	for _, res := range r.Results {
		if res.Report == nil {
			continue
		}
		g := byKind[res.Gate.Kind]
		if g == nil {
			g = &group{kind: res.Gate.Kind}
			byKind[res.Gate.Kind] = g
			groups = append(groups, g)
		}
		g.reports = append(g.reports, res)
	}
	var runs []report.SARIFRun
	for _, g := range groups {
		rep, cmdline, exit, failed := merge(g.reports)
		notes := capResults(rep.Result)
		exitCode := exit
		runs = append(runs, report.SARIFRun{Report: rep, AutomationID: "nixgate/ci/" + string(g.kind) + "/",
			CommandLine: cmdline, ExitCode: &exitCode, Failed: failed, Notes: notes})
	}
	if len(runs) > MaxRuns {
		return fmt.Errorf("sarif: %d runs, more than code scanning's %d", len(runs), MaxRuns)
	}
	return report.WriteSARIFRuns(w, runs)
}

// merge makes one report of the results of one gate kind.
func merge(rs []*Result) (rep *report.Report, cmdline string, exit int, failed bool) {
	if len(rs) == 1 {
		res := rs[0]
		return res.Report, res.Gate.CommandLine(), res.Exit, res.Exit >= 2
	}
	first := rs[0].Report
	rep = &report.Report{Command: first.Command, ToolVersion: first.ToolVersion, FailOn: first.FailOn, Result: &check.Result{}}
	seen := map[string]bool{}
	var lines []string
	for _, res := range rs {
		lines = append(lines, res.Gate.CommandLine())
		exit = max(exit, res.Exit)
		failed = failed || res.Exit >= 2
		in := res.Report.Result
		for _, c := range in.Checks {
			if !seen[c.ID] {
				seen[c.ID] = true
				rep.Result.Checks = append(rep.Result.Checks, c)
			}
		}
		rep.Result.Findings = append(rep.Result.Findings, in.Findings...)
		rep.Result.Suppressed = append(rep.Result.Suppressed, in.Suppressed...)
		rep.Result.Errors = append(rep.Result.Errors, in.Errors...)
		rep.FailOn = min(rep.FailOn, res.Report.FailOn)
	}
	slices.SortFunc(rep.Result.Checks, func(a, b *check.Check) int { return cmp.Compare(a.ID, b.ID) })
	check.SortFindings(rep.Result.Findings)
	for i, l := range lines {
		if i > 0 {
			cmdline += " && "
		}
		cmdline += l
	}
	return rep, cmdline, exit, failed
}

// capResults keeps a run within code scanning's results limit: the most
// severe findings are kept, and a note says how many were left out.
func capResults(res *check.Result) []string {
	n := len(res.Findings) + len(res.Suppressed)
	if n <= MaxResultsPerRun {
		return nil
	}
	cp := *res
	fs := slices.Clone(res.Findings)
	slices.SortStableFunc(fs, func(a, b check.Finding) int { return cmp.Compare(b.Severity, a.Severity) })
	keep := min(len(fs), MaxResultsPerRun)
	cp.Findings = fs[:keep]
	check.SortFindings(cp.Findings)
	cp.Suppressed = nil
	if room := MaxResultsPerRun - keep; room > 0 {
		cp.Suppressed = res.Suppressed[:min(room, len(res.Suppressed))]
	}
	*res = cp
	return []string{fmt.Sprintf("%d results left out of this run to stay within code scanning's %d results per run; the JSON report has every finding", n-MaxResultsPerRun, MaxResultsPerRun)}
}

// CheckSARIFLimits checks a SARIF log against code scanning's hard
// limits: runs per file, results and rules per run, tags per rule,
// locations per result, compressed size, and one category per run.
func CheckSARIFLimits(data []byte) error {
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Name  string `json:"name"`
					Rules []struct {
						ID         string `json:"id"`
						Properties struct {
							Tags []string `json:"tags"`
						} `json:"properties"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				Locations []json.RawMessage `json:"locations"`
			} `json:"results"`
			Automation *struct {
				ID string `json:"id"`
			} `json:"automationDetails"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		return err
	}
	if len(log.Runs) > MaxRuns {
		return fmt.Errorf("%d runs (limit %d)", len(log.Runs), MaxRuns)
	}
	cats := map[string]bool{}
	for i, run := range log.Runs {
		if len(run.Results) > MaxResultsPerRun {
			return fmt.Errorf("run %d: %d results (limit %d)", i, len(run.Results), MaxResultsPerRun)
		}
		if len(run.Tool.Driver.Rules) > MaxRulesPerRun {
			return fmt.Errorf("run %d: %d rules (limit %d)", i, len(run.Tool.Driver.Rules), MaxRulesPerRun)
		}
		for _, ru := range run.Tool.Driver.Rules {
			if len(ru.Properties.Tags) > MaxTagsPerRule {
				return fmt.Errorf("run %d: rule %s has %d tags (limit %d)", i, ru.ID, len(ru.Properties.Tags), MaxTagsPerRule)
			}
		}
		for j, res := range run.Results {
			if len(res.Locations) > MaxLocations {
				return fmt.Errorf("run %d result %d: %d locations (limit %d)", i, j, len(res.Locations), MaxLocations)
			}
		}
		id := ""
		if run.Automation != nil {
			id = run.Automation.ID
		}
		key := run.Tool.Driver.Name + "\x00" + id
		if cats[key] {
			return fmt.Errorf("run %d: a second run of %s with category %q (code scanning refuses the upload)", i, run.Tool.Driver.Name, id)
		}
		cats[key] = true
	}
	var z bytes.Buffer
	gz := gzip.NewWriter(&z)
	gz.Write(data)
	gz.Close()
	if z.Len() > MaxGzipBytes {
		return fmt.Errorf("%d bytes gzip-compressed (limit %d)", z.Len(), MaxGzipBytes)
	}
	return nil
}
