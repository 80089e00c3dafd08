package trust

import (
	"context"
	"fmt"
	"strings"

	"github.com/nixgate/nixgate/internal/check"
)

// The Run functions of the checks of scope trust (internal/checks). Each
// reads the Evaluation in Pass.Input.

func evaluation(p *check.Pass) (*Evaluation, error) {
	ev, ok := p.Input.(*Evaluation)
	if !ok {
		return nil, fmt.Errorf("trust check on %T, want *trust.Evaluation", p.Input)
	}
	return ev, nil
}

// CheckCheckpoints reports checkpoints that are not signed by a log of the
// policy or not cosigned by the witness quorum.
func CheckCheckpoints(_ context.Context, p *check.Pass) error {
	ev, err := evaluation(p)
	if err != nil {
		return err
	}
	for _, c := range ev.Checkpoints {
		if c.Valid {
			continue
		}
		p.Report(check.Finding{Location: check.Location{Path: c.From}, Key: c.From + "\x00" + c.Root,
			Message: fmt.Sprintf("checkpoint %s size %d does not verify: %s", orUnknown(c.Origin), c.Size, c.Error)})
	}
	return nil
}

// CheckConsistency reports forks and rollbacks.
func CheckConsistency(_ context.Context, p *check.Pass) error {
	ev, err := evaluation(p)
	if err != nil {
		return err
	}
	for _, c := range ev.Consistency {
		switch c.Status {
		case "fork", "rollback":
			p.Report(check.Finding{Location: check.Location{Path: c.Origin}, Key: fmt.Sprintf("%s %d %d", c.Status, c.OldSize, c.NewSize),
				Message: fmt.Sprintf("%s of log %s: %s", c.Status, c.Origin, c.Detail)})
		case "error":
			p.ReportSeverity(check.Medium, check.Finding{Location: check.Location{Path: c.Origin}, Key: "error " + c.Detail,
				Message: fmt.Sprintf("consistency of log %s not checked: %s", c.Origin, c.Detail)})
		}
	}
	return nil
}

// CheckProofs reports claims and proof files that do not verify.
func CheckProofs(_ context.Context, p *check.Pass) error {
	ev, err := evaluation(p)
	if err != nil {
		return err
	}
	for _, pr := range ev.Problems {
		p.Report(check.Finding{Location: check.Location{Path: pr.Where}, Key: pr.Where + "\x00" + pr.Message, Message: pr.Message})
	}
	return nil
}

// CheckKofN reports store paths that are not trusted.
func CheckKofN(_ context.Context, p *check.Pass) error {
	ev, err := evaluation(p)
	if err != nil {
		return err
	}
	for _, d := range ev.Paths {
		if d.Trusted {
			continue
		}
		p.Report(check.Finding{Location: check.Location{Path: d.StorePath}, Key: "untrusted",
			Message: "not trusted: " + d.Why})
	}
	return nil
}

// CheckDisagreement reports every fingerprint that policy builders claim
// beside another one for the same path.
func CheckDisagreement(_ context.Context, p *check.Pass) error {
	ev, err := evaluation(p)
	if err != nil {
		return err
	}
	for _, d := range ev.Paths {
		if len(d.Groups) < 2 {
			continue
		}
		for _, g := range d.Groups {
			if d.Trusted && g.Fingerprint == d.Fingerprint {
				continue
			}
			p.Report(check.Finding{Location: check.Location{Path: d.StorePath}, Key: g.Fingerprint,
				Message: fmt.Sprintf("%s %s NAR %s, %s", strings.Join(g.Builders, ", "), Claim(g.Builders), g.NarHash, others(d, g))})
		}
	}
	return nil
}

func others(d PathDecision, g Group) string {
	var parts []string
	for _, o := range d.Groups {
		if o.Fingerprint != g.Fingerprint {
			parts = append(parts, fmt.Sprintf("%s %s %s", strings.Join(o.Builders, ", "), Claim(o.Builders), o.NarHash))
		}
	}
	return "while " + strings.Join(parts, "; ")
}

// CheckEquivocation reports builders that claimed two outputs for a path,
// with the index of each claim (their inclusion proofs are in the report's
// evidence).
func CheckEquivocation(_ context.Context, p *check.Pass) error {
	ev, err := evaluation(p)
	if err != nil {
		return err
	}
	for _, d := range ev.Paths {
		for _, e := range d.Equivocating {
			var parts []string
			for _, c := range e.Claims {
				parts = append(parts, fmt.Sprintf("%s at index %d (included in tree %d)", c.NarHash, c.Index, c.TreeSize))
			}
			p.Report(check.Finding{Location: check.Location{Path: d.StorePath}, Key: "equivocation " + e.Builder,
				Message: fmt.Sprintf("builder %s equivocates: it claimed %s", e.Builder, strings.Join(parts, " and "))})
		}
	}
	return nil
}

func orUnknown(s string) string {
	if s == "" {
		return "(unparsed)"
	}
	return s
}
