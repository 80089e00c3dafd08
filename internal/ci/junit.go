package ci

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/report"
)

// JUnit XML as GitLab, Jenkins and other CI systems read it, valid against
// the common JUnit schema (Jenkins xUnit's junit-10.xsd, vendored in
// testdata): a test suite per gate; in it a test case per check that ran
// (failed when it has findings at or above the gate's threshold, an error
// when the check could not complete), or one test case for a gate without
// checks (a run step, a rebuild, a boot test); a skipped gate is a skipped
// test case.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitMessage `xml:"skipped"`
	Error     *junitMessage `xml:"error"`
	Failure   *junitMessage `xml:"failure"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Type    string `xml:"type,attr,omitempty"`
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func seconds(d float64) string { return fmt.Sprintf("%.3f", d) }

func findingLine(f check.Finding) string {
	loc := f.Location.String()
	if loc == "" {
		loc = "(repository)"
	}
	return fmt.Sprintf("%s: %s %s [%s]", report.SafeText(loc), strings.ToUpper(f.Severity.String()), report.SafeText(f.Message), f.CheckID)
}

func writeJUnit(w io.Writer, r *Run) error {
	host := r.Hostname
	out := junitSuites{Name: "nixgate ci", Time: seconds(r.Duration.Seconds())}
	for _, res := range r.Results {
		g := res.Gate
		s := junitSuite{Name: report.SafeText(g.Name), Time: seconds(res.Duration.Seconds()), Hostname: host,
			Properties: []junitProperty{{"command", report.SafeText(g.CommandLine())}, {"outcome", string(res.Outcome)},
				{"exit-code", fmt.Sprint(res.Exit)}}}
		class := "nixgate." + string(g.Kind)
		gateCase := func() junitCase {
			return junitCase{Name: report.SafeText(g.Name), Classname: class, Time: s.Time}
		}
		logText := func() string {
			var b strings.Builder
			for _, l := range res.Log {
				b.WriteString(report.SafeText(l) + "\n")
			}
			return b.String()
		}
		switch {
		case res.Outcome == Skipped:
			c := gateCase()
			c.Time = "0.000"
			c.Skipped = &junitMessage{Message: report.SafeText(res.Reason)}
			s.Cases = append(s.Cases, c)
		case res.Report != nil:
			rep := res.Report
			failedCase := false
			errs := map[string]string{}
			for _, e := range rep.Result.Errors {
				errs[e.CheckID] = e.Error
			}
			contract := map[string]bool{}
			if res.ContractFailure != "" {
				for _, id := range Contract {
					contract[id] = true
				}
			}
			for _, c := range rep.Result.Checks {
				tc := junitCase{Name: c.ID, Classname: class, Time: "0.000"}
				var failing, other []string
				for _, f := range rep.Result.Findings {
					if f.CheckID != c.ID {
						continue
					}
					if f.Severity >= rep.FailOn || contract[c.ID] {
						failing = append(failing, findingLine(f))
					} else {
						other = append(other, findingLine(f))
					}
				}
				switch {
				case errs[c.ID] != "":
					tc.Error = &junitMessage{Type: "incomplete", Message: "the check could not complete", Text: report.SafeText(errs[c.ID])}
				case len(failing) > 0:
					tc.Failure = &junitMessage{Type: "finding", Message: fmt.Sprintf("%s: %s", c.Title, plural(len(failing), "finding", "findings")),
						Text: strings.Join(failing, "\n")}
					failedCase = true
				}
				if len(other) > 0 {
					tc.SystemOut = "below the threshold:\n" + strings.Join(other, "\n")
				}
				s.Cases = append(s.Cases, tc)
			}
			if res.Outcome == Failed && !failedCase {
				c := gateCase()
				c.Failure = &junitMessage{Type: "gate", Message: report.SafeText(detail(res))}
				s.Cases = append(s.Cases, c)
			} else if (res.Outcome == Errored || res.Outcome == Incomplete) && len(errs) == 0 {
				c := gateCase()
				c.Error = &junitMessage{Type: string(res.Outcome), Message: report.SafeText(detail(res)), Text: logText()}
				s.Cases = append(s.Cases, c)
			}
		default:
			c := gateCase()
			switch res.Outcome {
			case Failed:
				text := logText()
				for _, d := range res.Details {
					text += report.SafeText(d) + "\n"
				}
				c.Failure = &junitMessage{Type: "gate", Message: report.SafeText(detail(res)), Text: text}
			case Errored, Incomplete:
				c.Error = &junitMessage{Type: string(res.Outcome), Message: report.SafeText(detail(res)), Text: logText()}
			default:
				c.SystemOut = report.SafeText(res.Summary)
			}
			s.Cases = append(s.Cases, c)
		}
		for _, c := range s.Cases {
			s.Tests++
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Error != nil:
				s.Errors++
			case c.Skipped != nil:
				s.Skipped++
			}
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
