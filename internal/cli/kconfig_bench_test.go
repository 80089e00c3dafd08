package cli

import (
	"context"
	"io"
	"testing"
)

// BenchmarkKconfigAll is one nixgate kconfig run with every profile family,
// a command line and a sysctl listing, as bench/kconfig.sh times it (less
// process start).
func BenchmarkKconfigAll(b *testing.B) {
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			args := []string{"kconfig", "/tmp/nl.config", "-p", "anchor", "-p", "kspp", "-p", "khc",
				"--cmdline", kconfigData + "cmdline_example.txt", "--sysctl", kconfigData + "example_sysctls.txt", "-f", format}
			for b.Loop() {
				Run(context.Background(), args, io.Discard, io.Discard)
			}
		})
	}
}
