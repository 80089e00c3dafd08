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
	data, _ = Decompress(data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseConfig(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadProfiles parses every built-in profile from its TOML, as a
// process does once.
func BenchmarkLoadProfiles(b *testing.B) {
	for b.Loop() {
		for _, name := range Builtins() {
			src, _ := builtinFS.ReadFile("profiles/" + name + ".toml")
			l := &Loader{}
			if name == "khc" {
				continue // composed of the others
			}
			if _, err := l.parse(name, name, src); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkEvaluateAndRender(b *testing.B) {
	c, err := ReadConfigFile("testdata/configs/nixpkgs-linux_latest.config.gz")
	if err != nil {
		b.Fatal(err)
	}
	cl, _ := ReadCmdlineFile("testdata/cmdline_example.txt")
	sy, _ := ReadSysctlFile("testdata/example_sysctls.txt")
	ps := loadBuiltin(b, "anchor", "kspp", "khc")
	for b.Loop() {
		Evaluate(&Input{Config: c, Cmdline: cl, Sysctl: sy}, ps).WriteTable(io.Discard)
	}
}

func BenchmarkFuzzSeed(b *testing.B) {
	data, _ := os.ReadFile("testdata/configs/kspp-kconfig-x86-64.config")
	ps, _ := LoadProfiles(Builtins()...)
	for b.Loop() {
		c, _ := ParseConfig(data)
		Evaluate(&Input{Config: c}, ps)
	}
}
