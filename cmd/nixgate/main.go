// Command nixgate enforces the security rules of Nix-based build pipelines.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/nixgate/nixgate/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
