// Command nixgate enforces the security rules of Nix-based build pipelines.
package main

import (
	"os"
	"time"

	"github.com/nixgate/nixgate/internal/cli"
)

func main() {
	ctx, stop := cli.SignalContext(3 * time.Second)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
