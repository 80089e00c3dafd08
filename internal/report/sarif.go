package report

import (
	"io"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/jsonindent"
)

// A small typed SARIF 2.1.0 writer: only what nixgate emits. The test
// validates the output against the OASIS schema.

const sarifSchema = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

// InformationURI is where the tool's documentation lives.
const InformationURI = "https://github.com/nixgate/nixgate"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
	// AutomationDetails lets code scanning tell runs of different
	// commands apart.
	AutomationDetails *sarifAutomation `json:"automationDetails,omitempty"`
}

type sarifAutomation struct {
	ID string `json:"id"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	HelpURI              string         `json:"helpUri,omitempty"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           sarifRuleProps `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifRuleProps struct {
	Tags             []string `json:"tags"`
	SecuritySeverity string   `json:"security-severity"`
	Precision        string   `json:"precision"`
}

type sarifInvocation struct {
	CommandLine         string              `json:"commandLine,omitempty"`
	ExitCode            *int                `json:"exitCode,omitempty"`
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level      string              `json:"level"`
	Message    sarifText           `json:"message"`
	Descriptor *sarifDescriptorRef `json:"associatedRule,omitempty"`
}

type sarifDescriptorRef struct {
	ID string `json:"id"`
}

type sarifResult struct {
	RuleID    string          `json:"ruleId"`
	RuleIndex int             `json:"ruleIndex"`
	Level     string          `json:"level"`
	Message   sarifText       `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
	// CorrelationGUID is shared by the results that state one fact in
	// several places (a group; see Groups).
	CorrelationGUID     string             `json:"correlationGuid,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          sarifResultProps   `json:"properties"`
}

type sarifResultProps struct {
	Severity         string `json:"severity"`
	SecuritySeverity string `json:"security-severity"`
	// Group and GroupSize name the fact a result shares with others.
	Group     string `json:"nixgate/group,omitempty"`
	GroupSize int    `json:"nixgate/groupSize,omitempty"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// Level maps a severity to a SARIF level.
func Level(s check.Severity) string {
	switch {
	case s >= check.High:
		return "error"
	case s == check.Medium:
		return "warning"
	}
	return "note"
}

// FingerprintKey is the partialFingerprints key nixgate uses.
const FingerprintKey = "nixgate/v1"

func writeSARIF(w io.Writer, r *Report) error {
	return encodeSARIF(w, []sarifRun{sarifRunOf(r, "nixgate/"+r.Command+"/")})
}

// sarifRunOf is the SARIF run of one report, with the automation ID that
// tells code scanning its category.
func sarifRunOf(r *Report, automationID string) sarifRun {
	res := r.Result
	driver := sarifDriver{Name: "nixgate", InformationURI: InformationURI, Version: r.ToolVersion, Rules: []sarifRule{}}
	index := map[string]int{}
	for _, c := range res.Checks {
		index[c.ID] = len(driver.Rules)
		driver.Rules = append(driver.Rules, rule(c))
	}
	// Findings of checks not in res.Checks (defensive) get a minimal rule.
	ruleIndex := func(id string) int {
		if i, ok := index[id]; ok {
			return i
		}
		index[id] = len(driver.Rules)
		driver.Rules = append(driver.Rules, sarifRule{ID: id, Name: id, ShortDescription: sarifText{Text: id},
			FullDescription: sarifText{Text: id}, Help: sarifText{Text: id}, DefaultConfiguration: sarifConfig{Level: "warning"},
			Properties: sarifRuleProps{Tags: []string{"security"}, SecuritySeverity: "5.5", Precision: "high"}})
		return index[id]
	}
	run := sarifRun{
		Tool:              sarifTool{Driver: driver},
		Invocations:       []sarifInvocation{{ExecutionSuccessful: len(res.Errors) == 0}},
		Results:           []sarifResult{},
		AutomationDetails: &sarifAutomation{ID: automationID},
	}
	for _, e := range res.Errors {
		run.Invocations[0].Notifications = append(run.Invocations[0].Notifications, sarifNotification{
			Level: "error", Message: sarifText{Text: e.Error}, Descriptor: &sarifDescriptorRef{ID: e.CheckID}})
	}
	size := map[string]int{}
	for _, f := range res.Findings {
		size[GroupID(f)]++
	}
	add := func(f check.Finding, sup []sarifSuppression) {
		sr := sarifResult{
			RuleID:              f.CheckID,
			RuleIndex:           ruleIndex(f.CheckID),
			Level:               Level(f.Severity),
			Message:             sarifText{Text: f.Message},
			PartialFingerprints: map[string]string{FingerprintKey: f.Fingerprint},
			Suppressions:        sup,
			Properties:          sarifResultProps{Severity: f.Severity.String(), SecuritySeverity: f.Severity.SecuritySeverity()},
		}
		if id := GroupID(f); sup == nil && size[id] > 1 {
			sr.CorrelationGUID = guid(id)
			sr.Properties.Group, sr.Properties.GroupSize = id, size[id]
		}
		if f.Location.Path != "" {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uriPath(f.Location.Path), URIBaseID: "%SRCROOT%"}}}
			if f.Location.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Location.Line, StartColumn: f.Location.Column}
			}
			sr.Locations = []sarifLocation{loc}
		}
		run.Results = append(run.Results, sr)
	}
	for _, f := range res.Findings {
		add(f, nil)
	}
	for _, s := range res.Suppressed {
		kind := "external"
		if s.Via == "inline" {
			kind = "inSource"
		}
		add(s.Finding, []sarifSuppression{{Kind: kind, Justification: s.Reason}})
	}
	run.Tool.Driver = driver
	return run
}

func encodeSARIF(w io.Writer, runs []sarifRun) error {
	return jsonindent.Encode(w, sarifLog{Schema: sarifSchema, Version: "2.1.0", Runs: runs}, false)
}

// rule is the SARIF rule metadata of a check, from the registry.
func rule(c *check.Check) sarifRule {
	tags := append([]string{"security", "nixgate"}, c.Rules...)
	return sarifRule{
		ID:               c.ID,
		Name:             ruleName(c.ID),
		ShortDescription: sarifText{Text: c.Title},
		FullDescription:  sarifText{Text: c.Why},
		Help: sarifText{
			Text:     c.Why + "\n\nRemediation: " + c.Remediation,
			Markdown: "**Why:** " + c.Why + "\n\n**Remediation:** " + c.Remediation + "\n\nRules: " + strings.Join(c.Rules, ", "),
		},
		HelpURI:              InformationURI + "/blob/main/docs/checks.md#" + c.ID,
		DefaultConfiguration: sarifConfig{Level: Level(c.Severity)},
		Properties:           sarifRuleProps{Tags: tags, SecuritySeverity: c.Severity.SecuritySeverity(), Precision: "high"},
	}
}

// ruleName is the PascalCase name SARIF viewers show (build-output-committed
// → BuildOutputCommitted).
func ruleName(id string) string {
	var b strings.Builder
	for _, p := range strings.Split(id, "-") {
		if p != "" {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return b.String()
}

// uriPath percent-encodes a relative path for a SARIF URI reference. A
// colon is encoded too: "a:b" would read as a URI with the scheme "a".
func uriPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/!$&'()*+,;=@", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}
