package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nixgate/nixgate/internal/check"
	"github.com/nixgate/nixgate/internal/checks"
	"github.com/nixgate/nixgate/internal/policy"
)

func newExplainCmd(e *env) *cobra.Command {
	var o *outputFlags
	cmd := &cobra.Command{
		Use:   "explain CHECK-ID",
		Short: "Explain one check: its rule, why, remediation, example and policy keys",
		Long: `Print everything the registry says about one check: the rules it enforces,
why it matters, how to fix a finding, the policy keys that tune it with their
defaults, and how to suppress one finding or run the check alone.`,
		Example: `  nixgate explain secret-leak
  nixgate explain lock-nixpkgs-stale --format markdown`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var s []string
			for _, c := range checks.All() {
				s = append(s, c.ID+"\t"+c.Title)
			}
			return s, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c := checks.ByID(args[0])
			if c == nil {
				var ids []string
				for _, c := range checks.All() {
					ids = append(ids, c.ID)
				}
				err := usagef("no check %q", args[0])
				if s := policy.Closest(args[0], ids); s != "" {
					return withHint(err, fmt.Sprintf("did you mean %s?", s))
				}
				return withHint(err, "`nixgate checks` lists every check")
			}
			out, err := o.open(e)
			if err != nil {
				return err
			}
			defer out.Abort()
			switch out.Format {
			case "json":
				err = explainJSON(out.W, c)
			case "markdown":
				err = explainMarkdown(out.W, c)
			default:
				err = explainText(out.W, c)
			}
			if err != nil {
				return err
			}
			return out.Commit()
		},
	}
	o = addOutputFlags(cmd, "text", "json", "markdown")
	return cmd
}

func explainText(w io.Writer, c *check.Check) error {
	var b strings.Builder
	state := "on by default"
	if c.Disabled {
		state = "off unless a policy enables it"
	}
	fmt.Fprintf(&b, "%s: %s\n", c.ID, c.Title)
	fmt.Fprintf(&b, "scope %s (%s), default severity %s, %s\n", c.Scope, c.Scope.Command(), c.Severity, state)
	section := func(title, text string) {
		fmt.Fprintf(&b, "\n%s\n", title)
		for _, l := range policy.Wrap(text, 96) {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	var rules []string
	for _, r := range c.Rules {
		rules = append(rules, r+" "+check.RuleText[r])
	}
	fmt.Fprintf(&b, "\nRules\n")
	for _, r := range rules {
		ls := policy.Wrap(r, 94)
		fmt.Fprintf(&b, "  %s\n", ls[0])
		for _, l := range ls[1:] {
			fmt.Fprintf(&b, "      %s\n", l)
		}
	}
	section("Why", c.Why)
	section("Remediation", c.Remediation)
	fmt.Fprintf(&b, "\nPolicy (nixgate.toml)\n")
	for _, l := range strings.Split(strings.TrimRight(policySnippet(c), "\n"), "\n") {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	fmt.Fprintf(&b, "\nExample\n")
	fmt.Fprintf(&b, "  %s --only %s\n      runs it alone, even when the policy turns it off\n", c.Scope.Command(), c.ID)
	fmt.Fprintf(&b, "  # nixgate:ignore %s -- REASON\n      on a finding's line or the line above, suppresses that finding\n", c.ID)
	_, err := io.WriteString(w, b.String())
	return err
}

func explainMarkdown(w io.Writer, c *check.Check) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## `%s`: %s\n\n", c.ID, c.Title)
	fmt.Fprintf(&b, "Scope %s (`%s`), default severity **%s**", c.Scope, c.Scope.Command(), c.Severity)
	if c.Disabled {
		fmt.Fprint(&b, ", off unless a policy enables it")
	}
	fmt.Fprint(&b, ".\n\n**Rules.**\n\n")
	for _, r := range c.Rules {
		fmt.Fprintf(&b, "- %s: %s\n", r, check.RuleText[r])
	}
	fmt.Fprintf(&b, "\n**Why.** %s\n\n**Remediation.** %s\n\n**Policy.**\n\n```toml\n%s```\n\n", c.Why, c.Remediation, policySnippet(c))
	fmt.Fprintf(&b, "**Example.** `%s --only %s` runs it alone; `nixgate:ignore %s -- REASON` on a finding's line or the line above suppresses it.\n",
		c.Scope.Command(), c.ID, c.ID)
	_, err := io.WriteString(w, b.String())
	return err
}

func explainJSON(w io.Writer, c *check.Check) error {
	opts := policy.Options(c)
	if opts == nil {
		opts = []policy.Option{}
	}
	rules := map[string]string{}
	for _, r := range c.Rules {
		rules[r] = check.RuleText[r]
	}
	out := struct {
		SchemaVersion int `json:"schemaVersion"`
		checkJSON
		RuleText map[string]string `json:"ruleText"`
		Command  string            `json:"command"`
		Policy   string            `json:"policy"`
	}{1, checkJSON{ID: c.ID, Title: c.Title, Scope: c.Scope, Severity: c.Severity, Enabled: !c.Disabled, Rules: c.Rules,
		Why: c.Why, Remediation: c.Remediation, Options: opts}, rules, c.Scope.Command(), policySnippet(c)}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// policySnippet is the check's table of nixgate.toml with its defaults.
func policySnippet(c *check.Check) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[checks.%s]\nenabled = %t\nseverity = %q\nignore = []   # path globs this check skips\n", c.ID, !c.Disabled, c.Severity)
	for _, o := range policy.Options(c) {
		fmt.Fprintf(&b, "# %s\n%s = %s\n", o.Doc, o.Key, o.Default)
	}
	return b.String()
}
