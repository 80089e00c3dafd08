package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// versionInfo describes the running binary from its build info.
func versionInfo() (version, revision, when string, modified bool) {
	version, revision = "(devel)", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	return
}

// Version is the module version, for reports.
func Version() string {
	v, _, _, _ := versionInfo()
	return v
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print nixgate's module version and VCS revision",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, rev, when, modified := versionInfo()
			fmt.Fprintf(e.stdout, "nixgate %s\n", v)
			dirty := ""
			if modified {
				dirty = " (modified)"
			}
			fmt.Fprintf(e.stdout, "revision: %s%s\n", rev, dirty)
			if when != "" {
				fmt.Fprintf(e.stdout, "committed: %s\n", when)
			}
			fmt.Fprintf(e.stdout, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
