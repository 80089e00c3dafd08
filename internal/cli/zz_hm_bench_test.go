package cli

import (
	"context"
	"io"
	"testing"
)

func BenchmarkZZHomeManager(b *testing.B) {
	for b.Loop() {
		Run(context.Background(), []string{"secrets", "scan", "--all", "--policy", "/tmp/hmpol.toml", "-f", "json", "-o", "/tmp/hm2.json", "/tmp/hm"}, io.Discard, io.Discard)
	}
}
