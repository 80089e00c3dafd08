package cli

import (
	"github.com/spf13/cobra"
)

func newTrustCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "k-of-n trust decisions from the build-claim log",
	}
	t := &trustFlags{}
	var o *outputFlags
	decide := &cobra.Command{
		Use:   "decide STORE-PATH... --policy FILE (--log URL | --proofs DIR)",
		Short: "Decide whether store paths are trusted: k builders of the policy claim the same output",
		Long: `Verifies what the log says about each STORE-PATH (as nixgate log verify
does: checkpoint signature, witness quorum, consistency with the last
checkpoint seen, signature and inclusion of every claim) and decides: a path
is trusted when the builders that claim the same fingerprint (NAR hash, size
and references) meet the policy's trust rule (builder-group NAME K ...;
trust NAME). Builders without a claim abstain and never count as agreement;
a builder that claimed two outputs is not counted and is reported; every
disagreement is reported.

--proofs DIR decides offline from C2SP tlog-proof files (nixgate log proof);
without STORE-PATH it decides every path the proofs name.

Checks: log-checkpoint, log-consistency, log-proof, trust-k-of-n,
trust-disagreement, trust-equivocation. Exit 0 when every path is trusted and
everything verifies, 1 otherwise.

` + exitCodesHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTrust(cmd, e, o, t, "trust decide", args, nil)
		},
	}
	t.add(decide)
	o = addOutputFlags(decide)
	cmd.AddCommand(decide)
	return cmd
}
