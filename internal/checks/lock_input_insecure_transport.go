package checks

import (
	"context"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/flakelock"
)

// LockInputInsecureTransport enforces R5: inputs are fetched over
// authenticated transports.
var LockInputInsecureTransport = &check.Check{
	ID:       "lock-input-insecure-transport",
	Title:    "A flake input is fetched over http:// or git://",
	Severity: check.High,
	Rules:    []string{"R5"},
	Why: "http:// and git:// have no server authentication: anyone on the path can serve other content. " +
		"For inputs locked by rev alone (git) nothing else checks what arrives.",
	Remediation: "Use https:// (git+https://) or ssh (git+ssh://) URLs, or a github:/gitlab: input, and re-lock.",
	Scope:       check.ScopeRepo,
	Run:         runLockInputInsecureTransport,
}

func runLockInputInsecureTransport(ctx context.Context, p *check.Pass) error {
	return forEachNode(ctx, p, func(lf *lockFile, u flakelock.NodeUse) {
		r := u.Node.Locked
		if !r.Insecure() && u.Node.Original != nil && u.Node.Original.Insecure() {
			r = u.Node.Original
		}
		if r.Insecure() {
			p.Reportf(nodeLoc(lf, u), inputKey(u),
				"input %s is fetched over %s:// (%s)", inputName(u), r.Transport(), r.URL)
		}
	})
}
