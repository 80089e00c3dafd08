package kconfig

import (
	"fmt"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
)

// Validate checks that rules can be evaluated on the input: the
// architecture must be known (from the options, the header or Arch) and
// Arch, when given, must not contradict the options.
func (in *Input) Validate() error {
	c := in.Config
	if c == nil {
		return fmt.Errorf("no kernel configuration")
	}
	if in.Arch != "" && c.ArchSource == "options" && c.Arch != in.Arch {
		return fmt.Errorf("--arch %s contradicts the configuration, which sets %s (%s)", in.Arch, strings.Join(c.ArchSymbols, ", "), c.Arch)
	}
	if in.Arch != "" {
		return nil
	}
	switch {
	case len(c.ArchSymbols) > 1:
		return fmt.Errorf("the configuration sets more than one architecture (%s): give --arch", strings.Join(c.ArchSymbols, ", "))
	case c.Arch == "":
		return fmt.Errorf("the configuration does not say its architecture (no CONFIG_X86_64, CONFIG_ARM64, ... and no header): give --arch")
	}
	return nil
}

// CheckProfiles loads the profiles refs names (built-in names or TOML
// files), evaluates them on in and returns the report with the findings
// for checkID: one per failed rule, then the input findings.
func CheckProfiles(in *Input, refs []string, checkID string) (*Report, []check.Finding, error) {
	if err := in.Validate(); err != nil {
		return nil, nil, err
	}
	profiles, err := LoadProfiles(refs...)
	if err != nil {
		return nil, nil, err
	}
	rep := Evaluate(in, profiles)
	findings := rep.Findings(checkID)
	for _, f := range InputFindings(in) {
		f.CheckID = checkID
		findings = append(findings, f)
	}
	return rep, findings, nil
}
