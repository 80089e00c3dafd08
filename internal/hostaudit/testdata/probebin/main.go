// Command probebin is a minimal stand-in for nixgate's hidden probe-sandbox
// command, used by the hostaudit tests as a derivation builder. It accepts
// the same arguments.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/nixgate/nixgate/internal/hostaudit"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "probe-sandbox" {
		fmt.Fprintln(os.Stderr, "usage: probebin probe-sandbox --nonce N --host-file F --port P --planted PATH")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("probe-sandbox", flag.ExitOnError)
	var a hostaudit.InsideArgs
	fs.StringVar(&a.Nonce, "nonce", "", "")
	fs.StringVar(&a.HostFile, "host-file", "", "")
	fs.IntVar(&a.Port, "port", 0, "")
	fs.StringVar(&a.Planted, "planted", "", "")
	_ = fs.Parse(os.Args[2:])
	a.Out = os.Getenv("out")
	if err := hostaudit.RunInside(a); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}
