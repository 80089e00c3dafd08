package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/policy"
)

func newChecksCmd(e *env) *cobra.Command {
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "List every check with its rule, default severity and options",
		Long: `List every check nixgate has, from its one registry.

--format markdown prints the reference kept in docs/checks.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := o.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			w, format, closeOut := out.W, out.Format, out.Commit
			all := checks.All()
			switch format {
			case "json":
				err = writeChecksJSON(w, all)
			case "markdown":
				err = WriteChecksMarkdown(w, all)
			default:
				err = writeChecksText(w, all)
			}
			if err != nil {
				return err
			}
			return closeOut()
		},
	}
	o = addOutputFlags(cmd, "text", "json", "markdown")
	return cmd
}

func writeChecksText(w io.Writer, all []*check.Check) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSCOPE\tRULES\tSEVERITY\tDEFAULT\tTITLE")
	for _, c := range all {
		state := "on"
		if c.Disabled {
			state = "off"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Scope, strings.Join(c.Rules, ","), c.Severity, state, c.Title)
	}
	return tw.Flush()
}

type checkJSON struct {
	ID          string          `json:"id"`
	Title       string          `json:"title"`
	Scope       check.Scope     `json:"scope"`
	Severity    check.Severity  `json:"severity"`
	Enabled     bool            `json:"enabledByDefault"`
	Rules       []string        `json:"rules"`
	Why         string          `json:"why"`
	Remediation string          `json:"remediation"`
	Options     []policy.Option `json:"options"`
}

func writeChecksJSON(w io.Writer, all []*check.Check) error {
	out := struct {
		SchemaVersion int         `json:"schemaVersion"`
		Checks        []checkJSON `json:"checks"`
	}{SchemaVersion: 1}
	for _, c := range all {
		opts := policy.Options(c)
		if opts == nil {
			opts = []policy.Option{}
		}
		out.Checks = append(out.Checks, checkJSON{ID: c.ID, Title: c.Title, Scope: c.Scope, Severity: c.Severity,
			Enabled: !c.Disabled, Rules: c.Rules, Why: c.Why, Remediation: c.Remediation, Options: opts})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteChecksMarkdown writes the check reference (docs/checks.md).
func WriteChecksMarkdown(w io.Writer, all []*check.Check) error {
	fmt.Fprint(w, `# Check reference

Generated from the registry by `+"`make docs`"+` (`+"`nixgate checks --format markdown`"+`); a test fails
when this file is stale. Every check is configured in `+"`nixgate.toml`"+` under `+"`[checks.<id>]`"+` with
`+"`enabled`, `severity`, `ignore`"+` and the options listed below; see docs/policy.md.

| check | scope | rules | default severity | on by default | title |
|---|---|---|---|---|---|
`)
	for _, c := range all {
		on := "yes"
		if c.Disabled {
			on = "no"
		}
		fmt.Fprintf(w, "| [`%s`](#%s) | %s | %s | %s | %s | %s |\n", c.ID, c.ID, c.Scope, strings.Join(c.Rules, ", "), c.Severity, on, c.Title)
	}
	for _, c := range all {
		fmt.Fprintf(w, "\n## %s\n\n**%s** — rules %s, default severity %s, scope %s", c.ID, c.Title, strings.Join(c.Rules, ", "), c.Severity, c.Scope)
		if c.Disabled {
			fmt.Fprint(w, ", off unless a policy enables it")
		}
		fmt.Fprintf(w, ".\n\n**Why.** %s\n\n**Remediation.** %s\n", c.Why, c.Remediation)
		if opts := policy.Options(c); len(opts) > 0 {
			fmt.Fprint(w, "\n| option | type | default | meaning |\n|---|---|---|---|\n")
			for _, o := range opts {
				fmt.Fprintf(w, "| `%s` | %s | `%s` | %s |\n", o.Key, o.Type, strings.ReplaceAll(o.Default, "|", "\\|"), o.Doc)
			}
		}
	}
	return nil
}
