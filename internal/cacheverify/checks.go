package cacheverify

import (
	"context"
	"fmt"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/report"
)

// Input is what the cache checks read from check.Target.Input: the
// finished verification.
type Input struct {
	Result *Result
}

// severities of the codes; the check's default severity is the family's
// usual one and ReportSeverity shifts these when a policy overrides it.
var severities = map[string]check.Severity{
	Forged:                 check.Critical,
	Untrusted:              check.High,
	NarinfoMalformed:       check.High,
	StorePathMismatch:      check.High,
	URLEscape:              check.Critical,
	NarHashMismatch:        check.Critical,
	NarSizeMismatch:        check.Critical,
	FileHashMismatch:       check.High,
	FileSizeMismatch:       check.High,
	CompressionMismatch:    check.High,
	UnsupportedCompression: check.High,
	NarMalformed:           check.High,
	MissingReference:       check.High,
	HiddenReference:        check.High,
}

// Check returns the Run function of the check of a verdict family: it
// reports one finding per path whose verdict is in the family.
func Check(family string) func(context.Context, *check.Pass) error {
	return func(ctx context.Context, p *check.Pass) error {
		in, ok := p.Input.(*Input)
		if !ok || in.Result == nil {
			return fmt.Errorf("no cache verification result (this check runs under nixgate cache verify)")
		}
		for _, pr := range in.Result.Paths {
			if Family(pr.Verdict) != family {
				continue
			}
			q := pr.Problems[0]
			loc := check.Location{Path: pr.Narinfo}
			if q.Pos != nil {
				loc.Line, loc.Column = q.Pos.Line, q.Pos.Col
			}
			msg := fmt.Sprintf("%s %s: %s", pr.Verdict, pr.StorePath, q.Detail)
			if q.Offset != nil && pr.Verdict == NarMalformed {
				msg += fmt.Sprintf(" [NAR byte %d]", *q.Offset)
			}
			p.ReportSeverity(severities[pr.Verdict], check.Finding{
				Location: loc,
				Key:      pr.Verdict + ":" + pr.StorePath,
				Message:  report.SafeText(msg),
			})
		}
		return nil
	}
}
