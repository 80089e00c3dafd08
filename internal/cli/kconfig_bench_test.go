package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/nixgate/nixgate/internal/kconfig"
)

// BenchmarkKconfigAll is one nixgate kconfig run with every profile family,
// a command line and a sysctl listing, as bench/kconfig.sh times it (less
// process start).
func BenchmarkKconfigAll(b *testing.B) {
	data, err := kconfig.ReadInput(kconfigData + "configs/nixpkgs-linux_latest.config.gz")
	if err != nil {
		b.Fatal(err)
	}
	cfg := filepath.Join(b.TempDir(), "nixpkgs-linux_latest.config")
	if err := os.WriteFile(cfg, data, 0o644); err != nil {
		b.Fatal(err)
	}
	for _, format := range []string{"text", "json"} {
		b.Run(format, func(b *testing.B) {
			args := []string{"kconfig", cfg, "-p", "anchor", "-p", "kspp", "-p", "khc",
				"--cmdline", kconfigData + "cmdline_example.txt", "--sysctl", kconfigData + "example_sysctls.txt", "-f", format}
			for b.Loop() {
				Run(context.Background(), args, io.Discard, io.Discard)
			}
		})
	}
}
