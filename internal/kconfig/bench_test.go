package kconfig

import (
	"io"
	"os"
	"testing"
)

func BenchmarkParseNixpkgs(b *testing.B) {
	data, err := os.ReadFile("testdata/configs/nixpkgs-linux_latest.config.gz")
	if err != nil {
		b.Fatal(err)
	}
	data, _ = decompress(data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadProfiles(b *testing.B) {
	for b.Loop() {
		loadBuiltin(b, "anchor", "kspp")
	}
}

func BenchmarkEvaluateAndRender(b *testing.B) {
	c, err := ReadFile("testdata/configs/nixpkgs-linux_latest.config.gz")
	if err != nil {
		b.Fatal(err)
	}
	ps := loadBuiltin(b, "anchor", "kspp")
	for b.Loop() {
		Evaluate(&Input{Config: c}, ps).Write(io.Discard, "text")
	}
}
